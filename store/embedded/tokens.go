package embedded

import (
	"context"
	"errors"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// Revocation is stored once, where it happens (families.revoked, grants.status), and every
// read of a token joins it in: revoking a grant or a family is one row update however many
// tokens descend from it, and it holds for every process from the commit on (SPEC §8).
// A token whose grant or family row does not exist is judged by its own row alone.

const tokenColumns = `hash, family_id, grant_id, client_id, domain, kind, subject, scope,
	delegated_scope, issued_at, expires_at`

// liveToken is the SQL condition, on a token aliased t, that neither its family nor its
// grant has been revoked.
const liveToken = `
	NOT EXISTS (SELECT 1 FROM families f WHERE f.id = t.family_id AND f.revoked = 1)
	AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.id = t.grant_id AND g.status = 'revoked')`

// IssueTokens stores the family f (created when new; an existing f.ID is reused as stored)
// and, in the same transaction, the access token and the refresh token (either may be nil).
// A revoked family or a revoked grant f.GrantID refuses with ErrNotFound and nothing is
// written; an unknown grant is accepted. ErrExists when a token hash is taken.
func (s *Store) IssueTokens(ctx context.Context, f store.Family, access *store.AccessToken, refresh *store.RefreshToken) error {
	return s.write(ctx, "issue tokens", func(tx *wtx) error {
		var revoked, grantRevoked int
		err := tx.row(`SELECT
			(SELECT count(*) FROM families WHERE id = ? AND revoked = 1),
			(SELECT count(*) FROM grants WHERE id = ? AND status = 'revoked')`,
			f.ID, f.GrantID).Scan(&revoked, &grantRevoked)
		switch {
		case err != nil:
			return err
		case revoked != 0 || grantRevoked != 0:
			return store.ErrNotFound
		}
		if err := insertFamily(tx, f); err != nil {
			return err
		}
		return insertTokens(tx, access, refresh)
	})
}

// insertFamily creates family f unless its id is taken (an existing family stays as stored).
func insertFamily(tx *wtx, f store.Family) error {
	_, err := tx.exec(`INSERT INTO families
		(id, grant_id, client_id, domain, kind, subject, revoked)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		f.ID, f.GrantID, f.ClientID, f.Domain, string(f.Kind), f.Subject, boolInt(f.Revoked))
	return err
}

// insertTokens inserts access and refresh when they are not nil.
func insertTokens(tx *wtx, access *store.AccessToken, refresh *store.RefreshToken) error {
	if a := access; a != nil {
		_, err := tx.exec(`INSERT INTO access_tokens (`+tokenColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.Hash, a.FamilyID, a.GrantID, a.ClientID, a.Domain, string(a.Kind), a.Subject,
			a.Scope, a.DelegatedScope, ms(a.IssuedAt), ms(a.ExpiresAt))
		if err != nil {
			return err
		}
	}
	if r := refresh; r != nil {
		_, err := tx.exec(`INSERT INTO refresh_tokens (`+tokenColumns+`, used)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Hash, r.FamilyID, r.GrantID, r.ClientID, r.Domain, string(r.Kind), r.Subject,
			r.Scope, r.DelegatedScope, ms(r.IssuedAt), ms(r.ExpiresAt), boolInt(r.Used))
		if err != nil {
			return err
		}
	}
	return nil
}

// LookupAccessToken returns the access token stored under hash, in one statement.
// ErrNotFound when unknown, expired at now, revoked, in a revoked family, or of a revoked
// grant.
func (s *Store) LookupAccessToken(ctx context.Context, hash string, now time.Time) (store.AccessToken, error) {
	var (
		a               store.AccessToken
		kind            string
		issued, expires int64
	)
	err := s.row(ctx, `SELECT `+tokenColumns+` FROM access_tokens t
		WHERE t.hash = ? AND t.expires_at > ? AND`+liveToken, hash, ms(now)).Scan(
		&a.Hash, &a.FamilyID, &a.GrantID, &a.ClientID, &a.Domain, &kind, &a.Subject,
		&a.Scope, &a.DelegatedScope, &issued, &expires)
	if err != nil {
		return store.AccessToken{}, classify("lookup access token", err)
	}
	a.Kind = store.TokenKind(kind)
	a.IssuedAt, a.ExpiresAt = fromMS(issued), fromMS(expires)
	return a, nil
}

// refreshAlive is the SQL condition that the refresh token t has not expired at the first
// bound parameter (a zero ExpiresAt never expires).
// The literal is zeroMillis (a test keeps them equal).
const refreshAlive = ` (t.expires_at = -62135596800000 OR t.expires_at > ?) `

// LookupRefreshToken returns the refresh token stored under hash while it can still be
// rotated; ErrNotFound when unknown, used, expired at now, in a revoked family or of a
// revoked grant.
func (s *Store) LookupRefreshToken(ctx context.Context, hash string, now time.Time) (store.RefreshToken, error) {
	r, err := scanRefresh(s.row(ctx, `SELECT `+tokenColumns+`, used
		FROM refresh_tokens t WHERE t.hash = ? AND t.used = 0 AND`+refreshAlive+`AND`+liveToken,
		hash, ms(now)))
	return r, classify("lookup refresh token", err)
}

// RotateRefresh rotates the refresh token under oldHash in one transaction: of N concurrent
// rotations one wins. Unknown, expired at now, revoked family or grant: ErrNotFound. Used
// before: ErrUsed plus the old record. Another client's: ErrWrongClient plus the old record,
// nothing written. Otherwise the old token is marked used and its successors, copied from it
// in Go, are inserted (the access token only for a service-account token). It returns the
// old record as it was before (Used false).
func (s *Store) RotateRefresh(ctx context.Context, oldHash string, now time.Time, r store.RefreshRotation) (store.RefreshToken, error) {
	var old store.RefreshToken
	err := s.write(ctx, "rotate refresh", func(tx *wtx) error {
		var (
			live bool
			err  error
		)
		old, err = scanRefresh(tx.row(`SELECT `+tokenColumns+`,
			used, `+refreshAlive+`AND`+liveToken+` FROM refresh_tokens t WHERE t.hash = ?`,
			ms(now), oldHash), &live)
		switch {
		case err != nil:
			return err
		case !live:
			return store.ErrNotFound
		case old.Used:
			return store.ErrUsed
		case old.ClientID != r.ClientID:
			return store.ErrWrongClient
		}
		if _, err := tx.exec(`UPDATE refresh_tokens SET used = 1 WHERE hash = ?`,
			oldHash); err != nil {
			return err
		}
		next := old
		next.Hash, next.IssuedAt, next.ExpiresAt = r.RefreshHash, r.IssuedAt, r.RefreshExpiresAt
		var access *store.AccessToken
		if r.AccessHash != "" && old.Kind == store.KindServiceAccount {
			access = &store.AccessToken{Hash: r.AccessHash, FamilyID: old.FamilyID, GrantID: old.GrantID,
				ClientID: old.ClientID, Domain: old.Domain, Kind: old.Kind, Subject: old.Subject,
				Scope: old.Scope, DelegatedScope: old.DelegatedScope,
				IssuedAt: r.IssuedAt, ExpiresAt: r.AccessExpiresAt}
		}
		return insertTokens(tx, access, &next)
	})
	switch {
	case err == nil, errors.Is(err, store.ErrUsed), errors.Is(err, store.ErrWrongClient):
		return old, err
	default:
		return store.RefreshToken{}, err
	}
}

// RevokeFamily revokes every access and refresh token of the family, and every delegated
// JWT that CheckDelegated is asked about with that FamilyID. An unknown family is recorded
// as revoked, so that a later IssueTokens or CheckDelegated naming it is refused too.
func (s *Store) RevokeFamily(ctx context.Context, familyID string) error {
	return s.write(ctx, "revoke family", func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO families
			(id, grant_id, client_id, domain, kind, subject, revoked)
			VALUES (?, '', '', '', '', '', 1)
			ON CONFLICT (id) DO UPDATE SET revoked = 1`, familyID)
		return err
	})
}

// RevokeAccessToken revokes one access token by deleting it. Unknown hashes are not an
// error.
func (s *Store) RevokeAccessToken(ctx context.Context, hash string) error {
	return s.write(ctx, "revoke access token", func(tx *wtx) error {
		_, err := tx.exec(`DELETE FROM access_tokens WHERE hash = ?`, hash)
		return err
	})
}

// scanRefresh scans a refresh token's columns, then any extra destinations.
func scanRefresh(row scanner, extra ...any) (store.RefreshToken, error) {
	var (
		r               store.RefreshToken
		kind            string
		issued, expires int64
		used            int
	)
	dest := append([]any{&r.Hash, &r.FamilyID, &r.GrantID, &r.ClientID, &r.Domain, &kind,
		&r.Subject, &r.Scope, &r.DelegatedScope, &issued, &expires, &used}, extra...)
	if err := row.Scan(dest...); err != nil {
		return store.RefreshToken{}, err
	}
	r.Kind = store.TokenKind(kind)
	r.IssuedAt, r.ExpiresAt = fromMS(issued), fromMS(expires)
	r.Used = used != 0
	return r, nil
}
