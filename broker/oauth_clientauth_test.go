package broker_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/store"
)

// oaBogusCode is a well-formed code nobody was issued: a request that gets past client
// authentication with it fails invalid_grant, so invalid_grant means "authenticated".
var oaBogusCode = map[string]string{"grant_type": "authorization_code", "code": "Zz000000000000000000000000000000"}

// TestClientAuth_SecretMethods covers client_secret_basic and client_secret_post (RFC 6749
// §2.3): one method per request, failures invalid_client with a Basic challenge when Basic
// was used.
func TestClientAuth_SecretMethods(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		c, other := e.plain, e.single
		cases := []struct {
			name      string
			creds     broker.ClientCredentialsIn
			want      broker.ErrorCode
			wantBasic bool
		}{
			{name: "basic", creds: oaBasic(c), want: broker.InvalidGrant},
			{name: "post", creds: oaPost(c), want: broker.InvalidGrant},
			{name: "basic with the same client_id in the body", creds: func() broker.ClientCredentialsIn {
				in := oaBasic(c)
				in.ClientID = c.ID
				return in
			}(), want: broker.InvalidGrant},
			{name: "basic and post at once", creds: func() broker.ClientCredentialsIn {
				in := oaBasic(c)
				in.ClientID, in.ClientSecret, in.HasClientSecret = c.ID, c.Secret, true
				return in
			}(), want: broker.InvalidRequest},
			{name: "basic and an assertion at once", creds: func() broker.ClientCredentialsIn {
				in := oaBasic(c)
				in.AssertionType, in.Assertion, in.HasAssertionType, in.HasAssn = broker.AssertionTypeJWTBearer, "a.b.c", true, true
				return in
			}(), want: broker.InvalidRequest},
			{name: "post and an assertion at once", creds: func() broker.ClientCredentialsIn {
				in := oaPost(c)
				in.AssertionType, in.Assertion, in.HasAssertionType, in.HasAssn = broker.AssertionTypeJWTBearer, "a.b.c", true, true
				return in
			}(), want: broker.InvalidRequest},
			{name: "basic wrong secret", creds: broker.ClientCredentialsIn{HasBasic: true, BasicID: c.ID, BasicSecret: c.Secret + "x"},
				want: broker.InvalidClient, wantBasic: true},
			{name: "basic empty secret", creds: broker.ClientCredentialsIn{HasBasic: true, BasicID: c.ID},
				want: broker.InvalidClient, wantBasic: true},
			{name: "basic other client's secret", creds: broker.ClientCredentialsIn{HasBasic: true, BasicID: c.ID, BasicSecret: other.Secret},
				want: broker.InvalidClient, wantBasic: true},
			{name: "basic unknown client", creds: broker.ClientCredentialsIn{HasBasic: true, BasicID: "cli_unknown", BasicSecret: c.Secret},
				want: broker.InvalidClient, wantBasic: true},
			{name: "basic with a different client_id in the body", creds: func() broker.ClientCredentialsIn {
				in := oaBasic(c)
				in.ClientID = other.ID
				return in
			}(), want: broker.InvalidClient, wantBasic: true},
			{name: "post wrong secret", creds: broker.ClientCredentialsIn{ClientID: c.ID, ClientSecret: "nope", HasClientSecret: true},
				want: broker.InvalidClient},
			{name: "post empty secret", creds: broker.ClientCredentialsIn{ClientID: c.ID, HasClientSecret: true}, want: broker.InvalidClient},
			{name: "post unknown client", creds: broker.ClientCredentialsIn{ClientID: "cli_unknown", ClientSecret: c.Secret, HasClientSecret: true},
				want: broker.InvalidClient},
			{name: "post secret without client_id", creds: broker.ClientCredentialsIn{ClientSecret: c.Secret, HasClientSecret: true},
				want: broker.InvalidClient},
			{name: "none: client_id only", creds: broker.ClientCredentialsIn{ClientID: c.ID}, want: broker.InvalidClient},
			{name: "none at all", creds: broker.ClientCredentialsIn{}, want: broker.InvalidClient},
			{name: "JWKS client by secret still works", creds: oaPost(e.jwtc), want: broker.InvalidGrant},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.token(tc.creds, oaBogusCode)
				be := oaWantErrCode(t, err, tc.want)
				if tc.want == broker.InvalidClient && be.BasicAuth != tc.wantBasic {
					t.Errorf("BasicAuth=%v, want %v", be.BasicAuth, tc.wantBasic)
				}
			})
		}
	})
}

// TestClientAuth_PrivateKeyJWT_EveryAlgorithm_RedeemsCode: EdDSA, ES256 and RS256 keys of
// the client's JWKS authenticate a whole code exchange, with aud the token endpoint or the
// issuer.
func TestClientAuth_PrivateKeyJWT_EveryAlgorithm_RedeemsCode(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
			for _, aud := range []string{oaTokenEndpoint, oaIssuer} {
				t.Run(alg+" aud "+aud, func(t *testing.T) {
					f := e.flow(t, e.jwtc, oaFlowOpts{})
					a := e.assertion(t, e.jwtc, alg, func(c *jwt.RegisteredClaims, _ *jwt.Token) { c.Audience = jwt.ClaimStrings{aud} })
					res, err := e.token(oaAssertionCreds(a), oaRedeemParams(e.jwtc, f))
					if err != nil {
						t.Fatalf("redeem with %s assertion: %v", alg, err)
					}
					if res.AccessToken == "" || !e.active(t, e.jwtc, res.AccessToken) {
						t.Errorf("no active access token")
					}
				})
			}
		}
	})
}

// TestClientAuth_PrivateKeyJWT_Refused covers RFC 7523 / SPEC §3's refusals, all
// invalid_client.
func TestClientAuth_PrivateKeyJWT_Refused(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		c := e.jwtc
		_, strayEd, _ := ed25519.GenerateKey(rand.Reader)
		strayEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		sign := func(t *testing.T, method jwt.SigningMethod, key any, kid string, edit func(*jwt.RegisteredClaims)) string {
			now := e.clock.Now()
			claims := &jwt.RegisteredClaims{Issuer: c.ID, Subject: c.ID, Audience: jwt.ClaimStrings{oaTokenEndpoint},
				ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)), ID: "jti-" + oaRandHex(6)}
			if edit != nil {
				edit(claims)
			}
			tok := jwt.NewWithClaims(method, claims)
			if kid != "" {
				tok.Header["kid"] = kid
			}
			out, err := tok.SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			e.saw(out)
			return out
		}
		claims := func(edit func(*jwt.RegisteredClaims)) func(*jwt.RegisteredClaims, *jwt.Token) {
			return func(c *jwt.RegisteredClaims, _ *jwt.Token) { edit(c) }
		}
		now := e.clock.Now()
		cases := []struct {
			name      string
			assertion func(t *testing.T) string
			clientID  string // client_id body parameter
			want      broker.ErrorCode
		}{
			{name: "jti missing", assertion: func(t *testing.T) string {
				return e.assertion(t, c, "EdDSA", claims(func(c *jwt.RegisteredClaims) { c.ID = "" }))
			}, want: broker.InvalidClient},
			{name: "exp more than 5 min ahead", assertion: func(t *testing.T) string {
				return e.assertion(t, c, "ES256", claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(5*time.Minute + time.Minute)) }))
			}, want: broker.InvalidClient},
			{name: "exp an hour ahead with iat now", assertion: func(t *testing.T) string {
				return e.assertion(t, c, "RS256", claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Hour)) }))
			}, want: broker.InvalidClient},
			{name: "exp missing", assertion: func(t *testing.T) string {
				return e.assertion(t, c, "EdDSA", claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil }))
			}, want: broker.InvalidClient},
			{name: "expired", assertion: func(t *testing.T) string {
				return e.assertion(t, c, "EdDSA", claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) }))
			}, want: broker.InvalidClient},
			{name: "wrong aud", assertion: func(t *testing.T) string {
				return e.assertion(t, c, "EdDSA", claims(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"https://elsewhere.test/oauth/token"} }))
			}, want: broker.InvalidClient},
			{name: "aud missing", assertion: func(t *testing.T) string {
				return e.assertion(t, c, "EdDSA", claims(func(c *jwt.RegisteredClaims) { c.Audience = nil }))
			}, want: broker.InvalidClient},
			{name: "aud the introspection endpoint", assertion: func(t *testing.T) string {
				return e.assertion(t, c, "EdDSA", claims(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{oaIssuer + "/oauth/introspect"} }))
			}, want: broker.InvalidClient},
			{name: "sub differs from iss", assertion: func(t *testing.T) string {
				return e.assertion(t, c, "EdDSA", claims(func(c *jwt.RegisteredClaims) { c.Subject = e.plain.ID }))
			}, want: broker.InvalidClient},
			{name: "iss another client", assertion: func(t *testing.T) string {
				return e.assertion(t, c, "EdDSA", claims(func(c *jwt.RegisteredClaims) { c.Issuer, c.Subject = e.plain.ID, e.plain.ID }))
			}, want: broker.InvalidClient},
			{name: "iss unknown client", assertion: func(t *testing.T) string {
				return e.assertion(t, c, "EdDSA", claims(func(c *jwt.RegisteredClaims) { c.Issuer, c.Subject = "cli_nobody", "cli_nobody" }))
			}, want: broker.InvalidClient},
			{name: "client_id differs from iss", clientID: e.plain.ID, assertion: func(t *testing.T) string {
				return e.assertion(t, c, "EdDSA", nil)
			}, want: broker.InvalidClient},
			{name: "Ed25519 key not registered, registered kid", assertion: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodEdDSA, strayEd, "ed", nil)
			}, want: broker.InvalidClient},
			{name: "Ed25519 key not registered, no kid", assertion: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodEdDSA, strayEd, "", nil)
			}, want: broker.InvalidClient},
			{name: "P-256 key not registered, unknown kid", assertion: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodES256, strayEC, "stray", nil)
			}, want: broker.InvalidClient},
			{name: "registered key under another key's kid", assertion: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodEdDSA, e.keys.ed, "rsa", nil)
			}, want: broker.InvalidClient},
			{name: "HS256 with the client secret", assertion: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodHS256, []byte(c.Secret), "", nil)
			}, want: broker.InvalidClient},
			{name: "alg none", assertion: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", nil)
			}, want: broker.InvalidClient},
			{name: "not a JWT", assertion: func(*testing.T) string { return "not-a-jwt" }, want: broker.InvalidClient},
			{name: "client without a JWKS", assertion: func(t *testing.T) string {
				return e.assertion(t, c, "EdDSA", claims(func(c *jwt.RegisteredClaims) { c.Issuer, c.Subject = e.single.ID, e.single.ID }))
			}, want: broker.InvalidClient},
			{name: "accepted: exp 4 min ahead", assertion: func(t *testing.T) string {
				return e.assertion(t, c, "EdDSA", claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(4 * time.Minute)) }))
			}, want: broker.InvalidGrant},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				in := oaAssertionCreds(tc.assertion(t))
				in.ClientID = tc.clientID
				_, err := e.token(in, oaBogusCode)
				be := oaWantErrCode(t, err, tc.want)
				if be.BasicAuth {
					t.Errorf("BasicAuth set for an assertion")
				}
			})
		}
	})
}

// TestClientAuth_PrivateKeyJWT_JTIReused_InvalidClient: a jti is single use, whatever the
// algorithm of the replay.
func TestClientAuth_PrivateKeyJWT_JTIReused_InvalidClient(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		a := e.assertion(t, e.jwtc, "ES256", nil)
		_, err := e.token(oaAssertionCreds(a), oaBogusCode)
		oaWantErrCode(t, err, broker.InvalidGrant) // authenticated
		_, err = e.token(oaAssertionCreds(a), oaBogusCode)
		oaWantErrCode(t, err, broker.InvalidClient)

		var jti string
		b := e.assertion(t, e.jwtc, "EdDSA", func(c *jwt.RegisteredClaims, _ *jwt.Token) { jti = c.ID })
		_, err = e.token(oaAssertionCreds(b), oaBogusCode)
		oaWantErrCode(t, err, broker.InvalidGrant)
		replay := e.assertion(t, e.jwtc, "RS256", func(c *jwt.RegisteredClaims, _ *jwt.Token) { c.ID = jti })
		_, err = e.token(oaAssertionCreds(replay), oaBogusCode)
		oaWantErrCode(t, err, broker.InvalidClient)
	})
}

// TestClientAuth_FailuresThrottledPerClient: client-authentication failures per client are
// limited (SPEC §10); then even the right secret gets too_many_requests, until the window
// passes.
func TestClientAuth_FailuresThrottledPerClient(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		window := 10 * time.Minute
		e := oaOn(t, s, func(o *broker.Options) {
			o.RateLimits.ClientAuthPerClient = broker.RateLimit{Limit: 3, Window: window}
		})
		bad := broker.ClientCredentialsIn{HasBasic: true, BasicID: e.plain.ID, BasicSecret: "wrong"}
		for range 3 {
			_, err := e.token(bad, oaBogusCode)
			oaWantErrCode(t, err, broker.InvalidClient)
		}
		_, err := e.token(oaBasic(e.plain), oaBogusCode)
		be := oaWantErrCode(t, err, broker.TooManyRequests)
		if be.RetryAfter <= 0 {
			t.Errorf("RetryAfter %d, want > 0", be.RetryAfter)
		}
		_, err = e.token(oaBasic(e.single), oaBogusCode)
		oaWantErrCode(t, err, broker.InvalidGrant) // another client is not throttled
		e.clock.Advance(window)
		_, err = e.token(oaBasic(e.plain), oaBogusCode)
		oaWantErrCode(t, err, broker.InvalidGrant)
	})
}
