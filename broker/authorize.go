package broker

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/enterprise-connect/broker/scopes"
	"github.com/enterprise-connect/broker/store"
)

// PendingTTL is how long an authorize request waits for the administrator (SPEC §2: 10 min).
const PendingTTL = 10 * time.Minute

// reChallenge is an S256 code challenge: BASE64URL(SHA-256(verifier)), 43 characters
// (RFC 7636 §4.2).
var reChallenge = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// Authorize validates an authorize request in the order of RFC 6749 §4.1.2.1 (SPEC §2) and
// keeps it as a pending request for the administrator's sign-in and decision. query holds
// every value of every parameter, so that a repeated one is refused. Errors about the client
// or redirect_uri come back with NoRedirect; the others with RedirectTo.
func (b *Broker) Authorize(ctx context.Context, query url.Values, m Meta) (store.PendingAuthorization, error) {
	if err := b.throttledHit(ctx, b.opts.RateLimits.AuthorizePerIP, "authorize:ip:"+m.IP, "authorization requests from this address"); err != nil {
		return store.PendingAuthorization{}, err
	}
	for k, vs := range query {
		if len(vs) > 1 {
			return store.PendingAuthorization{}, &Error{Code: InvalidRequest, NoRedirect: true,
				Description: "the parameter " + strings.ToValidUTF8(k, "?") + " is repeated (RFC 6749 §3.1)"}
		}
	}
	get := query.Get
	clientID := get("client_id")
	if clientID == "" {
		return store.PendingAuthorization{}, &Error{Code: InvalidRequest, NoRedirect: true, Description: "client_id is missing"}
	}
	client, err := b.store.GetClient(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return store.PendingAuthorization{}, &Error{Code: InvalidRequest, NoRedirect: true, Description: "unknown client_id"}
	}
	if err != nil {
		return store.PendingAuthorization{}, storeErr("get client", err)
	}
	redirect, given := get("redirect_uri"), query.Has("redirect_uri")
	switch {
	case !given && len(client.RedirectURIs) == 1:
		redirect = client.RedirectURIs[0]
	case !given:
		return store.PendingAuthorization{}, &Error{Code: InvalidRequest, NoRedirect: true,
			Description: "redirect_uri is required: the client has several registered"}
	case !slices.Contains(client.RedirectURIs, redirect):
		return store.PendingAuthorization{}, &Error{Code: InvalidRequest, NoRedirect: true,
			Description: "redirect_uri does not exactly match a URI registered for this client"}
	}
	state := get("state")
	fail := func(code ErrorCode, desc string) (store.PendingAuthorization, error) {
		return store.PendingAuthorization{}, &Error{Code: code, Description: desc,
			RedirectTo: b.redirectWith(redirect, url.Values{"error": {string(code)}, "error_description": {desc}, "state": {state}})}
	}
	switch rt := get("response_type"); {
	case rt == "":
		return fail(InvalidRequest, "response_type is missing")
	case rt != "code":
		return fail(UnsupportedResponseType, "response_type must be code")
	}
	sa, err := scopes.ParseServiceAccount(get("scope"))
	if err != nil {
		return fail(InvalidScope, "scope: "+err.Error())
	}
	if sa.IsEmpty() {
		return fail(InvalidScope, "scope must name at least one service-account scope")
	}
	allowedSA, _ := scopes.ParseServiceAccount(client.Scope)
	if !sa.Within(allowedSA) {
		return fail(InvalidScope, "scope asks for "+sa.Minus(allowedSA).String()+", which the client is not registered for")
	}
	if !query.Has("delegated_scope") {
		return fail(InvalidRequest, "delegated_scope is missing")
	}
	if err := checkDelegatedParam(get("delegated_scope"), client); err != nil {
		return fail(err.Code, err.Description)
	}
	del, _ := scopes.ParseDelegated(get("delegated_scope"))
	challenge, method := get("code_challenge"), get("code_challenge_method")
	switch {
	case (challenge == "") != (method == ""):
		return fail(InvalidRequest, "code_challenge and code_challenge_method go together")
	case method != "" && method != "S256":
		return fail(InvalidRequest, "code_challenge_method must be S256")
	case challenge != "" && !reChallenge.MatchString(challenge):
		return fail(InvalidRequest, "code_challenge must be the 43-character BASE64URL SHA-256 of the verifier")
	case challenge == "" && client.RequirePKCE:
		return fail(InvalidRequest, "this client must use PKCE (code_challenge with S256)")
	}
	now := b.now().UTC()
	p := store.PendingAuthorization{
		ID: newSecret(), ClientID: client.ID, RedirectURI: redirect, RedirectURIGiven: given,
		Scope: sa.String(), DelegatedScope: del.String(), State: state, CodeChallenge: challenge,
		LoginHint: strings.ToLower(strings.TrimSpace(get("login_hint"))), CreatedAt: now, ExpiresAt: now.Add(PendingTTL),
	}
	if err := b.store.PutPending(ctx, p); err != nil {
		return store.PendingAuthorization{}, storeErr("put pending", err)
	}
	if err := b.audit.Record(ctx, Event{Type: EvAuthorizationRequested, Domain: b.hintDomain(p.LoginHint),
		ClientID: client.ID, Scope: p.Scope + " " + p.DelegatedScope, IP: m.IP, RequestID: m.RequestID}); err != nil {
		return store.PendingAuthorization{}, err
	}
	return p, nil
}

// checkDelegatedParam validates delegated_scope: known scopes, at least one, within the
// client's registration.
func checkDelegatedParam(raw string, client store.Client) *Error {
	del, err := scopes.ParseDelegated(raw)
	if err != nil {
		return errorf(InvalidScope, "delegated_scope: %v", err)
	}
	if del.IsEmpty() {
		return errorf(InvalidRequest, "delegated_scope is empty")
	}
	allowed, _ := scopes.ParseDelegated(client.DelegatedScope)
	if !del.Within(allowed) {
		return errorf(InvalidScope, "delegated_scope asks for %s, which the client is not registered for", del.Minus(allowed))
	}
	return nil
}

// throttledHit counts one event against l and refuses when the count exceeds it (authorize
// requests are counted whether or not they succeed: SPEC §10 names them as such).
func (b *Broker) throttledHit(ctx context.Context, l RateLimit, key, what string) error {
	if l.Limit <= 0 || l.Window <= 0 {
		return nil
	}
	n, reset, err := b.store.Hit(ctx, key, l.Window, b.now())
	if err != nil {
		return storeErr("rate limit", err)
	}
	if n <= l.Limit {
		return nil
	}
	secs := int(reset.Sub(b.now()).Seconds()) + 1
	return &Error{Code: TooManyRequests, NoRedirect: true, Description: "too many " + what + "; try again later", RetryAfter: max(secs, 1)}
}

// hintDomain is the configured domain a login_hint (an email or a domain) names, or "".
func (b *Broker) hintDomain(hint string) string {
	if at := strings.LastIndexByte(hint, '@'); at >= 0 {
		hint = hint[at+1:]
	}
	if _, ok := b.providers[hint]; ok {
		return hint
	}
	return ""
}

// redirectWith appends params and iss (RFC 9207) to the client's redirect URI, keeping any
// query it already has.
func (b *Broker) redirectWith(redirect string, params url.Values) string {
	u, err := url.Parse(redirect)
	if err != nil {
		return redirect
	}
	q := u.Query()
	for k, vs := range params {
		if k == "state" && vs[0] == "" {
			continue
		}
		q[k] = vs
	}
	q.Set("iss", b.opts.Issuer)
	u.RawQuery = q.Encode()
	return u.String()
}

// Pending returns a live pending authorize request (for the sign-in page's login hint).
func (b *Broker) Pending(ctx context.Context, id string) (store.PendingAuthorization, error) {
	p, err := b.store.GetPending(ctx, id, b.now())
	if errors.Is(err, store.ErrNotFound) {
		return p, &Error{Code: InvalidRequest, NoRedirect: true, Description: "this authorization request is unknown, used or expired; start again from the application"}
	}
	if err != nil {
		return p, storeErr("get pending", err)
	}
	return p, nil
}
