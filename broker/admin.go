package broker

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/enterprise-connect/broker/scopes"
	"github.com/enterprise-connect/broker/store"
)

// csrfLabelAdminRevoke binds an admin UI revoke form to the session and the grant.
const csrfLabelAdminRevoke = "admin-revoke"

// Admin UI limits. Spec is silent on how much one page shows: every active grant (up to
// adminActiveGrants), the most recent revoked ones, and the trail 50 events at a time with
// a link to older ones.
const (
	adminActiveGrants  = 500
	adminRevokedGrants = 25
	adminEventsPerPage = 50
	adminMintDays      = 7
)

// AuditEventTypes lists every audit event type (SPEC §9), for the admin UI's filter.
func AuditEventTypes() []string {
	return []string{EvAuthorizationRequested, EvAuthorizationApproved, EvAuthorizationDenied, EvSigninFailed,
		EvCodeIssued, EvCodeRedeemed, EvCodeReused, EvRefreshReused, EvTokenIssued, EvTokenRefreshed,
		EvTokenRevoked, EvDelegatedMinted, EvUpstreamMinted, EvPermissionElevated, EvGrantRevoked,
		EvClientAuthFailed, EvCallbackDelivered, EvCallbackFailed}
}

// AdminFilter narrows the admin UI's audit trail; zero fields do not filter.
type AdminFilter struct {
	Type     string
	Subject  string
	ClientID string
	Cursor   string // opaque, from AdminView.NextCursor
}

// DayCount is how many delegated tokens a grant minted on one UTC day.
type DayCount struct {
	Date  string // 2006-01-02
	Label string // "Mon 02"
	Count int
}

// AdminGrant is one row of the admin UI's grant table (SPEC §9): what was approved, in
// plain language, who approved it and when, its last use and its mints per day.
type AdminGrant struct {
	ID              string
	ClientID        string
	ClientName      string
	Scopes          []ScopeLine // service-account scopes
	DelegatedScopes []ScopeLine // the ceiling
	Policy          string      // the subject policy in plain language
	ApprovedBy      string
	ApprovedAt      string
	LastUsed        string // "never" when never used
	Minted          []DayCount
	MintedTotal     int
	Status          string
	Active          bool
	RevokedAt       string
	CSRF            string // the revoke form's token, bound to the session and this grant
}

// AdminView is everything `/admin` shows to a signed-in domain administrator (SPEC §9):
// the administrator's own domain only.
type AdminView struct {
	Admin      string
	AdminName  string
	Domain     string
	Grants     []AdminGrant
	MoreGrants bool // more grants exist than are shown
	Events     []store.AuditEvent
	NextCursor string // "" when no older events exist
	Filter     AdminFilter
	EventTypes []string
}

// adminOf resolves the cookie to a domain administrator's session. Not signed in, or
// signed in as a subject rather than an administrator: unauthenticated (the page shows the
// sign-in form).
func (b *Broker) adminOf(ctx context.Context, cookie string) (store.Session, error) {
	s, err := b.Session(ctx, cookie)
	if err != nil {
		return s, err
	}
	if s.Kind != store.SessionAdmin {
		return s, errorf(Unauthenticated, "sign in as a domain administrator")
	}
	if _, ok := b.providers[s.Domain]; !ok {
		return s, errorf(Forbidden, "%s administers no domain configured on this broker", s.Email)
	}
	return s, nil
}

// AdminView builds `/admin` for the administrator signed in with cookie: the grants of
// their own domain and its audit trail narrowed by f. Not signed in as an administrator:
// unauthenticated. A malformed f.Cursor: invalid_request.
func (b *Broker) AdminView(ctx context.Context, cookie string, f AdminFilter) (AdminView, error) {
	s, err := b.adminOf(ctx, cookie)
	if err != nil {
		return AdminView{}, err
	}
	v := AdminView{Admin: s.Email, AdminName: s.Name, Domain: s.Domain, Filter: f, EventTypes: AuditEventTypes()}
	names := clientNames{store: b.store}
	for _, status := range []struct {
		status store.GrantStatus
		limit  int
	}{{store.GrantActive, adminActiveGrants}, {store.GrantRevoked, adminRevokedGrants}} {
		gs, next, err := b.store.ListGrants(ctx, store.GrantFilter{Domain: s.Domain, Status: status.status, Limit: status.limit})
		if err != nil {
			return AdminView{}, storeErr("list grants", err)
		}
		v.MoreGrants = v.MoreGrants || next != ""
		for _, g := range gs {
			row, err := b.adminGrant(ctx, &names, s, g)
			if err != nil {
				return AdminView{}, err
			}
			v.Grants = append(v.Grants, row)
		}
	}
	page, err := listAudit(ctx, b.store, store.AuditFilter{Domain: s.Domain, Type: f.Type, Subject: f.Subject,
		ClientID: f.ClientID, Cursor: f.Cursor, Limit: adminEventsPerPage})
	if err != nil {
		return AdminView{}, err
	}
	v.Events, v.NextCursor = page.Events, page.NextCursor
	return v, nil
}

// adminGrant renders one grant row for the administrator's session s.
func (b *Broker) adminGrant(ctx context.Context, names *clientNames, s store.Session, g store.Grant) (AdminGrant, error) {
	name, err := names.name(ctx, g.ClientID)
	if err != nil {
		return AdminGrant{}, err
	}
	row := AdminGrant{
		ID: g.ID, ClientID: g.ClientID, ClientName: name, Policy: policyText(g.Policy),
		ApprovedBy: g.ApprovedBy, ApprovedAt: displayTime(g.ApprovedAt), LastUsed: displayTime(g.LastUsedAt),
		Status: string(g.Status), Active: g.Status == store.GrantActive, RevokedAt: displayTime(g.RevokedAt),
	}
	if row.LastUsed == "" {
		row.LastUsed = "never"
	}
	if row.Active {
		row.CSRF = b.opts.Sealer.MAC(csrfLabelAdminRevoke, s.Hash, g.ID)
	}
	for _, sc := range strings.Fields(g.Scope) {
		d, _ := scopes.Describe(sc)
		row.Scopes = append(row.Scopes, ScopeLine{Scope: sc, Description: d})
	}
	for _, sc := range strings.Fields(g.DelegatedScope) {
		d, _ := scopes.Describe(sc)
		row.DelegatedScopes = append(row.DelegatedScopes, ScopeLine{Scope: sc, Description: d})
	}
	today := b.now().UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(adminMintDays - 1))
	counts, err := b.store.MintCounts(ctx, g.ID, first)
	if err != nil {
		return AdminGrant{}, storeErr("mint counts", err)
	}
	for d := first; !d.After(today); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		n := counts[day]
		row.Minted = append(row.Minted, DayCount{Date: day, Label: d.Format("Mon 02"), Count: n})
		row.MintedTotal += n
	}
	return row, nil
}

// policyText says in plain language whom a grant may act for.
func policyText(p store.SubjectPolicy) string {
	var parts []string
	if p.ResourcesOnly {
		parts = append(parts, "rooms and other resources only")
	}
	if len(p.Groups) > 0 {
		parts = append(parts, "members of "+strings.Join(p.Groups, ", "))
	}
	if len(p.Emails) > 0 {
		parts = append(parts, "only "+strings.Join(p.Emails, ", "))
	}
	if len(parts) == 0 {
		return "everyone in the domain"
	}
	return strings.Join(parts, "; ")
}

// displayTime is a time for people: minutes, UTC; "" for the zero time.
func displayTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// AdminRevokeRequest is a submitted revoke form of the admin UI (SPEC §9).
type AdminRevokeRequest struct {
	Cookie    string
	GrantID   string
	CSRF      string
	CrossSite bool // the request's Origin or Sec-Fetch-Site says another site sent it
	Meta      Meta
}

// AdminRevoke revokes a grant from the admin UI: only a signed-in administrator (else
// unauthenticated), only with the form's CSRF token bound to this session and grant and
// never from another site (else forbidden), and only a grant of the administrator's own
// domain (another domain's: forbidden; unknown: not_found). The grant and everything minted
// from it stop working at once; the revocation is audited with the administrator's email as
// actor. Revoking a revoked grant succeeds and changes nothing.
func (b *Broker) AdminRevoke(ctx context.Context, r AdminRevokeRequest) error {
	if r.CrossSite {
		return &Error{Code: Forbidden, Description: "the form was sent from another site"}
	}
	s, err := b.adminOf(ctx, r.Cookie)
	if err != nil {
		return err
	}
	if r.CSRF == "" || !b.opts.Sealer.VerifyMAC(r.CSRF, csrfLabelAdminRevoke, s.Hash, r.GrantID) {
		return &Error{Code: Forbidden, Description: "the form's security token is invalid; reload the page and try again"}
	}
	g, err := b.store.GetGrant(ctx, r.GrantID)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(NotFound, "no grant %q", r.GrantID)
	}
	if err != nil {
		return storeErr("get grant", err)
	}
	if g.Domain != s.Domain {
		return &Error{Code: Forbidden, Description: "grant " + g.ID + " is not of " + s.Domain + ", the domain you administer"}
	}
	return b.revokeGrant(ctx, g, s.Email, r.Meta)
}

// MintedLabel sums up a row's mints for a screen reader or tooltip: "12 in 7 days".
func (g AdminGrant) MintedLabel() string {
	return strconv.Itoa(g.MintedTotal) + " in " + strconv.Itoa(len(g.Minted)) + " days"
}
