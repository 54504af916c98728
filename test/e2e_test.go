package test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/oauth2"

	"github.com/enterprise-connect/broker/scopes"
)

// demoCreds is what the broker prints on its first start without a config (SPEC §10).
type demoCreds struct {
	adminEmail, adminPassword              string
	clientID, clientSecret, callbackSecret string
	authorizeURL                           string
}

// The first-start banner of cmd/broker/demo.go: labelled lines, then the authorize URL.
var (
	demoAdminRe          = regexp.MustCompile(`(?m)^\s*Demo administrator\s+(\S+@\S+)\s*$`)
	demoPasswordRe       = regexp.MustCompile(`(?m)^\s*password\s+(\S+)\s*$`)
	demoClientRe         = regexp.MustCompile(`(?m)^\s*Demo client\s+(\S+)\s*$`)
	demoClientSecretRe   = regexp.MustCompile(`(?m)^\s*client_secret\s+(\S+)\s*$`)
	demoCallbackSecretRe = regexp.MustCompile(`(?m)^\s*callback_secret\s+(\S+)\s*$`)
	demoAuthorizeRe      = regexp.MustCompile(`(https?://\S+/enterprise_connect/oauth/authorize\?\S+)`)
	codeRe               = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)
	grantIDRe            = regexp.MustCompile(`^ser_[A-Za-z0-9]{24}$`)
)

func parseDemoCreds(t *testing.T, p *brokerProc) demoCreds {
	t.Helper()
	var d demoCreds
	d.authorizeURL = p.waitOutput(t, demoAuthorizeRe)[1]
	for _, f := range []struct {
		re  *regexp.Regexp
		dst *string
	}{
		{demoAdminRe, &d.adminEmail}, {demoPasswordRe, &d.adminPassword}, {demoClientRe, &d.clientID},
		{demoClientSecretRe, &d.clientSecret}, {demoCallbackSecretRe, &d.callbackSecret},
	} {
		*f.dst = p.waitOutput(t, f.re)[1]
	}
	return d
}

// metadata is the part of RFC 8414 metadata the tests use.
type metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

func getMetadata(t *testing.T, base string) metadata {
	t.Helper()
	var md metadata
	status, body := doJSON(t, http.MethodGet, base+"/.well-known/oauth-authorization-server", nil, "", "", &md)
	if status != http.StatusOK || md.TokenEndpoint == "" || md.IntrospectionEndpoint == "" || md.RevocationEndpoint == "" {
		t.Fatalf("GET /.well-known/oauth-authorization-server: %d %s", status, body)
	}
	return md
}

var apiClient = &http.Client{Timeout: 10 * time.Second}

// doJSON sends form (nil: no body) with client credentials (when clientID != "") and decodes
// the JSON answer into v. Basic credentials are form-urlencoded first (RFC 6749 §2.3.1).
func doJSON(t *testing.T, method, u string, form url.Values, clientID, secret string, v any) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if clientID != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil && len(b) > 0 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %d, body is not JSON: %v\n%s", method, u, resp.StatusCode, err, b)
		}
	}
	return resp.StatusCode, string(b)
}

// introspect asks POST /oauth/introspect as the client and wants 200.
func introspect(t *testing.T, md metadata, clientID, secret, token string) map[string]any {
	t.Helper()
	var got map[string]any
	status, body := doJSON(t, http.MethodPost, md.IntrospectionEndpoint, url.Values{"token": {token}}, clientID, secret, &got)
	if status != http.StatusOK {
		t.Fatalf("introspection: %d %s, want 200", status, body)
	}
	return got
}

// browser is an HTTP client with a cookie jar that follows redirects, as a person's browser.
func newBrowser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// page is a fetched HTML page after redirects.
type page struct {
	status int
	url    *url.URL       // where the browser ended up
	via    *http.Response // the redirect that led there, nil if none
	body   string
}

func browse(t *testing.T, b *http.Client, method, u string, form url.Values) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, via: resp.Request.Response, body: string(data)}
}

// submit fills f with its hidden inputs plus fields and posts it like a browser.
func (p page) submit(t *testing.T, b *http.Client, f htmlForm, fields map[string]string) page {
	t.Helper()
	if f.method != "post" {
		t.Fatalf("form method %q, want post", f.method)
	}
	action, err := p.url.Parse(f.action)
	if err != nil {
		t.Fatalf("form action %q: %v", f.action, err)
	}
	v := url.Values{}
	for k, x := range f.hidden {
		v.Set(k, x)
	}
	for k, x := range fields {
		v.Set(k, x)
	}
	return browse(t, b, http.MethodPost, action.String(), v)
}

// findForm returns the first form of the page with an input (or button) named name.
func (p page) findForm(t *testing.T, name string) htmlForm {
	t.Helper()
	for _, f := range parseForms(p.body) {
		if f.inputs[name] || f.buttons[name] != nil {
			return f
		}
	}
	t.Fatalf("%s (%d) has no form with a control named %q (SPEC §2: forms stay automatable)\n%s", p.url, p.status, name, p.body)
	return htmlForm{}
}

// assertNoSecretsInLogs fails if any secret appears in the broker's JSON log stream
// (SPEC §10, STYLE §7), and if a log line is not a JSON object.
func assertNoSecretsInLogs(t *testing.T, logs string, secrets map[string]string) {
	t.Helper()
	if strings.TrimSpace(logs) == "" {
		t.Error("the broker wrote no log lines at all: want structured JSON logs on stderr (SPEC §10)")
	}
	for name, s := range secrets {
		if s == "" {
			t.Errorf("secret %s was never captured: the test is broken", name)
			continue
		}
		if strings.Contains(logs, s) {
			t.Errorf("the log contains the %s: no secret, token, code or password in any log line (SPEC §10)", name)
		}
	}
	for i, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line %d is not a JSON object (SPEC §10: structured JSON logs): %q", i+1, line)
		}
	}
}

// TestDemo_FirstStart_AdminFlow_Restart is SPEC §10's quick start end to end: no config, the
// demo prints where to click, an administrator approves, the client exchanges, refreshes,
// introspects and revokes with golang.org/x/oauth2; SIGTERM stops it with status 0, and a
// restart keeps the data without printing the secrets again.
func TestDemo_FirstStart_AdminFlow_Restart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t)
	env := brokerEnv("BROKER_LISTEN=127.0.0.1:" + port)
	p := startBroker(t, dir, port, env) // no arguments: serve on the embedded defaults
	p.waitStatus(t, "/healthz", http.StatusOK)
	p.waitStatus(t, "/readyz", http.StatusOK)
	demo := parseDemoCreds(t, p)
	secrets := map[string]string{
		"admin password": demo.adminPassword, "client secret": demo.clientSecret, "callback secret": demo.callbackSecret,
	}
	md := getMetadata(t, p.base)
	if md.Issuer != p.base {
		t.Errorf("issuer %q, want %q (derived from BROKER_LISTEN)", md.Issuer, p.base)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err != nil {
		t.Errorf("no ./data in the working directory: the embedded store lives under ./data by default (SPEC §10): %v", err)
	}

	// The CLI works on the same store while the server runs (SPEC §10).
	code, stdout, stderr := runBroker(t, dir, brokerEnv(), "clients", "list", "--json")
	if code != 0 {
		t.Fatalf("clients list --json while serving: exit %d\n%s", code, stderr)
	}
	var list struct {
		Clients []struct {
			ClientID string `json:"client_id"`
		} `json:"clients"`
	}
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("clients list --json: %v\n%s", err, stdout)
	}
	var ids []string
	for _, c := range list.Clients {
		ids = append(ids, c.ClientID)
	}
	if !slices.Contains(ids, demo.clientID) {
		t.Errorf("clients list --json does not list the demo client %s:\n%s", demo.clientID, stdout)
	}
	if strings.Contains(stdout, demo.clientSecret) {
		t.Error("clients list prints the demo client's secret: client secrets are stored only as hashes (SPEC §10)")
	}

	// The administrator follows the printed URL, signs in and approves (SPEC §2).
	authz, err := url.Parse(demo.authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	aq := authz.Query()
	redirectURI, state := aq.Get("redirect_uri"), aq.Get("state")
	browser := newBrowser(t)
	pg := browse(t, browser, http.MethodGet, demo.authorizeURL, nil)
	if pg.status != http.StatusOK {
		t.Fatalf("GET the printed authorize URL: %d at %s\n%s", pg.status, pg.url, pg.body)
	}
	signin := pg.findForm(t, "password")
	pg = pg.submit(t, browser, signin, map[string]string{"email": demo.adminEmail, "password": demo.adminPassword})
	if pg.status != http.StatusOK {
		t.Fatalf("sign-in as the demo administrator: %d at %s\n%s", pg.status, pg.url, pg.body)
	}
	for _, c := range browser.Jar.Cookies(pg.url) {
		secrets["session cookie "+c.Name] = c.Value
	}
	consent := pg.findForm(t, "decision")
	if !slices.Contains(consent.buttons["decision"], "approve") || !slices.Contains(consent.buttons["decision"], "deny") {
		t.Fatalf("consent form buttons %v, want decision=approve and decision=deny (SPEC §2)", consent.buttons)
	}
	pg = pg.submit(t, browser, consent, map[string]string{"decision": "approve"})
	if pg.via == nil || (pg.via.StatusCode != http.StatusFound && pg.via.StatusCode != http.StatusSeeOther) {
		t.Fatalf("approve: want a 302 or 303 to the redirect_uri, ended at %s (%d)", pg.url, pg.status)
	}
	if got := pg.url.Scheme + "://" + pg.url.Host + pg.url.Path; got != redirectURI {
		t.Fatalf("approve redirected to %s, want the demo redirect_uri %s", pg.url, redirectURI)
	}
	if pg.status != http.StatusOK {
		t.Errorf("the demo callback page answered %d, want 200", pg.status)
	}
	cq := pg.url.Query()
	authCode := cq.Get("code")
	secrets["authorization code"] = authCode
	if !codeRe.MatchString(authCode) {
		t.Errorf("code %q: want exactly 32 characters from [A-Za-z0-9] (SPEC §2)", authCode)
	}
	if cq.Get("state") != state || cq.Get("iss") != md.Issuer {
		t.Errorf("callback state=%q iss=%q, want state=%q iss=%q (SPEC §2, RFC 9207)", cq.Get("state"), cq.Get("iss"), state, md.Issuer)
	}

	// The client redeems the code with golang.org/x/oauth2 (SPEC §3).
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, apiClient)
	conf := &oauth2.Config{
		ClientID: demo.clientID, ClientSecret: demo.clientSecret, RedirectURL: redirectURI,
		Endpoint: oauth2.Endpoint{AuthURL: md.AuthorizationEndpoint, TokenURL: md.TokenEndpoint, AuthStyle: oauth2.AuthStyleInHeader},
	}
	tok, err := conf.Exchange(ctx, authCode)
	if err != nil {
		t.Fatalf("exchanging the code: %v", err)
	}
	secrets["access token"], secrets["refresh token"] = tok.AccessToken, tok.RefreshToken
	if !strings.EqualFold(tok.TokenType, "bearer") || tok.RefreshToken == "" {
		t.Errorf("token_type %q, refresh_token %q: want bearer and a refresh token", tok.TokenType, tok.RefreshToken)
	}
	grantID, _ := tok.Extra("service_account_id").(string)
	if !grantIDRe.MatchString(grantID) {
		t.Errorf("service_account_id %q, want ser_ + 24 base-62 characters (SPEC §0)", grantID)
	}
	if d, _ := tok.Extra("domain").(string); d != "example.com" {
		t.Errorf("domain %q, want example.com", d)
	}
	if n, _ := tok.Extra("expires_in").(float64); n != 1800 {
		t.Errorf("expires_in %v, want 1800 (SPEC §3 default)", tok.Extra("expires_in"))
	}
	wantScope := strings.Join(slices.Sorted(slices.Values(strings.Fields(aq.Get("scope")))), " ")
	if s, _ := tok.Extra("scope").(string); s != wantScope {
		t.Errorf("scope %q, want the requested scopes sorted: %q (SPEC §1)", s, wantScope)
	}
	del, err := scopes.ParseDelegated(aq.Get("delegated_scope"))
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := tok.Extra("delegated_scope").(string)
	if ds != del.String() || !slices.IsSorted(strings.Fields(ds)) {
		t.Errorf("delegated_scope %q, want the expanded, sorted %q (SPEC §1)", ds, del.String())
	}

	// Refresh: a new access token and a new refresh token (SPEC §3 rotation).
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	fresh, err := conf.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatalf("refreshing: %v", err)
	}
	secrets["refreshed access token"], secrets["rotated refresh token"] = fresh.AccessToken, fresh.RefreshToken
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Errorf("refresh must return a new access token and a new refresh token (SPEC §3)")
	}

	// Introspection sees the new access token (SPEC §8).
	in := introspect(t, md, demo.clientID, demo.clientSecret, fresh.AccessToken)
	want := map[string]any{"active": true, "token_type": "bearer", "kind": "service_account", "client_id": demo.clientID,
		"sub": grantID, "domain": "example.com", "grant_id": grantID, "scope": wantScope}
	for k, v := range want {
		if in[k] != v {
			t.Errorf("introspection %s = %v, want %v (SPEC §8)", k, in[k], v)
		}
	}
	if _, ok := in["exp"].(float64); !ok {
		t.Errorf("introspection of an access token has no numeric exp: %v", in)
	}

	// Revocation (RFC 7009): 200, then the token is inactive.
	status, body := doJSON(t, http.MethodPost, md.RevocationEndpoint, url.Values{"token": {fresh.AccessToken}}, demo.clientID, demo.clientSecret, nil)
	if status != http.StatusOK {
		t.Fatalf("revoking the access token: %d %s", status, body)
	}
	if in := introspect(t, md, demo.clientID, demo.clientSecret, fresh.AccessToken); in["active"] != false {
		t.Errorf("introspection after revocation: %v, want active false", in)
	}

	// Replaying the rotated refresh token fails and revokes the family (SPEC §3).
	replay := *tok
	replay.Expiry = time.Now().Add(-time.Minute)
	_, err = conf.TokenSource(ctx, &replay).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("replaying a rotated refresh token: %v, want invalid_grant (SPEC §3)", err)
	}
	if in := introspect(t, md, demo.clientID, demo.clientSecret, fresh.RefreshToken); in["active"] != false {
		t.Errorf("the current refresh token is still active after a replay of its predecessor: %v (SPEC §3: the whole family is revoked)", in)
	}

	if code := p.stop(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0 (SPEC §10)\nstderr:\n%s", code, p.stderr)
	}
	logs := p.stderr.String()

	// A restart in the same directory keeps everything and does not print the secrets again.
	port2 := freePort(t)
	p2 := startBroker(t, dir, port2, brokerEnv("BROKER_LISTEN=127.0.0.1:"+port2))
	p2.waitStatus(t, "/readyz", http.StatusOK)
	p2.waitOutput(t, regexp.MustCompile(`demo-credentials`))
	for name, s := range map[string]string{"admin password": demo.adminPassword, "client secret": demo.clientSecret, "callback secret": demo.callbackSecret} {
		if strings.Contains(p2.stdout.String(), s) {
			t.Errorf("the second start prints the %s again: secrets are shown once (SPEC §10)", name)
		}
	}
	var inactive map[string]any
	md2 := getMetadata(t, p2.base)
	status, body = doJSON(t, http.MethodPost, md2.IntrospectionEndpoint, url.Values{"token": {"not-a-token"}}, demo.clientID, demo.clientSecret, &inactive)
	if status != http.StatusOK || inactive["active"] != false || len(inactive) != 1 {
		t.Errorf("the demo client after a restart: introspection %d %s, want 200 {\"active\":false}", status, body)
	}
	if code := p2.stop(t); code != 0 {
		t.Errorf("second run: exit status %d after SIGTERM, want 0\nstderr:\n%s", code, p2.stderr)
	}
	assertNoSecretsInLogs(t, logs+p2.stderr.String(), secrets)
}

// TestServe_InvalidConfig_Exit2NamingFileAndKey: SPEC §10, an invalid config → exit 2 with a
// message naming the file, the key and the problem.
func TestServe_InvalidConfig_Exit2NamingFileAndKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "broker.yaml")
	port := freePort(t)
	if err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:"+port+"\nsigning_algorithm: HS256\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runBroker(t, dir, brokerEnv(), "serve", "--config", cfg)
	if code != 2 {
		t.Errorf("exit status %d, want 2\nstderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, cfg) || !strings.Contains(stderr, "signing_algorithm") {
		t.Errorf("the message must name the file %s and the key signing_algorithm:\n%s", cfg, stderr)
	}
}

// TestServe_Redis_CLIWhileServing runs the broker on REDIS_URL with a config file (a static
// directory, a key-encryption key) and administers it with the CLI while it serves
// (SPEC §10: stateless replicas on one Redis; the CLI works on the same store).
func TestServe_Redis_CLIWhileServing(t *testing.T) {
	t.Parallel()
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		t.Log("REDIS_URL is not set: the broker-on-Redis end-to-end test did not run (./test.sh and .ci/run start a local Redis and set it)")
		return
	}
	redisURL = redisTestDB(redisURL)
	t.Logf("the broker runs on database %s of REDIS_URL's server with the default key prefix", redisTestDBNumber)
	dir := t.TempDir()
	port := freePort(t)
	// Every broker on one Redis must share the key-encryption key (SPEC §10), also across
	// runs of this test on the same REDIS_URL: a fixed test key, not a random one.
	kek := sha256.Sum256([]byte("enterprise-connect broker e2e test key_encryption_key_file"))
	t.Log("the broker uses a fixed test key_encryption_key_file: if that database holds signing keys sealed with another key, the broker refuses to start (use a throwaway Redis)")
	if err := os.WriteFile(filepath.Join(dir, "kek"), kek[:], 0o600); err != nil {
		t.Fatal(err)
	}
	adminPassword := rand.Text()
	writeDirectory(t, filepath.Join(dir, "example.com.yaml"), adminPassword)
	cfg := filepath.Join(dir, "broker.yaml")
	yaml := fmt.Sprintf(`listen: 127.0.0.1:%s
data_dir: %s
redis_url: %q
key_encryption_key_file: kek
domains:
  - domain: example.com
    provider: static
    directory_file: example.com.yaml
`, port, filepath.Join(dir, "data"), redisURL)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := brokerEnv()
	p := startBroker(t, dir, port, env, "serve", "--config", cfg)
	p.waitStatus(t, "/readyz", http.StatusOK)
	if _, err := os.Stat(filepath.Join(dir, "data", "broker.db")); err == nil {
		t.Error("with redis_url the broker still opened the embedded store under data_dir")
	}

	code, stdout, stderr := runBroker(t, dir, env, "clients", "create", "--config", cfg, "--json",
		"--name", "E2E Redis "+port, "--redirect-uri", "https://app.example.com/cb",
		"--scope", "service_account/accounts/manage", "--delegated-scope", "read_only")
	if code != 0 {
		t.Fatalf("clients create on Redis while serving: exit %d\n%s", code, stderr)
	}
	var creds struct {
		ClientID       string `json:"client_id"`
		ClientSecret   string `json:"client_secret"`
		CallbackSecret string `json:"callback_secret"`
	}
	if err := json.Unmarshal([]byte(stdout), &creds); err != nil || creds.ClientID == "" || creds.ClientSecret == "" || creds.CallbackSecret == "" {
		t.Fatalf("clients create --json: %v\n%s", err, stdout)
	}
	t.Cleanup(func() { runBroker(t, dir, env, "clients", "delete", "--config", cfg, creds.ClientID) }) // if the test stops early

	code, stdout, stderr = runBroker(t, dir, env, "clients", "list", "--config", cfg, "--json")
	if code != 0 {
		t.Fatalf("clients list on Redis: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, `"`+creds.ClientID+`"`) {
		t.Errorf("clients list --json does not show %s", creds.ClientID)
	}

	// The running server sees the client the CLI just wrote to Redis.
	md := getMetadata(t, p.base)
	var inactive map[string]any
	status, body := doJSON(t, http.MethodPost, md.IntrospectionEndpoint, url.Values{"token": {"not-a-token"}}, creds.ClientID, creds.ClientSecret, &inactive)
	if status != http.StatusOK || inactive["active"] != false {
		t.Errorf("introspection as the new client: %d %s, want 200 {\"active\":false}", status, body)
	}
	status, _ = doJSON(t, http.MethodPost, md.IntrospectionEndpoint, url.Values{"token": {"not-a-token"}}, creds.ClientID, "wrong", nil)
	if status != http.StatusUnauthorized {
		t.Errorf("introspection with a wrong secret: %d, want 401 invalid_client", status)
	}

	// The CLI deletes it again. (A running replica may trust its cached copy of the client
	// record for a few seconds, broker/cache.go, so the server is not asked here.)
	if code, _, stderr = runBroker(t, dir, env, "clients", "delete", "--config", cfg, creds.ClientID); code != 0 {
		t.Errorf("clients delete on Redis: exit %d\n%s", code, stderr)
	}
	if _, stdout, _ = runBroker(t, dir, env, "clients", "list", "--config", cfg, "--json"); strings.Contains(stdout, `"`+creds.ClientID+`"`) {
		t.Errorf("clients list --json still shows %s after clients delete", creds.ClientID)
	}

	if code := p.stop(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0\nstderr:\n%s", code, p.stderr)
	}
	secrets := map[string]string{"client secret": creds.ClientSecret, "callback secret": creds.CallbackSecret, "admin password": adminPassword}
	if u, err := url.Parse(redisURL); err == nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			secrets["Redis password"] = pw
		}
	}
	assertNoSecretsInLogs(t, p.stderr.String(), secrets)
}

// redisTestDBNumber is the Redis database the broker-on-Redis test uses. The broker has no
// key-prefix setting, so a broker started by hand or by bench/ on the same server (database
// 0, the default prefix, its own key-encryption key) would leave signing keys this test
// cannot unseal; a database of its own keeps the test independent of them.
const redisTestDBNumber = "15"

// redisTestDB moves a redis:// or rediss:// URL to database redisTestDBNumber; Sentinel and
// Cluster URLs are kept as they are.
func redisTestDB(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		return raw
	}
	u.Path = "/" + redisTestDBNumber
	return u.String()
}

// writeDirectory writes a static directory file (SPEC §10) for example.com with bcrypt
// hashes: an administrator, two users and a room.
func writeDirectory(t *testing.T, path, adminPassword string) {
	t.Helper()
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(string(h)) // a JSON string is a YAML string
		return string(b)
	}
	dir := fmt.Sprintf(`domain: example.com
admins:
  - email: admin@example.com
    name: Example Admin
    password_hash: %s
users:
  - email: alice@example.com
    name: Alice Example
    password_hash: %s
    groups: [sales]
    calendars:
      - calendar_id: cal_alice_1
        name: Alice
  - email: bob@example.com
    name: Bob Example
    password_hash: %s
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
`, hash(adminPassword), hash(rand.Text()), hash(rand.Text()))
	if err := os.WriteFile(path, []byte(dir), 0o600); err != nil {
		t.Fatal(err)
	}
}
