package broker

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/enterprise-connect/broker/broker/provider"
	"github.com/enterprise-connect/broker/scopes"
	"github.com/enterprise-connect/broker/store"
)

// MaxBatch is the most requests one batch mint takes (SPEC §4).
const MaxBatch = 1000

// Causes of invalid_subject, so §5 can name its error_key.
var (
	errUnknownSubject    = errors.New("unknown subject")
	errSubjectNotAllowed = errors.New("subject not allowed")
)

// MintRequest asks for one delegated token (SPEC §4): the subject's email and the scope
// ("" means the grant's whole ceiling).
type MintRequest struct {
	Sub   string
	Scope string
}

// Minted is one delegated token (SPEC §4 single-form response).
type Minted struct {
	TokenType   string `json:"token_type"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
	Sub         string `json:"sub"`
	Kind        string `json:"kind"`
}

// MintFailure is one refused item of a batch: {"sub","error","error_description"}.
type MintFailure struct {
	Sub              string `json:"sub"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// MintOutcome is one batch item's answer: exactly one of the two is set.
type MintOutcome struct {
	Minted *Minted
	Failed *MintFailure
	err    *Error
}

// serviceAccount refuses callers that are not service accounts (SPEC §4: every call of
// §4–§5 uses a service-account access token).
func serviceAccount(c *Caller) error {
	if c == nil || c.Access == nil {
		return &Error{Code: InvalidToken, Description: "this endpoint needs a service-account access token"}
	}
	return nil
}

// MintOne serves the single form of POST /v1/delegated_tokens.
func (b *Broker) MintOne(ctx context.Context, c *Caller, r MintRequest, m Meta) (*Minted, error) {
	if err := serviceAccount(c); err != nil {
		return nil, err
	}
	out, err := b.mint(ctx, c.Grant, []MintRequest{r}, m, "", b.opts.DelegatedTokenTTL)
	if err != nil {
		return nil, err
	}
	if out[0].err != nil {
		return nil, out[0].err
	}
	return out[0].Minted, nil
}

// MintBatch serves the batch form: 1 to MaxBatch requests, answered in order; one bad item
// never fails the others. Its store cost does not grow with the batch: one elevation lookup,
// one audit append, one usage update.
func (b *Broker) MintBatch(ctx context.Context, c *Caller, rs []MintRequest, m Meta) ([]MintOutcome, error) {
	if err := serviceAccount(c); err != nil {
		return nil, err
	}
	if len(rs) == 0 || len(rs) > MaxBatch {
		return nil, errorf(InvalidRequest, "requests must hold 1 to %d items", MaxBatch)
	}
	return b.mint(ctx, c.Grant, rs, m, "", b.opts.DelegatedTokenTTL)
}

// subjectCheck resolves a mint request against the grant: the subject exists in the grant's
// own domain, passes its policy and its kind's manage scope; the scope lies within the
// ceiling. It returns the subject and the expanded scope.
func (b *Broker) subjectCheck(ctx context.Context, g store.Grant, r MintRequest) (provider.Subject, scopes.Set, *Error) {
	email := strings.ToLower(strings.TrimSpace(r.Sub))
	if email == "" {
		return provider.Subject{}, scopes.Set{}, errorf(InvalidRequest, "sub is required")
	}
	p, ok := b.providers[g.Domain]
	if !ok {
		return provider.Subject{}, scopes.Set{}, errorf(InvalidSubject, "the grant's domain is no longer configured")
	}
	subj, err := p.Subject(ctx, email)
	if errors.Is(err, provider.ErrUnknownSubject) {
		return subj, scopes.Set{}, &Error{Code: InvalidSubject, Cause: errUnknownSubject,
			Description: truncate(email, 128) + " is not an account or resource of " + g.Domain}
	}
	if err != nil {
		return subj, scopes.Set{}, &Error{Code: TemporarilyUnavailable, Description: "the directory is unreachable", Cause: err}
	}
	sa, _ := scopes.ParseServiceAccount(g.Scope)
	switch {
	case subj.Kind == provider.Resource && !sa.Has(scopes.ResourcesManage):
		return subj, scopes.Set{}, &Error{Code: InsufficientScope, Cause: errSubjectNotAllowed,
			Description: "minting for a resource needs " + scopes.ResourcesManage}
	case subj.Kind == provider.Account && !sa.Has(scopes.AccountsManage):
		return subj, scopes.Set{}, &Error{Code: InsufficientScope, Cause: errSubjectNotAllowed,
			Description: "minting for an account needs " + scopes.AccountsManage}
	}
	if !policyAllows(g.Policy, subj) {
		return subj, scopes.Set{}, &Error{Code: InvalidSubject, Cause: errSubjectNotAllowed,
			Description: subj.Email + " is outside the subjects the administrator allowed for this grant"}
	}
	ceiling, _ := scopes.ParseDelegated(g.DelegatedScope)
	want := ceiling
	if strings.TrimSpace(r.Scope) != "" {
		s, err := scopes.ParseDelegated(r.Scope)
		if err != nil {
			return subj, s, errorf(InvalidScope, "scope: %v", err)
		}
		if !s.Within(ceiling) {
			return subj, s, errorf(InvalidScope, "scope asks for %s, outside the grant's delegated scope", s.Minus(ceiling))
		}
		want = s
	}
	return subj, want, nil
}

// policyAllows applies the grant's subject policy (SPEC §2): resources only; else, when
// groups or emails are listed, the subject must be in one of the groups or named.
func policyAllows(p store.SubjectPolicy, s provider.Subject) bool {
	if p.ResourcesOnly && s.Kind != provider.Resource {
		return false
	}
	if len(p.Groups) == 0 && len(p.Emails) == 0 {
		return true
	}
	if slices.Contains(p.Emails, s.Email) {
		return true
	}
	for _, g := range s.Groups {
		if slices.Contains(p.Groups, g) {
			return true
		}
	}
	return false
}

// mint checks and signs every request, then writes their audit events and the grant's
// usage. family ties per-subject tokens to their refresh family (SPEC §5); ttl is the
// tokens' lifetime.
func (b *Broker) mint(ctx context.Context, g store.Grant, rs []MintRequest, m Meta, family string, ttl time.Duration) ([]MintOutcome, error) {
	type ok struct {
		i    int
		subj provider.Subject
		set  scopes.Set
	}
	out := make([]MintOutcome, len(rs))
	var good []ok
	var subjects []string
	for i, r := range rs {
		subj, set, err := b.subjectCheck(ctx, g, r)
		if err != nil {
			if err.Code == TemporarilyUnavailable {
				return nil, err
			}
			out[i] = MintOutcome{Failed: &MintFailure{Sub: r.Sub, Error: string(err.Code), ErrorDescription: err.Description}, err: err}
			continue
		}
		good = append(good, ok{i, subj, set})
		subjects = append(subjects, subj.Email)
	}
	if len(good) == 0 {
		return out, nil
	}
	elev, err := b.elevations(ctx, g.ID, subjects)
	if err != nil {
		return nil, storeErr("elevations", err)
	}
	now := b.now()
	events := make([]Event, len(good))
	for j, k := range good {
		events[j] = Event{Type: EvDelegatedMinted, Domain: g.Domain, ClientID: g.ClientID, GrantID: g.ID,
			Actor: g.ID, Subject: k.subj.Email, Scope: k.set.String(), IP: m.IP, RequestID: m.RequestID}
	}
	record := func() error { return b.audit.Record(ctx, events...) }
	if len(good) >= 2*minPerWorker {
		// A large batch's audit append, a store round trip of up to MaxBatch events, runs
		// while its tokens are signed: neither needs the other, and no token leaves before
		// both are done. (Should signing fail, its events may be written for tokens that
		// were never shown.)
		record = started(record)
	}
	err = inParallel(len(good), func(j int) error {
		k, scope := good[j], events[j].Scope
		tok, err := b.signDelegated(g, k.subj, scope, elev[k.subj.Email], now, ttl, family)
		if err != nil {
			return err
		}
		out[k.i] = MintOutcome{Minted: &Minted{TokenType: "bearer", AccessToken: tok, ExpiresIn: int64(ttl.Seconds()),
			Scope: scope, Sub: k.subj.Email, Kind: string(k.subj.Kind)}}
		return nil
	})
	if err != nil {
		return nil, &Error{Code: ServerError, Description: "signing failed", Cause: err}
	}
	if err := record(); err != nil {
		return nil, err
	}
	if err := b.recordUse(ctx, g.ID, now, len(good)); err != nil {
		return nil, err
	}
	return out, nil
}

// signDelegated signs one delegated JWT (RFC 9068; SPEC §4).
func (b *Broker) signDelegated(g store.Grant, s provider.Subject, scope string, elevations []string, now time.Time, ttl time.Duration, family string) (string, error) {
	return b.keys.Sign(&delegatedWire{
		Issuer: b.opts.Issuer, Subject: s.Email, Audience: [1]string{b.opts.DelegatedTokenAudience},
		ExpiresAt: now.Add(ttl).Unix(), IssuedAt: now.Unix(), ID: newID("jti_"),
		brokerClaims: brokerClaims{ClientID: g.ClientID, Scope: scope, Domain: g.Domain, Kind: string(s.Kind),
			GrantID: g.ID, Act: Actor{Sub: g.ID}, UnrestrictedCalendars: elevations, Family: family},
	})
}

// delegatedWire is DelegatedClaims as signed: the same JSON object (aud an array of one, the
// times integer seconds), with plain fields. appendJSON (jsonwire.go) writes it without
// reflection; its struct tags give the same object through encoding/json.
type delegatedWire struct {
	Issuer    string    `json:"iss"`
	Subject   string    `json:"sub"`
	Audience  [1]string `json:"aud"`
	ExpiresAt int64     `json:"exp"`
	IssuedAt  int64     `json:"iat"`
	ID        string    `json:"jti"`
	brokerClaims
}
