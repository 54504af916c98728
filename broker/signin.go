package broker

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/enterprise-connect/broker/broker/provider"
	"github.com/enterprise-connect/broker/store"
)

// SessionTTL is how long a browser sign-in lasts. Spec is silent: 8 hours, a working day,
// as Keycloak's default SSO session max; the consent itself needs a fresh pending request.
const SessionTTL = 8 * time.Hour

// SignInRequest is a submitted sign-in form (SPEC §6).
type SignInRequest struct {
	Email    string
	Password string
	// AdminOnly: the sign-in is for the admin flow (consent, /admin); a person who
	// administers no configured domain is refused with forbidden (SPEC §2).
	AdminOnly bool
	Meta      Meta
}

// SignedIn is a new browser session: the cookie value is shown to the browser only.
type SignedIn struct {
	Cookie  string
	Session store.Session
}

// SignIn checks a password against the provider of the email's domain, with throttling per
// account and per IP (SPEC §6, §10). Wrong credentials: unauthenticated (the page shows the
// form again with 401); throttled: too_many_requests; a correct password of someone who
// administers no domain, when AdminOnly: forbidden. Every failure is audited.
func (b *Broker) SignIn(ctx context.Context, r SignInRequest) (SignedIn, error) {
	email := strings.ToLower(strings.TrimSpace(r.Email))
	domain := ""
	if at := strings.LastIndexByte(email, '@'); at >= 0 {
		domain = email[at+1:]
	}
	lim := b.opts.RateLimits
	acctKey, ipKey := "signin:acct:"+email, "signin:ip:"+r.Meta.IP
	if err := b.throttled(ctx, lim.SigninPerAccount, acctKey, "sign-ins for this account"); err != nil {
		return SignedIn{}, err
	}
	if err := b.throttled(ctx, lim.SigninPerIP, ipKey, "sign-ins from this address"); err != nil {
		return SignedIn{}, err
	}
	fail := func(reason string, code ErrorCode, desc string) (SignedIn, error) {
		if err := b.countFailure(ctx, lim.SigninPerAccount, acctKey); err != nil {
			return SignedIn{}, err
		}
		if err := b.countFailure(ctx, lim.SigninPerIP, ipKey); err != nil {
			return SignedIn{}, err
		}
		auditDomain := ""
		if _, ok := b.providers[domain]; ok {
			auditDomain = domain
		}
		if err := b.audit.Record(ctx, Event{Type: EvSigninFailed, Domain: auditDomain, Actor: email,
			Result: resultFailure, Error: reason, IP: r.Meta.IP, RequestID: r.Meta.RequestID}); err != nil {
			return SignedIn{}, err
		}
		return SignedIn{}, &Error{Code: code, Description: desc}
	}
	p, ok := b.providers[domain]
	if !ok || r.Password == "" {
		return fail("bad_credentials", Unauthenticated, "wrong email or password")
	}
	person, err := p.SignIn(ctx, email, r.Password)
	if errors.Is(err, provider.ErrBadCredentials) {
		return fail("bad_credentials", Unauthenticated, "wrong email or password")
	}
	if err != nil {
		return SignedIn{}, &Error{Code: TemporarilyUnavailable, Description: "the directory is unreachable", Cause: err}
	}
	if r.AdminOnly && !person.IsAdmin {
		return fail("not_an_administrator", Forbidden, email+" does not administer any domain configured on this broker")
	}
	if err := b.clearFailures(ctx, acctKey); err != nil {
		return SignedIn{}, err
	}
	kind := store.SessionSubject
	if person.IsAdmin {
		kind = store.SessionAdmin
	}
	cookie := newSecret()
	now := b.now().UTC()
	s := store.Session{Hash: HashSecret(cookie), Kind: kind, Email: person.Email, Name: person.Name,
		Domain: p.Domain(), CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := b.store.PutSession(ctx, s); err != nil {
		return SignedIn{}, storeErr("put session", err)
	}
	return SignedIn{Cookie: cookie, Session: s}, nil
}

// Session resolves a session cookie; ErrNotFound-like answers are unauthenticated.
func (b *Broker) Session(ctx context.Context, cookie string) (store.Session, error) {
	if cookie == "" {
		return store.Session{}, errorf(Unauthenticated, "not signed in")
	}
	s, err := b.store.GetSession(ctx, HashSecret(cookie), b.now())
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, errorf(Unauthenticated, "not signed in")
	}
	if err != nil {
		return store.Session{}, storeErr("get session", err)
	}
	return s, nil
}

// SignOut ends a session.
func (b *Broker) SignOut(ctx context.Context, cookie string) error {
	if cookie == "" {
		return nil
	}
	if err := b.store.DeleteSession(ctx, HashSecret(cookie)); err != nil {
		return storeErr("delete session", err)
	}
	return nil
}
