package handlers_test

// SPEC §3 jwt-bearer grant over HTTP: golang.org/x/oauth2/jwt with Subject (the Google
// domain-wide delegation shape) works unchanged; EdDSA and ES256 assertions signed with
// golang-jwt; refusals as RFC 6749 §5.2 errors.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	oauth2jwt "golang.org/x/oauth2/jwt"
)

// dtAssertion signs a jwt-bearer assertion of the JWKS client with golang-jwt.
func (s *dtSite) dtAssertion(alg, sub string, edit func(jwt.MapClaims)) string {
	s.t.Helper()
	k := dtClientKeys()
	now := time.Now()
	claims := jwt.MapClaims{"iss": s.jwtc.ID, "sub": sub, "aud": s.ts.URL + "/oauth/token",
		"iat": now.Unix(), "exp": now.Add(20 * time.Minute).Unix(), "jti": "jti-" + now.Format("150405.000000000") + sub}
	if edit != nil {
		edit(claims)
	}
	var tok *jwt.Token
	var key any
	switch alg {
	case "EdDSA":
		tok, key = jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims), k.ed
		tok.Header["kid"] = "dth-ed"
	case "ES256":
		tok, key = jwt.NewWithClaims(jwt.SigningMethodES256, claims), k.ec
		tok.Header["kid"] = "dth-ec"
	default:
		tok, key = jwt.NewWithClaims(jwt.SigningMethodRS256, claims), k.rsa
		tok.Header["kid"] = "dth-rsa"
	}
	a, err := tok.SignedString(key)
	if err != nil {
		s.t.Fatal(err)
	}
	return a
}

// postAssertion posts the grant as a form, without client authentication.
func (s *dtSite) postAssertion(a string) dtResp {
	s.t.Helper()
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}}
	req, _ := http.NewRequest("POST", s.ts.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.send(req)
}

func TestDelegated_HTTP_JWTBearer_GoogleClientLibrary(t *testing.T) {
	s := dtStart(t)
	_, grantID := s.grant(s.jwtc, "service_account/accounts/manage service_account/resources/manage", "read_write")
	conf := &oauth2jwt.Config{
		Email:        s.jwtc.ID,
		PrivateKey:   dtClientKeys().rsaPEM,
		PrivateKeyID: "dth-rsa",
		Subject:      "alice@example.com",
		Scopes:       []string{"read_only"},
		TokenURL:     s.ts.URL + "/oauth/token",
	}
	ctx := oauth2.NoContext
	tok, err := conf.TokenSource(ctx).Token()
	if err != nil {
		t.Fatalf("x/oauth2/jwt TokenSource.Token: %v", err)
	}
	if !strings.EqualFold(tok.TokenType, "bearer") || tok.Expiry.IsZero() || time.Until(tok.Expiry) > 10*time.Minute+time.Minute {
		t.Errorf("token type %q, expiry in %v; want bearer and the delegated TTL (600 s)", tok.TokenType, time.Until(tok.Expiry))
	}
	if tok.Extra("sub") != "alice@example.com" || tok.Extra("kind") != "account" || tok.Extra("scope") != dtReadOnly {
		t.Errorf("extra fields sub %v kind %v scope %v", tok.Extra("sub"), tok.Extra("kind"), tok.Extra("scope"))
	}
	// The token works on the API through an oauth2 client, as the subject. (conf.Client
	// would fetch a second token: x/oauth2/jwt assertions carry no jti and whole-second
	// iat/exp, and RS256 is deterministic, so a second fetch within the same second sends the
	// very same bytes, which SPEC §3 refuses as a replay.)
	hc := oauth2.NewClient(ctx, oauth2.StaticTokenSource(tok))
	hc.Timeout = 10 * time.Second
	res, err := hc.Get(s.ts.URL + "/v1/userinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var ui map[string]any
	_ = json.NewDecoder(res.Body).Decode(&ui)
	if res.StatusCode != http.StatusOK || ui["sub"] != "alice@example.com" || ui["grant_id"] != grantID || ui["scope"] != dtReadOnly {
		t.Errorf("userinfo with the jwt-bearer token: %d %v", res.StatusCode, ui)
	}

	t.Run("no scope is the ceiling", func(t *testing.T) {
		c := *conf
		c.Scopes = nil
		c.Subject = "room-1@example.com"
		tok, err := c.TokenSource(ctx).Token()
		if err != nil {
			t.Fatal(err)
		}
		want := "change_participation_status create_calendar create_event delete_event list_calendars read_account read_events read_free_busy"
		if tok.Extra("scope") != want || tok.Extra("kind") != "resource" {
			t.Errorf("scope %v kind %v, want the read_write ceiling for a resource", tok.Extra("scope"), tok.Extra("kind"))
		}
	})
	t.Run("unknown subject", func(t *testing.T) {
		c := *conf
		c.Subject = "nobody@example.com"
		_, err := c.TokenSource(ctx).Token()
		dtWantOAuthErr(t, err, "invalid_grant")
	})
	t.Run("scope outside the ceiling", func(t *testing.T) {
		c := *conf
		c.Scopes = []string{"read_contacts"}
		_, err := c.TokenSource(ctx).Token()
		dtWantOAuthErr(t, err, "invalid_scope")
	})
	t.Run("a key not in the JWKS", func(t *testing.T) {
		c := *conf
		c.PrivateKey = dtOtherRSAPEM(t)
		_, err := c.TokenSource(ctx).Token()
		dtWantOAuthErr(t, err, "invalid_grant")
	})
}

func TestDelegated_HTTP_JWTBearer_Assertions(t *testing.T) {
	s := dtStart(t)
	s.grant(s.jwtc, "service_account/accounts/manage", "read_write")
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			r := s.postAssertion(s.dtAssertion(alg, "alice@example.com", func(c jwt.MapClaims) { c["scope"] = "free_busy" }))
			if r.Status != http.StatusOK {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			m := r.json(t)
			if m["token_type"] != "bearer" || m["expires_in"] != float64(600) || m["sub"] != "alice@example.com" ||
				m["scope"] != "list_calendars read_account read_free_busy" || m["kind"] != "account" {
				t.Errorf("response %s", r.Body)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
		})
	}
	now := time.Now()
	tests := []struct {
		name string
		edit func(jwt.MapClaims)
		sub  string
		code string
	}{
		{name: "exp 61 minutes after iat", edit: func(c jwt.MapClaims) { c["exp"] = now.Add(61 * time.Minute).Unix() }, code: "invalid_grant"},
		{name: "expired", edit: func(c jwt.MapClaims) { c["iat"], c["exp"] = now.Add(-time.Hour).Unix(), now.Add(-time.Minute).Unix() }, code: "invalid_grant"},
		{name: "subject of a domain without a grant", sub: "carol@other.org", code: "invalid_grant"},
		{name: "scope outside the ceiling", edit: func(c jwt.MapClaims) { c["scope"] = "read_directory" }, code: "invalid_scope"},
		{name: "resource without resources/manage", sub: "room-1@example.com", code: "invalid_grant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sub := tc.sub
			if sub == "" {
				sub = "alice@example.com"
			}
			dtWantError(t, s.postAssertion(s.dtAssertion("EdDSA", sub, tc.edit)), http.StatusBadRequest, tc.code)
		})
	}
	t.Run("replay by jti", func(t *testing.T) {
		jti := func(c jwt.MapClaims) { c["jti"] = "jti-fixed-replay" }
		if r := s.postAssertion(s.dtAssertion("EdDSA", "alice@example.com", jti)); r.Status != http.StatusOK {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		dtWantError(t, s.postAssertion(s.dtAssertion("ES256", "alice@example.com", jti)), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("replay of the same bytes without jti", func(t *testing.T) {
		a := s.dtAssertion("EdDSA", "alice@example.com", func(c jwt.MapClaims) { delete(c, "jti") })
		if r := s.postAssertion(a); r.Status != http.StatusOK {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		dtWantError(t, s.postAssertion(a), http.StatusBadRequest, "invalid_grant")
	})
	t.Run("JSON body", func(t *testing.T) {
		body, _ := json.Marshal(map[string]string{"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
			"assertion": s.dtAssertion("EdDSA", "alice@example.com", nil)})
		if r := s.do("POST", "/oauth/token", "", body); r.Status != http.StatusOK {
			t.Errorf("JSON jwt-bearer request: %d %s", r.Status, r.Body)
		}
	})
}

// dtOtherRSAPEM is an RSA key the client never registered.
func dtOtherRSAPEM(t testing.TB) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

// dtWantOAuthErr checks a token-fetch error: a RetrieveError with status 400 and the code (in
// ErrorCode, or in the body where x/oauth2/jwt leaves ErrorCode empty).
func dtWantOAuthErr(t testing.TB, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got a token, want %s", code)
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		got := re.ErrorCode
		if got == "" { // x/oauth2/jwt fills only Response and Body
			var body struct{ Error string }
			_ = json.Unmarshal(re.Body, &body)
			got = body.Error
		}
		if got != code || re.Response.StatusCode != http.StatusBadRequest {
			t.Errorf("got %v, want 400 %s", err, code)
		}
		return
	}
	if msg := err.Error(); !strings.Contains(msg, "400") || !strings.Contains(msg, `"error":"`+code+`"`) {
		t.Errorf("got %v, want 400 %s", err, code)
	}
}
