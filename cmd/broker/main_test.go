package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// runCLI runs the broker's run() in-process with env as its whole environment and returns
// the exit status and both output streams.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &cli{stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }}
	code = run(t.Context(), args, c)
	return code, out.String(), errOut.String()
}

// dataDirEnv is an environment whose embedded store lives in a fresh temp dir.
func dataDirEnv(t *testing.T) map[string]string {
	return map[string]string{"BROKER_DATA_DIR": filepath.Join(t.TempDir(), "data")}
}

// decodeOne decodes s as exactly one JSON value into v: `--json` prints one object (SPEC §10).
func decodeOne(t *testing.T, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not the expected JSON object: %v\nstdout: %s", err, s)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		t.Fatalf("stdout holds more than one JSON value (SPEC §10: --json prints one object)\nstdout: %s", s)
	}
}

func TestRun_ExitStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string // a substring of stderr
	}{
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2, wantStderr: `unknown command "frobnicate"`},
		{name: "unknown subcommand", args: []string{"clients", "rename"}, wantCode: 2, wantStderr: "unknown command"},
		{name: "help", args: []string{"help"}, wantCode: 0, wantStderr: "clients create"},
		{name: "unknown flag", args: []string{"clients", "list", "--frob"}, wantCode: 2, wantStderr: "frob"},
		{name: "serve refuses positional arguments", args: []string{"serve", "extra"}, wantCode: 2, wantStderr: "extra"},
		{name: "scopes explain without a scope", args: []string{"scopes", "explain"}, wantCode: 2, wantStderr: "scope"},
		{name: "scopes explain unknown scope", args: []string{"scopes", "explain", "read_everything"}, wantCode: 2, wantStderr: "read_everything"},
		{name: "clients create without --name", args: []string{"clients", "create", "--json",
			"--redirect-uri", "https://app.example.com/cb", "--scope", "service_account/accounts/manage", "--delegated-scope", "read_only"},
			wantCode: 2, wantStderr: "--name"},
		{name: "clients create without --redirect-uri", args: []string{"clients", "create", "--name", "App",
			"--scope", "service_account/accounts/manage", "--delegated-scope", "read_only"},
			wantCode: 2, wantStderr: "--redirect-uri"},
		{name: "clients create with an unknown scope", args: []string{"clients", "create", "--name", "App",
			"--redirect-uri", "https://app.example.com/cb", "--scope", "service_account/everything", "--delegated-scope", "read_only"},
			wantCode: 2, wantStderr: "--scope"},
		{name: "clients delete unknown id", args: []string{"clients", "delete", "cli_doesnotexist000000000000"}, wantCode: 1, wantStderr: "cli_doesnotexist000000000000"},
		{name: "clients delete without id", args: []string{"clients", "delete"}, wantCode: 2, wantStderr: "client id"},
		{name: "apikeys create with an unknown role", args: []string{"apikeys", "create", "--role", "wizard"}, wantCode: 2, wantStderr: "wizard"},
		{name: "apikeys create without role", args: []string{"apikeys", "create"}, wantCode: 2, wantStderr: "--role"},
		{name: "apikeys delete unknown id", args: []string{"apikeys", "delete", "key_doesnotexist"}, wantCode: 1, wantStderr: "key_doesnotexist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runCLI(t, dataDirEnv(t), tc.args...)
			if code != tc.wantCode {
				t.Errorf("broker %s: exit status %d, want %d\nstderr: %s", strings.Join(tc.args, " "), code, tc.wantCode, stderr)
			}
			if !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("broker %s: stderr does not mention %q\nstderr: %s", strings.Join(tc.args, " "), tc.wantStderr, stderr)
			}
		})
	}
}

func TestRun_ScopesExplainJSON_OneObjectPerSPEC(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, nil, "scopes", "explain", "read_only", "--json")
	if code != 0 {
		t.Fatalf("exit status %d, want 0\nstderr: %s", code, stderr)
	}
	var got struct {
		Scopes []struct {
			Scope       string   `json:"scope"`
			Description string   `json:"description"`
			ExpandsTo   []string `json:"expands_to"`
			Google      []string `json:"google"`
		} `json:"scopes"`
	}
	decodeOne(t, stdout, &got)
	if len(got.Scopes) != 1 {
		t.Fatalf("got %d scopes, want 1: %s", len(got.Scopes), stdout)
	}
	s := got.Scopes[0]
	if s.Scope != "read_only" {
		t.Errorf("scope = %q, want read_only", s.Scope)
	}
	if strings.TrimSpace(s.Description) == "" {
		t.Error("description is empty: every scope has a plain-language sentence (SPEC §1)")
	}
	// SPEC §1: read_only = read_account list_calendars read_events read_free_busy, stored sorted.
	if diff := cmp.Diff([]string{"list_calendars", "read_account", "read_events", "read_free_busy"}, s.ExpandsTo); diff != "" {
		t.Errorf("expands_to (-want +got):\n%s", diff)
	}
	// SPEC §1 mapping, fewest scopes: events.readonly does not cover events.freebusy.
	const g = "https://www.googleapis.com/auth/"
	wantGoogle := []string{g + "calendar.calendarlist.readonly", g + "calendar.events.freebusy", g + "calendar.events.readonly", g + "userinfo.email"}
	gotGoogle := slices.Sorted(slices.Values(s.Google))
	if diff := cmp.Diff(wantGoogle, gotGoogle); diff != "" {
		t.Errorf("google (-want +got):\n%s", diff)
	}
}

func TestRun_ScopesExplain_SeveralScopesInOrder(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, nil, "scopes", "explain", "--json", "free_busy", "service_account/accounts/manage")
	if code != 0 {
		t.Fatalf("exit status %d, want 0\nstderr: %s", code, stderr)
	}
	var got struct {
		Scopes []map[string]any `json:"scopes"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	var names []string
	for _, s := range got.Scopes {
		names = append(names, s["scope"].(string))
	}
	if diff := cmp.Diff([]string{"free_busy", "service_account/accounts/manage"}, names); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
}

func TestRun_ClientsCreateThenList_ShowsClientWithoutSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "broker.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: "+filepath.Join(dir, "data")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, nil, "clients", "create", "--config", cfg, "--json",
		"--name", "Calendar Sync", "--redirect-uri", "https://app.example.com/cb", "--redirect-uri", "https://app.example.com/cb2",
		"--scope", "service_account/accounts/manage", "--delegated-scope", "read_only", "--require-pkce")
	if code != 0 {
		t.Fatalf("clients create: exit status %d, want 0\nstderr: %s", code, stderr)
	}
	var creds struct {
		ClientID       string `json:"client_id"`
		ClientSecret   string `json:"client_secret"`
		CallbackSecret string `json:"callback_secret"`
	}
	decodeOne(t, stdout, &creds)
	if creds.ClientID == "" || creds.ClientSecret == "" || creds.CallbackSecret == "" {
		t.Fatalf("clients create --json: want client_id, client_secret and callback_secret, got %s", stdout)
	}
	// SPEC §3: client secrets are generated with ≥ 256 bits; 43 base64url or 43 base-62 chars.
	if len(creds.ClientSecret) < 43 {
		t.Errorf("client_secret %d chars: too short for 256 bits", len(creds.ClientSecret))
	}

	code, stdout, stderr = runCLI(t, nil, "clients", "list", "--config", cfg, "--json")
	if code != 0 {
		t.Fatalf("clients list: exit status %d, want 0\nstderr: %s", code, stderr)
	}
	var list struct {
		Clients []struct {
			ClientID       string   `json:"client_id"`
			Name           string   `json:"name"`
			RedirectURIs   []string `json:"redirect_uris"`
			Scope          string   `json:"scope"`
			DelegatedScope string   `json:"delegated_scope"`
			RequirePKCE    bool     `json:"require_pkce"`
		} `json:"clients"`
	}
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("clients list --json: %v\n%s", err, stdout)
	}
	if len(list.Clients) != 1 {
		t.Fatalf("clients list: %d clients, want the 1 just created\n%s", len(list.Clients), stdout)
	}
	c := list.Clients[0]
	if c.ClientID != creds.ClientID || c.Name != "Calendar Sync" || !c.RequirePKCE {
		t.Errorf("clients list shows %+v, want id %s, name Calendar Sync, require_pkce", c, creds.ClientID)
	}
	if diff := cmp.Diff([]string{"https://app.example.com/cb", "https://app.example.com/cb2"}, c.RedirectURIs); diff != "" {
		t.Errorf("redirect_uris (-want +got):\n%s", diff)
	}
	if c.DelegatedScope != "list_calendars read_account read_events read_free_busy" {
		t.Errorf("delegated_scope = %q, want the expanded, sorted form (SPEC §1)", c.DelegatedScope)
	}
	if strings.Contains(stdout, creds.ClientSecret) || strings.Contains(stdout, creds.CallbackSecret) {
		t.Error("clients list prints a secret: secrets are shown once (SPEC §10)")
	}

	// Deleting it makes it disappear from the list.
	if code, _, stderr = runCLI(t, nil, "clients", "delete", "--config", cfg, creds.ClientID); code != 0 {
		t.Fatalf("clients delete: exit status %d\nstderr: %s", code, stderr)
	}
	_, stdout, _ = runCLI(t, nil, "clients", "list", "--config", cfg, "--json")
	if strings.Contains(stdout, creds.ClientID) {
		t.Errorf("clients list still shows %s after clients delete:\n%s", creds.ClientID, stdout)
	}
}

func TestRun_APIKeysCreateJSON_PrintsIDAndKey(t *testing.T) {
	t.Parallel()
	env := dataDirEnv(t)
	code, stdout, stderr := runCLI(t, env, "apikeys", "create", "--role", "auditor", "--json")
	if code != 0 {
		t.Fatalf("exit status %d, want 0\nstderr: %s", code, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	id, _ := got["id"].(string)
	key, _ := got["key"].(string)
	if id == "" || key == "" {
		t.Fatalf(`apikeys create --json: want {"id","key"} (SPEC §10), got %s`, stdout)
	}
	code, stdout, stderr = runCLI(t, env, "apikeys", "list", "--json")
	if code != 0 {
		t.Fatalf("apikeys list: exit status %d\nstderr: %s", code, stderr)
	}
	if !strings.Contains(stdout, id) {
		t.Errorf("apikeys list does not show %s:\n%s", id, stdout)
	}
	if strings.Contains(stdout, key) {
		t.Error("apikeys list prints the key: keys are shown once and stored hashed (SPEC §9)")
	}
}

func TestRun_APIKeysCreate_UnknownDomainRefused(t *testing.T) {
	t.Parallel()
	code, _, stderr := runCLI(t, dataDirEnv(t), "apikeys", "create", "--role", "auditor", "--domain", "nowhere.example", "--json")
	if code != 2 {
		t.Errorf("exit status %d, want 2 for a domain that is not configured\nstderr: %s", code, stderr)
	}
}

func TestRun_InvalidConfig_Exit2NamingFileAndKey(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "broker.yaml")
	if err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\nsigning_algorithm: HS256\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"serve", "--config", cfg},
		{"clients", "list", "--config", cfg},
	} {
		code, _, stderr := runCLI(t, nil, args...)
		if code != 2 {
			t.Errorf("broker %s: exit status %d, want 2 (SPEC §10)\nstderr: %s", args[0], code, stderr)
		}
		if !strings.Contains(stderr, cfg) || !strings.Contains(stderr, "signing_algorithm") {
			t.Errorf("broker %s: stderr must name the file %s and the key signing_algorithm\nstderr: %s", args[0], cfg, stderr)
		}
	}
}

func TestRun_ConfigFileMissing_Exit2(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	code, _, stderr := runCLI(t, nil, "clients", "list", "--config", missing)
	if code != 2 || !strings.Contains(stderr, missing) {
		t.Errorf("exit status %d (want 2) and stderr naming %s\nstderr: %s", code, missing, stderr)
	}
}

func TestRun_ClientsCreateHuman_SecretsShownOnce(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCLI(t, dataDirEnv(t), "clients", "create", "--name", "App",
		"--redirect-uri", "https://app.example.com/cb", "--scope", "service_account/accounts/manage", "--delegated-scope", "free_busy")
	if code != 0 {
		t.Fatalf("exit status %d\nstderr: %s", code, stderr)
	}
	for _, re := range []string{`client_id:\s+cli_\S+`, `client_secret:\s+\S+`, `callback_secret:\s+\S+`} {
		if !regexp.MustCompile(re).MatchString(stdout) {
			t.Errorf("stdout does not match %s:\n%s", re, stdout)
		}
	}
}
