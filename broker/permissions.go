package broker

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/enterprise-connect/broker/broker/provider"
	"github.com/enterprise-connect/broker/scopes"
	"github.com/enterprise-connect/broker/store"
)

// PermissionRequestTTL is how long a subject has to answer a §7 request. Spec is silent:
// one hour, long enough to read an email and sign in.
const PermissionRequestTTL = time.Hour

const csrfLabelPermissions = "permissions"

// Permission is one requested elevation (SPEC §7).
type Permission struct {
	CalendarID      *string `json:"calendar_id"`
	PermissionLevel *string `json:"permission_level"`
}

// PermissionsBody is POST /v1/permissions' body (SPEC §7).
type PermissionsBody struct {
	Permissions *[]Permission `json:"permissions"`
	RedirectURI *string       `json:"redirect_uri"`
}

// PermissionsAnswer is {"permissions_request":{"accepted":true}} or {…{"url":…}}.
type PermissionsAnswer struct {
	PermissionsRequest struct {
		Accepted bool   `json:"accepted,omitempty"`
		URL      string `json:"url,omitempty"`
	} `json:"permissions_request"`
}

// RequestPermissions serves POST /v1/permissions with a delegated token (SPEC §7): field
// errors are a *ValidationError (422); with the grant's matching unrestricted_access scope
// the elevation is recorded at once; otherwise the subject is sent a page to accept.
func (b *Broker) RequestPermissions(ctx context.Context, c *Caller, body PermissionsBody, m Meta) (*PermissionsAnswer, error) {
	if c == nil || c.Delegated == nil {
		return nil, &Error{Code: InvalidToken, Description: "this endpoint needs a delegated token"}
	}
	d, g := c.Delegated, c.Grant
	subj, err := b.subjectOf(ctx, g.Domain, d.Subject)
	if err != nil {
		return nil, err
	}
	var v ValidationError
	var cals []string
	if body.Permissions == nil || len(*body.Permissions) == 0 {
		v.Add("permissions", "required", "permissions must list at least one calendar")
	} else {
		for i, p := range *body.Permissions {
			switch {
			case p.CalendarID == nil || *p.CalendarID == "":
				v.Add("calendar_id", "required", "permissions["+strconv.Itoa(i)+"].calendar_id is required")
			case !hasCalendar(subj, *p.CalendarID):
				v.Add("calendar_id", "not_found", "permissions["+strconv.Itoa(i)+"].calendar_id is not a calendar of "+subj.Email)
			default:
				cals = append(cals, *p.CalendarID)
			}
			if p.PermissionLevel == nil || *p.PermissionLevel != "unrestricted" {
				v.Add("permission_level", "invalid", "permissions["+strconv.Itoa(i)+"].permission_level must be unrestricted")
			}
		}
	}
	client, err := b.store.GetClient(ctx, g.ClientID)
	if err != nil {
		return nil, storeErr("get client", err)
	}
	switch {
	case body.RedirectURI == nil || *body.RedirectURI == "":
		v.Add("redirect_uri", "required", "redirect_uri is required")
	case !slices.Contains(client.RedirectURIs, *body.RedirectURI):
		v.Add("redirect_uri", "not_registered", "redirect_uri is not registered for this client")
	}
	if err := v.OrNil(); err != nil {
		return nil, err
	}
	slices.Sort(cals)
	cals = slices.Compact(cals)
	need := scopes.AccountsUnrestrictedAccess
	if subj.Kind == provider.Resource {
		need = scopes.ResourcesUnrestrictedAccess
	}
	sa, _ := scopes.ParseServiceAccount(g.Scope)
	ans := &PermissionsAnswer{}
	if sa.Has(need) {
		if err := b.elevate(ctx, g, subj.Email, cals, g.ID, m); err != nil {
			return nil, err
		}
		ans.PermissionsRequest.Accepted = true
		return ans, nil
	}
	now := b.now().UTC()
	pr := store.PermissionRequest{ID: newSecret(), GrantID: g.ID, ClientID: g.ClientID, Domain: g.Domain, Subject: subj.Email,
		CalendarIDs: cals, RedirectURI: *body.RedirectURI, CreatedAt: now, ExpiresAt: now.Add(PermissionRequestTTL)}
	if err := b.store.PutPermissionRequest(ctx, pr); err != nil {
		return nil, storeErr("put permission request", err)
	}
	ans.PermissionsRequest.URL = strings.TrimRight(b.opts.Issuer, "/") + "/permissions/" + pr.ID
	return ans, nil
}

func (b *Broker) subjectOf(ctx context.Context, domain, email string) (provider.Subject, error) {
	p, ok := b.providers[domain]
	if !ok {
		return provider.Subject{}, errorf(InvalidSubject, "the domain %s is not configured", domain)
	}
	s, err := p.Subject(ctx, email)
	if errors.Is(err, provider.ErrUnknownSubject) {
		return s, errorf(InvalidSubject, "%s is no longer in the directory", email)
	}
	if err != nil {
		return s, &Error{Code: TemporarilyUnavailable, Description: "the directory is unreachable", Cause: err}
	}
	return s, nil
}

func hasCalendar(s provider.Subject, id string) bool {
	for _, c := range s.Calendars {
		if c.ID == id {
			return true
		}
	}
	return false
}

// elevate records the elevation and audits it (SPEC §7).
// The event is written first: if that fails, nothing is elevated.
func (b *Broker) elevate(ctx context.Context, g store.Grant, subject string, cals []string, actor string, m Meta) error {
	if err := b.audit.Record(ctx, Event{Type: EvPermissionElevated, Domain: g.Domain, ClientID: g.ClientID, GrantID: g.ID,
		Actor: actor, Subject: subject, Scope: strings.Join(cals, " "), IP: m.IP, RequestID: m.RequestID}); err != nil {
		return err
	}
	if err := b.store.AddElevations(ctx, g.ID, subject, cals); err != nil {
		return storeErr("add elevations", err)
	}
	b.forgetElevations(g.ID, subject)
	return nil
}

// PermissionsView is the §7 page: whose calendars, which ones, for which application.
type PermissionsView struct {
	RequestID  string
	CSRF       string
	ClientName string
	Subject    string
	Calendars  []provider.Calendar
}

// PermissionsPage builds the page for request id and the signed-in subject. Not signed in
// as that subject: unauthenticated (the caller shows the sign-in form).
func (b *Broker) PermissionsPage(ctx context.Context, id, cookie string) (PermissionsView, error) {
	pr, s, err := b.permissionSession(ctx, id, cookie)
	if err != nil {
		return PermissionsView{}, err
	}
	client, err := b.store.GetClient(ctx, pr.ClientID)
	if err != nil {
		return PermissionsView{}, storeErr("get client", err)
	}
	subj, err := b.subjectOf(ctx, pr.Domain, pr.Subject)
	if err != nil {
		return PermissionsView{}, err
	}
	v := PermissionsView{RequestID: pr.ID, CSRF: b.opts.Sealer.MAC(csrfLabelPermissions, s.Hash, pr.ID), ClientName: client.Name, Subject: pr.Subject}
	for _, c := range subj.Calendars {
		if slices.Contains(pr.CalendarIDs, c.ID) {
			v.Calendars = append(v.Calendars, c)
		}
	}
	return v, nil
}

func (b *Broker) permissionSession(ctx context.Context, id, cookie string) (store.PermissionRequest, store.Session, error) {
	pr, err := b.store.GetPermissionRequest(ctx, id, b.now())
	if errors.Is(err, store.ErrNotFound) {
		return pr, store.Session{}, &Error{Code: NotFound, NoRedirect: true, Description: "this permission request is unknown, answered or expired"}
	}
	if err != nil {
		return pr, store.Session{}, storeErr("get permission request", err)
	}
	s, err := b.Session(ctx, cookie)
	if err != nil {
		return pr, s, err
	}
	if !strings.EqualFold(s.Email, pr.Subject) {
		return pr, s, errorf(Unauthenticated, "sign in as %s to answer this request", pr.Subject)
	}
	return pr, s, nil
}

// PermissionDecision is a submitted §7 page.
type PermissionDecision struct {
	RequestID string
	CSRF      string
	Cookie    string
	Decision  string // accept | reject
	CrossSite bool
	Meta      Meta
}

// DecidePermissions carries out the subject's answer and returns where to send the browser:
// the client's redirect_uri, with error=access_denied when rejected. Single use.
func (b *Broker) DecidePermissions(ctx context.Context, d PermissionDecision) (string, error) {
	if d.CrossSite {
		return "", &Error{Code: Forbidden, NoRedirect: true, Description: "the form was sent from another site"}
	}
	pr, s, err := b.permissionSession(ctx, d.RequestID, d.Cookie)
	if err != nil {
		return "", err
	}
	if d.CSRF == "" || !b.opts.Sealer.VerifyMAC(d.CSRF, csrfLabelPermissions, s.Hash, pr.ID) {
		return "", &Error{Code: Forbidden, NoRedirect: true, Description: "the form's security token is invalid; reload the page"}
	}
	if d.Decision != "accept" && d.Decision != "reject" {
		return "", &Error{Code: InvalidRequest, NoRedirect: true, Description: "decision must be accept or reject"}
	}
	pr, err = b.store.ConsumePermissionRequest(ctx, pr.ID, b.now())
	if errors.Is(err, store.ErrNotFound) {
		return "", &Error{Code: InvalidRequest, NoRedirect: true, Description: "this permission request was already answered"}
	}
	if err != nil {
		return "", storeErr("consume permission request", err)
	}
	if d.Decision == "reject" {
		return b.redirectWith(pr.RedirectURI, url.Values{"error": {string(AccessDenied)}, "error_description": {"the user rejected the request"}}), nil
	}
	g, err := b.store.GetGrant(ctx, pr.GrantID)
	if err != nil {
		return "", storeErr("get grant", err)
	}
	if g.Status != store.GrantActive {
		return "", &Error{Code: InvalidRequest, NoRedirect: true, Description: "the application's access was revoked meanwhile"}
	}
	if err := b.elevate(ctx, g, pr.Subject, pr.CalendarIDs, s.Email, d.Meta); err != nil {
		return "", err
	}
	return b.redirectWith(pr.RedirectURI, url.Values{}), nil
}
