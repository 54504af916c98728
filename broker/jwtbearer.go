package broker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/enterprise-connect/broker/store"
)

// maxAssertionLife is how long a jwt-bearer assertion may live: exp at most 60 minutes after
// iat, or after now without iat (SPEC §3, Google's rule, so x/oauth2/jwt defaults pass).
const maxAssertionLife = 60 * time.Minute

// assertionSkew is the clock skew allowed on an assertion's iat.
const assertionSkew = 30 * time.Second

// assertionClaims are a jwt-bearer assertion's claims (RFC 7523 §3).
type assertionClaims struct {
	jwt.RegisteredClaims
	Scope string `json:"scope"`
}

// jwtBearer serves the jwt-bearer grant (RFC 7523 §2.1; SPEC §3): the client's signed
// assertion names a subject; the answer is §4's single mint. Client authentication is
// optional (Google's shape carries none); when present it must be the assertion's issuer.
func (b *Broker) jwtBearer(ctx context.Context, authed *store.Client, r TokenRequest) (*Minted, error) {
	raw := r.Params["assertion"]
	if raw == "" {
		return nil, errorf(InvalidRequest, "assertion is missing")
	}
	bad := func(desc string) (*Minted, error) { return nil, errorf(InvalidGrant, "%s", desc) }
	var unverified assertionClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &unverified); err != nil {
		return bad("the assertion is not a JWT")
	}
	client := store.Client{}
	if authed != nil {
		if unverified.Issuer != authed.ID {
			return bad("the assertion's iss is not the authenticated client")
		}
		client = *authed
	} else {
		c, err := b.client(ctx, unverified.Issuer)
		if errors.Is(err, store.ErrNotFound) || unverified.Issuer == "" {
			return bad("the assertion's iss is not a registered client")
		}
		if err != nil {
			return nil, storeErr("get client", err)
		}
		client = c
	}
	claims := &assertionClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		if len(client.JWKS) == 0 {
			return nil, errors.New("the client has no registered JWKS")
		}
		set, err := ParseClientJWKS(client.JWKS)
		if err != nil {
			return nil, err
		}
		return keyFor(set, t)
	}, jwt.WithValidMethods(assertionAlgs), jwt.WithExpirationRequired(), jwt.WithTimeFunc(b.now), jwt.WithIssuer(client.ID))
	if err != nil {
		return bad("the assertion is invalid: " + err.Error())
	}
	audOK := false
	for _, a := range claims.Audience {
		audOK = audOK || a == b.tokenEndpoint() || a == b.opts.Issuer
	}
	if !audOK {
		return bad("the assertion's aud must be the token endpoint or the issuer")
	}
	from := b.now()
	if claims.IssuedAt != nil {
		from = claims.IssuedAt.Time
		// Google's rule, which SPEC §3 adopts: an assertion is not issued in the future
		// (30 s of clock skew allowed), or a pre-signed one would outlive the 60 minutes.
		if from.After(b.now().Add(assertionSkew)) {
			return bad("the assertion's iat is in the future")
		}
	}
	if claims.ExpiresAt.Time.Sub(from) > maxAssertionLife {
		return bad("the assertion's exp is more than 60 minutes after its iat")
	}
	replayKey := claims.ID
	if replayKey == "" {
		sum := sha256.Sum256([]byte(raw))
		replayKey = "sha256:" + hex.EncodeToString(sum[:])
	}
	if err := b.store.UseOnce(ctx, "assertion:"+client.ID+":"+replayKey, claims.ExpiresAt.Time, b.now()); err != nil {
		if errors.Is(err, store.ErrUsed) {
			return bad("the assertion was used before")
		}
		return nil, storeErr("use assertion", err)
	}
	sub := strings.ToLower(strings.TrimSpace(claims.Subject))
	at := strings.LastIndexByte(sub, '@')
	if at < 0 {
		return bad("the assertion's sub must be an account or resource email")
	}
	g, err := b.store.ActiveGrant(ctx, client.ID, sub[at+1:])
	if errors.Is(err, store.ErrNotFound) {
		return bad("no active grant of this client covers the subject's domain")
	}
	if err != nil {
		return nil, storeErr("active grant", err)
	}
	out, err := b.mint(ctx, g, []MintRequest{{Sub: sub, Scope: claims.Scope}}, r.Meta, "", b.opts.DelegatedTokenTTL)
	if err != nil {
		return nil, err
	}
	if e := out[0].err; e != nil {
		if e.Code == InvalidScope {
			return nil, e
		}
		return bad(e.Description)
	}
	return out[0].Minted, nil
}
