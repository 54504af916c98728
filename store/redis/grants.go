package redis

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// Grant listing: a page has at most maxGrantLimit grants. One list_grants script examines
// at most Store.scanBudget index entries, so a sparse filter never blocks Redis for long;
// ListGrants then calls it again from where it stopped, until the page is full.
const (
	defaultGrantLimit = 100
	maxGrantLimit     = 1000
	defaultScanBudget = 2000
)

// grantJSON is the immutable part of a Grant, in the j field of g:<id>. Status, RevokedAt
// and LastUsedAt live in the s, r and l fields, where scripts change them.
type grantJSON struct {
	store.Grant
	ApprovedAt, LastUsedAt, RevokedAt int64
}

// CreateGrant stores g as the active grant of (g.ClientID, g.Domain) and revokes the grant
// it replaces (RevokedAt = g.ApprovedAt) in one script; it returns the replaced id or "".
// ErrExists when g.ID is taken. g's Status and RevokedAt are ignored: a new grant is active.
func (s *Store) CreateGrant(ctx context.Context, g store.Grant) (string, error) {
	g.Status, g.RevokedAt = "", time.Time{}
	b, err := json.Marshal(grantJSON{Grant: g, ApprovedAt: ms(g.ApprovedAt)})
	if err != nil {
		return "", err
	}
	st, rest, err := s.run(ctx, s.sc.createGrant, []string{s.key("g:", g.ID)},
		g.ID, g.ClientID, g.Domain, ms(g.ApprovedAt), b, lexMember(g.ApprovedAt, g.ID), ms(g.LastUsedAt))
	if err != nil {
		return "", err
	}
	if err := okOr(st); err != nil {
		return "", err
	}
	return str(rest[0]), nil
}

// GetGrant returns the grant in any status, or ErrNotFound.
func (s *Store) GetGrant(ctx context.Context, id string) (store.Grant, error) {
	v, err := s.cmd.HMGet(ctx, s.key("g:", id), "j", "s", "r", "l").Result()
	if err != nil {
		return store.Grant{}, unavailable(err)
	}
	if str(v[0]) == "" {
		return store.Grant{}, store.ErrNotFound
	}
	return decodeGrant(v)
}

// ActiveGrant returns the active grant of (clientID, domain), or ErrNotFound.
func (s *Store) ActiveGrant(ctx context.Context, clientID, domain string) (store.Grant, error) {
	st, rest, err := s.run(ctx, s.sc.activeGrant, nil, clientID, domain)
	if err != nil {
		return store.Grant{}, err
	}
	if err := okOr(st); err != nil {
		return store.Grant{}, err
	}
	return decodeGrant(rest)
}

// RevokeGrant marks the grant revoked at now and returns it; a revoked grant is returned
// unchanged. Token lookups read the grant's status in their own scripts, so every token
// derived from it is refused from the next call on, on every replica. Unknown: ErrNotFound.
func (s *Store) RevokeGrant(ctx context.Context, id string, now time.Time) (store.Grant, error) {
	st, rest, err := s.run(ctx, s.sc.revokeGrant, []string{s.key("g:", id)}, id, now.UnixMilli())
	if err != nil {
		return store.Grant{}, err
	}
	if err := okOr(st); err != nil {
		return store.Grant{}, err
	}
	return decodeGrant(rest)
}

// RecordGrantUse sets LastUsedAt to now and adds minted to now's UTC day count (SPEC §9).
// Unknown grants are ignored.
func (s *Store) RecordGrantUse(ctx context.Context, id string, now time.Time, minted int) error {
	_, _, err := s.run(ctx, s.sc.recordUse, []string{s.key("g:", id), s.key("gm:", id)},
		now.UnixMilli(), now.UTC().Format(time.DateOnly), minted)
	return err
}

// MintCounts returns the grant's delegated-token counts per UTC day from since's day on.
// Days with no mint (RecordGrantUse with minted 0) are absent.
func (s *Store) MintCounts(ctx context.Context, id string, since time.Time) (map[string]int, error) {
	m, err := s.cmd.HGetAll(ctx, s.key("gm:", id)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	from := since.UTC().Format(time.DateOnly)
	out := make(map[string]int, len(m))
	for day, n := range m {
		if day >= from {
			out[day] = int(msString(n))
		}
	}
	return out, nil
}

// ListGrants returns one page of grants matching f, newest approval first (ties by id,
// descending), and the cursor of the next page. It walks the most selective index (domain,
// else client, else all) with list_grants, one script per scan budget, and looks one match
// ahead so that a cursor is returned only when another match exists. A malformed cursor is
// an error.
func (s *Store) ListGrants(ctx context.Context, f store.GrantFilter) ([]store.Grant, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultGrantLimit
	}
	limit = min(limit, maxGrantLimit)
	idx := s.key("gi:all")
	switch {
	case f.Domain != "":
		idx = s.key("gi:d:", f.Domain)
	case f.ClientID != "":
		idx = s.key("gi:c:", f.ClientID)
	}
	bound := "+"
	if f.Cursor != "" {
		m, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		if err != nil || len(m) < 15 || m[13] != ':' || strings.Trim(string(m[:13]), "0123456789") != "" {
			return nil, "", errors.New("redis store: invalid grant cursor")
		}
		bound = "(" + string(m)
	}
	var out []store.Grant
	last := "" // index member of the grant returned last
	for {
		st, rest, err := s.run(ctx, s.sc.listGrants, []string{idx},
			bound, limit+1-len(out), string(f.Status), f.ClientID, f.Domain, s.scanBudget)
		if err != nil {
			return nil, "", err
		}
		if err := okOr(st); err != nil {
			return nil, "", err
		}
		resume, items := str(rest[0]), rest[1:]
		for i := 0; i+4 < len(items); i += 5 {
			if len(out) == limit { // one match beyond the page: there is a next page
				return out, cursorOf(last), nil
			}
			g, err := decodeGrant(items[i+1 : i+5])
			if err != nil {
				return nil, "", err
			}
			out, last = append(out, g), str(items[i])
		}
		if resume == "" {
			return out, "", nil
		}
		bound = "(" + resume
	}
}

// cursorOf makes an opaque cursor of a grant index member.
func cursorOf(member string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(member))
}

// decodeGrant builds a Grant from the reply fields j, s, r, l.
func decodeGrant(v []any) (store.Grant, error) {
	if len(v) < 4 {
		return store.Grant{}, unavailable(errors.New("short grant reply"))
	}
	var w grantJSON
	if err := json.Unmarshal([]byte(str(v[0])), &w); err != nil {
		return store.Grant{}, corrupt("grant", err)
	}
	g := w.Grant
	g.ApprovedAt = fromMS(w.ApprovedAt)
	g.Status = store.GrantStatus(str(v[1]))
	g.RevokedAt = fromMS(msString(v[2]))
	g.LastUsedAt = fromMS(msString(v[3]))
	return g, nil
}
