package handlers_test

// SPEC §4, §5, §7 through HTTP: the handlers' Server with every route (handlers.Register) on
// an httptest server, a broker on a real store, service-account tokens obtained by running
// the admin flow in-process. Every top-level name starts with "dt" (shared package).

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/broker/provider"
	"github.com/enterprise-connect/broker/broker/provider/static"
	"github.com/enterprise-connect/broker/handlers"
	"github.com/enterprise-connect/broker/store"
	"github.com/enterprise-connect/broker/store/embedded"
	"github.com/enterprise-connect/broker/store/redis"
)

const (
	dtAdminPW  = "pw-dth-admin-As1"
	dtAlicePW  = "pw-dth-alice-Df2"
	dtRedirect = "https://app.dth.example/cb"
	dtAllSA    = "service_account/accounts/manage service_account/accounts/unrestricted_access " +
		"service_account/resources/manage service_account/resources/unrestricted_access"
	dtReadOnly = "list_calendars read_account read_events read_free_busy"
	dtCeiling  = "change_participation_status create_calendar create_event delete_event list_calendars read_account read_contacts read_events read_free_busy"
)

var (
	dtYAMLOnce sync.Once
	dtYAML     []byte
)

// dtDirectory is example.com: admin@example.com (not a user), alice (sales, two calendars),
// bob (eng), room-1.
func dtDirectory(t testing.TB) provider.Provider {
	t.Helper()
	dtYAMLOnce.Do(func() {
		h := func(pw string) string {
			b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
			if err != nil {
				panic(err)
			}
			return string(b)
		}
		dtYAML = fmt.Appendf(nil, `domain: example.com
admins:
  - email: admin@example.com
    name: Example Admin
    password_hash: %q
users:
  - email: alice@example.com
    name: Alice
    password_hash: %q
    groups: [sales]
    calendars:
      - calendar_id: cal_alice_1
        name: Alice
      - calendar_id: cal_alice_2
        name: Team
  - email: bob@example.com
    name: Bob
    groups: [eng]
    calendars:
      - calendar_id: cal_bob_1
        name: Bob
resources:
  - email: room-1@example.com
    name: Room 1
    calendars:
      - calendar_id: cal_room_1
        name: Room 1
`, h(dtAdminPW), h(dtAlicePW))
	})
	d, err := static.Parse("example.com.yaml", dtYAML)
	if err != nil {
		t.Fatalf("static.Parse: %v", err)
	}
	return d
}

// ---- client keys ----

type dtKeySet struct {
	ed     ed25519.PrivateKey
	ec     *ecdsa.PrivateKey
	rsa    *rsa.PrivateKey
	rsaPEM []byte
	jwks   []byte
}

var (
	dtKeysOnce sync.Once
	dtKeys     dtKeySet
)

func dtClientKeys() dtKeySet {
	dtKeysOnce.Do(func() {
		var err error
		if _, dtKeys.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
		if dtKeys.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if dtKeys.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		dtKeys.rsaPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(dtKeys.rsa)})
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: dtKeys.ed.Public(), KeyID: "dth-ed", Algorithm: "EdDSA", Use: "sig"},
			{Key: dtKeys.ec.Public(), KeyID: "dth-ec", Algorithm: "ES256", Use: "sig"},
			{Key: dtKeys.rsa.Public(), KeyID: "dth-rsa", Algorithm: "RS256", Use: "sig"},
		}}
		if dtKeys.jwks, err = json.Marshal(set); err != nil {
			panic(err)
		}
	})
	return dtKeys
}

// ---- site ----

type dtClient struct{ ID, Secret string }

// dtSite is a running broker: issuer = the httptest server's URL.
type dtSite struct {
	t     *testing.T
	ctx   context.Context
	ts    *httptest.Server
	b     *broker.Broker
	store store.Store
	full  dtClient // every SA scope, ceiling read_write read_contacts
	jwtc  dtClient // JWKS (Ed25519, P-256, RSA), accounts+resources manage, ceiling read_write
}

func dtOpenStore(t *testing.T, kind string) store.Store {
	t.Helper()
	ctx := context.Background()
	var s store.Store
	switch kind {
	case "embedded":
		es, err := embedded.Open(ctx, filepath.Join(t.TempDir(), "broker.db"))
		if err != nil {
			t.Fatal(err)
		}
		s = es
	case "redis":
		opt, err := goredis.ParseURL(os.Getenv("REDIS_URL"))
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 6)
		rand.Read(b)
		prefix := fmt.Sprintf("dthttp%x", b)
		s = redis.NewFromClient(goredis.NewClient(opt), redis.Options{Prefix: prefix})
		t.Cleanup(func() {
			c := goredis.NewClient(opt)
			defer c.Close()
			iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
			for iter.Next(ctx) {
				c.Del(ctx, iter.Val())
			}
		})
	default:
		m := miniredis.RunT(t)
		rs, err := redis.Open(ctx, "redis://"+m.Addr(), redis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		s = rs
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// dtStart starts a broker on a fresh store: miniredis, or the Redis of REDIS_URL when set
// (the HTTP layer is the point here; broker/delegated_*_test.go covers every backend).
func dtStart(t *testing.T, mods ...func(*broker.Options)) *dtSite {
	t.Helper()
	kind := "miniredis"
	if os.Getenv("REDIS_URL") != "" {
		kind = "redis"
	}
	return dtStartOn(t, dtOpenStore(t, kind), mods...)
}

func dtStartOn(t *testing.T, s store.Store, mods ...func(*broker.Options)) *dtSite {
	t.Helper()
	ctx := context.Background()
	ts := httptest.NewUnstartedServer(nil)
	key := make([]byte, 32)
	rand.Read(key)
	sealer, err := broker.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	o := broker.Options{
		Store: s, Providers: []provider.Provider{dtDirectory(t)}, Sealer: sealer, Issuer: "http://" + ts.Listener.Addr().String(),
		CodeTTL: 5 * time.Minute, AccessTokenTTL: 30 * time.Minute, DelegatedTokenTTL: 10 * time.Minute,
		SigningAlgorithm: broker.AlgEdDSA, AllowInsecureCallbacks: true,
	}
	for _, m := range mods {
		m(&o)
	}
	b, err := broker.New(ctx, o)
	if err != nil {
		t.Fatalf("broker.New: %v", err)
	}
	site := &dtSite{t: t, ctx: ctx, ts: ts, b: b, store: s}
	create := func(spec broker.ClientSpec) dtClient {
		creds, err := broker.CreateClient(ctx, s, sealer, spec, time.Now)
		if err != nil {
			t.Fatalf("CreateClient: %v", err)
		}
		return dtClient{ID: creds.ClientID, Secret: creds.ClientSecret}
	}
	site.full = create(broker.ClientSpec{Name: "DTH Full", RedirectURIs: []string{dtRedirect}, Scope: dtAllSA, DelegatedScope: "read_write read_contacts"})
	site.jwtc = create(broker.ClientSpec{Name: "DTH JWT", RedirectURIs: []string{dtRedirect},
		Scope: "service_account/accounts/manage service_account/resources/manage", DelegatedScope: "read_write", JWKS: dtClientKeys().jwks})
	srv := handlers.NewServer(handlers.ServerOptions{Ready: b.Ready})
	handlers.Register(srv, b, handlers.RouteOptions{})
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	return site
}

// grant runs the admin flow in-process for c with the service-account scope and returns the
// access token and grant id.
func (s *dtSite) grant(c dtClient, scope, delegated string) (access, grantID string) {
	s.t.Helper()
	m := broker.Meta{IP: "192.0.2.1"}
	p, err := s.b.Authorize(s.ctx, url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {dtRedirect},
		"scope": {scope}, "delegated_scope": {delegated}, "state": {"s"}}, m)
	if err != nil {
		s.t.Fatalf("Authorize: %v", err)
	}
	in, err := s.b.SignIn(s.ctx, broker.SignInRequest{Email: "admin@example.com", Password: dtAdminPW, AdminOnly: true, Meta: m})
	if err != nil {
		s.t.Fatalf("SignIn: %v", err)
	}
	v, err := s.b.Consent(s.ctx, p.ID, in.Cookie)
	if err != nil {
		s.t.Fatalf("Consent: %v", err)
	}
	to, err := s.b.Decide(s.ctx, broker.Decision{RequestID: p.ID, CSRF: v.CSRF, Cookie: in.Cookie, Decision: "approve", Meta: m})
	if err != nil {
		s.t.Fatalf("Decide: %v", err)
	}
	u, _ := url.Parse(to)
	res, err := s.b.Token(s.ctx, broker.TokenRequest{Params: map[string]string{"grant_type": "authorization_code",
		"code": u.Query().Get("code"), "redirect_uri": dtRedirect},
		Client: broker.ClientCredentialsIn{HasBasic: true, BasicID: c.ID, BasicSecret: c.Secret}, Meta: m})
	if err != nil {
		s.t.Fatalf("Token: %v", err)
	}
	tr := res.(*broker.TokenResponse)
	return tr.AccessToken, tr.ServiceAccountID
}

// dtResp is an HTTP answer.
type dtResp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r dtResp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.Body, err)
	}
	return m
}

// do sends method path with the bearer token ("" = no Authorization header) and body (JSON
// unless contentType says otherwise).
func (s *dtSite) do(method, path, bearer string, body []byte, contentType ...string) dtResp {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(s.ctx, method, s.ts.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		ct := "application/json"
		if len(contentType) > 0 {
			ct = contentType[0]
		}
		req.Header.Set("Content-Type", ct)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return s.send(req)
}

func (s *dtSite) send(req *http.Request) dtResp {
	s.t.Helper()
	res, err := s.ts.Client().Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return dtResp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// mint mints one delegated token over HTTP and fails the test unless it is 200.
func (s *dtSite) mint(bearer, sub, scope string) string {
	s.t.Helper()
	body, _ := json.Marshal(map[string]string{"sub": sub, "scope": scope})
	r := s.do("POST", "/v1/delegated_tokens", bearer, body)
	if r.Status != http.StatusOK {
		s.t.Fatalf("mint %s: %d %s", sub, r.Status, r.Body)
	}
	tok, _ := r.json(s.t)["access_token"].(string)
	return tok
}

func dtWantError(t testing.TB, r dtResp, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d (%s), want %d %s", r.Status, r.Body, status, code)
	}
	m := r.json(t)
	if m["error"] != code {
		t.Fatalf("error %v (%s), want %s", m["error"], r.Body, code)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on an error, want no-store", cc)
	}
	return m
}

func dtSortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ---- tests ----

// SPEC §4 / RFC 6750 §3: no token → 401 with a Bearer challenge without an error attribute;
// a bad token → error="invalid_token"; both with {"error":"invalid_token"}.
func TestDelegated_HTTP_BearerChallenges(t *testing.T) {
	s := dtStart(t)
	endpoints := []struct{ method, path, body string }{
		{"GET", "/v1/userinfo", ""},
		{"GET", "/v1/resources", ""},
		{"POST", "/v1/delegated_tokens", `{"sub":"alice@example.com"}`},
		{"POST", "/v1/upstream_tokens", `{"sub":"alice@example.com"}`},
		{"POST", "/v1/permissions", `{"permissions":[],"redirect_uri":"x"}`},
		{"POST", "/v1/service_account_authorizations", `{"email":"alice@example.com","callback_url":"https://x.example/cb"}`},
	}
	auths := []struct {
		name        string
		header      string
		wantNoError bool
	}{
		{name: "no Authorization", header: "", wantNoError: true},
		{name: "another scheme", header: "Basic YTpi", wantNoError: true},
		{name: "garbage token", header: "Bearer garbage"},
		{name: "garbage JWT", header: "Bearer eyJhbGciOiJFZERTQSJ9.e30.AAAA"},
		{name: "unknown opaque token", header: "Bearer " + strings.Repeat("x", 43)},
	}
	for _, ep := range endpoints {
		for _, a := range auths {
			t.Run(ep.path+" "+a.name, func(t *testing.T) {
				var body io.Reader
				if ep.body != "" {
					body = strings.NewReader(ep.body)
				}
				req, _ := http.NewRequest(ep.method, s.ts.URL+ep.path, body)
				if ep.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				if a.header != "" {
					req.Header.Set("Authorization", a.header)
				}
				r := s.send(req)
				dtWantError(t, r, http.StatusUnauthorized, "invalid_token")
				ch := r.Header.Get("WWW-Authenticate")
				if !strings.HasPrefix(ch, "Bearer") {
					t.Fatalf("WWW-Authenticate %q, want a Bearer challenge", ch)
				}
				if has := strings.Contains(ch, "error="); has == a.wantNoError {
					if a.wantNoError {
						t.Errorf("WWW-Authenticate %q carries an error attribute without a token (RFC 6750 §3.1)", ch)
					} else {
						t.Errorf("WWW-Authenticate %q, want error=\"invalid_token\"", ch)
					}
				}
				if !a.wantNoError && !strings.Contains(ch, `error="invalid_token"`) {
					t.Errorf("WWW-Authenticate %q, want error=\"invalid_token\"", ch)
				}
			})
		}
	}
	t.Run("scheme is case-insensitive", func(t *testing.T) {
		access, _ := s.grant(s.full, dtAllSA, "read_write read_contacts")
		req, _ := http.NewRequest("GET", s.ts.URL+"/v1/userinfo", nil)
		req.Header.Set("Authorization", "bearer "+access)
		if r := s.send(req); r.Status != http.StatusOK {
			t.Errorf("lower-case bearer scheme: %d %s", r.Status, r.Body)
		}
	})
}

// A token without the needed service-account scope → 403 insufficient_scope (SPEC §4).
func TestDelegated_HTTP_InsufficientScope(t *testing.T) {
	s := dtStart(t)
	access, _ := s.grant(s.full, "service_account/accounts/manage", "read_only")
	for name, r := range map[string]dtResp{
		"list resources":  s.do("GET", "/v1/resources", access, nil),
		"mint a resource": s.do("POST", "/v1/delegated_tokens", access, []byte(`{"sub":"room-1@example.com"}`)),
	} {
		t.Run(name, func(t *testing.T) {
			dtWantError(t, r, http.StatusForbidden, "insufficient_scope")
			if ch := r.Header.Get("WWW-Authenticate"); !strings.Contains(ch, `error="insufficient_scope"`) {
				t.Errorf("WWW-Authenticate %q, want error=\"insufficient_scope\"", ch)
			}
		})
	}
	t.Run("batch item", func(t *testing.T) {
		r := s.do("POST", "/v1/delegated_tokens", access, []byte(`{"requests":[{"sub":"room-1@example.com"},{"sub":"alice@example.com"}]}`))
		if r.Status != http.StatusOK {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		var out struct{ Results []map[string]any }
		_ = json.Unmarshal(r.Body, &out)
		if len(out.Results) != 2 || out.Results[0]["error"] != "insufficient_scope" || out.Results[1]["access_token"] == nil {
			t.Errorf("results %s", r.Body)
		}
	})
	t.Run("delegated token cannot mint", func(t *testing.T) {
		del := s.mint(access, "alice@example.com", "")
		r := s.do("POST", "/v1/delegated_tokens", del, []byte(`{"sub":"bob@example.com"}`))
		if r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
			t.Errorf("delegated token minting: %d %s, want 401 or 403", r.Status, r.Body)
		}
		r = s.do("GET", "/v1/resources", del, nil)
		if r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
			t.Errorf("delegated token listing resources: %d %s, want 401 or 403", r.Status, r.Body)
		}
	})
}

func TestDelegated_HTTP_MintResponses(t *testing.T) {
	s := dtStart(t)
	access, grantID := s.grant(s.full, dtAllSA, "read_write read_contacts")
	r := s.do("POST", "/v1/delegated_tokens", access, []byte(`{"sub":"alice@example.com","scope":"read_only"}`))
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	m := r.json(t)
	if got := dtSortedKeys(m); !slices.Equal(got, []string{"access_token", "expires_in", "kind", "scope", "sub", "token_type"}) {
		t.Errorf("single-form keys %v", got)
	}
	if m["token_type"] != "bearer" || m["expires_in"] != float64(600) || m["scope"] != dtReadOnly || m["sub"] != "alice@example.com" || m["kind"] != "account" {
		t.Errorf("single-form response %s", r.Body)
	}
	// The JWT verifies with GET /.well-known/jwks.json.
	jwks := s.do("GET", "/.well-known/jwks.json", "", nil)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks.Body, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("JWKS %s: %v", jwks.Body, err)
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(m["access_token"].(string), claims, func(tk *jwt.Token) (any, error) {
		ks := set.Key(tk.Header["kid"].(string))
		if len(ks) != 1 || !ks[0].IsPublic() {
			return nil, fmt.Errorf("kid %v not published as one public key", tk.Header["kid"])
		}
		return ks[0].Key, nil
	}, jwt.WithIssuer(s.ts.URL), jwt.WithAudience(s.ts.URL))
	if err != nil {
		t.Fatalf("verifying with the published JWKS: %v", err)
	}
	if claims["grant_id"] != grantID {
		t.Errorf("grant_id %v, want %s", claims["grant_id"], grantID)
	}

	tests := []struct {
		name, body     string
		status         int
		code           string
		wantDescribing string
	}{
		{name: "unknown subject", body: `{"sub":"nobody@example.com"}`, status: 400, code: "invalid_subject"},
		{name: "administrator", body: `{"sub":"admin@example.com"}`, status: 400, code: "invalid_subject"},
		{name: "scope outside the ceiling", body: `{"sub":"alice@example.com","scope":"read_directory"}`, status: 400, code: "invalid_scope"},
		{name: "unknown scope", body: `{"sub":"alice@example.com","scope":"everything"}`, status: 400, code: "invalid_scope"},
		{name: "no sub", body: `{"scope":"read_only"}`, status: 400, code: "invalid_request"},
		{name: "both forms", body: `{"sub":"alice@example.com","requests":[{"sub":"bob@example.com"}]}`, status: 400, code: "invalid_request"},
		{name: "empty batch", body: `{"requests":[]}`, status: 400, code: "invalid_request"},
		{name: "batch of 1001", body: `{"requests":[` + strings.Repeat(`{"sub":"bob@example.com"},`, 1000) + `{"sub":"bob@example.com"}]}`, status: 400, code: "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := dtWantError(t, s.do("POST", "/v1/delegated_tokens", access, []byte(tc.body)), tc.status, tc.code)
			if d, _ := m["error_description"].(string); d == "" {
				t.Errorf("no error_description")
			}
		})
	}

	t.Run("batch item of the wrong shape is that item's error", func(t *testing.T) {
		r := s.do("POST", "/v1/delegated_tokens", access, []byte(
			`{"requests":[{"sub":"alice@example.com"},{"sub":5},"x",{"scope":"read_only"},{"sub":"bob@example.com","scope":7},{"sub":"nobody@example.com"},null,[],{"sub":"bob@example.com"}]}`))
		if r.Status != http.StatusOK {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		var out struct{ Results []map[string]any }
		if err := json.Unmarshal(r.Body, &out); err != nil || len(out.Results) != 9 {
			t.Fatalf("results %s", r.Body)
		}
		want := []string{"", "invalid_request", "invalid_request", "invalid_request", "invalid_request", "invalid_subject", "invalid_request", "invalid_request", ""}
		for i, res := range out.Results {
			got, _ := res["error"].(string)
			if got != want[i] {
				t.Errorf("[%d] %v, want error %q", i, res, want[i])
			}
			if got != "" {
				if keys := dtSortedKeys(res); !slices.Equal(keys, []string{"error", "error_description", "sub"}) {
					t.Errorf("[%d] failure keys %v, want sub, error, error_description", i, keys)
				}
			} else if res["access_token"] == nil {
				t.Errorf("[%d] %v, want a token", i, res)
			}
		}
	})
}

// SPEC §10: a JSON body with duplicate members, trailing data or a wrong type → 400
// invalid_request, never a 500, and nothing happens.
func TestDelegated_HTTP_StrictJSON(t *testing.T) {
	s := dtStart(t)
	access, _ := s.grant(s.full, dtAllSA, "read_write read_contacts")
	del := s.mint(access, "alice@example.com", "")
	type tcase struct{ name, body string }
	common := []tcase{
		{"empty body", ``},
		{"null", `null`},
		{"array", `[]`},
		{"string", `"x"`},
		{"truncated", `{"sub":`},
		{"not UTF-8", "{\"sub\":\"\xff\"}"},
	}
	endpoints := []struct {
		path, bearer string
		cases        []tcase
	}{
		{"/v1/delegated_tokens", access, []tcase{
			{"duplicate member", `{"sub":"alice@example.com","sub":"bob@example.com"}`},
			{"duplicate member, other case", `{"sub":"alice@example.com","SUB":"bob@example.com"}`},
			{"duplicate requests", `{"requests":[{"sub":"alice@example.com"}],"requests":[{"sub":"bob@example.com"}]}`},
			{"trailing object", `{"sub":"alice@example.com"} {}`},
			{"trailing garbage", `{"sub":"alice@example.com"}x`},
			{"sub a number", `{"sub":1}`},
			{"scope an array", `{"sub":"alice@example.com","scope":["read_only"]}`},
			{"requests an object", `{"requests":{"sub":"alice@example.com"}}`},
			{"batch item duplicate", `{"requests":[{"sub":"alice@example.com"},{"sub":"bob@example.com","sub":"alice@example.com"}]}`},
			{"batch item duplicate, other case", `{"requests":[{"sub":"bob@example.com","Sub":"alice@example.com"}]}`},
		}},
		{"/v1/service_account_authorizations", access, []tcase{
			{"duplicate member", `{"email":"alice@example.com","email":"bob@example.com","callback_url":"https://cb.example/x"}`},
			{"trailing data", `{"email":"alice@example.com","callback_url":"https://cb.example/x"}]`},
			{"email a number", `{"email":1,"callback_url":"https://cb.example/x"}`},
			{"batch an object", `{"service_account_authorizations":{"email":"alice@example.com"}}`},
			{"batch item duplicate", `{"service_account_authorizations":[{"email":"alice@example.com","email":"bob@example.com","callback_url":"https://cb.example/x"}]}`},
		}},
		{"/v1/permissions", del, []tcase{
			{"duplicate member", `{"permissions":[{"calendar_id":"cal_alice_1","permission_level":"unrestricted"}],"redirect_uri":"` + dtRedirect + `","redirect_uri":"https://evil.example/"}`},
			{"trailing data", `{"permissions":[{"calendar_id":"cal_alice_1","permission_level":"unrestricted"}],"redirect_uri":"` + dtRedirect + `"} 1`},
			{"permissions a string", `{"permissions":"all","redirect_uri":"` + dtRedirect + `"}`},
			{"calendar_id a number", `{"permissions":[{"calendar_id":5,"permission_level":"unrestricted"}],"redirect_uri":"` + dtRedirect + `"}`},
			{"nested duplicate", `{"permissions":[{"calendar_id":"cal_alice_1","calendar_id":"cal_bob_1","permission_level":"unrestricted"}],"redirect_uri":"` + dtRedirect + `"}`},
		}},
		{"/v1/upstream_tokens", access, []tcase{
			{"duplicate member", `{"sub":"alice@example.com","sub":"bob@example.com"}`},
			{"trailing data", `{"sub":"alice@example.com"}{"sub":"bob@example.com"}`},
			{"scope a number", `{"sub":"alice@example.com","scope":1}`},
		}},
	}
	for _, ep := range endpoints {
		for _, tc := range append(slices.Clone(common), ep.cases...) {
			t.Run(ep.path+" "+tc.name, func(t *testing.T) {
				r := s.do("POST", ep.path, ep.bearer, []byte(tc.body))
				dtWantError(t, r, http.StatusBadRequest, "invalid_request")
			})
		}
		t.Run(ep.path+" wrong Content-Type", func(t *testing.T) {
			r := s.do("POST", ep.path, ep.bearer, []byte(`{"sub":"alice@example.com"}`), "text/plain")
			dtWantError(t, r, http.StatusBadRequest, "invalid_request")
		})
	}
	if n, err := s.store.PendingDeliveries(s.ctx); err != nil || n != 0 {
		t.Errorf("%d deliveries queued by malformed requests (%v)", n, err)
	}
	if in, err := s.b.Introspect(s.ctx, broker.IntrospectRequest{Params: map[string]string{"token": del},
		Client: broker.ClientCredentialsIn{HasBasic: true, BasicID: s.full.ID, BasicSecret: s.full.Secret}}); err != nil || len(*in.UnrestrictedCalendars) != 0 {
		t.Errorf("malformed permission requests elevated %v (%v)", in.UnrestrictedCalendars, err)
	}
}

// SPEC §4, §10: the batch endpoint takes bodies up to 1 MiB (a 1000-item batch is well over
// the 64 KiB default); over 1 MiB → 413; other endpoints stop at 64 KiB.
func TestDelegated_HTTP_BodyLimits(t *testing.T) {
	s := dtStart(t)
	access, _ := s.grant(s.full, dtAllSA, "read_write read_contacts")
	batch := func(n int, pad int) []byte {
		items := make([]string, n)
		subjects := []string{"alice@example.com", "bob@example.com", "room-1@example.com"}
		for i := range items {
			items[i] = fmt.Sprintf(`{"sub":%q,"scope":"read_account list_calendars%sread_events read_free_busy"}`,
				subjects[i%3], strings.Repeat(" ", pad+1))
		}
		return []byte(`{"requests":[` + strings.Join(items, ",") + `]}`)
	}
	t.Run("1000 items over 64 KiB accepted", func(t *testing.T) {
		body := batch(1000, 0)
		if len(body) <= 64<<10 || len(body) > 1<<20 {
			t.Fatalf("body of %d bytes, want between 64 KiB and 1 MiB", len(body))
		}
		r := s.do("POST", "/v1/delegated_tokens", access, body)
		if r.Status != http.StatusOK {
			t.Fatalf("%d %.300s", r.Status, r.Body)
		}
		var out struct{ Results []map[string]any }
		if err := json.Unmarshal(r.Body, &out); err != nil || len(out.Results) != 1000 {
			t.Fatalf("%d results (%v)", len(out.Results), err)
		}
		for i, res := range out.Results {
			if res["access_token"] == nil || res["scope"] != dtReadOnly {
				t.Fatalf("[%d] %v", i, res)
			}
		}
	})
	t.Run("over 1 MiB refused with 413", func(t *testing.T) {
		body := batch(1000, 1100)
		if len(body) <= 1<<20 {
			t.Fatalf("body of %d bytes, want over 1 MiB", len(body))
		}
		r := s.do("POST", "/v1/delegated_tokens", access, body)
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("%d %.300s, want 413", r.Status, r.Body)
		}
		// The same without Content-Length (chunked): the limit holds while reading.
		req, _ := http.NewRequest("POST", s.ts.URL+"/v1/delegated_tokens", io.MultiReader(bytes.NewReader(body)))
		req.ContentLength = -1
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+access)
		if r := s.send(req); r.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("chunked: %d %.300s, want 413", r.Status, r.Body)
		}
	})
	t.Run("other endpoints stop at 64 KiB", func(t *testing.T) {
		big := []byte(`{"email":"alice@example.com","callback_url":"https://cb.example/x","state":"` + strings.Repeat("s", 65<<10) + `"}`)
		r := s.do("POST", "/v1/service_account_authorizations", access, big)
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("/v1/service_account_authorizations with %d bytes: %d, want 413", len(big), r.Status)
		}
		big = []byte(`{"sub":"alice@example.com","scope":"read_only` + strings.Repeat(" ", 65<<10) + `"}`)
		r = s.do("POST", "/v1/upstream_tokens", access, big)
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("/v1/upstream_tokens with %d bytes: %d, want 413", len(big), r.Status)
		}
	})
}

// A static domain has no upstream: 400 invalid_request naming the provider (SPEC §4).
func TestDelegated_HTTP_UpstreamOnStaticDomain(t *testing.T) {
	s := dtStart(t)
	access, _ := s.grant(s.full, dtAllSA, "read_write read_contacts")
	del := s.mint(access, "alice@example.com", "read_only")
	for name, r := range map[string]dtResp{
		"service account":           s.do("POST", "/v1/upstream_tokens", access, []byte(`{"sub":"alice@example.com","scope":"read_only"}`)),
		"service account, no scope": s.do("POST", "/v1/upstream_tokens", access, []byte(`{"sub":"alice@example.com"}`)),
		"delegated token, no body":  s.do("POST", "/v1/upstream_tokens", del, nil),
	} {
		t.Run(name, func(t *testing.T) {
			m := dtWantError(t, r, http.StatusBadRequest, "invalid_request")
			if d, _ := m["error_description"].(string); !strings.Contains(d, "static") {
				t.Errorf("error_description %q does not name the static provider", d)
			}
		})
	}
	t.Run("a delegated token never asks wider", func(t *testing.T) {
		dtWantError(t, s.do("POST", "/v1/upstream_tokens", del, []byte(`{"sub":"bob@example.com"}`)), 400, "invalid_scope")
		dtWantError(t, s.do("POST", "/v1/upstream_tokens", del, []byte(`{"scope":"read_write"}`)), 400, "invalid_scope")
	})
	t.Run("same subject checks first", func(t *testing.T) {
		dtWantError(t, s.do("POST", "/v1/upstream_tokens", access, []byte(`{"sub":"nobody@example.com"}`)), 400, "invalid_subject")
	})
}

// GET /v1/userinfo, both forms, with SPEC §4's fields (the Cronofy SDKs read the dotted ones).
func TestDelegated_HTTP_UserInfo(t *testing.T) {
	s := dtStart(t)
	access, grantID := s.grant(s.full, dtAllSA, "read_write read_contacts")
	r := s.do("GET", "/v1/userinfo", access, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	got := r.json(t)
	want := map[string]any{"sub": grantID, "type": "service_account", "domain": "example.com", "client_id": s.full.ID,
		"scope":           "service_account/accounts/manage service_account/accounts/unrestricted_access service_account/resources/manage service_account/resources/unrestricted_access",
		"delegated_scope": dtCeiling, "status": "active", "provider": "static",
		"cronofy.type": "service_account", "cronofy.service_account.domain": "example.com"}
	if g, w := dtSortedKeys(got), dtSortedKeys(want); !slices.Equal(g, w) {
		t.Errorf("service-account userinfo keys %v, want exactly %v", g, w)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("service-account userinfo %s = %v, want %v", k, got[k], v)
		}
	}

	del := s.mint(access, "alice@example.com", "read_only")
	r = s.do("GET", "/v1/userinfo", del, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	got = r.json(t)
	for k, v := range map[string]any{"sub": "alice@example.com", "type": "account", "domain": "example.com",
		"client_id": s.full.ID, "scope": dtReadOnly, "grant_id": grantID} {
		if got[k] != v {
			t.Errorf("delegated userinfo %s = %v, want %v", k, got[k], v)
		}
	}
	cals, _ := json.Marshal(got["calendars"])
	if string(cals) != `[{"calendar_id":"cal_alice_1","name":"Alice"},{"calendar_id":"cal_alice_2","name":"Team"}]` {
		t.Errorf("delegated userinfo calendars %s", cals)
	}
	t.Logf("delegated userinfo keys: %v", dtSortedKeys(got))

	room := s.mint(access, "room-1@example.com", "")
	if got := s.do("GET", "/v1/userinfo", room, nil).json(t); got["type"] != "resource" || got["sub"] != "room-1@example.com" {
		t.Errorf("resource userinfo %v", got)
	}
}

// POST /v1/service_account_authorizations over HTTP: 202 with an empty body, or 422 in §7's
// shape with nothing queued (SPEC §5).
func TestDelegated_HTTP_SubjectAuthorizations(t *testing.T) {
	s := dtStart(t)
	access, _ := s.grant(s.full, dtAllSA, "read_write read_contacts")
	item := `{"email":"alice@example.com","scope":"read_only","callback_url":"https://cb.example/x","state":"s"}`
	tests := []struct {
		name, body string
		wantField  string
	}{
		{name: "both forms", body: `{"email":"alice@example.com","callback_url":"https://cb.example/x","service_account_authorizations":[` + item + `]}`,
			wantField: "service_account_authorizations"},
		{name: "51 items", body: `{"service_account_authorizations":[` + strings.Repeat(item+",", 50) + item + `]}`, wantField: "service_account_authorizations"},
		{name: "no items", body: `{"service_account_authorizations":[]}`, wantField: "service_account_authorizations"},
		{name: "missing email", body: `{"callback_url":"https://cb.example/x"}`, wantField: "email"},
		{name: "missing callback_url", body: `{"email":"alice@example.com"}`, wantField: "callback_url"},
		{name: "empty object", body: `{}`, wantField: "email"},
		{name: "ftp callback", body: `{"email":"alice@example.com","callback_url":"ftp://cb.example/x"}`, wantField: "callback_url"},
		{name: "http to a public host", body: `{"email":"alice@example.com","callback_url":"http://cb.example/x"}`, wantField: "callback_url"},
		{name: "scope outside the ceiling", body: `{"email":"alice@example.com","callback_url":"https://cb.example/x","scope":"read_directory"}`, wantField: "scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do("POST", "/v1/service_account_authorizations", access, []byte(tc.body))
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("%d %s, want 422", r.Status, r.Body)
			}
			var v struct {
				Errors map[string][]struct{ Key, Description string }
			}
			if err := json.Unmarshal(r.Body, &v); err != nil || len(v.Errors[tc.wantField]) == 0 {
				t.Fatalf("body %s, want {\"errors\":{%q:[…]}}", r.Body, tc.wantField)
			}
			for _, fe := range v.Errors[tc.wantField] {
				if !strings.HasPrefix(fe.Key, "errors.") || fe.Description == "" {
					t.Errorf("field error %+v, want key errors.<reason> and a description", fe)
				}
			}
			if n, _ := s.store.PendingDeliveries(s.ctx); n != 0 {
				t.Fatalf("%d deliveries queued by a refused request", n)
			}
		})
	}
	t.Run("accepted", func(t *testing.T) {
		for _, body := range []string{item, `{"service_account_authorizations":[` + item + `,` + item + `]}`} {
			r := s.do("POST", "/v1/service_account_authorizations", access, []byte(body))
			if r.Status != http.StatusAccepted || len(r.Body) != 0 {
				t.Errorf("%d %q, want 202 with an empty body", r.Status, r.Body)
			}
		}
		if n, _ := s.store.PendingDeliveries(s.ctx); n != 3 {
			t.Errorf("%d deliveries queued, want 3", n)
		}
	})
}

// POST /v1/permissions over HTTP: 422 field names, and the two 200 answers (SPEC §7).
func TestDelegated_HTTP_Permissions(t *testing.T) {
	s := dtStart(t)
	unrestricted, _ := s.grant(s.full, dtAllSA, "read_write read_contacts")
	del := s.mint(unrestricted, "alice@example.com", "")
	perm := func(cal, level, redirect string) []byte {
		return fmt.Appendf(nil, `{"permissions":[{"calendar_id":%q,"permission_level":%q}],"redirect_uri":%q}`, cal, level, redirect)
	}
	tests := []struct {
		name  string
		body  []byte
		field string
	}{
		{"missing permissions", []byte(`{"redirect_uri":"` + dtRedirect + `"}`), "permissions"},
		{"empty permissions", []byte(`{"permissions":[],"redirect_uri":"` + dtRedirect + `"}`), "permissions"},
		{"unknown calendar", perm("cal_nope", "unrestricted", dtRedirect), "calendar_id"},
		{"another subject's calendar", perm("cal_bob_1", "unrestricted", dtRedirect), "calendar_id"},
		{"level read", perm("cal_alice_1", "read", dtRedirect), "permission_level"},
		{"missing redirect_uri", []byte(`{"permissions":[{"calendar_id":"cal_alice_1","permission_level":"unrestricted"}]}`), "redirect_uri"},
		{"unregistered redirect_uri", perm("cal_alice_1", "unrestricted", "https://evil.example/cb"), "redirect_uri"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do("POST", "/v1/permissions", del, tc.body)
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("%d %s, want 422", r.Status, r.Body)
			}
			var v struct {
				Errors map[string][]map[string]string
			}
			_ = json.Unmarshal(r.Body, &v)
			if len(v.Errors) != 1 || len(v.Errors[tc.field]) == 0 {
				t.Fatalf("body %s, want errors on exactly %s", r.Body, tc.field)
			}
			for _, fe := range v.Errors[tc.field] {
				if keys := []string{}; true {
					for k := range fe {
						keys = append(keys, k)
					}
					slices.Sort(keys)
					if !slices.Equal(keys, []string{"description", "key"}) || !strings.HasPrefix(fe["key"], "errors.") {
						t.Errorf("field error %v, want {key: errors.<reason>, description}", fe)
					}
				}
			}
		})
	}
	t.Run("accepted at once", func(t *testing.T) {
		r := s.do("POST", "/v1/permissions", del, perm("cal_alice_1", "unrestricted", dtRedirect))
		if r.Status != http.StatusOK || string(r.Body) != `{"permissions_request":{"accepted":true}}` {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		fresh := s.mint(unrestricted, "alice@example.com", "")
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(fresh, claims); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(claims["unrestricted_calendars"]); got != "[cal_alice_1]" {
			t.Errorf("later token's unrestricted_calendars %s, want [cal_alice_1]", got)
		}
	})
	t.Run("asks the subject", func(t *testing.T) {
		asking, _ := s.grant(s.full, "service_account/accounts/manage", "read_only")
		d := s.mint(asking, "alice@example.com", "")
		r := s.do("POST", "/v1/permissions", d, perm("cal_alice_2", "unrestricted", dtRedirect))
		var ans struct {
			PermissionsRequest map[string]any `json:"permissions_request"`
		}
		_ = json.Unmarshal(r.Body, &ans)
		u, _ := ans.PermissionsRequest["url"].(string)
		if r.Status != http.StatusOK || !strings.HasPrefix(u, s.ts.URL+"/permissions/") || len(ans.PermissionsRequest) != 1 {
			t.Fatalf("%d %s, want {\"permissions_request\":{\"url\":\"%s/permissions/…\"}}", r.Status, r.Body, s.ts.URL)
		}
		// The page, without a session, is the sign-in form.
		page := s.do("GET", strings.TrimPrefix(u, s.ts.URL), "", nil)
		if page.Status != http.StatusOK || !strings.Contains(string(page.Body), `name="password"`) {
			t.Errorf("permissions page without a session: %d, want the sign-in form", page.Status)
		}
	})
	t.Run("service-account token refused", func(t *testing.T) {
		r := s.do("POST", "/v1/permissions", unrestricted, perm("cal_alice_1", "unrestricted", dtRedirect))
		if r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
			t.Errorf("%d %s, want 401 or 403", r.Status, r.Body)
		}
	})
}

// The HTTP layer on the embedded store too (one scenario: mint, userinfo, revoke).
func TestDelegated_HTTP_EmbeddedStore(t *testing.T) {
	s := dtStartOn(t, dtOpenStore(t, "embedded"))
	access, grantID := s.grant(s.full, dtAllSA, "read_write read_contacts")
	del := s.mint(access, "alice@example.com", "")
	if r := s.do("GET", "/v1/userinfo", del, nil); r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	form := url.Values{"sub": {grantID}}
	req, _ := http.NewRequest("POST", s.ts.URL+"/oauth/token/revoke", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(s.full.ID), url.QueryEscape(s.full.Secret))
	if r := s.send(req); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	for name, tok := range map[string]string{"service account": access, "delegated": del} {
		r := s.do("GET", "/v1/userinfo", tok, nil)
		dtWantError(t, r, http.StatusUnauthorized, "invalid_token")
		if ch := r.Header.Get("WWW-Authenticate"); !strings.Contains(ch, `error="invalid_token"`) {
			t.Errorf("%s token after revocation: WWW-Authenticate %q", name, ch)
		}
	}
}
