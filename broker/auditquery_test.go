package broker_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/broker/audit"
	"github.com/enterprise-connect/broker/store"
)

// auditTrail records, a second apart, events of example.com, other.org and the domain-less
// chain, and returns their ids oldest first per domain.
func (e *gqEnv) auditTrail(t *testing.T) map[string][]string {
	t.Helper()
	rec := broker.NewRecorder(e.store, e.clock.Now)
	ids := map[string][]string{}
	add := func(ev broker.Event) {
		ev.ID = "evt_" + gqRandID()
		if err := rec.Record(e.ctx, ev); err != nil {
			t.Fatalf("Record: %v", err)
		}
		ids[ev.Domain] = append(ids[ev.Domain], ev.ID)
		e.clock.Advance(time.Second)
	}
	for i := range 4 {
		typ := broker.EvDelegatedMinted
		if i%2 == 1 {
			typ = broker.EvTokenIssued
		}
		add(broker.Event{Type: typ, Domain: "example.com", ClientID: e.app.ClientID, Subject: "alice@example.com"})
		add(broker.Event{Type: typ, Domain: "other.org", ClientID: e.other.ClientID, Subject: "carol@other.org"})
	}
	add(broker.Event{Type: broker.EvClientAuthFailed, Domain: "", ClientID: "unknown-client", Result: "failure", Error: "invalid_client"})
	return ids
}

func eventIDs(evs []store.AuditEvent) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.ID)
	}
	return out
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[len(s)-1-i] = x
	}
	return out
}

func TestParseAuditQuery(t *testing.T) {
	t.Parallel()
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		params  map[string]string
		want    broker.AuditQuery
		wantErr bool
	}{
		{name: "defaults", params: map[string]string{}, want: broker.AuditQuery{Limit: 100}},
		{name: "every filter", params: map[string]string{"domain": "Example.COM", "type": "grant.revoked", "client_id": "c1",
			"subject": "alice@example.com", "since": "2026-01-02T03:04:05Z", "until": "2026-01-02T05:04:05+02:00", "limit": "7", "cursor": "abc"},
			want: broker.AuditQuery{Domain: "example.com", HasDomain: true, Type: "grant.revoked", ClientID: "c1", Subject: "alice@example.com",
				Since: since, Until: since, Limit: 7, Cursor: "abc"}},
		{name: "explicit empty domain", params: map[string]string{"domain": ""}, want: broker.AuditQuery{HasDomain: true, Limit: 100}},
		{name: "fractional seconds", params: map[string]string{"since": "2026-01-02T03:04:05.250Z"},
			want: broker.AuditQuery{Since: since.Add(250 * time.Millisecond), Limit: 100}},
		{name: "since not RFC 3339", params: map[string]string{"since": "yesterday"}, wantErr: true},
		{name: "since without zone", params: map[string]string{"since": "2026-01-02T03:04:05"}, wantErr: true},
		{name: "until a date only", params: map[string]string{"until": "2026-01-02"}, wantErr: true},
		{name: "since after until", params: map[string]string{"since": "2026-01-03T00:00:00Z", "until": "2026-01-02T00:00:00Z"}, wantErr: true},
		{name: "limit too big", params: map[string]string{"limit": "1001"}, wantErr: true},
		{name: "limit zero", params: map[string]string{"limit": "0"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q, err := broker.ParseAuditQuery(tc.params)
			if tc.wantErr {
				wantCode(t, err, broker.InvalidRequest)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, q, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("ParseAuditQuery (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListAudit_DomainLimitsAndFilters(t *testing.T) {
	t.Parallel()
	e := newGQEnv(t)
	ids := e.auditTrail(t)
	operator := e.key(t, store.RoleOperator, "")
	auditor := e.key(t, store.RoleAuditor, "example.com")
	introspect := e.key(t, store.RoleIntrospect, "")
	tests := []struct {
		name     string
		caller   broker.APIKeyCaller
		params   map[string]string
		wantIDs  []string // newest first
		wantCode broker.ErrorCode
	}{
		{name: "operator, one domain", caller: operator, params: map[string]string{"domain": "other.org"}, wantIDs: reversed(ids["other.org"])},
		{name: "operator, the domain-less chain", caller: operator, params: map[string]string{"domain": ""}, wantIDs: ids[""]},
		{name: "limited auditor without domain sees its own", caller: auditor, wantIDs: reversed(ids["example.com"])},
		{name: "limited auditor, its domain", caller: auditor, params: map[string]string{"domain": "example.com"}, wantIDs: reversed(ids["example.com"])},
		{name: "limited auditor, another domain", caller: auditor, params: map[string]string{"domain": "other.org"}, wantCode: broker.Forbidden},
		{name: "limited auditor, the domain-less chain", caller: auditor, params: map[string]string{"domain": ""}, wantCode: broker.Forbidden},
		{name: "introspect role", caller: introspect, params: map[string]string{"domain": "example.com"}, wantCode: broker.Forbidden},
		{name: "type filter", caller: operator, params: map[string]string{"domain": "example.com", "type": broker.EvTokenIssued},
			wantIDs: []string{ids["example.com"][3], ids["example.com"][1]}},
		{name: "subject filter", caller: operator, params: map[string]string{"subject": "carol@other.org", "limit": "2"},
			wantIDs: []string{ids["other.org"][3], ids["other.org"][2]}},
		{name: "client filter", caller: operator, params: map[string]string{"client_id": "unknown-client"}, wantIDs: ids[""]},
		{name: "since and until", caller: operator, params: map[string]string{"domain": "example.com",
			"since": "2026-03-10T12:00:02Z", "until": "2026-03-10T12:00:06Z"}, wantIDs: []string{ids["example.com"][2], ids["example.com"][1]}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := broker.ParseAuditQuery(tc.params)
			if err != nil {
				t.Fatal(err)
			}
			page, err := e.b.ListAudit(e.ctx, tc.caller, q)
			wantCode(t, err, tc.wantCode)
			if tc.wantCode != "" {
				return
			}
			if diff := cmp.Diff(tc.wantIDs, eventIDs(page.Events)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListAudit_UnlimitedKeySeesEveryChainNewestFirst(t *testing.T) {
	t.Parallel()
	e := newGQEnv(t)
	ids := e.auditTrail(t)
	page, err := e.b.ListAudit(e.ctx, e.key(t, store.RoleAuditor, ""), broker.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ids["example.com"]) + len(ids["other.org"]) + len(ids[""]); len(page.Events) != n {
		t.Fatalf("%d events, want %d", len(page.Events), n)
	}
	if page.Events[0].ID != ids[""][0] {
		t.Errorf("newest event = %s, want the domain-less one recorded last", page.Events[0].ID)
	}
	for i := 1; i < len(page.Events); i++ {
		if page.Events[i].Time > page.Events[i-1].Time {
			t.Errorf("event %d is newer than event %d", i, i-1)
		}
	}
}

func TestListAudit_Paging(t *testing.T) {
	t.Parallel()
	e := newGQEnv(t)
	ids := e.auditTrail(t)
	op := e.key(t, store.RoleOperator, "")
	q := broker.AuditQuery{Domain: "example.com", HasDomain: true, Limit: 3}
	var got []string
	for pages := 0; ; pages++ {
		if pages > 4 {
			t.Fatal("paging does not end")
		}
		page, err := e.b.ListAudit(e.ctx, op, q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, eventIDs(page.Events)...)
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	if diff := cmp.Diff(reversed(ids["example.com"]), got); diff != "" {
		t.Errorf("paged events (-want +got):\n%s", diff)
	}
	q.Cursor = "not-a-cursor"
	_, err := e.b.ListAudit(e.ctx, op, q)
	wantCode(t, err, broker.InvalidRequest)
}

func TestExportAudit_OldestFirstWithinLimits(t *testing.T) {
	t.Parallel()
	e := newGQEnv(t)
	ids := e.auditTrail(t)
	export := func(caller broker.APIKeyCaller, q broker.AuditQuery) ([]string, error) {
		var got []string
		err := e.b.ExportAudit(e.ctx, caller, q, func(ev broker.Event) error {
			got = append(got, ev.ID)
			return nil
		})
		return got, err
	}
	auditor := e.key(t, store.RoleAuditor, "example.com")
	got, err := export(auditor, broker.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids["example.com"], got); diff != "" {
		t.Errorf("limited export (-want +got):\n%s", diff)
	}
	if _, err := export(auditor, broker.AuditQuery{Domain: "other.org", HasDomain: true}); err == nil {
		t.Error("a limited key exported another domain")
	} else {
		wantCode(t, err, broker.Forbidden)
	}
	got, err = export(e.key(t, store.RoleOperator, ""), broker.AuditQuery{Domain: "other.org", HasDomain: true, Type: broker.EvDelegatedMinted})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{ids["other.org"][0], ids["other.org"][2]}, got); diff != "" {
		t.Errorf("filtered export (-want +got):\n%s", diff)
	}
	// fn's error stops the export and comes back as is.
	stop := errors.New("client went away")
	n := 0
	err = e.b.ExportAudit(e.ctx, e.key(t, store.RoleOperator, ""), broker.AuditQuery{}, func(broker.Event) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("ExportAudit with a failing fn: %v after %d events, want the fn's error after 1", err, n)
	}
}

func TestVerifyDomain_IntactTrimmedAndBroken(t *testing.T) {
	t.Parallel()
	e := newGQEnv(t)
	ids := e.auditTrail(t)
	n, err := broker.VerifyDomain(e.ctx, e.store, "example.com")
	if err != nil || n != len(ids["example.com"]) {
		t.Fatalf("VerifyDomain(intact) = %d, %v; want %d, nil", n, err, len(ids["example.com"]))
	}
	if n, err := broker.VerifyDomain(e.ctx, e.store, "nothing.example"); err != nil || n != 0 {
		t.Errorf("VerifyDomain(no chain) = %d, %v", n, err)
	}
	// Retention trims the oldest two: the chain still verifies from its anchor.
	if _, err := e.store.TrimAudit(e.ctx, "example.com", time.Date(2026, 3, 10, 12, 0, 3, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if n, err := broker.VerifyDomain(e.ctx, e.store, "example.com"); err != nil || n != 2 {
		t.Fatalf("VerifyDomain(trimmed) = %d, %v; want 2, nil", n, err)
	}

	// An event whose content was changed after hashing (the store does not recompute).
	head, err := e.store.AuditHead(e.ctx, "other.org")
	if err != nil {
		t.Fatal(err)
	}
	bad := store.AuditEvent{ID: "evt_tampered", Time: "2026-03-10T13:00:00.000Z", Type: broker.EvTokenIssued,
		Domain: "other.org", Result: "success", PrevHash: head}
	bad.Hash = audit.Hash(bad)
	bad.Subject = "mallory@other.org"
	if err := e.store.AppendAudit(e.ctx, "other.org", head, []store.AuditEvent{bad}); err != nil {
		t.Fatal(err)
	}
	_, err = broker.VerifyDomain(e.ctx, e.store, "other.org")
	var br *broker.ChainBreak
	if !errors.As(err, &br) || br.Event != "evt_tampered" || !strings.Contains(err.Error(), "evt_tampered") {
		t.Errorf("VerifyDomain(tampered) = %v, want a break naming evt_tampered", err)
	}

	// An event that does not follow its predecessor (one was removed before it).
	head, _ = e.store.AuditHead(e.ctx, "")
	gap := store.AuditEvent{ID: "evt_after_gap", Time: "2026-03-10T13:00:00.000Z", Type: broker.EvClientAuthFailed,
		Result: "failure", PrevHash: strings.Repeat("ab", 32)}
	gap.Hash = audit.Hash(gap)
	if err := e.store.AppendAudit(e.ctx, "", head, []store.AuditEvent{gap}); err != nil {
		t.Fatal(err)
	}
	_, err = broker.VerifyDomain(e.ctx, e.store, "")
	if !errors.As(err, &br) || br.Event != "evt_after_gap" {
		t.Errorf("VerifyDomain(gap) = %v, want a break naming evt_after_gap", err)
	}
}

func TestVerifyExport_TamperedOrMissingEvent(t *testing.T) {
	t.Parallel()
	e := newGQEnv(t)
	e.auditTrail(t)
	var lines []string
	if err := broker.ExportAuditAll(e.ctx, e.store, broker.AuditQuery{}, func(ev broker.Event) error {
		b, err := json.Marshal(ev)
		lines = append(lines, string(b))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	verify := func(ls []string) (int, error) {
		return broker.VerifyExport(strings.NewReader(strings.Join(ls, "\n")+"\n"), nil)
	}
	if n, err := verify(lines); err != nil || n != len(lines) {
		t.Fatalf("VerifyExport(intact) = %d, %v; want %d", n, err, len(lines))
	}
	idOf := func(line string) string {
		var ev store.AuditEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		return ev.ID
	}
	k := len(lines) / 2
	tampered := append([]string{}, lines...)
	tampered[k] = strings.Replace(tampered[k], `"subject":"`, `"subject":"x`, 1)
	removed := append(append([]string{}, lines[:k]...), lines[k+1:]...)
	tests := []struct {
		name   string
		lines  []string
		wantID string
	}{
		{name: "a field changed", lines: tampered, wantID: idOf(lines[k])},
		// Lines alternate domains: the next event of the removed one's domain is two on.
		{name: "an event removed", lines: removed, wantID: idOf(lines[k+2])},
		// Without its first event, example.com's chain starts at its second (line 3).
		{name: "the first event removed", lines: lines[1:], wantID: idOf(lines[2])},
		{name: "not an event", lines: append(append([]string{}, lines...), `{"id":"evt_junk","extra":1}`), wantID: "evt_junk"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify(tc.lines)
			var br *broker.ChainBreak
			if !errors.As(err, &br) || br.Event != tc.wantID || !strings.Contains(err.Error(), tc.wantID) {
				t.Errorf("VerifyExport = %v, want a break naming %s", err, tc.wantID)
			}
		})
	}
	// A blank line is not an event, and not an error.
	if _, err := broker.VerifyExport(bytes.NewBufferString("\n"+strings.Join(lines, "\n\n")), nil); err != nil {
		t.Errorf("VerifyExport with blank lines: %v", err)
	}
}
