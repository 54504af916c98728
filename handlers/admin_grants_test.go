package handlers_test

// SPEC §9 over HTTP: the grants and audit APIs with API keys, and the admin UI. The helpers
// ("adm…") build a broker on the embedded store with example.com and other.org.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/broker/provider"
	"github.com/enterprise-connect/broker/broker/provider/static"
	"github.com/enterprise-connect/broker/handlers"
	"github.com/enterprise-connect/broker/store"
	"github.com/enterprise-connect/broker/store/embedded"
)

const (
	admExamplePW = "pw-adm-example-8Rt"
	admOtherPW   = "pw-adm-other-3Kq"
)

var (
	admDirOnce      sync.Once
	admDirs         [2][]byte
	admGrantCounter struct {
		sync.Mutex
		n int
	}
)

func admDirectories(t *testing.T) []provider.Provider {
	t.Helper()
	admDirOnce.Do(func() {
		h := func(pw string) string {
			b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
			if err != nil {
				panic(err)
			}
			return string(b)
		}
		admDirs[0] = fmt.Appendf(nil, "domain: example.com\nadmins:\n  - email: admin@example.com\n    name: Example Admin\n    password_hash: %q\n", h(admExamplePW))
		admDirs[1] = fmt.Appendf(nil, "domain: other.org\nadmins:\n  - email: admin@other.org\n    name: Other Admin\n    password_hash: %q\n", h(admOtherPW))
	})
	var out []provider.Provider
	for i, name := range []string{"example.com.yaml", "other.org.yaml"} {
		d, err := static.Parse(name, admDirs[i])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// admSite is a running broker with two clients and API keys of every kind.
type admSite struct {
	ts    *httptest.Server
	b     *broker.Broker
	store store.Store
	app   broker.ClientCredentials
	keys  map[string]string // operator, auditor (example.com), introspect, other-operator (other.org)
}

func admStart(t *testing.T) *admSite {
	t.Helper()
	ctx := context.Background()
	s, err := embedded.Open(ctx, filepath.Join(t.TempDir(), "broker.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ts := httptest.NewUnstartedServer(nil)
	key := make([]byte, 32)
	rand.Read(key)
	sealer, err := broker.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.New(ctx, broker.Options{
		Store: s, Providers: admDirectories(t), Sealer: sealer, Issuer: "http://" + ts.Listener.Addr().String(),
		CodeTTL: 5 * time.Minute, AccessTokenTTL: 30 * time.Minute, DelegatedTokenTTL: 10 * time.Minute,
		SigningAlgorithm: broker.AlgEdDSA,
	})
	if err != nil {
		t.Fatalf("broker.New: %v", err)
	}
	app, err := broker.CreateClient(ctx, s, sealer, broker.ClientSpec{
		Name: "Calendar <App>", RedirectURIs: []string{"https://app.example/cb"},
		Scope: "service_account/accounts/manage", DelegatedScope: "read_only",
	}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	site := &admSite{ts: ts, b: b, store: s, app: app, keys: map[string]string{}}
	for name, k := range map[string]struct{ role, domain string }{
		"operator": {"operator", ""}, "auditor": {"auditor", "example.com"},
		"introspect": {"introspect", ""}, "other-operator": {"operator", "other.org"},
	} {
		created, err := broker.CreateAPIKey(ctx, s, k.role, k.domain, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		site.keys[name] = created.Key
	}
	srv := handlers.NewServer(handlers.ServerOptions{Ready: b.Ready})
	handlers.Register(srv, b, handlers.RouteOptions{})
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	return site
}

// grant stores an active grant of the app client for domain, each a second newer.
func (s *admSite) grant(t *testing.T, domain string) string {
	t.Helper()
	admGrantCounter.Lock()
	admGrantCounter.n++
	n := admGrantCounter.n
	admGrantCounter.Unlock()
	id := fmt.Sprintf("ser_adm%021d", n)
	client := s.app.ClientID
	if _, err := s.store.CreateGrant(context.Background(), store.Grant{ID: id, ClientID: client, Domain: domain,
		Scope: "service_account/accounts/manage", DelegatedScope: "list_calendars read_account read_events read_free_busy",
		ApprovedBy: "admin@" + domain, ApprovedAt: time.Now().Add(time.Duration(n) * time.Second), Status: store.GrantActive}); err != nil {
		t.Fatal(err)
	}
	return id
}

func (s *admSite) active(t *testing.T, id string) bool {
	t.Helper()
	g, err := s.store.GetGrant(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return g.Status == store.GrantActive
}

// do sends a request with an optional API key and returns the status, headers and body.
func (s *admSite) do(t *testing.T, method, path, key string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := s.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func TestGrantsAndAuditAPI_APIKeyRules(t *testing.T) {
	t.Parallel()
	s := admStart(t)
	ex := s.grant(t, "example.com")
	ot := s.grant(t, "other.org")
	tests := []struct {
		name       string
		method     string
		path       string
		key        string // a name in s.keys, "" for none, anything else sent as is
		wantStatus int
		wantError  string
	}{
		{name: "no key", method: "GET", path: "/v1/grants", wantStatus: 401, wantError: "unauthenticated"},
		{name: "unknown key", method: "GET", path: "/v1/audit?domain=example.com", key: "eck_bogus", wantStatus: 401, wantError: "unauthenticated"},
		{name: "no key on export", method: "GET", path: "/v1/audit/export", wantStatus: 401, wantError: "unauthenticated"},
		{name: "introspect role on grants", method: "GET", path: "/v1/grants", key: "introspect", wantStatus: 403, wantError: "forbidden"},
		{name: "introspect role on audit", method: "GET", path: "/v1/audit", key: "introspect", wantStatus: 403, wantError: "forbidden"},
		{name: "introspect role on export", method: "GET", path: "/v1/audit/export", key: "introspect", wantStatus: 403, wantError: "forbidden"},
		{name: "limited key, other domain's grant", method: "GET", path: "/v1/grants/" + ot, key: "auditor", wantStatus: 404, wantError: "not_found"},
		{name: "limited key, own grant", method: "GET", path: "/v1/grants/" + ex, key: "auditor", wantStatus: 200},
		{name: "limited key, ?domain= other", method: "GET", path: "/v1/grants?domain=other.org", key: "auditor", wantStatus: 403, wantError: "forbidden"},
		{name: "limited key, audit of other domain", method: "GET", path: "/v1/audit?domain=other.org", key: "auditor", wantStatus: 403, wantError: "forbidden"},
		{name: "limited key, export of other domain", method: "GET", path: "/v1/audit/export?domain=other.org", key: "auditor", wantStatus: 403, wantError: "forbidden"},
		{name: "auditor may not revoke", method: "DELETE", path: "/v1/grants/" + ex, key: "auditor", wantStatus: 403, wantError: "forbidden"},
		{name: "introspect may not revoke", method: "DELETE", path: "/v1/grants/" + ex, key: "introspect", wantStatus: 403, wantError: "forbidden"},
		{name: "limited operator, other domain's grant", method: "DELETE", path: "/v1/grants/" + ex, key: "other-operator", wantStatus: 404, wantError: "not_found"},
		{name: "unknown grant", method: "GET", path: "/v1/grants/ser_000000000000000000000000", key: "operator", wantStatus: 404, wantError: "not_found"},
		{name: "limit 0", method: "GET", path: "/v1/grants?limit=0", key: "operator", wantStatus: 400, wantError: "invalid_request"},
		{name: "limit repeated", method: "GET", path: "/v1/grants?limit=1&limit=2", key: "operator", wantStatus: 400, wantError: "invalid_request"},
		{name: "bad grants cursor", method: "GET", path: "/v1/grants?cursor=%25%25garbage", key: "operator", wantStatus: 400, wantError: "invalid_request"},
		{name: "bad audit cursor", method: "GET", path: "/v1/audit?domain=example.com&cursor=garbage", key: "operator", wantStatus: 400, wantError: "invalid_request"},
		{name: "bad since", method: "GET", path: "/v1/audit?since=yesterday", key: "operator", wantStatus: 400, wantError: "invalid_request"},
		{name: "bad until on export", method: "GET", path: "/v1/audit/export?until=2026-13-01T00:00:00Z", key: "operator", wantStatus: 400, wantError: "invalid_request"},
		{name: "limit 1001", method: "GET", path: "/v1/audit?limit=1001", key: "auditor", wantStatus: 400, wantError: "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.key
			if k, ok := s.keys[tc.key]; ok {
				key = k
			}
			status, h, body := s.do(t, tc.method, tc.path, key)
			if status != tc.wantStatus {
				t.Fatalf("%s %s: status %d, want %d: %s", tc.method, tc.path, status, tc.wantStatus, body)
			}
			if tc.wantError == "" {
				return
			}
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != tc.wantError {
				t.Errorf("body %s, want error %q", body, tc.wantError)
			}
			if status == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: %q", h.Get("WWW-Authenticate"))
			}
		})
	}
	if !s.active(t, ex) {
		t.Fatal("a refused DELETE revoked the grant")
	}
}

func TestGrantsAPI_ListAndRevoke(t *testing.T) {
	t.Parallel()
	s := admStart(t)
	ex := s.grant(t, "example.com")
	ot := s.grant(t, "other.org")
	status, _, body := s.do(t, "GET", "/v1/grants?limit=1", s.keys["operator"])
	var page struct {
		Grants []map[string]any `json:"grants"`
		Next   *string          `json:"next_cursor"`
	}
	if err := json.Unmarshal([]byte(body), &page); status != 200 || err != nil {
		t.Fatalf("GET /v1/grants?limit=1: %d %s", status, body)
	}
	if len(page.Grants) != 1 || page.Grants[0]["id"] != ot || page.Next == nil || *page.Next == "" {
		t.Fatalf("first page = %s, want %s and a cursor", body, ot)
	}
	if page.Grants[0]["client_name"] != "Calendar <App>" {
		t.Errorf("client_name = %v", page.Grants[0]["client_name"])
	}
	_, _, body = s.do(t, "GET", "/v1/grants?limit=1&cursor="+*page.Next, s.keys["operator"])
	if err := json.Unmarshal([]byte(body), &page); err != nil || len(page.Grants) != 1 || page.Grants[0]["id"] != ex || *page.Next != "" {
		t.Fatalf("second page = %s, want %s and no cursor", body, ex)
	}
	for range 2 { // revoking a revoked grant is still 204
		if status, _, body := s.do(t, "DELETE", "/v1/grants/"+ex, s.keys["operator"]); status != 204 || body != "" {
			t.Fatalf("DELETE: %d %q, want 204 and no body", status, body)
		}
	}
	if s.active(t, ex) {
		t.Fatal("DELETE did not revoke")
	}
	_, _, body = s.do(t, "GET", "/v1/grants/"+ex, s.keys["auditor"])
	if !strings.Contains(body, `"status":"revoked"`) {
		t.Errorf("GET after DELETE: %s", body)
	}
}

func TestAuditExport_NDJSONOldestFirst(t *testing.T) {
	t.Parallel()
	s := admStart(t)
	for range 3 {
		id := s.grant(t, "example.com")
		if status, _, _ := s.do(t, "DELETE", "/v1/grants/"+id, s.keys["operator"]); status != 204 {
			t.Fatal(status)
		}
	}
	status, h, body := s.do(t, "GET", "/v1/audit/export", s.keys["auditor"])
	if status != 200 || h.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("export: %d %q", status, h.Get("Content-Type"))
	}
	var prev map[string]any
	n := 0
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %d is not JSON: %v", n+1, err)
		}
		if ev["domain"] != "example.com" || ev["type"] != "grant.revoked" {
			t.Errorf("line %d: %v", n+1, ev)
		}
		if prev != nil && ev["prev_hash"] != prev["hash"] {
			t.Errorf("line %d does not follow line %d: not oldest first", n+1, n)
		}
		prev = ev
		n++
	}
	if n != 3 {
		t.Errorf("%d lines, want 3", n)
	}
	// The newest-first listing agrees.
	_, _, body = s.do(t, "GET", "/v1/audit?limit=1", s.keys["auditor"])
	if !strings.Contains(body, prev["id"].(string)) || !strings.Contains(body, `"next_cursor":"`) {
		t.Errorf("GET /v1/audit?limit=1 = %s, want the newest event %s and a cursor", body, prev["id"])
	}
	// Nothing to export: 200, empty.
	status, h, body = s.do(t, "GET", "/v1/audit/export?domain=other.org", s.keys["operator"])
	if status != 200 || body != "" || h.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("empty export: %d %q %q", status, h.Get("Content-Type"), body)
	}
}
