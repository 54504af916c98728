package broker

import (
	"context"
	"errors"
	"strings"

	"github.com/enterprise-connect/broker/store"
)

// Introspection is RFC 7662's answer; inactive tokens are {"active":false} only.
type Introspection struct {
	Active                bool      `json:"active"`
	TokenType             string    `json:"token_type,omitempty"`
	Kind                  string    `json:"kind,omitempty"`
	Scope                 string    `json:"scope,omitempty"`
	DelegatedScope        string    `json:"delegated_scope,omitempty"`
	ClientID              string    `json:"client_id,omitempty"`
	Sub                   string    `json:"sub,omitempty"`
	Domain                string    `json:"domain,omitempty"`
	GrantID               string    `json:"grant_id,omitempty"`
	Exp                   int64     `json:"exp,omitempty"`
	Iat                   int64     `json:"iat,omitempty"`
	UnrestrictedCalendars *[]string `json:"unrestricted_calendars,omitempty"`
}

// IntrospectRequest is a parsed introspection request: either a client's credentials or an
// API key with role introspect (SPEC §8).
type IntrospectRequest struct {
	Params map[string]string
	Client ClientCredentialsIn
	APIKey string // Authorization: Bearer <key>, used instead of client authentication
	Meta   Meta
}

// Introspect serves POST /oauth/introspect (RFC 7662). A client sees only its own tokens;
// an introspect API key sees all. Unknown, expired, revoked and foreign tokens are
// {"active": false}.
func (b *Broker) Introspect(ctx context.Context, r IntrospectRequest) (*Introspection, error) {
	owner, onlyDomain := "", ""
	if r.APIKey != "" {
		k, err := b.AuthenticateAPIKey(ctx, r.APIKey)
		if err != nil {
			return nil, err
		}
		if err := k.requireRole(store.RoleIntrospect); err != nil {
			return nil, err
		}
		// Spec is silent on an introspect key limited to a domain; §9's rule (a limited
		// key sees only its domain) is the safer reading.
		onlyDomain = k.Domain
	} else {
		c, err := b.authenticateClient(ctx, r.Client, r.Meta)
		if err != nil {
			return nil, err
		}
		owner = c.ID
	}
	tok, ok := r.Params["token"]
	if !ok || tok == "" {
		return nil, errorf(InvalidRequest, "token is missing")
	}
	in, err := b.inspect(ctx, tok, r.Params["token_type_hint"])
	if err != nil {
		return nil, err
	}
	if !in.Active || owner != "" && in.ClientID != owner || onlyDomain != "" && in.Domain != onlyDomain {
		return &Introspection{Active: false}, nil
	}
	if in.UnrestrictedCalendars == nil {
		none := []string{}
		in.UnrestrictedCalendars = &none
	}
	return in, nil
}

// inspect finds what a token is, whoever owns it: an opaque access or refresh token, or a
// delegated JWT.
func (b *Broker) inspect(ctx context.Context, tok, hint string) (*Introspection, error) {
	if strings.Count(tok, ".") == 2 {
		return b.inspectDelegated(ctx, tok)
	}
	hash := HashSecret(tok)
	lookups := []func() (*Introspection, error){
		func() (*Introspection, error) { return b.inspectAccess(ctx, hash) },
		func() (*Introspection, error) { return b.inspectRefresh(ctx, hash) },
	}
	if hint == "refresh_token" {
		lookups[0], lookups[1] = lookups[1], lookups[0]
	}
	for _, f := range lookups {
		in, err := f()
		if err != nil || in.Active {
			return in, err
		}
	}
	return &Introspection{}, nil
}

func (b *Broker) inspectAccess(ctx context.Context, hash string) (*Introspection, error) {
	at, err := b.store.LookupAccessToken(ctx, hash, b.now())
	if errors.Is(err, store.ErrNotFound) {
		return &Introspection{}, nil
	}
	if err != nil {
		return nil, storeErr("lookup access token", err)
	}
	return &Introspection{Active: true, TokenType: "bearer", Kind: string(at.Kind), Scope: at.Scope,
		DelegatedScope: at.DelegatedScope, ClientID: at.ClientID, Sub: at.Subject, Domain: at.Domain,
		GrantID: at.GrantID, Exp: at.ExpiresAt.Unix(), Iat: at.IssuedAt.Unix()}, nil
}

func (b *Broker) inspectRefresh(ctx context.Context, hash string) (*Introspection, error) {
	rt, err := b.store.LookupRefreshToken(ctx, hash, b.now())
	if errors.Is(err, store.ErrNotFound) {
		return &Introspection{}, nil
	}
	if err != nil {
		return nil, storeErr("lookup refresh token", err)
	}
	in := &Introspection{Active: true, TokenType: "refresh_token", Kind: string(rt.Kind), Scope: rt.Scope,
		DelegatedScope: rt.DelegatedScope, ClientID: rt.ClientID, Sub: rt.Subject, Domain: rt.Domain,
		GrantID: rt.GrantID, Iat: rt.IssuedAt.Unix()}
	if !rt.ExpiresAt.IsZero() {
		in.Exp = rt.ExpiresAt.Unix()
	}
	return in, nil
}
