package redis

import (
	"context"
	"encoding/json"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// Pending authorizations, sessions and permission requests are JSON strings with a TTL.
// Get reads them and decides expiry with now; Consume is GETDEL, one atomic command, so of
// concurrent consumers exactly one gets the value.

type pendingJSON struct {
	store.PendingAuthorization
	CreatedAt, ExpiresAt int64
}

type sessionJSON struct {
	store.Session
	CreatedAt, ExpiresAt int64
}

type permissionJSON struct {
	store.PermissionRequest
	CreatedAt, ExpiresAt int64
}

// PutPending stores p until p.ExpiresAt (SET NX); ErrExists when p.ID is taken.
func (s *Store) PutPending(ctx context.Context, p store.PendingAuthorization) error {
	w := pendingJSON{PendingAuthorization: p, CreatedAt: ms(p.CreatedAt), ExpiresAt: ms(p.ExpiresAt)}
	return s.putNX(ctx, s.key("pa:", p.ID), w, p.ExpiresAt)
}

// GetPending returns the pending request, or ErrNotFound when unknown, consumed or expired.
func (s *Store) GetPending(ctx context.Context, id string, now time.Time) (store.PendingAuthorization, error) {
	v, err := s.cmd.Get(ctx, s.key("pa:", id)).Result()
	if err != nil {
		return store.PendingAuthorization{}, notFoundOr(err)
	}
	return decodePending(v, now)
}

// ConsumePending removes and returns the pending request atomically (GETDEL): exactly one
// of concurrent callers gets it. Expired at now: ErrNotFound.
func (s *Store) ConsumePending(ctx context.Context, id string, now time.Time) (store.PendingAuthorization, error) {
	v, err := s.cmd.GetDel(ctx, s.key("pa:", id)).Result()
	if err != nil {
		return store.PendingAuthorization{}, notFoundOr(err)
	}
	return decodePending(v, now)
}

func decodePending(v string, now time.Time) (store.PendingAuthorization, error) {
	var w pendingJSON
	if err := json.Unmarshal([]byte(v), &w); err != nil {
		return store.PendingAuthorization{}, corrupt("pending authorization", err)
	}
	if expired(w.ExpiresAt, now) {
		return store.PendingAuthorization{}, store.ErrNotFound
	}
	p := w.PendingAuthorization
	p.CreatedAt, p.ExpiresAt = fromMS(w.CreatedAt), fromMS(w.ExpiresAt)
	return p, nil
}

// PutSession stores s until its ExpiresAt, replacing a session with the same hash.
func (s *Store) PutSession(ctx context.Context, se store.Session) error {
	b, err := json.Marshal(sessionJSON{Session: se, CreatedAt: ms(se.CreatedAt), ExpiresAt: ms(se.ExpiresAt)})
	if err != nil {
		return err
	}
	ttl := time.Duration(s.ttl(se.ExpiresAt)) * time.Millisecond
	if err := s.cmd.Set(ctx, s.key("se:", se.Hash), b, ttl).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// GetSession returns the session, or ErrNotFound when unknown or expired at now.
func (s *Store) GetSession(ctx context.Context, hash string, now time.Time) (store.Session, error) {
	v, err := s.cmd.Get(ctx, s.key("se:", hash)).Result()
	if err != nil {
		return store.Session{}, notFoundOr(err)
	}
	var w sessionJSON
	if err := json.Unmarshal([]byte(v), &w); err != nil {
		return store.Session{}, corrupt("session", err)
	}
	if expired(w.ExpiresAt, now) {
		return store.Session{}, store.ErrNotFound
	}
	se := w.Session
	se.CreatedAt, se.ExpiresAt = fromMS(w.CreatedAt), fromMS(w.ExpiresAt)
	return se, nil
}

// DeleteSession removes the session; unknown sessions are not an error.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if err := s.cmd.Del(ctx, s.key("se:", hash)).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// PutPermissionRequest stores r until r.ExpiresAt (SET NX); ErrExists when r.ID is taken.
func (s *Store) PutPermissionRequest(ctx context.Context, r store.PermissionRequest) error {
	w := permissionJSON{PermissionRequest: r, CreatedAt: ms(r.CreatedAt), ExpiresAt: ms(r.ExpiresAt)}
	return s.putNX(ctx, s.key("pr:", r.ID), w, r.ExpiresAt)
}

// GetPermissionRequest returns it, or ErrNotFound when unknown, consumed or expired at now.
func (s *Store) GetPermissionRequest(ctx context.Context, id string, now time.Time) (store.PermissionRequest, error) {
	v, err := s.cmd.Get(ctx, s.key("pr:", id)).Result()
	if err != nil {
		return store.PermissionRequest{}, notFoundOr(err)
	}
	return decodePermission(v, now)
}

// ConsumePermissionRequest removes and returns it atomically (GETDEL); exactly one caller
// wins. Expired at now: ErrNotFound.
func (s *Store) ConsumePermissionRequest(ctx context.Context, id string, now time.Time) (store.PermissionRequest, error) {
	v, err := s.cmd.GetDel(ctx, s.key("pr:", id)).Result()
	if err != nil {
		return store.PermissionRequest{}, notFoundOr(err)
	}
	return decodePermission(v, now)
}

func decodePermission(v string, now time.Time) (store.PermissionRequest, error) {
	var w permissionJSON
	if err := json.Unmarshal([]byte(v), &w); err != nil {
		return store.PermissionRequest{}, corrupt("permission request", err)
	}
	if expired(w.ExpiresAt, now) {
		return store.PermissionRequest{}, store.ErrNotFound
	}
	r := w.PermissionRequest
	r.CreatedAt, r.ExpiresAt = fromMS(w.CreatedAt), fromMS(w.ExpiresAt)
	return r, nil
}

// putNX stores v as JSON under key if the key is free, with the housekeeping TTL of exp.
func (s *Store) putNX(ctx context.Context, key string, v any, exp time.Time) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ok, err := s.cmd.SetNX(ctx, key, b, time.Duration(s.ttl(exp))*time.Millisecond).Result()
	if err != nil {
		return unavailable(err)
	}
	if !ok {
		return store.ErrExists
	}
	return nil
}

// expired reports whether a record expiring at expMS (0: never) is expired at now: a record
// is valid strictly before its expiry (RFC 7519 §4.1.4).
func expired(expMS int64, now time.Time) bool {
	return expMS != 0 && expMS <= now.UnixMilli()
}
