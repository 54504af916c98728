package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/enterprise-connect/broker/store"
)

// signingKeyJSON is a SigningKey as stored in the skj hash; RetiredAt lives in skr.
type signingKeyJSON struct {
	store.SigningKey
	CreatedAt, RetiredAt int64
}

// InitSigningKey stores k as the current key if and only if there is no key at all, and
// returns the current key either way, in one script (replicas starting together agree).
func (s *Store) InitSigningKey(ctx context.Context, k store.SigningKey) (store.SigningKey, error) {
	b, err := json.Marshal(signingKeyJSON{SigningKey: k, CreatedAt: ms(k.CreatedAt)})
	if err != nil {
		return store.SigningKey{}, err
	}
	st, rest, err := s.run(ctx, s.sc.initKey, nil, k.ID, b)
	if err != nil {
		return store.SigningKey{}, err
	}
	if st == "nocurrent" {
		// Keys exist but the current one was deleted: the newest unretired key is current.
		keys, err := s.ListSigningKeys(ctx)
		if err != nil {
			return store.SigningKey{}, err
		}
		for _, k := range keys {
			if k.RetiredAt.IsZero() {
				return k, nil
			}
		}
		return store.SigningKey{}, store.ErrNotFound
	}
	if err := okOr(st); err != nil {
		return store.SigningKey{}, err
	}
	return decodeSigningKey(str(rest[0]), msString(rest[1]))
}

// RotateSigningKey stores k as the current key and retires the previous current key at
// k.CreatedAt, in one script. ErrExists when k.ID is taken.
func (s *Store) RotateSigningKey(ctx context.Context, k store.SigningKey) error {
	b, err := json.Marshal(signingKeyJSON{SigningKey: k, CreatedAt: ms(k.CreatedAt)})
	if err != nil {
		return err
	}
	st, _, err := s.run(ctx, s.sc.rotateKey, nil, k.ID, b, ms(k.CreatedAt))
	if err != nil {
		return err
	}
	return okOr(st)
}

// ListSigningKeys returns every key, newest first (the current key first among keys created
// at the same time); the first unretired one is current.
func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	st, rest, err := s.run(ctx, s.sc.listKeys, nil)
	if err != nil {
		return nil, err
	}
	if err := okOr(st); err != nil {
		return nil, err
	}
	if len(rest) < 3 {
		return nil, unavailable(errors.New("short signing key reply"))
	}
	current := str(rest[0])
	bodies, _ := rest[1].([]any)
	retired := pairs(rest[2])
	out := make([]store.SigningKey, 0, len(bodies)/2)
	for i := 0; i+1 < len(bodies); i += 2 {
		id := str(bodies[i])
		k, err := decodeSigningKey(str(bodies[i+1]), msString(retired[id]))
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b store.SigningKey) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), boolRank(b.ID == current, a.ID == current),
			cmp.Compare(b.ID, a.ID))
	})
	return out, nil
}

// DeleteSigningKey removes a key; unknown ids are not an error.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	_, _, err := s.run(ctx, s.sc.deleteKey, nil, id)
	return err
}

func decodeSigningKey(v string, retiredMS int64) (store.SigningKey, error) {
	var w signingKeyJSON
	if err := json.Unmarshal([]byte(v), &w); err != nil {
		return store.SigningKey{}, corrupt("signing key", err)
	}
	k := w.SigningKey
	k.CreatedAt, k.RetiredAt = fromMS(w.CreatedAt), fromMS(retiredMS)
	return k, nil
}

// pairs turns a flat field/value array reply into a map.
func pairs(v any) map[string]any {
	a, _ := v.([]any)
	m := make(map[string]any, len(a)/2)
	for i := 0; i+1 < len(a); i += 2 {
		m[str(a[i])] = a[i+1]
	}
	return m
}

// boolRank orders true before false when used as cmp(b, a).
func boolRank(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
