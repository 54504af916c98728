package broker

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/enterprise-connect/broker/broker/audit"
	"github.com/enterprise-connect/broker/store"
)

// Grant listing limits (SPEC §9 `GET /v1/grants?limit`). Spec is silent on the numbers:
// the same as the audit listing, 100 by default and at most 1000 per page.
const (
	defaultPageLimit = 100
	maxPageLimit     = 1000
)

// cliActor is the audit actor of what an operator does with the CLI on the store itself.
const cliActor = "cli"

// GrantPolicy is a grant's subject policy as SPEC §9 shows it: empty lists mean no limit.
type GrantPolicy struct {
	Groups        []string `json:"groups"`
	Emails        []string `json:"emails"`
	ResourcesOnly bool     `json:"resources_only"`
}

// GrantView is one grant as `GET /v1/grants` and `broker grants list` show it (SPEC §9).
// Times are RFC 3339 UTC with milliseconds; LastUsedAt is "" while the grant was never used.
type GrantView struct {
	ID             string      `json:"id"`
	ClientID       string      `json:"client_id"`
	ClientName     string      `json:"client_name"`
	Domain         string      `json:"domain"`
	Scope          string      `json:"scope"`
	DelegatedScope string      `json:"delegated_scope"`
	Policy         GrantPolicy `json:"policy"`
	ApprovedBy     string      `json:"approved_by"`
	ApprovedAt     string      `json:"approved_at"`
	LastUsedAt     string      `json:"last_used_at"`
	Status         string      `json:"status"`
}

// GrantPage is one page of grants; NextCursor is "" on the last page.
type GrantPage struct {
	Grants     []GrantView `json:"grants"`
	NextCursor string      `json:"next_cursor"`
}

// GrantQuery selects grants (SPEC §9 query parameters of `GET /v1/grants`). HasDomain says
// whether a domain was asked for at all; zero fields do not filter.
type GrantQuery struct {
	Domain    string
	HasDomain bool
	ClientID  string
	Status    string // "" | active | revoked
	Limit     int    // 1..1000; 0 means 100
	Cursor    string // opaque, from a previous page
}

// ParseGrantQuery reads GrantQuery from single-valued query parameters: domain, client_id,
// status (active | revoked), limit (1..1000, default 100), cursor. Anything malformed is
// invalid_request; unknown parameters are ignored.
func ParseGrantQuery(p map[string]string) (GrantQuery, error) {
	q := GrantQuery{ClientID: p["client_id"], Cursor: p["cursor"]}
	q.Domain, q.HasDomain = p["domain"]
	q.Domain = strings.ToLower(strings.TrimSpace(q.Domain))
	var err error
	if q.Status, err = parseGrantStatus(p["status"]); err != nil {
		return GrantQuery{}, err
	}
	if q.Limit, err = parseLimit(p["limit"]); err != nil {
		return GrantQuery{}, err
	}
	return q, nil
}

func parseGrantStatus(s string) (string, error) {
	switch store.GrantStatus(s) {
	case "", store.GrantActive, store.GrantRevoked:
		return s, nil
	}
	return "", errorf(InvalidRequest, "status must be active or revoked")
}

// parseLimit reads a page size: "" is the default, else an integer in 1..1000.
func parseLimit(s string) (int, error) {
	if s == "" {
		return defaultPageLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxPageLimit {
		return 0, errorf(InvalidRequest, "limit must be an integer from 1 to %d", maxPageLimit)
	}
	return n, nil
}

// visibleDomain applies an API key's domain limit to a requested domain (SPEC §9): a key
// limited to a domain sees only that domain, and asking for another is forbidden. It
// returns the domain to filter on and whether to filter at all.
func (c APIKeyCaller) visibleDomain(domain string, asked bool) (string, bool, error) {
	if c.Domain == "" {
		return domain, asked, nil
	}
	if asked && domain != c.Domain {
		return "", false, &Error{Code: Forbidden, Description: "this API key is limited to the domain " + c.Domain}
	}
	return c.Domain, true, nil
}

// ListGrants serves `GET /v1/grants` (SPEC §9) for an auditor or operator key: newest
// approval first, one page at a time. A key limited to a domain sees only that domain's
// grants; asking for another domain is forbidden. A malformed cursor is invalid_request.
func (b *Broker) ListGrants(ctx context.Context, caller APIKeyCaller, q GrantQuery) (GrantPage, error) {
	if err := caller.requireRole(store.RoleAuditor, store.RoleOperator); err != nil {
		return GrantPage{}, err
	}
	domain, filter, err := caller.visibleDomain(q.Domain, q.HasDomain)
	if err != nil {
		return GrantPage{}, err
	}
	f := store.GrantFilter{ClientID: q.ClientID, Status: store.GrantStatus(q.Status), Cursor: q.Cursor, Limit: q.Limit}
	if filter {
		f.Domain = domain
	}
	return listGrants(ctx, b.store, f)
}

// GetGrant serves `GET /v1/grants/{id}` for an auditor or operator key. Unknown, or of a
// domain the key may not see: not_found (so a limited key learns nothing of other domains).
func (b *Broker) GetGrant(ctx context.Context, caller APIKeyCaller, id string) (GrantView, error) {
	if err := caller.requireRole(store.RoleAuditor, store.RoleOperator); err != nil {
		return GrantView{}, err
	}
	g, err := b.visibleGrant(ctx, caller, id)
	if err != nil {
		return GrantView{}, err
	}
	names := clientNames{store: b.store}
	return names.view(ctx, g)
}

// RevokeGrantByKey serves `DELETE /v1/grants/{id}` (SPEC §9): operator keys only. The grant
// and every token derived from it stop working at once on every replica; the revocation is
// audited as grant.revoked with actor "apikey:<key id>". Revoking a revoked grant succeeds
// and changes nothing. Unknown, or of another domain than the key's: not_found.
func (b *Broker) RevokeGrantByKey(ctx context.Context, caller APIKeyCaller, id string, m Meta) error {
	if err := caller.requireRole(store.RoleOperator); err != nil {
		return err
	}
	g, err := b.visibleGrant(ctx, caller, id)
	if err != nil {
		return err
	}
	return b.revokeGrant(ctx, g, "apikey:"+caller.ID, m)
}

// visibleGrant returns grant id when caller may see it, else not_found.
func (b *Broker) visibleGrant(ctx context.Context, caller APIKeyCaller, id string) (store.Grant, error) {
	g, err := b.store.GetGrant(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && caller.Domain != "" && g.Domain != caller.Domain {
		return store.Grant{}, errorf(NotFound, "no grant %q", id)
	}
	if err != nil {
		return store.Grant{}, storeErr("get grant", err)
	}
	return g, nil
}

// ListAllGrants returns every grant matching q (its Cursor and Limit ignored), newest
// approval first, without an API key's limits: it serves `broker grants list`, whose user
// already holds the store. Memory grows with the number of grants listed.
func ListAllGrants(ctx context.Context, s store.Store, q GrantQuery) ([]GrantView, error) {
	f := store.GrantFilter{Domain: q.Domain, ClientID: q.ClientID, Status: store.GrantStatus(q.Status), Limit: maxPageLimit}
	out := []GrantView{}
	for {
		page, err := listGrants(ctx, s, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Grants...)
		if page.NextCursor == "" {
			return out, nil
		}
		f.Cursor = page.NextCursor
	}
}

// RevokeGrantID revokes grant id for `broker grants revoke` (SPEC §10), exactly as
// `DELETE /v1/grants/{id}` does, audited with actor "cli". Unknown id: not_found; a revoked
// grant stays as it is.
func RevokeGrantID(ctx context.Context, s store.Store, id string, now func() time.Time) error {
	b := storeBroker(s, now)
	g, err := b.visibleGrant(ctx, APIKeyCaller{}, id)
	if err != nil {
		return err
	}
	return b.revokeGrant(ctx, g, cliActor, Meta{})
}

// storeBroker is the part of a Broker the CLI's store-only commands need (store, clock,
// audit recorder): they revoke exactly as the server does, without signing keys or
// providers. now nil means time.Now.
func storeBroker(s store.Store, now func() time.Time) *Broker {
	if now == nil {
		now = time.Now
	}
	return &Broker{store: s, now: now, audit: NewRecorder(s, now)}
}

// listGrants reads one page of grants and renders it. A listing error when a cursor was
// given is the cursor's fault unless the store is unreachable: the stores refuse a cursor
// they did not make with a plain error, which must be a 400, never a 500.
func listGrants(ctx context.Context, s store.Store, f store.GrantFilter) (GrantPage, error) {
	gs, next, err := s.ListGrants(ctx, f)
	if err != nil {
		if f.Cursor != "" && !errors.Is(err, store.ErrUnavailable) {
			return GrantPage{}, &Error{Code: InvalidRequest, Description: "invalid cursor", Cause: err}
		}
		return GrantPage{}, storeErr("list grants", err)
	}
	names := clientNames{store: s}
	page := GrantPage{Grants: make([]GrantView, 0, len(gs)), NextCursor: next}
	for _, g := range gs {
		v, err := names.view(ctx, g)
		if err != nil {
			return GrantPage{}, err
		}
		page.Grants = append(page.Grants, v)
	}
	return page, nil
}

// clientNames looks up client display names, each client once per listing.
type clientNames struct {
	store store.Clients
	names map[string]string
}

// name returns the client's display name, "" for a deleted client.
func (c *clientNames) name(ctx context.Context, id string) (string, error) {
	if n, ok := c.names[id]; ok {
		return n, nil
	}
	cl, err := c.store.GetClient(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", storeErr("get client", err)
	}
	if c.names == nil {
		c.names = map[string]string{}
	}
	c.names[id] = cl.Name
	return cl.Name, nil
}

// view renders g with its client's name.
func (c *clientNames) view(ctx context.Context, g store.Grant) (GrantView, error) {
	name, err := c.name(ctx, g.ClientID)
	if err != nil {
		return GrantView{}, err
	}
	return grantView(g, name), nil
}

func grantView(g store.Grant, clientName string) GrantView {
	v := GrantView{
		ID: g.ID, ClientID: g.ClientID, ClientName: clientName, Domain: g.Domain,
		Scope: g.Scope, DelegatedScope: g.DelegatedScope,
		Policy:     GrantPolicy{Groups: nonNil(g.Policy.Groups), Emails: nonNil(g.Policy.Emails), ResourcesOnly: g.Policy.ResourcesOnly},
		ApprovedBy: g.ApprovedBy, ApprovedAt: timeString(g.ApprovedAt), LastUsedAt: timeString(g.LastUsedAt),
		Status: string(g.Status),
	}
	return v
}

// timeString formats t as RFC 3339 UTC with milliseconds, the audit trail's format, so
// grants and events line up; "" for the zero time. Spec is silent on "never used": ""
// rather than null, like every empty field of an audit event.
func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(audit.TimeFormat)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
