package embedded

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/enterprise-connect/broker/store"
)

const codeColumns = `hash, client_id, redirect_uri, redirect_uri_given, code_challenge,
	grant_id, domain, family_id, subject, subject_kind, scope, expires_at, used`

// PutCode stores c under c.Hash until c.ExpiresAt. ErrExists when the hash is taken.
func (s *Store) PutCode(ctx context.Context, c store.Code) error {
	return s.write(ctx, "put code", func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO codes (`+codeColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Hash, c.ClientID, c.RedirectURI, boolInt(c.RedirectURIGiven), c.CodeChallenge,
			c.GrantID, c.Domain, c.FamilyID, c.Subject, string(c.SubjectKind), c.Scope,
			ms(c.ExpiresAt), boolInt(c.Used))
		return err
	})
}

// ConsumeCode marks the code stored under hash as used and returns it, in one transaction
// (the write lock is held from the read to the update), so one of N concurrent redemptions
// wins. Unknown or expired at now: ErrNotFound (expiry is checked first: an expired code is
// gone, used or not). Used before: ErrUsed plus the record, so the caller can revoke its
// family (SPEC §3). On success the record is returned with Used set, as it is now stored.
func (s *Store) ConsumeCode(ctx context.Context, hash string, now time.Time) (store.Code, error) {
	var c store.Code
	err := s.write(ctx, "consume code", func(tx *wtx) error {
		var err error
		c, err = consumeCode(tx, hash, now)
		return err
	})
	switch {
	case err == nil, errors.Is(err, store.ErrUsed):
		return c, err
	default:
		return store.Code{}, err
	}
}

// consumeCode is ConsumeCode inside the write transaction tx.
func consumeCode(tx *wtx, hash string, now time.Time) (store.Code, error) {
	c, err := scanCode(tx.row(`SELECT `+codeColumns+` FROM codes WHERE hash = ?`, hash))
	switch {
	case err != nil:
		return c, err
	case !now.Before(c.ExpiresAt):
		return c, store.ErrNotFound
	case c.Used:
		return c, store.ErrUsed
	}
	c.Used = true
	_, err = tx.exec(`UPDATE codes SET used = 1 WHERE hash = ?`, hash)
	return c, err
}

// RedeemCode consumes the code and, when r matches it and its grant is active, stores the
// token pair in the code's family, in one transaction (store.Codes.RedeemCode).
func (s *Store) RedeemCode(ctx context.Context, hash string, now time.Time, r store.CodeRedemption) (store.Code, bool, error) {
	var (
		c      store.Code
		issued bool
	)
	err := s.write(ctx, "redeem code", func(tx *wtx) error {
		var err error
		issued = false // a retried transaction starts over
		if c, err = consumeCode(tx, hash, now); err != nil || !r.Matches(c) {
			return err
		}
		var scope, delegated string
		var live int
		err = tx.row(`SELECT g.scope, g.delegated_scope,
			g.status = 'active' AND NOT EXISTS (SELECT 1 FROM families WHERE id = ? AND revoked = 1)
			FROM grants g WHERE g.id = ?`, c.FamilyID, c.GrantID).Scan(&scope, &delegated, &live)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil // an unknown grant: consumed, nothing issued
		case err != nil:
			return err
		case live == 0:
			return nil
		}
		if err := insertFamily(tx, store.Family{ID: c.FamilyID, GrantID: c.GrantID, ClientID: c.ClientID,
			Domain: c.Domain, Kind: store.KindServiceAccount, Subject: c.GrantID}); err != nil {
			return err
		}
		a := store.AccessToken{Hash: r.AccessHash, FamilyID: c.FamilyID, GrantID: c.GrantID, ClientID: c.ClientID,
			Domain: c.Domain, Kind: store.KindServiceAccount, Subject: c.GrantID, Scope: scope, DelegatedScope: delegated,
			IssuedAt: r.IssuedAt, ExpiresAt: r.AccessExpiresAt}
		rt := store.RefreshToken{Hash: r.RefreshHash, FamilyID: c.FamilyID, GrantID: c.GrantID, ClientID: c.ClientID,
			Domain: c.Domain, Kind: store.KindServiceAccount, Subject: c.GrantID, Scope: scope, DelegatedScope: delegated,
			IssuedAt: r.IssuedAt}
		if err := insertTokens(tx, &a, &rt); err != nil {
			return err
		}
		issued = true
		return nil
	})
	switch {
	case err == nil, errors.Is(err, store.ErrUsed):
		return c, issued, err
	default:
		return store.Code{}, false, err
	}
}

func scanCode(row scanner) (store.Code, error) {
	var (
		c           store.Code
		given, used int
		kind        string
		expires     int64
	)
	err := row.Scan(&c.Hash, &c.ClientID, &c.RedirectURI, &given, &c.CodeChallenge,
		&c.GrantID, &c.Domain, &c.FamilyID, &c.Subject, &kind, &c.Scope, &expires, &used)
	if err != nil {
		return store.Code{}, err
	}
	c.RedirectURIGiven, c.Used = given != 0, used != 0
	c.SubjectKind = store.TokenKind(kind)
	c.ExpiresAt = fromMS(expires)
	return c, nil
}
