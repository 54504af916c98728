package broker

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/enterprise-connect/broker/scopes"
	"github.com/enterprise-connect/broker/store"
)

const csrfLabelConsent = "consent"

// ScopeLine is one scope on the consent page, in plain language (SPEC §2 step 3).
type ScopeLine struct {
	Scope       string
	Description string
	Google      []string // the provider scopes it maps to (delegated scopes only)
}

// ConsentView is everything the consent page shows and the hidden inputs it carries.
type ConsentView struct {
	RequestID       string
	CSRF            string
	ClientName      string
	ClientID        string
	Domain          string
	Admin           string
	Scopes          []ScopeLine // service-account scopes
	DelegatedScopes []ScopeLine // the ceiling
	ProviderScopes  []string    // the fewest provider scopes covering the ceiling
	Provider        string
	RedirectHost    string
	RedirectURI     string
}

// Consent builds the consent page for a pending request and a signed-in administrator.
// Not signed in (or not as an administrator): unauthenticated, and the caller shows the
// sign-in form. Signed in as the administrator of another domain than the login_hint
// names: forbidden (an administrator approves only for a domain they administer).
func (b *Broker) Consent(ctx context.Context, requestID, cookie string) (ConsentView, error) {
	p, err := b.Pending(ctx, requestID)
	if err != nil {
		return ConsentView{}, err
	}
	s, err := b.adminSession(ctx, cookie, p)
	if err != nil {
		return ConsentView{}, err
	}
	client, err := b.store.GetClient(ctx, p.ClientID)
	if err != nil {
		return ConsentView{}, storeErr("get client", err)
	}
	v := ConsentView{
		RequestID: p.ID, CSRF: b.opts.Sealer.MAC(csrfLabelConsent, s.Hash, p.ID),
		ClientName: client.Name, ClientID: client.ID, Domain: s.Domain, Admin: s.Email,
		Provider: b.providers[s.Domain].Name(),
	}
	v.RedirectURI = p.RedirectURI
	if u, err := url.Parse(p.RedirectURI); err == nil {
		v.RedirectHost = u.Host
	}
	for _, sc := range strings.Fields(p.Scope) {
		d, _ := scopes.Describe(sc)
		v.Scopes = append(v.Scopes, ScopeLine{Scope: sc, Description: d})
	}
	del, _ := scopes.ParseDelegated(p.DelegatedScope)
	for _, sc := range del.Scopes() {
		d, _ := scopes.Describe(sc)
		one, _ := scopes.ParseDelegated(sc)
		v.DelegatedScopes = append(v.DelegatedScopes, ScopeLine{Scope: sc, Description: d, Google: scopes.Google(one)})
	}
	v.ProviderScopes = scopes.Google(del)
	return v, nil
}

// adminSession resolves the cookie to an administrator's session fit for p.
func (b *Broker) adminSession(ctx context.Context, cookie string, p store.PendingAuthorization) (store.Session, error) {
	s, err := b.adminOf(ctx, cookie)
	if err != nil {
		return s, err
	}
	if hint := b.hintDomain(p.LoginHint); hint != "" && hint != s.Domain {
		return s, &Error{Code: Forbidden, NoRedirect: true,
			Description: "this request is for " + hint + ", but you (" + s.Email + ") administer " + s.Domain + "; sign in as an administrator of " + hint}
	}
	return s, nil
}

// Decision is a submitted consent form (SPEC §2 step 4).
type Decision struct {
	RequestID     string
	CSRF          string
	Cookie        string
	Decision      string // approve | deny
	PolicyGroups  string // comma-separated; "" = no limit
	PolicyEmails  string // comma-separated; "" = no limit
	ResourcesOnly bool
	CrossSite     bool // the request's Origin or Sec-Fetch-Site says another site sent it
	Meta          Meta
}

// Decide carries out the administrator's decision and returns where to send the browser:
// the client's redirect_uri with a code (approve) or error=access_denied (deny). The form
// is bound to the pending request and the session (CSRF) and single use: the pending
// request is consumed atomically, so a replayed form fails. Approving creates the grant for
// the administrator's own domain (never a domain named by the form), which revokes the
// grant it replaces and everything minted from it (SPEC §0).
func (b *Broker) Decide(ctx context.Context, d Decision) (string, error) {
	if d.CrossSite {
		return "", &Error{Code: Forbidden, NoRedirect: true, Description: "the form was sent from another site"}
	}
	p, err := b.Pending(ctx, d.RequestID)
	if err != nil {
		return "", err
	}
	s, err := b.adminSession(ctx, d.Cookie, p)
	if err != nil {
		return "", err
	}
	if d.CSRF == "" || !b.opts.Sealer.VerifyMAC(d.CSRF, csrfLabelConsent, s.Hash, p.ID) {
		return "", &Error{Code: Forbidden, NoRedirect: true, Description: "the form's security token is invalid; reload the page from the application"}
	}
	if d.Decision != "approve" && d.Decision != "deny" {
		return "", &Error{Code: InvalidRequest, NoRedirect: true, Description: "decision must be approve or deny"}
	}
	p, err = b.store.ConsumePending(ctx, p.ID, b.now())
	if errors.Is(err, store.ErrNotFound) {
		return "", &Error{Code: InvalidRequest, NoRedirect: true, Description: "this authorization request was already decided"}
	}
	if err != nil {
		return "", storeErr("consume pending", err)
	}
	ev := Event{Domain: s.Domain, ClientID: p.ClientID, Actor: s.Email, Scope: p.Scope + " " + p.DelegatedScope, IP: d.Meta.IP, RequestID: d.Meta.RequestID}
	if d.Decision == "deny" {
		ev.Type, ev.Result, ev.Error = EvAuthorizationDenied, resultFailure, string(AccessDenied)
		if err := b.audit.Record(ctx, ev); err != nil {
			return "", err
		}
		return b.redirectWith(p.RedirectURI, url.Values{"error": {string(AccessDenied)},
			"error_description": {"the administrator denied the request"}, "state": {p.State}}), nil
	}
	now := b.now().UTC()
	g := store.Grant{
		ID: newID("ser_"), ClientID: p.ClientID, Domain: s.Domain, Scope: p.Scope, DelegatedScope: p.DelegatedScope,
		Policy:     store.SubjectPolicy{Groups: splitList(d.PolicyGroups, false), Emails: splitList(d.PolicyEmails, true), ResourcesOnly: d.ResourcesOnly},
		ApprovedBy: s.Email, ApprovedAt: now, Status: store.GrantActive,
	}
	// The audit events are written first: if that fails, nothing has changed (the grant
	// this approval replaces is still active). The replaced grant is read here for the
	// event; CreateGrant replaces atomically whatever is active at that moment.
	prev, err := b.store.ActiveGrant(ctx, p.ClientID, s.Domain)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", storeErr("active grant", err)
	}
	revoked := func(id string) Event {
		r := ev
		r.Type, r.GrantID, r.Error = EvGrantRevoked, id, "replaced_by_new_approval"
		return r
	}
	var events []Event
	if prev.ID != "" {
		events = append(events, revoked(prev.ID))
	}
	ev.GrantID = g.ID
	approved, issued := ev, ev
	approved.Type, issued.Type = EvAuthorizationApproved, EvCodeIssued
	events = append(events, approved, issued)
	if err := b.audit.Record(ctx, events...); err != nil {
		return "", err
	}
	replaced, err := b.store.CreateGrant(ctx, g)
	if err != nil {
		return "", storeErr("create grant", err)
	}
	if replaced != "" && replaced != prev.ID {
		// Another approval raced ours; the grant we actually replaced gets its event too.
		if err := b.audit.Record(ctx, revoked(replaced)); err != nil {
			b.log.ErrorContext(ctx, "auditing a replaced grant failed", "grant_id", replaced, "err", err)
		}
	}
	code := NewCode()
	c := store.Code{
		Hash: HashSecret(code), ClientID: p.ClientID, RedirectURI: p.RedirectURI, RedirectURIGiven: p.RedirectURIGiven,
		CodeChallenge: p.CodeChallenge, GrantID: g.ID, Domain: g.Domain, FamilyID: newID("fam_"),
		Scope: p.Scope, ExpiresAt: now.Add(b.opts.CodeTTL),
	}
	if err := b.store.PutCode(ctx, c); err != nil {
		return "", storeErr("put code", err)
	}
	return b.redirectWith(p.RedirectURI, url.Values{"code": {code}, "state": {p.State}}), nil
}

// splitList splits a comma-separated form value, trimming and dropping empties; emails are
// lower-cased.
func splitList(s string, lower bool) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		x = strings.TrimSpace(x)
		if lower {
			x = strings.ToLower(x)
		}
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}
