package embedded

import (
	"context"
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
		c, err = scanCode(tx.row(`SELECT `+codeColumns+` FROM codes WHERE hash = ?`, hash))
		switch {
		case err != nil:
			return err
		case !now.Before(c.ExpiresAt):
			return store.ErrNotFound
		case c.Used:
			return store.ErrUsed
		}
		c.Used = true
		_, err = tx.exec(`UPDATE codes SET used = 1 WHERE hash = ?`, hash)
		return err
	})
	switch {
	case err == nil, errors.Is(err, store.ErrUsed):
		return c, err
	default:
		return store.Code{}, err
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
