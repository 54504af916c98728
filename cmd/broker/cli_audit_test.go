package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/store"
	"github.com/enterprise-connect/broker/store/embedded"
)

// auTrail writes audit events of example.com and other.org into the embedded store the
// CLI will open under env's data dir, plus one active grant, and returns the grant's id.
func auTrail(t *testing.T, env map[string]string) string {
	t.Helper()
	dir := env["BROKER_DATA_DIR"]
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := embedded.Open(ctx, filepath.Join(dir, "broker.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	rec := broker.NewRecorder(s, func() time.Time { return now })
	for i := range 6 {
		now = now.Add(time.Second)
		for _, d := range []string{"example.com", "other.org"} {
			if err := rec.Record(ctx, broker.Event{Type: broker.EvDelegatedMinted, Domain: d, ClientID: "cli_app",
				Subject: []string{"alice@", "bob@"}[i%2] + d}); err != nil {
				t.Fatal(err)
			}
		}
	}
	g := store.Grant{ID: "ser_AAAAAAAAAAAAAAAAAAAAAAAA", ClientID: "cli_app", Domain: "example.com",
		Scope: "service_account/accounts/manage", DelegatedScope: "read_account", ApprovedBy: "admin@example.com",
		ApprovedAt: now, Status: store.GrantActive}
	if _, err := s.CreateGrant(ctx, g); err != nil {
		t.Fatal(err)
	}
	return g.ID
}

// auExport runs `audit export` and returns its lines.
func auExport(t *testing.T, env map[string]string, args ...string) []string {
	t.Helper()
	code, stdout, stderr := runCLI(t, env, append([]string{"audit", "export"}, args...)...)
	if code != 0 {
		t.Fatalf("audit export: exit %d: %s", code, stderr)
	}
	return strings.Split(strings.TrimSpace(stdout), "\n")
}

func auID(t *testing.T, line string) string {
	t.Helper()
	var ev store.AuditEvent
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatal(err)
	}
	return ev.ID
}

func TestAuditVerify_ExportFile_TamperedOrRemovedEventNamed(t *testing.T) {
	t.Parallel()
	env := dataDirEnv(t)
	auTrail(t, env)
	lines := auExport(t, env, "--domain", "example.com")
	if len(lines) != 6 {
		t.Fatalf("export of example.com: %d lines, want 6", len(lines))
	}
	write := func(name string, ls []string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(strings.Join(ls, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	k := 3
	var ev map[string]any
	if err := json.Unmarshal([]byte(lines[k]), &ev); err != nil {
		t.Fatal(err)
	}
	ev["subject"] = "mallory@example.com"
	b, _ := json.Marshal(ev)
	tampered := append([]string{}, lines...)
	tampered[k] = string(b)
	removed := append(append([]string{}, lines[:k]...), lines[k+1:]...)

	tests := []struct {
		name     string
		lines    []string
		wantCode int
		wantID   string // the event the output must name
	}{
		{name: "intact", lines: lines, wantCode: 0},
		{name: "one field tampered", lines: tampered, wantCode: 1, wantID: auID(t, lines[k])},
		{name: "one event removed", lines: removed, wantCode: 1, wantID: auID(t, lines[k+1])},
		{name: "the last event removed", lines: lines[:len(lines)-1], wantCode: 0}, // a file alone cannot tell
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := write(strings.ReplaceAll(tc.name, " ", "-")+".ndjson", tc.lines)
			code, stdout, stderr := runCLI(t, env, "audit", "verify", "--file", path)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, stdout, stderr)
			}
			if tc.wantID != "" && !strings.Contains(stdout+stderr, tc.wantID) {
				t.Errorf("the output does not name %s:\n%s%s", tc.wantID, stdout, stderr)
			}
			if tc.wantCode == 0 && !strings.Contains(stdout, "ok") {
				t.Errorf("stdout %q, want the verified count", stdout)
			}
			code, stdout, _ = runCLI(t, env, "audit", "verify", "--file", path, "--json")
			var res struct {
				OK      bool   `json:"ok"`
				Events  int    `json:"events"`
				Error   string `json:"error"`
				EventID string `json:"event_id"`
			}
			decodeOne(t, stdout, &res)
			if code != tc.wantCode || res.OK != (tc.wantCode == 0) || res.EventID != tc.wantID || (tc.wantID != "" && !strings.Contains(res.Error, tc.wantID)) {
				t.Errorf("--json: exit %d, %+v", code, res)
			}
		})
	}
}

func TestAuditVerify_StoredChains(t *testing.T) {
	t.Parallel()
	env := dataDirEnv(t)
	auTrail(t, env)
	for _, args := range [][]string{{"--domain", "example.com"}, {"--domain", "other.org"}, {"--domain", "none.example"}, {}} {
		code, stdout, stderr := runCLI(t, env, append([]string{"audit", "verify"}, args...)...)
		if code != 0 || !strings.HasPrefix(stdout, "ok: ") {
			t.Errorf("audit verify %v: exit %d\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
		}
	}
	code, stdout, _ := runCLI(t, env, "audit", "verify", "--json")
	var res struct {
		OK      bool   `json:"ok"`
		Events  int    `json:"events"`
		Error   string `json:"error"`
		EventID string `json:"event_id"`
	}
	decodeOne(t, stdout, &res)
	if code != 0 || !res.OK || res.Events != 12 {
		t.Errorf("audit verify --json (every chain): exit %d, %+v, want ok and 12 events", code, res)
	}
	if code, _, stderr := runCLI(t, env, "audit", "verify", "--domain", "example.com", "--file", "x.ndjson"); code != 2 {
		t.Errorf("--domain with --file: exit %d, want 2 (%s)", code, stderr)
	}
}

func TestAuditTailAndExport_FiltersAndOrder(t *testing.T) {
	t.Parallel()
	env := dataDirEnv(t)
	auTrail(t, env)
	code, stdout, stderr := runCLI(t, env, "audit", "tail", "--domain", "other.org", "--limit", "4", "--json")
	if code != 0 {
		t.Fatalf("audit tail: exit %d: %s", code, stderr)
	}
	var tail struct {
		Events []store.AuditEvent `json:"events"`
	}
	decodeOne(t, stdout, &tail)
	if len(tail.Events) != 4 {
		t.Fatalf("tail --limit 4: %d events", len(tail.Events))
	}
	for i, ev := range tail.Events {
		if ev.Domain != "other.org" || i > 0 && ev.Hash != tail.Events[i-1].PrevHash {
			t.Errorf("tail event %d: %+v (want other.org, newest first)", i, ev)
		}
	}
	all := auExport(t, env, "--subject", "bob@example.com")
	if len(all) != 3 {
		t.Fatalf("export --subject bob@example.com: %d lines, want 3", len(all))
	}
	for _, l := range all {
		if !strings.Contains(l, `"subject":"bob@example.com"`) {
			t.Errorf("export --subject: %s", l)
		}
	}
	for _, args := range [][]string{{"audit", "tail", "--limit", "0"}, {"audit", "export", "--since", "yesterday"}} {
		if code, _, stderr := runCLI(t, env, args...); code != 2 || !strings.Contains(stderr, "--") {
			t.Errorf("%v: exit %d, want 2 naming the flag: %s", args, code, stderr)
		}
	}
}

func TestGrantsListAndRevoke_JSON(t *testing.T) {
	t.Parallel()
	env := dataDirEnv(t)
	id := auTrail(t, env)
	code, stdout, stderr := runCLI(t, env, "grants", "list", "--json")
	if code != 0 {
		t.Fatalf("grants list: exit %d: %s", code, stderr)
	}
	var list struct {
		Grants []broker.GrantView `json:"grants"`
	}
	decodeOne(t, stdout, &list)
	if len(list.Grants) != 1 || list.Grants[0].ID != id || list.Grants[0].Status != "active" {
		t.Fatalf("grants list = %+v", list)
	}
	code, stdout, stderr = runCLI(t, env, "grants", "revoke", id, "--json")
	if code != 0 {
		t.Fatalf("grants revoke: exit %d: %s", code, stderr)
	}
	var revoked struct {
		ID      string `json:"id"`
		Revoked bool   `json:"revoked"`
	}
	decodeOne(t, stdout, &revoked)
	if revoked.ID != id || !revoked.Revoked {
		t.Errorf("grants revoke --json = %+v", revoked)
	}
	_, stdout, _ = runCLI(t, env, "grants", "list", "--status", "revoked", "--json")
	decodeOne(t, stdout, &list)
	if len(list.Grants) != 1 || list.Grants[0].Status != "revoked" {
		t.Errorf("grants list --status revoked = %+v", list)
	}
	// The revocation is audited and the chain still verifies.
	lines := auExport(t, env, "--domain", "example.com", "--type", "grant.revoked")
	if len(lines) != 1 || !strings.Contains(lines[0], `"actor":"cli"`) {
		t.Errorf("audit of grants revoke: %v", lines)
	}
	if code, _, stderr := runCLI(t, env, "audit", "verify", "--domain", "example.com"); code != 0 {
		t.Errorf("verify after revoke: %s", stderr)
	}
	for _, tc := range []struct {
		args     []string
		wantCode int
	}{
		{[]string{"grants", "revoke", "ser_doesnotexist00000000000"}, 1},
		{[]string{"grants", "revoke"}, 2},
		{[]string{"grants", "list", "--status", "paused"}, 2},
	} {
		if code, _, stderr := runCLI(t, env, tc.args...); code != tc.wantCode {
			t.Errorf("%v: exit %d, want %d: %s", tc.args, code, tc.wantCode, stderr)
		}
	}
}
