package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// auditTime formats t as the broker writes AuditEvent.Time: RFC 3339 UTC with milliseconds
// (SPEC §9).
func auditTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// newEvent returns an unchained event with every field set.
func newEvent(domain, eid string, when time.Time) store.AuditEvent {
	return store.AuditEvent{
		ID:        eid,
		Time:      auditTime(when),
		Type:      "token.issued",
		Domain:    domain,
		ClientID:  "cli_1",
		GrantID:   id("ser_", "audit "+domain),
		Actor:     "admin@" + domain,
		Subject:   "alice@" + domain,
		Scope:     "read_account read_free_busy",
		Result:    "success",
		IP:        "192.0.2.1",
		RequestID: "req-" + eid,
	}
}

// link chains events after prev. The store does not verify hashes, so any unique value does.
func link(prev string, events []store.AuditEvent) []store.AuditEvent {
	for i := range events {
		events[i].PrevHash = prev
		events[i].Hash = hashOf(events[i].Domain + "|" + events[i].ID + "|" + prev)
		prev = events[i].Hash
	}
	return events
}

// appendChain links events after the domain's head, appends them and returns them linked.
func appendChain(t *testing.T, s store.Store, domain string, events ...store.AuditEvent) []store.AuditEvent {
	t.Helper()
	head, err := s.AuditHead(t.Context(), domain)
	must(t, "AuditHead", err)
	events = link(head, events)
	must(t, "AppendAudit "+domain, s.AppendAudit(t.Context(), domain, head, events))
	return events
}

// wantHead fails the test unless the domain's head is want.
func wantHead(t *testing.T, s store.Store, domain, want string) {
	t.Helper()
	head, err := s.AuditHead(t.Context(), domain)
	must(t, "AuditHead", err)
	if head != want {
		t.Errorf("AuditHead(%q) = %q, want %q", domain, head, want)
	}
}

// exportAll collects ExportAudit(f).
func exportAll(t *testing.T, s store.Store, f store.AuditFilter) []store.AuditEvent {
	t.Helper()
	var got []store.AuditEvent
	must(t, "ExportAudit", s.ExportAudit(t.Context(), f, func(e store.AuditEvent) error {
		got = append(got, e)
		return nil
	}))
	return got
}

// wantExport fails the test unless ExportAudit of domain yields exactly want.
func wantExport(t *testing.T, s store.Store, domain string, want []store.AuditEvent) {
	t.Helper()
	if d := diff(want, exportAll(t, s, store.AuditFilter{Domain: domain})); d != "" {
		t.Errorf("ExportAudit(%q), oldest first (-want +got):\n%s", domain, d)
	}
}

// reversed returns a reversed copy of es.
func reversed(es []store.AuditEvent) []store.AuditEvent {
	r := slices.Clone(es)
	slices.Reverse(r)
	return r
}

func testAudit(t *testing.T, open Opener) {
	t.Run("Empty", func(t *testing.T) {
		ctx, s := fresh(t, open)
		for _, domain := range []string{"example.com", ""} {
			wantHead(t, s, domain, "")
			anchor, err := s.AuditAnchor(ctx, domain)
			must(t, "AuditAnchor", err)
			if anchor != "" {
				t.Errorf("AuditAnchor(%q) of an empty store = %q, want \"\"", domain, anchor)
			}
			n, err := s.TrimAudit(ctx, domain, at(time.Hour))
			must(t, "TrimAudit", err)
			if n != 0 {
				t.Errorf("TrimAudit(%q) of an empty store removed %d", domain, n)
			}
			wantExport(t, s, domain, nil)
		}
		page, next, err := s.ListAudit(ctx, store.AuditFilter{AllDomains: true})
		must(t, "ListAudit", err)
		if len(page) != 0 || next != "" {
			t.Errorf("ListAudit of an empty store: %d events, next %q", len(page), next)
		}
		domains, err := s.AuditDomains(ctx)
		must(t, "AuditDomains", err)
		if len(domains) != 0 {
			t.Errorf("AuditDomains of an empty store = %q", domains)
		}
	})
	t.Run("AppendAndHead", func(t *testing.T) {
		ctx, s := fresh(t, open)
		const d = "example.com"
		full := newEvent(d, "evt_1", at(5*ms))
		full.Type, full.Result, full.Error = "code.reused", "failure", "invalid_grant"
		sparse := store.AuditEvent{ID: "evt_2", Time: auditTime(at(time.Second)), Type: "signin.failed", Domain: d, Result: "failure"}
		e1 := appendChain(t, s, d, full)
		if e1[0].PrevHash != "" {
			t.Fatalf("genesis PrevHash = %q", e1[0].PrevHash)
		}
		wantHead(t, s, d, e1[0].Hash)
		e2 := appendChain(t, s, d, sparse)
		wantHead(t, s, d, e2[0].Hash)
		chain := slices.Concat(e1, e2)
		wantExport(t, s, d, chain)
		page, next, err := s.ListAudit(ctx, store.AuditFilter{Domain: d})
		must(t, "ListAudit", err)
		if df := diff(reversed(chain), page); df != "" || next != "" {
			t.Errorf("ListAudit, newest first (next %q) (-want +got):\n%s", next, df)
		}
	})
	t.Run("AppendConflict", func(t *testing.T) {
		ctx, s := fresh(t, open)
		const d = "example.com"
		chain := appendChain(t, s, d, newEvent(d, "evt_1", at(0)), newEvent(d, "evt_2", at(time.Second)))
		other := appendChain(t, s, "other.example", newEvent("other.example", "evt_o1", at(0)))
		for _, tc := range []struct {
			name, prev string
			n          int
		}{
			{"genesis on a started chain", "", 1},
			{"a stale head", chain[0].Hash, 1},
			{"a stale head, batch", chain[0].Hash, 3},
			{"another domain's head", other[0].Hash, 1},
			{"an unknown head", hashOf("nothing"), 2},
		} {
			var batch []store.AuditEvent
			for i := range tc.n {
				batch = append(batch, newEvent(d, name("evt_%s_%d", tc.name, i), at(time.Minute)))
			}
			err := s.AppendAudit(ctx, d, tc.prev, link(tc.prev, batch))
			wantErr(t, "AppendAudit on "+tc.name, err, store.ErrConflict)
		}
		wantHead(t, s, d, chain[1].Hash)
		wantExport(t, s, d, chain)
		wantExport(t, s, "other.example", other)
		more := appendChain(t, s, d, newEvent(d, "evt_3", at(2*time.Second)))
		wantExport(t, s, d, slices.Concat(chain, more))
	})
	t.Run("AppendBatch", func(t *testing.T) {
		_, s := fresh(t, open)
		const d = "example.com"
		first := appendChain(t, s, d, newEvent(d, "evt_1", at(0)))
		batch := appendChain(t, s, d, newEvent(d, "evt_2", at(time.Second)), newEvent(d, "evt_3", at(time.Second)), newEvent(d, "evt_4", at(2*time.Second)))
		wantHead(t, s, d, batch[2].Hash)
		last := appendChain(t, s, d, newEvent(d, "evt_5", at(3*time.Second)))
		chain := slices.Concat(first, batch, last)
		wantExport(t, s, d, chain)
		// A genesis batch on a fresh chain, in the domain-less chain.
		none := appendChain(t, s, "", newEvent("", "evt_n1", at(0)), newEvent("", "evt_n2", at(0)))
		wantHead(t, s, "", none[1].Hash)
		wantExport(t, s, "", none)
	})
	t.Run("AppendRace", func(t *testing.T) {
		ctx, s := fresh(t, open)
		const d, n = "example.com", 50
		errs := race(n, func(i int) error {
			for attempt := range 500 {
				head, err := s.AuditHead(ctx, d)
				if err != nil {
					return err
				}
				e := link(head, []store.AuditEvent{newEvent(d, name("evt_%02d_%d", i, attempt), at(0))})
				err = s.AppendAudit(ctx, d, head, e)
				if !errors.Is(err, store.ErrConflict) {
					return err
				}
			}
			return errors.New("still ErrConflict after 500 attempts")
		})
		for i, err := range errs {
			must(t, name("appender %d", i), err)
		}
		got := exportAll(t, s, store.AuditFilter{Domain: d})
		if len(got) != n {
			t.Fatalf("%d appenders left %d events, want %d", n, len(got), n)
		}
		prev, writers := "", map[string]bool{}
		for i, e := range got {
			if e.PrevHash != prev {
				t.Fatalf("event %d (%s): PrevHash %q, want the previous event's hash %q: the chain forked, or the export is not in chain order", i, e.ID, e.PrevHash, prev)
			}
			prev = e.Hash
			writers[e.ID[:len("evt_00")]] = true
		}
		if len(writers) != n {
			t.Errorf("events from %d appenders, want %d", len(writers), n)
		}
		wantHead(t, s, d, prev)
	})
	t.Run("Trim", testTrim(open))
	t.Run("TrimEverything", testTrimEverything(open))
	t.Run("Domains", func(t *testing.T) {
		ctx, s := fresh(t, open)
		for i, d := range []string{"b.example", "a.example", "", "b.example"} {
			appendChain(t, s, d, newEvent(d, name("evt_%d", i), at(0)))
		}
		got, err := s.AuditDomains(ctx)
		must(t, "AuditDomains", err)
		slices.Sort(got)
		if d := diff([]string{"", "a.example", "b.example"}, got); d != "" {
			t.Errorf("AuditDomains (-want +got):\n%s", d)
		}
	})
	testAuditList(t, open)
}
