package embedded

import (
	"context"
	"encoding/json"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// Expiry, everywhere in this package: a record is alive while now < ExpiresAt, and expired
// from ExpiresAt on (the JWT "exp" reading, RFC 7519 §4.1.4).

const pendingColumns = `id, client_id, redirect_uri, redirect_uri_given, scope,
	delegated_scope, state, code_challenge, login_hint, created_at, expires_at`

// PutPending stores p until p.ExpiresAt. ErrExists when p.ID is taken.
func (s *Store) PutPending(ctx context.Context, p store.PendingAuthorization) error {
	return s.write(ctx, "put pending", func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO pending_authorizations (`+pendingColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.ClientID, p.RedirectURI, boolInt(p.RedirectURIGiven), p.Scope,
			p.DelegatedScope, p.State, p.CodeChallenge, p.LoginHint, ms(p.CreatedAt),
			ms(p.ExpiresAt))
		return err
	})
}

// GetPending returns the pending request, or ErrNotFound when unknown, consumed or expired
// at now.
func (s *Store) GetPending(ctx context.Context, id string, now time.Time) (store.PendingAuthorization, error) {
	p, err := scanPending(s.row(ctx, `SELECT `+pendingColumns+`
		FROM pending_authorizations WHERE id = ? AND expires_at > ?`, id, ms(now)))
	return p, classify("get pending", err)
}

// ConsumePending removes and returns the pending request in one transaction: of concurrent
// calls exactly one gets it, the others ErrNotFound. Expired at now: ErrNotFound.
func (s *Store) ConsumePending(ctx context.Context, id string, now time.Time) (store.PendingAuthorization, error) {
	var p store.PendingAuthorization
	err := s.write(ctx, "consume pending", func(tx *wtx) error {
		var err error
		p, err = scanPending(tx.row(`DELETE FROM pending_authorizations
			WHERE id = ? RETURNING `+pendingColumns, id))
		return err
	})
	if err != nil {
		return store.PendingAuthorization{}, err
	}
	if !now.Before(p.ExpiresAt) { // the expired row is gone all the same
		return store.PendingAuthorization{}, classify("consume pending", store.ErrNotFound)
	}
	return p, nil
}

func scanPending(row scanner) (store.PendingAuthorization, error) {
	var (
		p                store.PendingAuthorization
		given            int
		created, expires int64
	)
	err := row.Scan(&p.ID, &p.ClientID, &p.RedirectURI, &given, &p.Scope, &p.DelegatedScope,
		&p.State, &p.CodeChallenge, &p.LoginHint, &created, &expires)
	if err != nil {
		return store.PendingAuthorization{}, err
	}
	p.RedirectURIGiven = given != 0
	p.CreatedAt, p.ExpiresAt = fromMS(created), fromMS(expires)
	return p, nil
}

const sessionColumns = `hash, kind, email, name, domain, created_at, expires_at`

// PutSession stores s until s.ExpiresAt, replacing a session with the same hash.
func (s *Store) PutSession(ctx context.Context, sess store.Session) error {
	return s.write(ctx, "put session", func(tx *wtx) error {
		_, err := tx.exec(`INSERT OR REPLACE INTO sessions (`+sessionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			sess.Hash, string(sess.Kind), sess.Email, sess.Name, sess.Domain,
			ms(sess.CreatedAt), ms(sess.ExpiresAt))
		return err
	})
}

// GetSession returns the session, or ErrNotFound when unknown or expired at now.
func (s *Store) GetSession(ctx context.Context, hash string, now time.Time) (store.Session, error) {
	var (
		sess             store.Session
		kind             string
		created, expires int64
	)
	err := s.row(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE hash = ? AND expires_at > ?`, hash, ms(now)).Scan(
		&sess.Hash, &kind, &sess.Email, &sess.Name, &sess.Domain, &created, &expires)
	if err != nil {
		return store.Session{}, classify("get session", err)
	}
	sess.Kind = store.SessionKind(kind)
	sess.CreatedAt, sess.ExpiresAt = fromMS(created), fromMS(expires)
	return sess, nil
}

// DeleteSession removes it; unknown sessions are not an error.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	return s.write(ctx, "delete session", func(tx *wtx) error {
		_, err := tx.exec(`DELETE FROM sessions WHERE hash = ?`, hash)
		return err
	})
}

const permissionColumns = `id, grant_id, client_id, domain, subject, calendar_ids,
	redirect_uri, created_at, expires_at`

// PutPermissionRequest stores r until r.ExpiresAt. ErrExists when r.ID is taken.
func (s *Store) PutPermissionRequest(ctx context.Context, r store.PermissionRequest) error {
	cals, err := json.Marshal(r.CalendarIDs)
	if err != nil {
		return classify("put permission request", err)
	}
	return s.write(ctx, "put permission request", func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO permission_requests (`+permissionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.GrantID, r.ClientID, r.Domain, r.Subject, string(cals), r.RedirectURI,
			ms(r.CreatedAt), ms(r.ExpiresAt))
		return err
	})
}

// GetPermissionRequest returns it, or ErrNotFound when unknown, consumed or expired at now.
func (s *Store) GetPermissionRequest(ctx context.Context, id string, now time.Time) (store.PermissionRequest, error) {
	r, err := scanPermission(s.row(ctx, `SELECT `+permissionColumns+`
		FROM permission_requests WHERE id = ? AND expires_at > ?`, id, ms(now)))
	return r, classify("get permission request", err)
}

// ConsumePermissionRequest removes and returns it in one transaction; exactly one caller
// wins, the others get ErrNotFound. Expired at now: ErrNotFound.
func (s *Store) ConsumePermissionRequest(ctx context.Context, id string, now time.Time) (store.PermissionRequest, error) {
	var r store.PermissionRequest
	err := s.write(ctx, "consume permission request", func(tx *wtx) error {
		var err error
		r, err = scanPermission(tx.row(`DELETE FROM permission_requests
			WHERE id = ? RETURNING `+permissionColumns, id))
		return err
	})
	if err != nil {
		return store.PermissionRequest{}, err
	}
	if !now.Before(r.ExpiresAt) { // the expired row is gone all the same
		return store.PermissionRequest{}, classify("consume permission request", store.ErrNotFound)
	}
	return r, nil
}

func scanPermission(row scanner) (store.PermissionRequest, error) {
	var (
		r                store.PermissionRequest
		cals             string
		created, expires int64
	)
	err := row.Scan(&r.ID, &r.GrantID, &r.ClientID, &r.Domain, &r.Subject, &cals,
		&r.RedirectURI, &created, &expires)
	if err != nil {
		return store.PermissionRequest{}, err
	}
	if err := json.Unmarshal([]byte(cals), &r.CalendarIDs); err != nil {
		return store.PermissionRequest{}, err
	}
	r.CreatedAt, r.ExpiresAt = fromMS(created), fromMS(expires)
	return r, nil
}
