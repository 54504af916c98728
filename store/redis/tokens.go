package redis

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// accessJSON and refreshJSON are the tokens as stored in the j field of at:/rt:<hash>
// (access tokens: before they were packed, packAccess); refresh Used lives in the u field.
// rotate_refresh.lua reads a stored refresh token's JSON by these field names (cjson):
// keep them flat, without slices.
type accessJSON struct {
	store.AccessToken
	IssuedAt, ExpiresAt int64
}

type refreshJSON struct {
	store.RefreshToken
	IssuedAt, ExpiresAt int64
}

// IssueTokens stores the family f (created when new, reused when it exists) and the access
// and refresh tokens (either may be nil) in one script. A revoked family or a revoked grant
// f.GrantID refuses with ErrNotFound before anything is written.
func (s *Store) IssueTokens(ctx context.Context, f store.Family, access *store.AccessToken, refresh *store.RefreshToken) error {
	args := []any{f.ID, f.GrantID, string(f.Kind), f.Subject}
	args, err := s.accessArgs(args, access)
	if err != nil {
		return err
	}
	if refresh == nil {
		args = append(args, "0", "", "", 0, 0, "")
	} else {
		b, err := encodeRefresh(*refresh)
		if err != nil {
			return err
		}
		args = append(args, "1", refresh.Hash, b, ms(refresh.ExpiresAt), s.ttl(refresh.ExpiresAt), refresh.GrantID)
	}
	st, _, err := s.run(ctx, s.sc.issueTokens, nil, args...)
	if err != nil {
		return err
	}
	return okOr(st)
}

// accessArgs appends the seven script arguments describing an optional access token:
// present, hash, JSON, expires ms, TTL ms, family, grant.
func (s *Store) accessArgs(args []any, a *store.AccessToken) ([]any, error) {
	if a == nil {
		return append(args, "0", "", "", 0, 0, "", ""), nil
	}
	b, err := packAccess(*a)
	if err != nil {
		return nil, err
	}
	return append(args, "1", a.Hash, b, ms(a.ExpiresAt), s.ttl(a.ExpiresAt), a.FamilyID, a.GrantID), nil
}

func encodeRefresh(r store.RefreshToken) ([]byte, error) {
	r.Used = false
	return json.Marshal(refreshJSON{RefreshToken: r, IssuedAt: ms(r.IssuedAt), ExpiresAt: ms(r.ExpiresAt)})
}

// LookupAccessToken returns the access token under hash. Token, family and grant status are
// read in one script: ErrNotFound when unknown, expired at now, revoked, in a revoked family
// or of a revoked grant.
func (s *Store) LookupAccessToken(ctx context.Context, hash string, now time.Time) (store.AccessToken, error) {
	st, rest, err := s.run(ctx, s.sc.lookupAccess, []string{s.key("at:", hash)}, now.UnixMilli())
	if err != nil {
		return store.AccessToken{}, err
	}
	if err := okOr(st); err != nil {
		return store.AccessToken{}, err
	}
	a, err := unpackAccess(str(rest[0]))
	if err != nil {
		return store.AccessToken{}, corrupt("access token", err)
	}
	return a, nil
}

// accessFields is how many fields a packed access token has; rotate_refresh.lua writes the
// same fields in the same order.
const accessFields = 11

// packAccess is a as the j field of at:<hash> holds it (packed.go).
func packAccess(a store.AccessToken) (string, error) {
	return pack(a.Hash, a.FamilyID, a.GrantID, a.ClientID, a.Domain, string(a.Kind), a.Subject, a.Scope,
		a.DelegatedScope, packInt(ms(a.IssuedAt)), packInt(ms(a.ExpiresAt)))
}

// unpackAccess reads a stored access token, packed or JSON.
func unpackAccess(raw string) (store.AccessToken, error) {
	if !isPacked(raw) {
		var w accessJSON
		if err := json.Unmarshal([]byte(raw), &w); err != nil {
			return store.AccessToken{}, err
		}
		a := w.AccessToken
		a.IssuedAt, a.ExpiresAt = fromMS(w.IssuedAt), fromMS(w.ExpiresAt)
		return a, nil
	}
	f, err := unpack(raw, accessFields)
	if err != nil {
		return store.AccessToken{}, err
	}
	iat, err := unpackInt(f[9])
	if err != nil {
		return store.AccessToken{}, err
	}
	exp, err := unpackInt(f[10])
	if err != nil {
		return store.AccessToken{}, err
	}
	return store.AccessToken{Hash: f[0], FamilyID: f[1], GrantID: f[2], ClientID: f[3], Domain: f[4],
		Kind: store.TokenKind(f[5]), Subject: f[6], Scope: f[7], DelegatedScope: f[8],
		IssuedAt: fromMS(iat), ExpiresAt: fromMS(exp)}, nil
}

// LookupRefreshToken returns the refresh token under hash while it can still be rotated;
// ErrNotFound when unknown, used, expired, in a revoked family or of a revoked grant.
func (s *Store) LookupRefreshToken(ctx context.Context, hash string, now time.Time) (store.RefreshToken, error) {
	st, rest, err := s.run(ctx, s.sc.lookupRefresh, []string{s.key("rt:", hash)}, now.UnixMilli())
	if err != nil {
		return store.RefreshToken{}, err
	}
	if err := okOr(st); err != nil {
		return store.RefreshToken{}, err
	}
	return decodeRefresh(rest[0], false)
}

// RotateRefresh rotates the token under oldHash in one script (rotate_refresh.lua): of N
// concurrent rotations one wins. The script checks expiry, family, grant, use and client,
// then builds the successors from the old token's stored JSON, so the refresh grant costs
// one round trip. Unknown, expired, revoked family or grant: ErrNotFound. Used before:
// ErrUsed plus the old record. Another client's: ErrWrongClient plus the old record,
// nothing written. It returns the old record (Used false).
func (s *Store) RotateRefresh(ctx context.Context, oldHash string, now time.Time, r store.RefreshRotation) (store.RefreshToken, error) {
	st, rest, err := s.run(ctx, s.sc.rotateRefresh, []string{s.key("rt:", oldHash)},
		now.UnixMilli(), r.ClientID, ms(r.IssuedAt),
		r.RefreshHash, ms(r.RefreshExpiresAt), s.ttl(r.RefreshExpiresAt),
		r.AccessHash, ms(r.AccessExpiresAt), s.ttl(r.AccessExpiresAt))
	if err != nil {
		return store.RefreshToken{}, err
	}
	var sentinel error
	switch st {
	case "ok":
	case "used":
		sentinel = store.ErrUsed
	case "client":
		sentinel = store.ErrWrongClient
	default:
		return store.RefreshToken{}, statusErr(st)
	}
	if len(rest) == 0 {
		return store.RefreshToken{}, unavailable(errors.New("short rotate reply"))
	}
	old, err := decodeRefresh(rest[0], st == "used")
	if err != nil {
		return store.RefreshToken{}, err
	}
	return old, sentinel
}

func decodeRefresh(v any, used bool) (store.RefreshToken, error) {
	var w refreshJSON
	if err := json.Unmarshal([]byte(str(v)), &w); err != nil {
		return store.RefreshToken{}, corrupt("refresh token", err)
	}
	r := w.RefreshToken
	r.IssuedAt, r.ExpiresAt = fromMS(w.IssuedAt), fromMS(w.ExpiresAt)
	r.Used = used
	return r, nil
}

// familyStubTTL is how long RevokeFamily remembers a family it did not know; it must
// outlast the longest code lifetime (SPEC §2: 600 s).
const familyStubTTL = 24 * time.Hour

// RevokeFamily marks the family revoked. An unknown family is recorded as revoked too (for
// familyStubTTL), so an IssueTokens racing behind a code reuse is refused: the reused code
// ends with no live tokens (SPEC §3).
func (s *Store) RevokeFamily(ctx context.Context, familyID string) error {
	_, _, err := s.run(ctx, s.sc.revokeFamily, []string{s.key("f:", familyID)}, familyStubTTL.Milliseconds())
	return err
}

// RevokeAccessToken deletes one access token; unknown hashes are not an error.
func (s *Store) RevokeAccessToken(ctx context.Context, hash string) error {
	if err := s.cmd.Del(ctx, s.key("at:", hash)).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// RevokeSubject revokes every family of (grantID, subject) and refuses the subject's
// delegated JWTs issued at or before at (SPEC §8), in one script.
func (s *Store) RevokeSubject(ctx context.Context, grantID, subject string, at time.Time) error {
	_, _, err := s.run(ctx, s.sc.revokeSubject, nil, grantID, subject, ms(at))
	return err
}

// DenyJTI refuses the delegated JWT with that jti until expiresAt (a key with a TTL).
func (s *Store) DenyJTI(ctx context.Context, jti string, expiresAt time.Time) error {
	ttl := time.Duration(max(s.ttl(expiresAt), ttlGrace.Milliseconds())) * time.Millisecond
	if err := s.cmd.Set(ctx, s.key("jd:", jti), ms(expiresAt), ttl).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// CheckDelegated checks a delegated JWT's grant, jti, family and subject revocation and
// reads its elevations, in one script. ErrNotFound when any check fails, including a grant
// that does not exist.
func (s *Store) CheckDelegated(ctx context.Context, c store.DelegatedCheck) (store.DelegatedStatus, error) {
	st, rest, err := s.run(ctx, s.sc.checkDelegated, nil, c.GrantID, c.Subject, c.JTI, c.FamilyID, ms(c.IssuedAt))
	if err != nil {
		return store.DelegatedStatus{}, err
	}
	if err := okOr(st); err != nil {
		return store.DelegatedStatus{}, err
	}
	if len(rest) == 0 {
		return store.DelegatedStatus{}, unavailable(errors.New("short check reply"))
	}
	return store.DelegatedStatus{Elevations: sortedStrings(rest[0])}, nil
}

// UseOnce records key until expiresAt; ErrUsed when it was recorded before and has not
// expired at now. One script, so of N concurrent calls exactly one succeeds.
func (s *Store) UseOnce(ctx context.Context, key string, expiresAt, now time.Time) error {
	ttl := max(s.ttl(expiresAt), ttlGrace.Milliseconds())
	st, _, err := s.run(ctx, s.sc.useOnce, []string{s.key("uo:", key)}, ms(expiresAt), now.UnixMilli(), ttl)
	if err != nil {
		return err
	}
	return okOr(st)
}

// sortedStrings turns an array reply into a sorted []string (nil when empty).
func sortedStrings(v any) []string {
	a, _ := v.([]any)
	if len(a) == 0 {
		return nil
	}
	out := make([]string, len(a))
	for i, x := range a {
		out[i] = str(x)
	}
	slices.Sort(out)
	return out
}
