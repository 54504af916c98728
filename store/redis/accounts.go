package redis

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// EnsureAccount returns the account of (a.Domain, a.Subject), storing a when there is none,
// in one script: concurrent callers all get the ids of the first.
func (s *Store) EnsureAccount(ctx context.Context, a store.Account) (store.Account, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return store.Account{}, err
	}
	st, rest, err := s.run(ctx, s.sc.ensureAccount, nil, a.Domain, a.Subject, a.ID, b)
	if err != nil {
		return store.Account{}, err
	}
	if err := okOr(st); err != nil {
		return store.Account{}, err
	}
	return decodeAccount(str(rest[0]))
}

// AccountByID returns the account with that acc_ id, or ErrNotFound.
func (s *Store) AccountByID(ctx context.Context, id string) (store.Account, error) {
	v, err := s.cmd.HGet(ctx, s.key(keyAccountIDs), id).Result()
	if err != nil {
		return store.Account{}, notFoundOr(err)
	}
	return decodeAccount(v)
}

func decodeAccount(v string) (store.Account, error) {
	var a store.Account
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		return store.Account{}, corrupt("account", err)
	}
	return a, nil
}

// AddElevations adds calendarIDs to the unrestricted calendars of (grantID, subject): one
// SADD, atomic. They die with the grant: CheckDelegated refuses tokens of a revoked grant.
func (s *Store) AddElevations(ctx context.Context, grantID, subject string, calendarIDs []string) error {
	if len(calendarIDs) == 0 {
		return nil
	}
	members := make([]any, len(calendarIDs))
	for i, c := range calendarIDs {
		members[i] = c
	}
	if err := s.cmd.SAdd(ctx, s.key("el:", grantID, ":", subject), members...).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// Elevations returns, for each of subjects that has any, its elevated calendar ids (sorted)
// under grantID, in one script however many subjects (SPEC §4 batch mint).
func (s *Store) Elevations(ctx context.Context, grantID string, subjects []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(subjects) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(subjects)+1)
	args = append(args, grantID)
	for _, sub := range subjects {
		args = append(args, sub)
	}
	v, err := s.sc.elevations.Run(ctx, s.cmd, []string{s.base}, args...).Slice()
	if err != nil {
		return nil, unavailable(err)
	}
	if len(v) != len(subjects) {
		return nil, unavailable(errors.New("short elevations reply"))
	}
	for i, sub := range subjects {
		if ids := sortedStrings(v[i]); len(ids) > 0 {
			out[sub] = ids
		}
	}
	return out, nil
}

// Hit adds one to the counter key for the window containing now (windows aligned to
// multiples of window since the Unix epoch) and returns the count and the window's end.
// One script; the counter hash gets a TTL past the window's end.
func (s *Store) Hit(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	field, end, err := windowOf(window, now)
	if err != nil {
		return 0, time.Time{}, err
	}
	n, err := s.sc.hit.Run(ctx, s.cmd, []string{s.base, s.key("rl:", key)}, field, s.ttl(end), now.UnixMilli()).Int64()
	if err != nil {
		return 0, time.Time{}, unavailable(err)
	}
	return n, end, nil
}

// Count returns the counter's value in the window containing now, without adding.
func (s *Store) Count(ctx context.Context, key string, window time.Duration, now time.Time) (int64, error) {
	field, _, err := windowOf(window, now)
	if err != nil {
		return 0, err
	}
	n, err := s.cmd.HGet(ctx, s.key("rl:", key), field).Int64()
	if isNil(err) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable(err)
	}
	return n, nil
}

// ResetLimit clears the counter key in every window.
func (s *Store) ResetLimit(ctx context.Context, key string) error {
	if err := s.cmd.Del(ctx, s.key("rl:", key)).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// windowOf names the field of the window of length w containing now and returns its end.
func windowOf(w time.Duration, now time.Time) (string, time.Time, error) {
	wms := w.Milliseconds()
	if wms <= 0 {
		return "", time.Time{}, errors.New("redis store: rate-limit window must be at least 1ms")
	}
	t := now.UnixMilli()
	start := t - ((t%wms)+wms)%wms // floor, also before 1970
	return itoa(wms) + ":" + itoa(start), time.UnixMilli(start + wms).UTC(), nil
}
