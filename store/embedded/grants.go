package embedded

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/enterprise-connect/broker/store"
)

const grantColumns = `id, client_id, domain, scope, delegated_scope, policy, approved_by,
	approved_at, last_used_at, status, revoked_at`

// defaultPageSize is the page size of ListGrants and ListAudit when the filter's Limit is
// not positive.
const defaultPageSize = 100

// CreateGrant stores g as the active grant of (g.ClientID, g.Domain) and, in the same
// transaction, revokes the grant it replaces (RevokedAt = g.ApprovedAt). It returns the
// replaced grant's id, "" when there was none. ErrExists when g.ID is taken. The stored
// grant is active whatever g.Status and g.RevokedAt say; a unique partial index keeps one
// active grant per (client, domain) even against a writer that skips this method.
func (s *Store) CreateGrant(ctx context.Context, g store.Grant) (string, error) {
	policy, err := json.Marshal(g.Policy)
	if err != nil {
		return "", classify("create grant", err)
	}
	var replaced string
	err = s.write(ctx, "create grant", func(tx *wtx) error {
		var taken int
		err := tx.row(`SELECT 1 FROM grants WHERE id = ?`, g.ID).Scan(&taken)
		switch {
		case err == nil:
			return store.ErrExists
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		err = tx.row(`UPDATE grants SET status = 'revoked', revoked_at = ?
			WHERE client_id = ? AND domain = ? AND status = 'active' RETURNING id`,
			ms(g.ApprovedAt), g.ClientID, g.Domain).Scan(&replaced)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.exec(`INSERT INTO grants (`+grantColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)`,
			g.ID, g.ClientID, g.Domain, g.Scope, g.DelegatedScope, string(policy),
			g.ApprovedBy, ms(g.ApprovedAt), ms(g.LastUsedAt), zeroMillis)
		return err
	})
	if err != nil {
		return "", err
	}
	return replaced, nil
}

// GetGrant returns the grant in any status, or ErrNotFound.
func (s *Store) GetGrant(ctx context.Context, id string) (store.Grant, error) {
	g, err := scanGrant(s.row(ctx, `SELECT `+grantColumns+` FROM grants WHERE id = ?`, id))
	return g, classify("get grant", err)
}

// ActiveGrant returns the active grant of (clientID, domain), or ErrNotFound.
func (s *Store) ActiveGrant(ctx context.Context, clientID, domain string) (store.Grant, error) {
	g, err := scanGrant(s.row(ctx, `SELECT `+grantColumns+` FROM grants
		WHERE client_id = ? AND domain = ? AND status = 'active'`, clientID, domain))
	return g, classify("active grant", err)
}

// ListGrants returns one page of grants matching f, newest approval first (ties by id,
// descending), and the cursor of the next page ("" on the last page). The cursor is the
// opaque position of the page's last grant; a cursor this store did not make fails with an
// error that wraps neither ErrNotFound nor ErrUnavailable.
func (s *Store) ListGrants(ctx context.Context, f store.GrantFilter) ([]store.Grant, string, error) {
	var (
		where []string
		args  []any
	)
	for _, c := range []struct{ col, val string }{
		{"domain", f.Domain}, {"client_id", f.ClientID}, {"status", string(f.Status)},
	} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	if f.Cursor != "" {
		at, id, err := decodeGrantCursor(f.Cursor)
		if err != nil {
			return nil, "", classify("list grants", err)
		}
		where = append(where, "(approved_at, id) < (?, ?)")
		args = append(args, at, id)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultPageSize
	}
	q := `SELECT ` + grantColumns + ` FROM grants`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += ` ORDER BY approved_at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)

	rows, err := s.rows(ctx, q, args...)
	if err != nil {
		return nil, "", classify("list grants", err)
	}
	defer rows.Close()
	var out []store.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, "", classify("list grants", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify("list grants", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = encodeGrantCursor(ms(last.ApprovedAt), last.ID)
	}
	return out, next, nil
}

func encodeGrantCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + ":" + id))
}

func decodeGrantCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", fmt.Errorf("%w: cursor", errInvalid)
	}
	at, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil {
		return 0, "", fmt.Errorf("%w: cursor", errInvalid)
	}
	return n, id, nil
}

// RevokeGrant marks the grant revoked at now and returns it. Tokens read their grant's
// status through a join, so every token derived from it is refused from the commit on.
// Revoking a revoked grant returns it unchanged. Unknown: ErrNotFound.
func (s *Store) RevokeGrant(ctx context.Context, id string, now time.Time) (store.Grant, error) {
	var g store.Grant
	err := s.write(ctx, "revoke grant", func(tx *wtx) error {
		if _, err := tx.exec(`UPDATE grants SET status = 'revoked', revoked_at = ?
			WHERE id = ? AND status != 'revoked'`, ms(now), id); err != nil {
			return err
		}
		var err error
		g, err = scanGrant(tx.row(`SELECT `+grantColumns+` FROM grants WHERE id = ?`, id))
		return err
	})
	if err != nil {
		return store.Grant{}, err
	}
	return g, nil
}

// RecordGrantUse sets the grant's LastUsedAt to now and adds minted to its count for now's
// UTC day (SPEC §9 admin UI), in one transaction. Unknown grants are ignored. A minted of 0
// only moves LastUsedAt.
func (s *Store) RecordGrantUse(ctx context.Context, id string, now time.Time, minted int) error {
	return s.write(ctx, "record grant use", func(tx *wtx) error {
		res, err := tx.exec(`UPDATE grants SET last_used_at = ? WHERE id = ?`,
			ms(now), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 || minted == 0 {
			return err
		}
		_, err = tx.exec(`INSERT INTO grant_mints (grant_id, day, count)
			VALUES (?, ?, ?)
			ON CONFLICT (grant_id, day) DO UPDATE SET count = count + excluded.count`,
			id, now.UTC().Format(time.DateOnly), minted)
		return err
	})
}

// MintCounts returns the grant's delegated-token counts per UTC day ("2006-01-02") from
// since's UTC day on. Days without mints are absent; an unknown grant has an empty map.
func (s *Store) MintCounts(ctx context.Context, id string, since time.Time) (map[string]int, error) {
	rows, err := s.rows(ctx, `SELECT day, count FROM grant_mints
		WHERE grant_id = ? AND day >= ? ORDER BY day`, id, since.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, classify("mint counts", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			day string
			n   int
		)
		if err := rows.Scan(&day, &n); err != nil {
			return nil, classify("mint counts", err)
		}
		out[day] = n
	}
	return out, classify("mint counts", rows.Err())
}

func scanGrant(row scanner) (store.Grant, error) {
	var (
		g                      store.Grant
		policy, status         string
		approved, used, revokd int64
	)
	err := row.Scan(&g.ID, &g.ClientID, &g.Domain, &g.Scope, &g.DelegatedScope, &policy,
		&g.ApprovedBy, &approved, &used, &status, &revokd)
	if err != nil {
		return store.Grant{}, err
	}
	if err := json.Unmarshal([]byte(policy), &g.Policy); err != nil {
		return store.Grant{}, err
	}
	g.Status = store.GrantStatus(status)
	g.ApprovedAt, g.LastUsedAt, g.RevokedAt = fromMS(approved), fromMS(used), fromMS(revokd)
	return g, nil
}
