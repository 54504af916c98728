package broker

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/enterprise-connect/broker/store"
)

// DelegatedClaims are the claims of a delegated token (RFC 9068; SPEC §4).
type DelegatedClaims struct {
	jwt.RegisteredClaims
	brokerClaims
}

// brokerClaims are the broker's own claims of a delegated token, beside the registered ones
// (DelegatedClaims parses them, delegatedWire signs them).
type brokerClaims struct {
	ClientID              string   `json:"client_id"`
	Scope                 string   `json:"scope"`
	Domain                string   `json:"domain"`
	Kind                  string   `json:"kind"`
	GrantID               string   `json:"grant_id"`
	Act                   Actor    `json:"act"`
	UnrestrictedCalendars []string `json:"unrestricted_calendars,omitempty"`
	// Family ties a per-subject token (SPEC §5) to its refresh family, so that reuse of the
	// family's refresh token revokes it too. Empty for directly minted tokens.
	Family string `json:"fam,omitempty"`
}

// Actor is RFC 8693's act claim: the service account acting for the subject.
type Actor struct {
	Sub string `json:"sub"`
}

// Caller is who presented a bearer token to the §4–§7 API: a service account (Access set)
// or a subject holding a delegated token (Delegated set).
type Caller struct {
	Access    *store.AccessToken
	Delegated *DelegatedClaims
	Grant     store.Grant
	// Elevations are the subject's unrestricted calendars, for a delegated caller.
	Elevations []string
}

// grantCache keeps grants in process memory. A grant's fields never change after approval
// except its status and last use, which the store checks on every token lookup, so a cached
// copy is safe for everything else; revocation still takes effect at once.
type grantCache struct {
	mu sync.RWMutex
	m  map[string]store.Grant
}

const grantCacheMax = 100_000

func (c *grantCache) get(id string) (store.Grant, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	g, ok := c.m[id]
	return g, ok
}

func (c *grantCache) put(g store.Grant) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= grantCacheMax {
		c.m = map[string]store.Grant{} // crude bound: memory never grows with stored grants
	}
	c.m[g.ID] = g
}

// grant returns grant id, from the cache or the store.
func (b *Broker) grant(ctx context.Context, id string) (store.Grant, error) {
	if g, ok := b.grants.get(id); ok {
		return g, nil
	}
	g, err := b.store.GetGrant(ctx, id)
	if err != nil {
		return g, err
	}
	b.grants.put(g)
	return g, nil
}

// Authenticate resolves a bearer token of the §4–§7 API (SPEC §4): missing → invalid_token
// without an error attribute; unknown, expired or revoked → invalid_token.
func (b *Broker) Authenticate(ctx context.Context, bearer string) (*Caller, error) {
	if bearer == "" {
		return nil, &Error{Code: InvalidToken, NoToken: true, Description: "a bearer token is required"}
	}
	bad := &Error{Code: InvalidToken, Description: "the access token is invalid, expired or revoked"}
	if strings.Count(bearer, ".") == 2 {
		claims, st, err := b.verifyDelegated(ctx, bearer)
		if errors.Is(err, errInactive) {
			return nil, bad
		}
		if err != nil {
			return nil, err
		}
		g, err := b.grant(ctx, claims.GrantID)
		if err != nil {
			return nil, storeErr("get grant", err)
		}
		return &Caller{Delegated: claims, Grant: g, Elevations: st.Elevations}, nil
	}
	at, err := b.store.LookupAccessToken(ctx, HashSecret(bearer), b.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, storeErr("lookup access token", err)
	}
	g, err := b.grant(ctx, at.GrantID)
	if err != nil {
		return nil, storeErr("get grant", err)
	}
	return &Caller{Access: &at, Grant: g}, nil
}

// errInactive marks a delegated token that is not (or no longer) good.
var errInactive = errors.New("inactive delegated token")

// verifyDelegated checks a delegated JWT's signature (our keys, current or retired), its
// time claims and audience, and asks the store whether it was revoked. Inactive tokens
// give errInactive; store failures an *Error.
func (b *Broker) verifyDelegated(ctx context.Context, tok string) (*DelegatedClaims, store.DelegatedStatus, error) {
	claims := &DelegatedClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, alg, ok := b.keys.PublicKey(kid)
		if !ok {
			// A key rotated on another replica: reload, at most once a second, so tokens
			// with made-up kids cannot make every request a store round trip.
			if err := b.keys.Refresh(ctx, time.Second); err != nil {
				return nil, err
			}
			if key, alg, ok = b.keys.PublicKey(kid); !ok {
				return nil, errors.New("unknown kid")
			}
		}
		if t.Method.Alg() != alg {
			return nil, errors.New("algorithm does not match the key")
		}
		return key, nil
	}, jwt.WithValidMethods([]string{AlgEdDSA, AlgES256}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(b.now),
		jwt.WithIssuer(b.opts.Issuer), jwt.WithAudience(b.opts.DelegatedTokenAudience))
	if err != nil {
		var be *Error
		if errors.As(err, &be) {
			return nil, store.DelegatedStatus{}, be
		}
		return nil, store.DelegatedStatus{}, errInactive
	}
	var iat = b.now()
	if claims.IssuedAt != nil {
		iat = claims.IssuedAt.Time
	}
	st, err := b.store.CheckDelegated(ctx, store.DelegatedCheck{GrantID: claims.GrantID, Subject: claims.Subject,
		JTI: claims.ID, FamilyID: claims.Family, IssuedAt: iat})
	if errors.Is(err, store.ErrNotFound) {
		return nil, st, errInactive
	}
	if err != nil {
		return nil, st, storeErr("check delegated", err)
	}
	return claims, st, nil
}

// inspectDelegated introspects a delegated JWT (SPEC §8).
func (b *Broker) inspectDelegated(ctx context.Context, tok string) (*Introspection, error) {
	claims, st, err := b.verifyDelegated(ctx, tok)
	if errors.Is(err, errInactive) {
		return &Introspection{}, nil
	}
	if err != nil {
		return nil, err
	}
	g, err := b.grant(ctx, claims.GrantID)
	if err != nil {
		return nil, storeErr("get grant", err)
	}
	cals := st.Elevations
	if cals == nil {
		cals = []string{}
	}
	in := &Introspection{Active: true, TokenType: "bearer", Kind: claims.Kind, Scope: claims.Scope,
		DelegatedScope: g.DelegatedScope, ClientID: claims.ClientID, Sub: claims.Subject, Domain: claims.Domain,
		GrantID: claims.GrantID, UnrestrictedCalendars: &cals}
	if claims.ExpiresAt != nil {
		in.Exp = claims.ExpiresAt.Unix()
	}
	if claims.IssuedAt != nil {
		in.Iat = claims.IssuedAt.Unix()
	}
	return in, nil
}

// revokeDelegated denies a delegated JWT of the client until it expires (SPEC §8).
func (b *Broker) revokeDelegated(ctx context.Context, client store.Client, tok string, m Meta) error {
	claims, _, err := b.verifyDelegated(ctx, tok)
	if errors.Is(err, errInactive) {
		return nil
	}
	if err != nil {
		return err
	}
	if claims.ClientID != client.ID {
		return nil
	}
	if err := b.store.DenyJTI(ctx, claims.ID, claims.ExpiresAt.Time); err != nil {
		return storeErr("deny jti", err)
	}
	return b.audit.Record(ctx, Event{Type: EvTokenRevoked, Domain: claims.Domain, ClientID: client.ID, GrantID: claims.GrantID,
		Subject: claims.Subject, Scope: claims.Scope, IP: m.IP, RequestID: m.RequestID})
}
