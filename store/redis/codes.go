package redis

import (
	"context"
	"encoding/json"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// codeJSON is a Code as it was stored in the j field of co:<hash> before codes were
// packed (packCode); Used lives in the u field.
type codeJSON struct {
	store.Code
	ExpiresAt int64
}

// codeFields is how many fields a packed code has.
const codeFields = 12

// packCode is c as the j field of co:<hash> holds it (packed.go).
func packCode(c store.Code) (string, error) {
	return pack(c.Hash, c.ClientID, c.RedirectURI, packBool(c.RedirectURIGiven), c.CodeChallenge, c.GrantID,
		c.Domain, c.FamilyID, c.Subject, string(c.SubjectKind), c.Scope, packInt(ms(c.ExpiresAt)))
}

// unpackCode reads a stored code, packed or JSON.
func unpackCode(raw string) (store.Code, error) {
	if !isPacked(raw) {
		var w codeJSON
		if err := json.Unmarshal([]byte(raw), &w); err != nil {
			return store.Code{}, err
		}
		c := w.Code
		c.ExpiresAt = fromMS(w.ExpiresAt)
		return c, nil
	}
	f, err := unpack(raw, codeFields)
	if err != nil {
		return store.Code{}, err
	}
	exp, err := unpackInt(f[11])
	if err != nil {
		return store.Code{}, err
	}
	return store.Code{Hash: f[0], ClientID: f[1], RedirectURI: f[2], RedirectURIGiven: f[3] == "1", CodeChallenge: f[4],
		GrantID: f[5], Domain: f[6], FamilyID: f[7], Subject: f[8], SubjectKind: store.TokenKind(f[9]), Scope: f[10],
		ExpiresAt: fromMS(exp)}, nil
}

// PutCode stores c under c.Hash until c.ExpiresAt; ErrExists when the hash is taken.
func (s *Store) PutCode(ctx context.Context, c store.Code) error {
	b, err := packCode(c)
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
// record (Used true), so the caller can revoke what it minted (SPEC §3). It is RedeemCode's
// script with no client: the code is consumed and nothing is issued.
func (s *Store) ConsumeCode(ctx context.Context, hash string, now time.Time) (store.Code, error) {
	c, _, err := s.RedeemCode(ctx, hash, now, store.CodeRedemption{})
	return c, err
}

// RedeemCode consumes the code and, when r matches it and its grant is active, stores the
// token pair in the code's family, in one script (redeem_code.lua; store.Codes.RedeemCode).
func (s *Store) RedeemCode(ctx context.Context, hash string, now time.Time, r store.CodeRedemption) (store.Code, bool, error) {
	given := "0"
	if r.RedirectURIGiven {
		given = "1"
	}
	st, rest, err := s.run(ctx, s.sc.redeemCode, []string{s.key("co:", hash)}, now.UnixMilli(),
		r.ClientID, given, r.RedirectURI, r.CodeChallenge, ms(r.IssuedAt),
		r.AccessHash, ms(r.AccessExpiresAt), s.ttl(r.AccessExpiresAt), r.RefreshHash)
	if err != nil {
		return store.Code{}, false, err
	}
	if st != "ok" && st != "used" {
		return store.Code{}, false, statusErr(st)
	}
	c, err := unpackCode(str(rest[0]))
	if err != nil {
		return store.Code{}, false, corrupt("code", err)
	}
	c.Used = true
	if st == "used" {
		return c, false, store.ErrUsed
	}
	return c, len(rest) > 1 && str(rest[1]) == "1", nil
}
