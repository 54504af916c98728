package handlers_test

// The admin flow of SPEC §2–§3 over HTTP: the handlers' Server with every route, a broker on
// a real store, golang.org/x/oauth2 as the client and a cookie-jar browser.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/oauth2"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/broker/provider"
	"github.com/enterprise-connect/broker/broker/provider/static"
	"github.com/enterprise-connect/broker/handlers"
	"github.com/enterprise-connect/broker/store"
	"github.com/enterprise-connect/broker/store/embedded"
	"github.com/enterprise-connect/broker/store/redis"
)

const (
	oaAdmin     = "admin@example.com"
	oaAdminPass = "pw-http-admin-5Tg"
	oaAlicePass = "pw-http-alice-8Lp"
	oaRedirect  = "https://app.example/callback"
	oaNastyName = `<i>x</i> & "y"`
)

var (
	oaYAMLOnce sync.Once
	oaYAML     []byte
)

func oaDirectory(t *testing.T) provider.Provider {
	t.Helper()
	oaYAMLOnce.Do(func() {
		h := func(pw string) string {
			b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
			if err != nil {
				panic(err)
			}
			return string(b)
		}
		oaYAML = fmt.Appendf(nil, `domain: example.com
admins:
  - email: admin@example.com
    name: Example Admin
    password_hash: %q
users:
  - email: alice@example.com
    name: Alice
    password_hash: %q
    groups: [sales]
resources:
  - email: room-1@example.com
    name: Room 1
`, h(oaAdminPass), h(oaAlicePass))
	})
	d, err := static.Parse("example.com.yaml", oaYAML)
	if err != nil {
		t.Fatalf("static.Parse: %v", err)
	}
	return d
}

// oaStores runs fn on the embedded store and on miniredis, in parallel.
func oaStores(t *testing.T, fn func(t *testing.T, s store.Store)) {
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		s, err := embedded.Open(context.Background(), filepath.Join(t.TempDir(), "broker.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		fn(t, s)
	})
	t.Run("miniredis", func(t *testing.T) {
		t.Parallel()
		m := miniredis.RunT(t)
		s, err := redis.Open(context.Background(), "redis://"+m.Addr(), redis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		fn(t, s)
	})
}

// oaSite is a running broker.
type oaSite struct {
	ts     *httptest.Server
	b      *broker.Broker
	store  store.Store
	client broker.ClientCredentials // redirect oaRedirect, PKCE not required, name oaNastyName
}

func oaStart(t *testing.T, s store.Store) *oaSite {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	issuer := "http://" + ts.Listener.Addr().String()
	key := make([]byte, 32)
	rand.Read(key)
	sealer, err := broker.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.New(context.Background(), broker.Options{
		Store: s, Providers: []provider.Provider{oaDirectory(t)}, Sealer: sealer, Issuer: issuer,
		CodeTTL: 5 * time.Minute, AccessTokenTTL: 30 * time.Minute, DelegatedTokenTTL: 10 * time.Minute,
		SigningAlgorithm: broker.AlgEdDSA,
		RateLimits: broker.RateLimits{
			SigninPerAccount: broker.RateLimit{Limit: 3, Window: 15 * time.Minute},
			SigninPerIP:      broker.RateLimit{Limit: 100, Window: 15 * time.Minute},
		},
	})
	if err != nil {
		t.Fatalf("broker.New: %v", err)
	}
	creds, err := broker.CreateClient(context.Background(), s, sealer, broker.ClientSpec{
		Name: oaNastyName, RedirectURIs: []string{oaRedirect},
		Scope: "service_account/accounts/manage", DelegatedScope: "read_only",
	}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	srv := handlers.NewServer(handlers.ServerOptions{Ready: b.Ready})
	handlers.Register(srv, b, handlers.RouteOptions{})
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	return &oaSite{ts: ts, b: b, store: s, client: creds}
}

func (s *oaSite) config() *oauth2.Config {
	return &oauth2.Config{
		ClientID: s.client.ClientID, ClientSecret: s.client.ClientSecret, RedirectURL: oaRedirect,
		Scopes: []string{"service_account/accounts/manage"},
		Endpoint: oauth2.Endpoint{
			AuthURL: s.ts.URL + "/enterprise_connect/oauth/authorize", TokenURL: s.ts.URL + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}
}

// browser is a cookie-jar client that follows redirects on the broker only; a redirect off
// the broker (to the client) is returned as is.
func (s *oaSite) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(s.ts.URL, "http://")
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != host {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

var oaReHidden = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// oaHiddenInputs returns a page's hidden inputs.
func oaHiddenInputs(body string) url.Values {
	v := url.Values{}
	for _, m := range oaReHidden.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v
}

func oaReadAll(t *testing.T, r *http.Response) string {
	t.Helper()
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// oaApproval drives the browser from an authorize URL to the client's redirect: sign-in form,
// consent page, decision. It returns the consent page response and the final redirect.
type oaApproval struct {
	consent     *http.Response
	consentBody string
	redirect    *url.URL
}

func (s *oaSite) approve(t *testing.T, br *http.Client, authURL, decision string) oaApproval {
	t.Helper()
	res, err := br.Get(authURL)
	if err != nil {
		t.Fatalf("GET authorize: %v", err)
	}
	body := oaReadAll(t, res)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
		t.Fatalf("authorize → %d, want the sign-in form: %s", res.StatusCode, body)
	}
	form := oaHiddenInputs(body)
	form.Set("email", oaAdmin)
	form.Set("password", oaAdminPass)
	res, err = br.PostForm(s.ts.URL+"/enterprise_connect/signin", form)
	if err != nil {
		t.Fatalf("POST signin: %v", err)
	}
	var out oaApproval
	out.consent, out.consentBody = res, oaReadAll(t, res)
	if res.StatusCode != http.StatusOK || !strings.Contains(out.consentBody, `name="decision"`) {
		t.Fatalf("sign-in → %d, want the consent page: %s", res.StatusCode, out.consentBody)
	}
	form = oaHiddenInputs(out.consentBody)
	if form.Get("csrf") == "" || form.Get("request") == "" {
		t.Fatalf("consent page lacks hidden request/csrf: %s", out.consentBody)
	}
	form.Set("decision", decision)
	res, err = br.PostForm(s.ts.URL+"/enterprise_connect/oauth/consent", form)
	if err != nil {
		t.Fatalf("POST consent: %v", err)
	}
	oaReadAll(t, res)
	if res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent → %d, want 302/303", res.StatusCode)
	}
	if out.redirect, err = url.Parse(res.Header.Get("Location")); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHTTPFlow_OAuth2Client_PKCE: x/oauth2 drives the whole admin flow with PKCE and gets a
// service-account token with its extra fields.
func TestHTTPFlow_OAuth2Client_PKCE(t *testing.T) {
	t.Parallel()
	oaStores(t, func(t *testing.T, st store.Store) {
		s := oaStart(t, st)
		cfg := s.config()
		verifier := oauth2.GenerateVerifier()
		authURL := cfg.AuthCodeURL("st-http", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("delegated_scope", "read_only"))
		a := s.approve(t, s.browser(t), authURL, "approve")
		q := a.redirect.Query()
		if a.redirect.Scheme+"://"+a.redirect.Host+a.redirect.Path != oaRedirect || q.Get("state") != "st-http" || q.Get("iss") != s.ts.URL {
			t.Fatalf("redirect %s: want %s with state and iss", a.redirect, oaRedirect)
		}
		code := q.Get("code")
		if !regexp.MustCompile(`^[A-Za-z0-9]{32}$`).MatchString(code) {
			t.Fatalf("code %q", code)
		}

		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second})
		if _, err := cfg.Exchange(ctx, code); err == nil {
			t.Fatal("Exchange without the verifier succeeded")
		}
		// That attempt consumed the code: run the flow again.
		verifier = oauth2.GenerateVerifier()
		a = s.approve(t, s.browser(t), cfg.AuthCodeURL("st-2", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("delegated_scope", "read_only")), "approve")
		tok, err := cfg.Exchange(ctx, a.redirect.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if tok.AccessToken == "" || tok.RefreshToken == "" || !strings.EqualFold(tok.TokenType, "bearer") || tok.Expiry.IsZero() {
			t.Errorf("token %+v", tok)
		}
		sa, _ := tok.Extra("service_account_id").(string)
		if !regexp.MustCompile(`^ser_[A-Za-z0-9]{24}$`).MatchString(sa) {
			t.Errorf("service_account_id %q", sa)
		}
		if tok.Extra("domain") != "example.com" || tok.Extra("scope") != "service_account/accounts/manage" ||
			tok.Extra("delegated_scope") != "list_calendars read_account read_events read_free_busy" {
			t.Errorf("extra fields: domain %v scope %v delegated_scope %v", tok.Extra("domain"), tok.Extra("scope"), tok.Extra("delegated_scope"))
		}
		// x/oauth2 refreshes with the rotated refresh token.
		tok.Expiry = time.Now().Add(-time.Minute)
		fresh, err := cfg.TokenSource(ctx, tok).Token()
		if err != nil {
			t.Fatalf("refresh through x/oauth2: %v", err)
		}
		if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
			t.Errorf("refresh did not rotate both tokens")
		}
	})
}

// TestHTTPFlow_Deny_RedirectsAccessDenied: the Deny button sends the browser back with
// error=access_denied, state and iss.
func TestHTTPFlow_Deny_RedirectsAccessDenied(t *testing.T) {
	t.Parallel()
	s := oaStart(t, oaEmbedded(t))
	a := s.approve(t, s.browser(t), s.config().AuthCodeURL("st-d", oauth2.SetAuthURLParam("delegated_scope", "read_only")), "deny")
	q := a.redirect.Query()
	if q.Get("error") != "access_denied" || q.Get("state") != "st-d" || q.Get("iss") != s.ts.URL || q.Has("code") {
		t.Errorf("deny redirect %s", a.redirect)
	}
}

func oaEmbedded(t *testing.T) store.Store {
	t.Helper()
	s, err := embedded.Open(context.Background(), filepath.Join(t.TempDir(), "broker.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// code runs the flow without PKCE and returns a fresh code.
func (s *oaSite) code(t *testing.T) string {
	t.Helper()
	a := s.approve(t, s.browser(t), s.config().AuthCodeURL("st", oauth2.SetAuthURLParam("delegated_scope", "read_only")), "approve")
	return a.redirect.Query().Get("code")
}

// post sends body with contentType and headers to path.
func (s *oaSite) post(t *testing.T, path, contentType, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return res, oaReadAll(t, res)
}

func oaBasicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

type oaErrBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func oaDecodeErr(t *testing.T, body string) oaErrBody {
	t.Helper()
	var e oaErrBody
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %q", err, body)
	}
	return e
}

// TestHTTPToken_Bodies covers SPEC §3/§10's wire rules of the token endpoint.
func TestHTTPToken_Bodies(t *testing.T) {
	t.Parallel()
	s := oaStart(t, oaEmbedded(t))
	id, secret := s.client.ClientID, s.client.ClientSecret
	jsonOf := func(kv ...string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := 0; i+1 < len(kv); i += 2 {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%q:%s", kv[i], kv[i+1])
		}
		b.WriteString("}")
		return b.String()
	}
	q := func(s string) string { return fmt.Sprintf("%q", s) }

	t.Run("JSON body redeems a code", func(t *testing.T) {
		code := s.code(t)
		res, body := s.post(t, "/oauth/token", "application/json",
			jsonOf("grant_type", q("authorization_code"), "code", q(code), "redirect_uri", q(oaRedirect), "client_id", q(id), "client_secret", q(secret)), nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", res.StatusCode, body)
		}
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		var tr map[string]any
		if err := json.Unmarshal([]byte(body), &tr); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"token_type", "access_token", "expires_in", "refresh_token", "scope", "delegated_scope", "domain", "service_account_id"} {
			if _, ok := tr[k]; !ok {
				t.Errorf("token response lacks %s: %s", k, body)
			}
		}
		if tr["token_type"] != "bearer" || tr["expires_in"] != float64(1800) {
			t.Errorf("token_type %v expires_in %v", tr["token_type"], tr["expires_in"])
		}
	})
	t.Run("Bearer undefined is ignored", func(t *testing.T) {
		code := s.code(t)
		res, body := s.post(t, "/oauth/token", "application/json",
			jsonOf("grant_type", q("authorization_code"), "code", q(code), "redirect_uri", q(oaRedirect), "client_id", q(id), "client_secret", q(secret)),
			map[string]string{"Authorization": "Bearer undefined"})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", res.StatusCode, body)
		}
	})
	t.Run("Basic credentials are form-urldecoded", func(t *testing.T) {
		code := s.code(t)
		var enc strings.Builder
		for _, c := range []byte(id) { // percent-encode every byte of the id
			fmt.Fprintf(&enc, "%%%02X", c)
		}
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(enc.String()+":"+url.QueryEscape(secret)))
		res, body := s.post(t, "/oauth/token", "application/x-www-form-urlencoded",
			url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {oaRedirect}}.Encode(),
			map[string]string{"Authorization": auth})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", res.StatusCode, body)
		}
	})

	bad := []struct {
		name, contentType, body string
		header                  map[string]string
		wantStatus              int
		wantError               string
		wantChallenge           string // WWW-Authenticate prefix, "" = not checked
	}{
		{name: "JSON duplicate key", contentType: "application/json",
			body:       `{"grant_type":"authorization_code","code":"a","code":"b","client_id":"` + id + `","client_secret":"` + secret + `"}`,
			wantStatus: 400, wantError: "invalid_request"},
		{name: "JSON duplicate key differing in case", contentType: "application/json",
			body:       `{"grant_type":"authorization_code","code":"a","CODE":"b","client_id":"` + id + `","client_secret":"` + secret + `"}`,
			wantStatus: 400, wantError: "invalid_request"},
		{name: "JSON trailing data", contentType: "application/json",
			body:       `{"grant_type":"authorization_code","code":"a","client_id":"` + id + `","client_secret":"` + secret + `"} {}`,
			wantStatus: 400, wantError: "invalid_request"},
		{name: "JSON trailing garbage", contentType: "application/json",
			body:       `{"grant_type":"authorization_code","code":"a"}x`,
			wantStatus: 400, wantError: "invalid_request"},
		{name: "JSON number", contentType: "application/json",
			body:       `{"grant_type":"authorization_code","code":123,"client_id":"` + id + `","client_secret":"` + secret + `"}`,
			wantStatus: 400, wantError: "invalid_request"},
		{name: "JSON array", contentType: "application/json", body: `["grant_type"]`, wantStatus: 400, wantError: "invalid_request"},
		{name: "JSON null member", contentType: "application/json",
			body: `{"grant_type":null,"client_id":"` + id + `","client_secret":"` + secret + `"}`, wantStatus: 400, wantError: "invalid_request"},
		{name: "JSON empty", contentType: "application/json", body: ``, wantStatus: 400, wantError: "invalid_request"},
		{name: "form repeated parameter", contentType: "application/x-www-form-urlencoded",
			body:       "grant_type=authorization_code&code=a&code=b&client_id=" + id + "&client_secret=" + secret,
			wantStatus: 400, wantError: "invalid_request"},
		{name: "form repeated client_secret", contentType: "application/x-www-form-urlencoded",
			body:       "grant_type=authorization_code&code=a&client_id=" + id + "&client_secret=" + secret + "&client_secret=" + secret,
			wantStatus: 400, wantError: "invalid_request"},
		{name: "text/plain", contentType: "text/plain", body: "grant_type=authorization_code", wantStatus: 400, wantError: "invalid_request"},
		{name: "no content type", body: "grant_type=authorization_code", wantStatus: 400, wantError: "invalid_request"},
		{name: "Basic and post at once", contentType: "application/x-www-form-urlencoded",
			body:       "grant_type=authorization_code&code=a&client_id=" + id + "&client_secret=" + secret,
			header:     map[string]string{"Authorization": oaBasicAuth(id, secret)},
			wantStatus: 400, wantError: "invalid_request"},
		{name: "Basic wrong secret", contentType: "application/x-www-form-urlencoded", body: "grant_type=authorization_code&code=a",
			header: map[string]string{"Authorization": oaBasicAuth(id, "wrong")}, wantStatus: 401, wantError: "invalid_client", wantChallenge: "Basic"},
		{name: "Basic unknown client", contentType: "application/x-www-form-urlencoded", body: "grant_type=authorization_code&code=a",
			header: map[string]string{"Authorization": oaBasicAuth("cli_nobody", secret)}, wantStatus: 401, wantError: "invalid_client", wantChallenge: "Basic"},
		{name: "Basic malformed", contentType: "application/x-www-form-urlencoded", body: "grant_type=authorization_code&code=a",
			header: map[string]string{"Authorization": "Basic !!!"}, wantStatus: 401, wantError: "invalid_client", wantChallenge: "Basic"},
		{name: "post wrong secret", contentType: "application/x-www-form-urlencoded",
			body: "grant_type=authorization_code&code=a&client_id=" + id + "&client_secret=wrong", wantStatus: 401, wantError: "invalid_client"},
		{name: "no client authentication", contentType: "application/x-www-form-urlencoded",
			body: "grant_type=authorization_code&code=a&client_id=" + id, wantStatus: 401, wantError: "invalid_client"},
		{name: "Bearer undefined and no client authentication", contentType: "application/x-www-form-urlencoded",
			body: "grant_type=authorization_code&code=a&client_id=" + id, header: map[string]string{"Authorization": "Bearer undefined"},
			wantStatus: 401, wantError: "invalid_client"},
		{name: "unknown code", contentType: "application/x-www-form-urlencoded",
			body: "grant_type=authorization_code&code=a&client_id=" + id + "&client_secret=" + secret, wantStatus: 400, wantError: "invalid_grant"},
		{name: "unsupported grant type", contentType: "application/x-www-form-urlencoded",
			body: "grant_type=password&client_id=" + id + "&client_secret=" + secret, wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "grant type missing", contentType: "application/x-www-form-urlencoded",
			body: "client_id=" + id + "&client_secret=" + secret, wantStatus: 400, wantError: "invalid_request"},
		{name: "body over 64 KiB", contentType: "application/x-www-form-urlencoded",
			body: "grant_type=authorization_code&client_id=" + id + "&client_secret=" + secret + "&pad=" + strings.Repeat("a", 64<<10), wantStatus: 413},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			res, body := s.post(t, "/oauth/token", tc.contentType, tc.body, tc.header)
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.wantStatus, body)
			}
			if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			if tc.wantError != "" {
				if got := oaDecodeErr(t, body); got.Error != tc.wantError {
					t.Errorf("error %q (%s), want %q", got.Error, got.Description, tc.wantError)
				}
			}
			if tc.wantChallenge != "" && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), tc.wantChallenge) {
				t.Errorf("WWW-Authenticate %q, want %s…", res.Header.Get("WWW-Authenticate"), tc.wantChallenge)
			}
		})
	}
	t.Run("body over 64 KiB, chunked", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			_, _ = io.WriteString(pw, "grant_type=authorization_code&pad="+strings.Repeat("a", 70<<10))
			pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, s.ts.URL+"/oauth/token", pr)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", oaBasicAuth(id, secret))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		oaReadAll(t, res)
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", res.StatusCode)
		}
	})
}

// TestHTTPConsent_PageHeadersAndEscaping: the consent page cannot be framed and escapes the
// client's name.
func TestHTTPConsent_PageHeadersAndEscaping(t *testing.T) {
	t.Parallel()
	s := oaStart(t, oaEmbedded(t))
	br := s.browser(t)
	a := s.approve(t, br, s.config().AuthCodeURL("st", oauth2.SetAuthURLParam("delegated_scope", "read_only")), "approve")
	h := a.consent.Header
	if h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("X-Frame-Options %q, want DENY", h.Get("X-Frame-Options"))
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q lacks frame-ancestors 'none'", csp)
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("Content-Type %q", h.Get("Content-Type"))
	}
	if strings.Contains(a.consentBody, oaNastyName) || strings.Contains(a.consentBody, "<i>x</i>") {
		t.Errorf("the consent page echoes the client name unescaped")
	}
	if !strings.Contains(a.consentBody, "&lt;i&gt;x&lt;/i&gt; &amp; &#34;y&#34;") {
		t.Errorf("the consent page lacks the escaped client name: %s", a.consentBody)
	}
	if !strings.Contains(a.consentBody, `value="approve"`) || !strings.Contains(a.consentBody, `value="deny"`) {
		t.Errorf("the consent page lacks the approve/deny buttons")
	}
}

// TestHTTPConsent_CrossSiteOrReplayedPost_Forbidden: a decision posted from another origin,
// or posted twice, is refused with a page and no redirect.
func TestHTTPConsent_CrossSiteOrReplayedPost_Forbidden(t *testing.T) {
	t.Parallel()
	s := oaStart(t, oaEmbedded(t))
	br := s.browser(t)
	res, err := br.Get(s.config().AuthCodeURL("st", oauth2.SetAuthURLParam("delegated_scope", "read_only")))
	if err != nil {
		t.Fatal(err)
	}
	form := oaHiddenInputs(oaReadAll(t, res))
	form.Set("email", oaAdmin)
	form.Set("password", oaAdminPass)
	res, err = br.PostForm(s.ts.URL+"/enterprise_connect/signin", form)
	if err != nil {
		t.Fatal(err)
	}
	consent := oaHiddenInputs(oaReadAll(t, res))
	consent.Set("decision", "approve")

	send := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, s.ts.URL+"/enterprise_connect/oauth/consent", strings.NewReader(consent.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := br.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		oaReadAll(t, res)
		return res
	}
	if res := send("https://evil.example"); res.StatusCode != http.StatusForbidden || res.Header.Get("Location") != "" {
		t.Errorf("cross-site post: %d Location %q, want 403 and no redirect", res.StatusCode, res.Header.Get("Location"))
	}
	if res := send(s.ts.URL); res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound {
		t.Fatalf("same-origin post: %d, want a redirect", res.StatusCode)
	}
	if res := send(""); res.StatusCode < 400 || res.Header.Get("Location") != "" {
		t.Errorf("replayed post: %d Location %q, want an error page", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestHTTPSignIn_Refusals: the sign-in form comes back with 401 (wrong password), 403 (not
// an administrator) and 429 with Retry-After (throttled).
func TestHTTPSignIn_Refusals(t *testing.T) {
	t.Parallel()
	s := oaStart(t, oaEmbedded(t))
	br := s.browser(t)
	res, err := br.Get(s.config().AuthCodeURL("st", oauth2.SetAuthURLParam("delegated_scope", "read_only")))
	if err != nil {
		t.Fatal(err)
	}
	next := oaHiddenInputs(oaReadAll(t, res)).Get("next")
	signIn := func(email, pw string) (*http.Response, string) {
		res, err := br.PostForm(s.ts.URL+"/enterprise_connect/signin", url.Values{"email": {email}, "password": {pw}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		return res, oaReadAll(t, res)
	}
	if res, body := signIn("alice@example.com", oaAlicePass); res.StatusCode != http.StatusForbidden || strings.Contains(body, `name="decision"`) {
		t.Errorf("non-admin: %d, want 403 without a consent form", res.StatusCode)
	}
	for i := range 3 {
		if res, body := signIn(oaAdmin, "wrong"); res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `name="password"`) {
			t.Errorf("wrong password #%d: %d, want 401 with the form", i+1, res.StatusCode)
		}
	}
	res, body := signIn(oaAdmin, oaAdminPass)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || !strings.Contains(body, `name="password"`) {
		t.Errorf("throttled: %d Retry-After %q, want 429 with Retry-After and the form", res.StatusCode, res.Header.Get("Retry-After"))
	}
}

// TestHTTPAuthorize_Errors: errors about the client or redirect URI are a 400 HTML page;
// the others a 302 to the redirect URI with error, state and iss.
func TestHTTPAuthorize_Errors(t *testing.T) {
	t.Parallel()
	s := oaStart(t, oaEmbedded(t))
	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := url.Values{"response_type": {"code"}, "client_id": {s.client.ClientID}, "redirect_uri": {oaRedirect},
		"scope": {"service_account/accounts/manage"}, "delegated_scope": {"read_only"}, "state": {"st-e"}}
	with := func(k, v string) string {
		q := url.Values{}
		for kk, vv := range base {
			q[kk] = append([]string(nil), vv...)
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return s.ts.URL + "/enterprise_connect/oauth/authorize?" + q.Encode()
	}
	cases := []struct {
		name      string
		url       string
		wantPage  bool
		wantError string
	}{
		{name: "unknown client", url: with("client_id", "cli_nobody"), wantPage: true},
		{name: "client_id missing", url: with("client_id", ""), wantPage: true},
		{name: "redirect_uri mismatch", url: with("redirect_uri", "https://evil.example/cb"), wantPage: true},
		{name: "repeated parameter", url: with("state", "") + "&state=a&state=b", wantPage: true},
		{name: "malformed query", url: with("state", "") + "&state=%zz", wantPage: true},
		{name: "response_type token", url: with("response_type", "token"), wantError: "unsupported_response_type"},
		{name: "response_type missing", url: with("response_type", ""), wantError: "invalid_request"},
		{name: "scope unknown", url: with("scope", "everything"), wantError: "invalid_scope"},
		{name: "delegated_scope missing", url: with("delegated_scope", ""), wantError: "invalid_request"},
		{name: "PKCE method plain", url: with("code_challenge_method", "plain") + "&code_challenge=" + strings.Repeat("a", 43), wantError: "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := noFollow.Get(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			body := oaReadAll(t, res)
			if tc.wantPage {
				if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
					t.Errorf("got %d %q Location %q, want a 400 HTML page", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Location"))
				}
				if !strings.Contains(body, "invalid_request") {
					t.Errorf("page does not name the error: %s", body)
				}
				return
			}
			if res.StatusCode != http.StatusFound {
				t.Fatalf("status %d, want 302: %s", res.StatusCode, body)
			}
			loc, err := url.Parse(res.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			q := loc.Query()
			if loc.Scheme+"://"+loc.Host+loc.Path != oaRedirect || q.Get("error") != tc.wantError || q.Get("state") != "st-e" || q.Get("iss") != s.ts.URL || q.Get("error_description") == "" {
				t.Errorf("Location %s, want %s?error=%s&state=st-e&iss=%s", loc, oaRedirect, tc.wantError, s.ts.URL)
			}
		})
	}
}

// TestHTTPIntrospectAndRevoke: the client introspects its token (no-store JSON), revokes it
// (200), and sees it inactive.
func TestHTTPIntrospectAndRevoke(t *testing.T) {
	t.Parallel()
	s := oaStart(t, oaEmbedded(t))
	cfg := s.config()
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second})
	tok, err := cfg.Exchange(ctx, s.code(t))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	auth := map[string]string{"Authorization": oaBasicAuth(s.client.ClientID, s.client.ClientSecret)}
	introspect := func() map[string]any {
		res, body := s.post(t, "/oauth/introspect", "application/x-www-form-urlencoded", url.Values{"token": {tok.AccessToken}}.Encode(), auth)
		if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("introspect: %d Cache-Control %q: %s", res.StatusCode, res.Header.Get("Cache-Control"), body)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := introspect(); m["active"] != true || m["token_type"] != "bearer" || m["kind"] != "service_account" || m["client_id"] != s.client.ClientID {
		t.Errorf("introspection %v", m)
	}
	res, body := s.post(t, "/oauth/token/revoke", "application/json", `{"token":"`+tok.AccessToken+`"}`, auth)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d %s", res.StatusCode, body)
	}
	if m := introspect(); m["active"] != false || len(m) != 1 {
		t.Errorf("introspection after revocation %v, want only active=false", m)
	}
	res, body = s.post(t, "/oauth/token/revoke", "application/x-www-form-urlencoded", "token=unknown", auth)
	if res.StatusCode != http.StatusOK {
		t.Errorf("revoking an unknown token: %d %s", res.StatusCode, body)
	}
	var rerr *oauth2.RetrieveError
	if _, err := cfg.Exchange(ctx, "A0000000000000000000000000000000"); !errors.As(err, &rerr) || rerr.ErrorCode != "invalid_grant" {
		t.Errorf("Exchange of an unknown code: %v, want invalid_grant", err)
	}
}

// TestHTTPSignIn_NextStaysOnSite: after sign-in the browser goes only to a path of the
// broker; destinations a browser would read as another host (//host, /\host, and the same
// with a tab or newline that browsers strip from URLs) are refused.
func TestHTTPSignIn_NextStaysOnSite(t *testing.T) {
	t.Parallel()
	s := oaStart(t, oaEmbedded(t))
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example/", "/\t/evil.example/", "/\n/evil.example/", "\t//evil.example/"} {
		t.Run(fmt.Sprintf("%q", next), func(t *testing.T) {
			form := url.Values{"email": {oaAdmin}, "password": {oaAdminPass}, "next": {next}}
			req, _ := http.NewRequest(http.MethodPost, s.ts.URL+"/enterprise_connect/signin", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			// RoundTrip: the raw answer, as a browser gets it (http.Client refuses to parse a
			// Location with a control character before CheckRedirect is asked).
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			oaReadAll(t, res)
			loc := res.Header.Get("Location")
			// What a browser does with it (WHATWG URL: strip tab and newline, \ is /).
			browser := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(strings.TrimSpace(loc))
			if !strings.HasPrefix(browser, "/") || strings.HasPrefix(browser, "//") {
				t.Errorf("sign-in redirects to %q, which a browser reads as %q: off the broker", loc, browser)
			}
		})
	}
}
