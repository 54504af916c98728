package broker

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/enterprise-connect/broker/store"
)

// AssertionTypeJWTBearer is RFC 7523's client_assertion_type.
const AssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// maxClientAssertionLife bounds how far ahead a private_key_jwt assertion's exp may be
// (SPEC §3: exp ≤ 5 min ahead).
const maxClientAssertionLife = 5 * time.Minute

// assertionAlgs are the signature algorithms accepted in client assertions (SPEC §3).
var assertionAlgs = []string{"EdDSA", "ES256", "RS256"}

// ClientCredentialsIn is how a request authenticated its client (RFC 6749 §2.3): at most
// one method may be used.
type ClientCredentialsIn struct {
	// Basic credentials, already form-urldecoded (RFC 6749 §2.3.1).
	HasBasic                  bool
	BasicID, BasicSecret      string
	ClientID                  string // client_id body parameter
	ClientSecret              string // client_secret body parameter
	HasClientSecret           bool
	AssertionType, Assertion  string
	HasAssertionType, HasAssn bool
}

// authenticateClient verifies the client by exactly one method and returns it. Failures are
// invalid_client (audited, counted per client and per IP); several methods at once are
// invalid_request.
func (b *Broker) authenticateClient(ctx context.Context, in ClientCredentialsIn, m Meta) (store.Client, error) {
	methods := 0
	for _, used := range []bool{in.HasBasic, in.HasClientSecret, in.HasAssn || in.HasAssertionType} {
		if used {
			methods++
		}
	}
	if methods > 1 {
		return store.Client{}, errorf(InvalidRequest, "use exactly one client authentication method (RFC 6749 §2.3)")
	}
	claimed := in.ClientID
	switch {
	case in.HasBasic:
		if in.ClientID != "" && in.ClientID != in.BasicID {
			return store.Client{}, b.clientAuthFailed(ctx, in.BasicID, m, true, "client_id in the body differs from the Basic credentials")
		}
		claimed = in.BasicID
	case in.HasAssn || in.HasAssertionType:
		return b.authenticateAssertion(ctx, in, m)
	case !in.HasClientSecret:
		return store.Client{}, b.clientAuthFailed(ctx, in.ClientID, m, false, "client authentication is required")
	}
	if err := b.clientAuthThrottled(ctx, claimed, m); err != nil {
		return store.Client{}, err
	}
	secret := in.ClientSecret
	if in.HasBasic {
		secret = in.BasicSecret
	}
	c, err := b.client(ctx, claimed)
	if errors.Is(err, store.ErrNotFound) || claimed == "" {
		sameHash(secret, strings.Repeat("0", 64)) // same work as a known client
		return store.Client{}, b.clientAuthFailed(ctx, claimed, m, in.HasBasic, "unknown client")
	}
	if err != nil {
		return store.Client{}, storeErr("get client", err)
	}
	if !sameHash(secret, c.SecretHash) {
		return store.Client{}, b.clientAuthFailed(ctx, claimed, m, in.HasBasic, "wrong client secret")
	}
	return c, nil
}

func (b *Broker) clientAuthThrottled(ctx context.Context, clientID string, m Meta) error {
	lim := b.opts.RateLimits
	if err := b.throttled(ctx, lim.ClientAuthPerClient, "clientauth:client:"+clientID, "client authentications for this client"); err != nil {
		return err
	}
	return b.throttled(ctx, lim.ClientAuthPerIP, "clientauth:ip:"+m.IP, "client authentications from this address")
}

// clientAuthFailed counts and audits a failed client authentication and returns the
// invalid_client error (with a Basic challenge when Basic was used, RFC 6749 §5.2).
func (b *Broker) clientAuthFailed(ctx context.Context, clientID string, m Meta, basic bool, reason string) error {
	lim := b.opts.RateLimits
	if err := b.countFailure(ctx, lim.ClientAuthPerClient, "clientauth:client:"+clientID); err != nil {
		return err
	}
	if err := b.countFailure(ctx, lim.ClientAuthPerIP, "clientauth:ip:"+m.IP); err != nil {
		return err
	}
	if len(clientID) > 128 {
		clientID = clientID[:128]
	}
	if err := b.audit.Record(ctx, Event{Type: EvClientAuthFailed, ClientID: clientID, Result: resultFailure,
		Error: reason, IP: m.IP, RequestID: m.RequestID}); err != nil {
		return err
	}
	return &Error{Code: InvalidClient, Description: "client authentication failed", BasicAuth: basic}
}

// authenticateAssertion verifies a private_key_jwt client assertion (RFC 7523 §2.2, §3):
// signed by a key of the client's JWKS with EdDSA, ES256 or RS256; iss = sub = client_id;
// aud the token endpoint or the issuer; exp at most 5 minutes ahead; jti required and
// single-use.
func (b *Broker) authenticateAssertion(ctx context.Context, in ClientCredentialsIn, m Meta) (store.Client, error) {
	if in.AssertionType != AssertionTypeJWTBearer || in.Assertion == "" {
		return store.Client{}, errorf(InvalidRequest, "client_assertion_type must be %s, with client_assertion", AssertionTypeJWTBearer)
	}
	var unverified jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(in.Assertion, &unverified); err != nil {
		return store.Client{}, b.clientAuthFailed(ctx, in.ClientID, m, false, "malformed client assertion")
	}
	clientID := unverified.Issuer
	if in.ClientID != "" && in.ClientID != clientID {
		return store.Client{}, b.clientAuthFailed(ctx, in.ClientID, m, false, "client_id differs from the assertion's iss")
	}
	if err := b.clientAuthThrottled(ctx, clientID, m); err != nil {
		return store.Client{}, err
	}
	c, err := b.client(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) || clientID == "" {
		return store.Client{}, b.clientAuthFailed(ctx, clientID, m, false, "unknown client")
	}
	if err != nil {
		return store.Client{}, storeErr("get client", err)
	}
	claims, err := b.verifyClientJWT(c, in.Assertion, []string{b.tokenEndpoint(), b.opts.Issuer}, maxClientAssertionLife)
	if err != nil {
		return store.Client{}, b.clientAuthFailed(ctx, clientID, m, false, "client assertion: "+err.Error())
	}
	if claims.Subject != c.ID {
		return store.Client{}, b.clientAuthFailed(ctx, clientID, m, false, "client assertion: sub must equal iss (the client_id)")
	}
	if claims.ID == "" {
		return store.Client{}, b.clientAuthFailed(ctx, clientID, m, false, "client assertion: jti is required")
	}
	if err := b.store.UseOnce(ctx, "pkjwt:"+c.ID+":"+claims.ID, claims.ExpiresAt.Time, b.now()); err != nil {
		if errors.Is(err, store.ErrUsed) {
			return store.Client{}, b.clientAuthFailed(ctx, clientID, m, false, "client assertion: jti was used before")
		}
		return store.Client{}, storeErr("use jti", err)
	}
	return c, nil
}

// verifyClientJWT checks a JWT signed with one of the client's registered keys: signature,
// aud (one of auds), exp present, in the future and at most maxLife ahead of now (or of iat
// when it has one and maxLife is measured from it), nbf.
func (b *Broker) verifyClientJWT(c store.Client, token string, auds []string, maxLife time.Duration) (*jwt.RegisteredClaims, error) {
	if len(c.JWKS) == 0 {
		return nil, errors.New("the client has no registered JWKS")
	}
	set, err := ParseClientJWKS(c.JWKS)
	if err != nil {
		return nil, err
	}
	claims := &jwt.RegisteredClaims{}
	_, err = jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		return keyFor(set, t)
	}, jwt.WithValidMethods(assertionAlgs), jwt.WithExpirationRequired(), jwt.WithTimeFunc(b.now), jwt.WithIssuer(c.ID))
	if err != nil {
		return nil, err
	}
	audOK := false
	for _, a := range claims.Audience {
		audOK = audOK || slices.Contains(auds, a)
	}
	if !audOK {
		return nil, fmt.Errorf("aud must be %s", strings.Join(auds, " or "))
	}
	if claims.ExpiresAt.Time.After(b.now().Add(maxLife)) {
		return nil, fmt.Errorf("exp is more than %s ahead", maxLife)
	}
	return claims, nil
}

// keyFor picks the verification key: by kid when the header has one, else the only key of
// the algorithm's type.
func keyFor(set jose.JSONWebKeySet, t *jwt.Token) (any, error) {
	if kid, _ := t.Header["kid"].(string); kid != "" {
		keys := set.Key(kid)
		if len(keys) == 0 {
			return nil, fmt.Errorf("no registered key with kid %q", kid)
		}
		return keys[0].Key, nil
	}
	var found []any
	for _, k := range set.Keys {
		if keyMatchesAlg(k.Key, t.Method.Alg()) {
			found = append(found, k.Key)
		}
	}
	if len(found) != 1 {
		return nil, errors.New("the assertion has no kid and the key is ambiguous")
	}
	return found[0], nil
}

func keyMatchesAlg(key any, alg string) bool {
	switch key.(type) {
	case ed25519.PublicKey:
		return alg == "EdDSA"
	case *ecdsa.PublicKey:
		return alg == "ES256"
	case *rsa.PublicKey:
		return alg == "RS256"
	}
	return false
}

func (b *Broker) tokenEndpoint() string {
	return strings.TrimRight(b.opts.Issuer, "/") + "/oauth/token"
}
