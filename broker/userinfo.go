package broker

import (
	"context"
	"errors"

	"github.com/enterprise-connect/broker/broker/provider"
	"github.com/enterprise-connect/broker/scopes"
)

// UserInfo answers GET /v1/userinfo (SPEC §4): for a service account, the grant; for a
// delegated token, its subject with the subject's calendars.
func (b *Broker) UserInfo(ctx context.Context, c *Caller) (map[string]any, error) {
	g := c.Grant
	if c.Access != nil {
		prov := ""
		if p, ok := b.providers[g.Domain]; ok {
			prov = p.Name()
		}
		return map[string]any{
			"sub": g.ID, "type": "service_account", "domain": g.Domain, "client_id": g.ClientID,
			"scope": g.Scope, "delegated_scope": g.DelegatedScope, "status": "active", "provider": prov,
			"cronofy.type": "service_account", "cronofy.service_account.domain": g.Domain,
		}, nil
	}
	d := c.Delegated
	cals := []provider.Calendar{}
	if p, ok := b.providers[g.Domain]; ok {
		s, err := p.Subject(ctx, d.Subject)
		switch {
		case err == nil:
			cals = append(cals, s.Calendars...)
		case !errors.Is(err, provider.ErrUnknownSubject):
			return nil, &Error{Code: TemporarilyUnavailable, Description: "the directory is unreachable", Cause: err}
		}
	}
	elev := c.Elevations
	if elev == nil {
		elev = []string{}
	}
	return map[string]any{
		"sub": d.Subject, "type": d.Kind, "domain": d.Domain, "client_id": d.ClientID, "scope": d.Scope,
		"grant_id": d.GrantID, "calendars": cals, "unrestricted_calendars": elev,
	}, nil
}

// Resource is one bookable resource of the grant's domain.
type Resource struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// Resources answers GET /v1/resources (SPEC §4): the domain's resources, for a service
// account holding resources/manage.
func (b *Broker) Resources(ctx context.Context, c *Caller) ([]Resource, error) {
	if err := serviceAccount(c); err != nil {
		return nil, err
	}
	sa, _ := scopes.ParseServiceAccount(c.Grant.Scope)
	if !sa.Has(scopes.ResourcesManage) {
		return nil, errorf(InsufficientScope, "listing resources needs %s", scopes.ResourcesManage)
	}
	p, ok := b.providers[c.Grant.Domain]
	if !ok {
		return []Resource{}, nil
	}
	rs, err := p.Resources(ctx)
	if err != nil {
		return nil, &Error{Code: TemporarilyUnavailable, Description: "the directory is unreachable", Cause: err}
	}
	out := make([]Resource, 0, len(rs))
	for _, r := range rs {
		out = append(out, Resource{Email: r.Email, Name: r.Name})
	}
	return out, nil
}

// UpstreamRequest asks for the provider's own token for a subject (SPEC §4).
type UpstreamRequest struct {
	Sub   string
	Scope string
}

// UpstreamResponse is the provider's token for a subject.
type UpstreamResponse struct {
	Provider    string `json:"provider"`
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
}

// Upstream answers POST /v1/upstream_tokens (SPEC §4). A delegated caller may ask only for
// itself and within its own scope. A domain whose provider has no upstream (static) is
// invalid_request naming the provider.
func (b *Broker) Upstream(ctx context.Context, c *Caller, r UpstreamRequest, m Meta) (*UpstreamResponse, error) {
	g := c.Grant
	if c.Delegated != nil {
		if r.Sub == "" {
			r.Sub = c.Delegated.Subject
		}
		if r.Scope == "" {
			r.Scope = c.Delegated.Scope
		}
		want, err := scopes.ParseDelegated(r.Scope)
		have, _ := scopes.ParseDelegated(c.Delegated.Scope)
		if r.Sub != c.Delegated.Subject || err != nil || !want.Within(have) {
			return nil, errorf(InvalidScope, "a delegated token may ask only for its own subject and scope")
		}
	}
	p, ok := b.providers[g.Domain]
	if !ok {
		return nil, errorf(InvalidRequest, "the grant's domain %s is not configured", g.Domain)
	}
	subj, set, berr := b.subjectCheck(ctx, g, MintRequest{Sub: r.Sub, Scope: r.Scope})
	if berr != nil {
		return nil, berr
	}
	tok, err := p.Upstream(ctx, subj.Email, scopes.Google(set))
	if errors.Is(err, provider.ErrNoUpstream) {
		return nil, errorf(InvalidRequest, "domain %s uses the %s provider, which has no upstream tokens", g.Domain, p.Name())
	}
	if err != nil {
		return nil, &Error{Code: TemporarilyUnavailable, Description: "the provider refused or failed: " + err.Error(), Cause: err}
	}
	if err := b.audit.Record(ctx, Event{Type: EvUpstreamMinted, Domain: g.Domain, ClientID: g.ClientID, GrantID: g.ID,
		Actor: g.ID, Subject: subj.Email, Scope: set.String(), IP: m.IP, RequestID: m.RequestID}); err != nil {
		return nil, err
	}
	return &UpstreamResponse{Provider: p.Name(), AccessToken: tok.AccessToken, TokenType: tok.TokenType,
		ExpiresIn: int64(tok.ExpiresAt.Sub(b.now()).Seconds()), Scope: joinScopes(tok.Scope)}, nil
}

func joinScopes(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
