package embedded

import (
	"context"
	"encoding/json"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// RevokeSubject revokes, for one grant and one subject, every per-subject family (kinds
// account and resource) and every delegated JWT issued at or before at (SPEC §8 revocation
// by acc_ id), in one transaction. Revoking again keeps the later instant.
func (s *Store) RevokeSubject(ctx context.Context, grantID, subject string, at time.Time) error {
	return s.write(ctx, "revoke subject", func(tx *wtx) error {
		if _, err := tx.exec(`UPDATE families SET revoked = 1
			WHERE grant_id = ? AND subject = ? AND kind IN (?, ?)`,
			grantID, subject, string(store.KindAccount), string(store.KindResource)); err != nil {
			return err
		}
		_, err := tx.exec(`INSERT INTO subject_revocations (grant_id, subject, revoked_at)
			VALUES (?, ?, ?)
			ON CONFLICT (grant_id, subject) DO UPDATE
			SET revoked_at = max(revoked_at, excluded.revoked_at)`, grantID, subject, ms(at))
		return err
	})
}

// DenyJTI refuses the delegated JWT with that jti until expiresAt (SPEC §8). Denying again
// keeps the later expiry. Sweep forgets the jti once expiresAt has passed, when the JWT has
// expired anyway.
func (s *Store) DenyJTI(ctx context.Context, jti string, expiresAt time.Time) error {
	return s.write(ctx, "deny jti", func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO denied_jtis (jti, expires_at) VALUES (?, ?)
			ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
			jti, ms(expiresAt))
		return err
	})
}

// CheckDelegated says whether a signature-verified delegated JWT is still good: its grant
// exists and is active, its jti is not denied, its family (when named) is not revoked, its
// subject has not been revoked at or after its IssuedAt. ErrNotFound otherwise. On success
// it returns the current elevations of (grant, subject), sorted (nil when none). One
// statement, on the read pool.
func (s *Store) CheckDelegated(ctx context.Context, c store.DelegatedCheck) (store.DelegatedStatus, error) {
	var (
		good bool
		cals string
	)
	err := s.row(ctx, `SELECT
		EXISTS (SELECT 1 FROM grants WHERE id = ?1 AND status = 'active')
		AND NOT EXISTS (SELECT 1 FROM denied_jtis WHERE ?2 != '' AND jti = ?2)
		AND NOT EXISTS (SELECT 1 FROM families WHERE ?3 != '' AND id = ?3 AND revoked = 1)
		AND NOT EXISTS (SELECT 1 FROM subject_revocations
			WHERE grant_id = ?1 AND subject = ?4 AND revoked_at >= ?5),
		(SELECT json_group_array(calendar_id ORDER BY calendar_id) FROM elevations
			WHERE grant_id = ?1 AND subject = ?4)`,
		c.GrantID, c.JTI, c.FamilyID, c.Subject, ms(c.IssuedAt)).Scan(&good, &cals)
	if err != nil {
		return store.DelegatedStatus{}, classify("check delegated", err)
	}
	if !good {
		return store.DelegatedStatus{}, classify("check delegated", store.ErrNotFound)
	}
	var st store.DelegatedStatus
	if err := json.Unmarshal([]byte(cals), &st.Elevations); err != nil {
		return store.DelegatedStatus{}, classify("check delegated", err)
	}
	if len(st.Elevations) == 0 {
		st.Elevations = nil
	}
	return st, nil
}

// UseOnce records key (a private_key_jwt jti or an assertion id) until expiresAt, in one
// statement. It returns ErrUsed when key was recorded before and has not expired at now;
// an expired record is replaced. Of N concurrent calls with one key exactly one succeeds.
func (s *Store) UseOnce(ctx context.Context, key string, expiresAt, now time.Time) error {
	return s.write(ctx, "use once", func(tx *wtx) error {
		res, err := tx.exec(`INSERT INTO used_once (key, expires_at) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
			WHERE used_once.expires_at <= ?`, key, ms(expiresAt), ms(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrUsed
		}
		return nil
	})
}
