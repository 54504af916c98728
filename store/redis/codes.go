package redis

import (
	"context"
	"encoding/json"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// codeJSON is a Code as stored in the j field of co:<hash>; Used lives in the u field.
type codeJSON struct {
	store.Code
	ExpiresAt int64
}

// PutCode stores c under c.Hash until c.ExpiresAt; ErrExists when the hash is taken.
func (s *Store) PutCode(ctx context.Context, c store.Code) error {
	c.Used = false
	b, err := json.Marshal(codeJSON{Code: c, ExpiresAt: ms(c.ExpiresAt)})
	if err != nil {
		return err
	}
	st, _, err := s.run(ctx, s.sc.hsetNX, []string{s.key("co:", c.Hash)},
		s.ttl(c.ExpiresAt), "j", b, "x", ms(c.ExpiresAt), "u", "0")
	if err != nil {
		return err
	}
	return okOr(st)
}

// ConsumeCode marks the code used and returns it in one script, so one of N concurrent
// redemptions wins. Unknown or expired at now: ErrNotFound. Used before: ErrUsed plus the
// record (Used true), so the caller can revoke what it minted (SPEC §3).
func (s *Store) ConsumeCode(ctx context.Context, hash string, now time.Time) (store.Code, error) {
	st, rest, err := s.run(ctx, s.sc.consumeCode, []string{s.key("co:", hash)}, now.UnixMilli())
	if err != nil {
		return store.Code{}, err
	}
	if st != "ok" && st != "used" {
		return store.Code{}, statusErr(st)
	}
	var w codeJSON
	if err := json.Unmarshal([]byte(str(rest[0])), &w); err != nil {
		return store.Code{}, corrupt("code", err)
	}
	c := w.Code
	c.ExpiresAt = fromMS(w.ExpiresAt)
	c.Used = true
	if st == "used" {
		return c, store.ErrUsed
	}
	return c, nil
}
