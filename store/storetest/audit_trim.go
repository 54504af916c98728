package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// wantAnchor fails the test unless the domain's anchor is want.
func wantAnchor(t *testing.T, s store.Store, domain, want string) {
	t.Helper()
	anchor, err := s.AuditAnchor(t.Context(), domain)
	must(t, "AuditAnchor", err)
	if anchor != want {
		t.Errorf("AuditAnchor(%q) = %q, want %q", domain, anchor, want)
	}
}

// wantTrim calls TrimAudit and checks how many events it removed.
func wantTrim(t *testing.T, s store.Store, domain string, before time.Time, want int) {
	t.Helper()
	n, err := s.TrimAudit(t.Context(), domain, before)
	must(t, "TrimAudit", err)
	if n != want {
		t.Errorf("TrimAudit(%q, %v) removed %d events, want %d", domain, before, n, want)
	}
}

func testTrim(open Opener) func(t *testing.T) {
	return func(t *testing.T) {
		_, s := fresh(t, open)
		const d, o = "example.com", "other.example"
		var events []store.AuditEvent
		for i := range 10 {
			events = append(events, newEvent(d, name("evt_%d", i), at(time.Duration(i)*time.Minute)))
		}
		chain := appendChain(t, s, d, events...)
		other := appendChain(t, s, o, newEvent(o, "evt_o1", at(0)), newEvent(o, "evt_o2", at(time.Minute)))

		// Events strictly older than before go; the one at before stays.
		wantTrim(t, s, d, at(5*time.Minute), 5)
		wantAnchor(t, s, d, chain[4].Hash)
		wantHead(t, s, d, chain[9].Hash)
		wantExport(t, s, d, chain[5:])
		if got := listAllAudit(t, s, store.AuditFilter{Domain: d, Limit: 3}); len(got) != 5 {
			t.Errorf("ListAudit after trim: %d events, want 5", len(got))
		}
		if kept := exportAll(t, s, store.AuditFilter{Domain: d}); len(kept) > 0 && kept[0].PrevHash != chain[4].Hash {
			t.Errorf("oldest kept event's PrevHash %q is not the anchor %q", kept[0].PrevHash, chain[4].Hash)
		}
		// Other domains are untouched.
		wantExport(t, s, o, other)
		wantAnchor(t, s, o, "")

		// Trimming again with the same or an earlier bound removes nothing and keeps the anchor.
		wantTrim(t, s, d, at(5*time.Minute), 0)
		wantTrim(t, s, d, at(time.Minute), 0)
		wantAnchor(t, s, d, chain[4].Hash)

		// The chain goes on from its head.
		more := appendChain(t, s, d, newEvent(d, "evt_10", at(10*time.Minute)))
		if more[0].PrevHash != chain[9].Hash {
			t.Fatalf("append after trim linked to %q", more[0].PrevHash)
		}
		wantExport(t, s, d, slices.Concat(chain[5:], more))
		wantTrim(t, s, d, at(7*time.Minute+30*time.Second), 3)
		wantAnchor(t, s, d, chain[7].Hash)
		wantExport(t, s, d, slices.Concat(chain[8:], more))
	}
}

func testTrimEverything(open Opener) func(t *testing.T) {
	return func(t *testing.T) {
		ctx, s := fresh(t, open)
		const d = "" // the chain of events without a domain
		chain := appendChain(t, s, d, newEvent(d, "evt_1", at(0)), newEvent(d, "evt_2", at(time.Minute)), newEvent(d, "evt_3", at(2*time.Minute)))
		kept := appendChain(t, s, "example.com", newEvent("example.com", "evt_k", at(0)))

		wantTrim(t, s, d, at(time.Hour), 3)
		wantAnchor(t, s, d, chain[2].Hash)
		wantHead(t, s, d, chain[2].Hash) // the anchor, once every event is gone
		wantExport(t, s, d, nil)
		if got := listAllAudit(t, s, store.AuditFilter{Domain: d}); len(got) != 0 {
			t.Errorf("ListAudit after trimming everything: %d events", len(got))
		}
		wantExport(t, s, "example.com", kept)

		// A trimmed chain does not start over at genesis.
		genesis := link("", []store.AuditEvent{newEvent(d, "evt_genesis", at(time.Hour))})
		wantErr(t, "AppendAudit genesis after trim", s.AppendAudit(ctx, d, "", genesis), store.ErrConflict)

		more := appendChain(t, s, d, newEvent(d, "evt_4", at(time.Hour)))
		if more[0].PrevHash != chain[2].Hash {
			t.Fatalf("append after trimming everything linked to %q, want the anchor", more[0].PrevHash)
		}
		wantHead(t, s, d, more[0].Hash)
		wantExport(t, s, d, more)
		wantAnchor(t, s, d, chain[2].Hash)

		wantTrim(t, s, d, at(2*time.Hour), 1)
		wantAnchor(t, s, d, more[0].Hash)
		wantHead(t, s, d, more[0].Hash)
	}
}
