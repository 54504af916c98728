package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// listAllAudit follows ListAudit's cursor from the first page to the last and returns every
// event in page order.
func listAllAudit(t *testing.T, s store.Store, f store.AuditFilter) []store.AuditEvent {
	t.Helper()
	var all []store.AuditEvent
	for page := 0; ; page++ {
		if page > 200 {
			t.Fatalf("ListAudit(%+v): still a next cursor after %d pages", f, page)
		}
		got, next, err := s.ListAudit(t.Context(), f)
		if err != nil {
			t.Fatalf("ListAudit(%+v), page %d: %v", f, page+1, err)
		}
		if f.Limit > 0 && len(got) > f.Limit {
			t.Fatalf("ListAudit(%+v) returned %d events, more than the limit", f, len(got))
		}
		all = append(all, got...)
		if next == "" {
			return all
		}
		if len(got) == 0 {
			t.Fatalf("ListAudit(%+v): an empty page with next cursor %q", f, next)
		}
		f.Cursor = next
	}
}

// auditFixture appends 20 events to three chains (a.example, b.example and the domain-less
// chain), one at a time in time order, so that the order of the returned slice is both the
// append order and the time order. No two events share a time.
func auditFixture(t *testing.T, s store.Store) []store.AuditEvent {
	t.Helper()
	types := []string{"token.issued", "code.redeemed", "delegated.minted"}
	subjects := []string{"alice@a.example", "bob@a.example", "", "alice@a.example"}
	var all []store.AuditEvent
	for minute := range 12 {
		e := newEvent("a.example", name("evt_a%02d", minute), at(time.Duration(minute)*time.Minute))
		e.Type, e.ClientID, e.Subject = types[minute%3], []string{"cli_1", "cli_2"}[minute%2], subjects[minute%4]
		all = append(all, appendChain(t, s, e.Domain, e)...)
		if minute < 5 {
			e := newEvent("b.example", name("evt_b%02d", minute), at(time.Duration(minute)*time.Minute+20*time.Second))
			e.Type = types[minute%2]
			all = append(all, appendChain(t, s, e.Domain, e)...)
		}
		if minute < 3 {
			e := newEvent("", name("evt_n%02d", minute), at(time.Duration(minute)*time.Minute+40*time.Second))
			e.Type, e.ClientID, e.Subject, e.Result, e.Error = "client_auth.failed", "cli_unknown", "", "failure", "invalid_client"
			all = append(all, appendChain(t, s, e.Domain, e)...)
		}
	}
	return all
}

// matches is the reference implementation of AuditFilter (without Cursor and Limit).
func matches(t *testing.T, f store.AuditFilter, e store.AuditEvent) bool {
	when, err := time.Parse(time.RFC3339Nano, e.Time)
	if err != nil {
		t.Fatalf("fixture time %q: %v", e.Time, err)
	}
	return (f.AllDomains || e.Domain == f.Domain) &&
		(f.Type == "" || e.Type == f.Type) &&
		(f.ClientID == "" || e.ClientID == f.ClientID) &&
		(f.Subject == "" || e.Subject == f.Subject) &&
		(f.Since.IsZero() || !when.Before(f.Since)) &&
		(f.Until.IsZero() || when.Before(f.Until))
}

func testAuditList(t *testing.T, open Opener) {
	t.Run("ListAndExportFilters", func(t *testing.T) {
		ctx, s := fresh(t, open)
		all := auditFixture(t, s)
		_, someCursor, err := s.ListAudit(ctx, store.AuditFilter{AllDomains: true, Limit: 2})
		must(t, "ListAudit", err)
		filters := []struct {
			name string
			f    store.AuditFilter
		}{
			{"domain", store.AuditFilter{Domain: "a.example"}},
			{"another domain", store.AuditFilter{Domain: "b.example"}},
			{"the domain-less chain", store.AuditFilter{Domain: ""}},
			{"unknown domain", store.AuditFilter{Domain: "nobody.example"}},
			{"all domains", store.AuditFilter{AllDomains: true}},
			{"type", store.AuditFilter{Domain: "a.example", Type: "code.redeemed"}},
			{"client", store.AuditFilter{Domain: "a.example", ClientID: "cli_2"}},
			{"subject", store.AuditFilter{Domain: "a.example", Subject: "alice@a.example"}},
			{"since, inclusive", store.AuditFilter{Domain: "a.example", Since: at(4 * time.Minute)}},
			{"until, exclusive", store.AuditFilter{Domain: "a.example", Until: at(8 * time.Minute)}},
			{"since, until and type", store.AuditFilter{Domain: "a.example", Since: at(3 * time.Minute), Until: at(9 * time.Minute), Type: "token.issued"}},
			{"client and subject", store.AuditFilter{Domain: "a.example", ClientID: "cli_1", Subject: "alice@a.example"}},
			{"all domains, type", store.AuditFilter{AllDomains: true, Type: "token.issued"}},
			{"all domains, client", store.AuditFilter{AllDomains: true, ClientID: "cli_unknown"}},
			{"all domains, window", store.AuditFilter{AllDomains: true, Since: at(2 * time.Minute), Until: at(4 * time.Minute)}},
			{"since to the millisecond", store.AuditFilter{AllDomains: true, Since: at(2*time.Minute + 20*time.Second + ms)}},
			{"since exactly an event", store.AuditFilter{AllDomains: true, Since: at(2*time.Minute + 20*time.Second)}},
			{"until exactly an event", store.AuditFilter{AllDomains: true, Until: at(2*time.Minute + 40*time.Second)}},
			{"nothing matches", store.AuditFilter{Domain: "a.example", Type: "grant.revoked"}},
		}
		for _, tc := range filters {
			var want []store.AuditEvent
			for _, e := range all {
				if matches(t, tc.f, e) {
					want = append(want, e)
				}
			}
			for _, limit := range []int{0, 1, 3, 7} {
				f := tc.f
				f.Limit = limit
				got := listAllAudit(t, s, f)
				if d := diff(reversed(want), got); d != "" {
					t.Errorf("ListAudit %s, limit %d: every page, newest first (-want +got):\n%s", tc.name, limit, d)
				}
			}
			// Export streams the same events oldest first, ignoring Cursor and Limit.
			f := tc.f
			f.Limit, f.Cursor = 2, someCursor
			if d := diff(want, exportAll(t, s, f)); d != "" {
				t.Errorf("ExportAudit %s, oldest first (-want +got):\n%s", tc.name, d)
			}
		}
	})
	t.Run("ListPagingTies", func(t *testing.T) {
		_, s := fresh(t, open)
		const d, u = "t.example", "u.example"
		// Many events share a millisecond in a busy domain; the chain order still decides.
		var events []store.AuditEvent
		for i := range 30 {
			when := at(time.Minute)
			if i < 3 {
				when = at(0)
			} else if i >= 28 {
				when = at(2 * time.Minute)
			}
			// Ids in no particular order, so that ordering ties by id is caught.
			events = append(events, newEvent(d, "evt_"+hashOf(name("t%d", i))[:12], when))
		}
		// Events are appended in time order overall (as a broker's clock makes them), but
		// those of u.example interleave with t.example's within the shared minute.
		var chain, others []store.AuditEvent
		addOthers := func(n int) {
			for range n {
				e := newEvent(u, "evt_"+hashOf(name("u%d", len(others)))[:12], at(time.Minute))
				others = append(others, appendChain(t, s, u, e)...)
			}
		}
		for _, batch := range [][2]int{{0, 1}, {1, 5}, {5, 15}, {15, 16}, {16, 28}, {28, 29}, {29, 30}} {
			chain = append(chain, appendChain(t, s, d, events[batch[0]:batch[1]]...)...)
			switch batch[1] {
			case 15:
				addOthers(3)
			case 16:
				addOthers(2)
			}
		}
		for _, limit := range []int{1, 4, 10} {
			got := listAllAudit(t, s, store.AuditFilter{Domain: d, Limit: limit})
			if df := diff(reversed(chain), got); df != "" {
				t.Errorf("ListAudit limit %d over events sharing a time: want reverse chain order (-want +got):\n%s", limit, df)
			}
			got = listAllAudit(t, s, store.AuditFilter{AllDomains: true, Limit: limit})
			checkMerged(t, limit, got, reversed(chain), reversed(others))
		}
		wantExport(t, s, d, chain)
		if got := exportAll(t, s, store.AuditFilter{AllDomains: true}); len(got) == len(chain)+len(others) {
			checkMerged(t, 0, reversed(got), reversed(chain), reversed(others))
		} else {
			t.Errorf("ExportAudit all domains: %d events, want %d", len(got), len(chain)+len(others))
		}
	})
	t.Run("CursorSurvivesAppends", func(t *testing.T) {
		ctx, s := fresh(t, open)
		const d, o = "example.com", "other.example"
		var chain, others []store.AuditEvent
		for i := range 12 {
			chain = append(chain, appendChain(t, s, d, newEvent(d, name("evt_%02d", i), at(time.Duration(i)*time.Second)))...)
			others = append(others, appendChain(t, s, o, newEvent(o, name("evt_o%02d", i), at(time.Duration(i)*time.Second+500*ms)))...)
		}
		for _, f := range []store.AuditFilter{{Domain: d, Limit: 5}, {AllDomains: true, Limit: 5}} {
			var want []store.AuditEvent
			for i := range chain {
				want = append(want, chain[i])
				if f.AllDomains {
					want = append(want, others[i])
				}
			}
			want = reversed(want)
			page, next, err := s.ListAudit(ctx, f)
			must(t, "ListAudit", err)
			// The broker keeps writing while an auditor pages: newer events must not shift
			// the pages already started.
			now := at(time.Minute + time.Duration(len(chain))*time.Second)
			chain = append(chain, appendChain(t, s, d, newEvent(d, name("evt_new_%d", len(chain)), now))...)
			others = append(others, appendChain(t, s, o, newEvent(o, name("evt_new_o%d", len(others)), now.Add(500*ms)))...)
			f.Cursor = next
			got := append(page, listAllAudit(t, s, f)...)
			if df := diff(want, got); df != "" {
				t.Errorf("ListAudit (all domains %v) with appends between pages (-want +got):\n%s", f.AllDomains, df)
			}
		}
	})
	t.Run("AllDomainsAcrossDays", testAllDomainsAcrossDays(open))
	t.Run("ListDefaultLimit", func(t *testing.T) {
		ctx, s := fresh(t, open)
		const d = "example.com"
		var events []store.AuditEvent
		for i := range 105 {
			events = append(events, newEvent(d, name("evt_%03d", i), at(time.Duration(i)*time.Second)))
		}
		chain := appendChain(t, s, d, events...)
		page, next, err := s.ListAudit(ctx, store.AuditFilter{Domain: d})
		must(t, "ListAudit", err)
		if len(page) != 100 || next == "" {
			t.Fatalf("ListAudit without a limit: %d events, next %q; want the default 100 and a cursor", len(page), next)
		}
		rest, next, err := s.ListAudit(ctx, store.AuditFilter{Domain: d, Cursor: next})
		must(t, "ListAudit page 2", err)
		if df := diff(reversed(chain), append(page, rest...)); df != "" || next != "" {
			t.Errorf("ListAudit two default pages (next %q) (-want +got):\n%s", next, df)
		}
	})
	t.Run("ExportStopsAtError", func(t *testing.T) {
		ctx, s := fresh(t, open)
		const d = "example.com"
		appendChain(t, s, d, newEvent(d, "evt_1", at(0)), newEvent(d, "evt_2", at(time.Second)),
			newEvent(d, "evt_3", at(2*time.Second)), newEvent(d, "evt_4", at(3*time.Second)))
		stop := errors.New("reader went away")
		calls := 0
		err := s.ExportAudit(ctx, store.AuditFilter{Domain: d}, func(store.AuditEvent) error {
			calls++
			if calls == 2 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || calls != 2 {
			t.Errorf("ExportAudit with fn failing at the 2nd event: error %v after %d calls; want fn's error after 2", err, calls)
		}
	})
}

// testAllDomainsAcrossDays lists and exports every domain's events over several UTC days
// (a backend may partition its all-domains index by day): pages and windows that cross
// midnight, a batch that spans it, a day without events, and a trim that empties a day.
func testAllDomainsAcrossDays(open Opener) func(t *testing.T) {
	return func(t *testing.T) {
		ctx, s := fresh(t, open)
		const a, b, n = "a.example", "b.example", ""
		midnight := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC) // base is 2026-11-25 10:00
		day := func(d int, off time.Duration) time.Time { return midnight.Add(time.Duration(d)*24*time.Hour + off) }
		made := 0
		ev := func(domain string, when time.Time) store.AuditEvent {
			made++
			return newEvent(domain, name("evt_%02d", made), when)
		}
		// No two domains share a millisecond, so the all-domains order is the time order.
		var all []store.AuditEvent
		add := func(domain string, events ...store.AuditEvent) {
			all = append(all, appendChain(t, s, domain, events...)...)
		}
		add(a, ev(a, day(-1, 0)))
		add(b, ev(b, day(-1, 2*time.Hour)))
		add(a, ev(a, day(0, -2*time.Second)), ev(a, day(0, -2*time.Second))) // a tie within a chain
		add(b, ev(b, day(0, -1500*ms)))
		// One append across midnight.
		add(a, ev(a, day(0, -ms)), ev(a, day(0, 0)), ev(a, day(0, ms)))
		add(b, ev(b, day(0, 2*ms)))
		add(n, ev(n, day(0, 12*time.Hour)))
		add(b, ev(b, day(1, -ms)), ev(b, day(1, 5*ms)))
		add(a, ev(a, day(1, 0)))
		add(n, ev(n, day(3, 8*time.Hour))) // after a day without events
		slices.SortStableFunc(all, func(x, y store.AuditEvent) int { return strings.Compare(x.Time, y.Time) })

		windows := []struct {
			name string
			f    store.AuditFilter
		}{
			{"every day", store.AuditFilter{AllDomains: true}},
			{"since the last second of a day", store.AuditFilter{AllDomains: true, Since: day(0, -time.Second)}},
			{"since midnight exactly", store.AuditFilter{AllDomains: true, Since: day(0, 0)}},
			{"until midnight exactly", store.AuditFilter{AllDomains: true, Until: day(0, 0)}},
			{"until a millisecond after midnight", store.AuditFilter{AllDomains: true, Until: day(0, ms)}},
			{"across one midnight", store.AuditFilter{AllDomains: true, Since: day(0, -2*time.Second), Until: day(0, time.Hour)}},
			{"across two midnights", store.AuditFilter{AllDomains: true, Since: day(-1, time.Hour), Until: day(1, 3*ms)}},
			{"from and to days without events", store.AuditFilter{AllDomains: true, Since: day(-3, 0), Until: day(2, time.Hour)}},
			{"within a day without events", store.AuditFilter{AllDomains: true, Since: day(2, 0), Until: day(3, 0)}},
			{"since a day without events", store.AuditFilter{AllDomains: true, Since: day(2, time.Hour)}},
			{"type, across days", store.AuditFilter{AllDomains: true, Type: "token.issued", Since: day(0, -time.Hour)}},
		}
		check := func(when string) {
			for _, tc := range windows {
				var want []store.AuditEvent
				for _, e := range all {
					if matches(t, tc.f, e) {
						want = append(want, e)
					}
				}
				for _, limit := range []int{0, 1, 2, 3, 5} {
					f := tc.f
					f.Limit = limit
					if d := diff(reversed(want), listAllAudit(t, s, f)); d != "" {
						t.Errorf("%s: ListAudit %s, limit %d: every page, newest first (-want +got):\n%s", when, tc.name, limit, d)
					}
				}
				if d := diff(want, exportAll(t, s, tc.f)); d != "" {
					t.Errorf("%s: ExportAudit %s, oldest first (-want +got):\n%s", when, tc.name, d)
				}
			}
		}
		check("before any trim")

		// Trimming a.example up to midnight leaves the first day to b.example; trimming
		// b.example up to the next midnight empties it.
		wantTrim(t, s, a, day(0, 0), 4)
		all = slices.DeleteFunc(all, func(e store.AuditEvent) bool { return e.Domain == a && e.Time < auditTime(day(0, 0)) })
		check("after trimming a.example to midnight")
		wantTrim(t, s, b, day(1, 0), 4)
		all = slices.DeleteFunc(all, func(e store.AuditEvent) bool { return e.Domain == b && e.Time < auditTime(day(1, 0)) })
		check("after trimming b.example to the next midnight")
		_, next, err := s.ListAudit(ctx, store.AuditFilter{AllDomains: true, Limit: len(all)})
		must(t, "ListAudit", err)
		if next != "" {
			t.Errorf("ListAudit of every kept event in one page: next cursor %q, want none", next)
		}
	}
}

// checkMerged checks an all-domains listing (newest first) of two chains whose events may
// share times: every event once, times never increasing, and each chain in its own order.
func checkMerged(t *testing.T, limit int, got []store.AuditEvent, chains ...[]store.AuditEvent) {
	t.Helper()
	byDomain := map[string][]store.AuditEvent{}
	for i, e := range got {
		byDomain[e.Domain] = append(byDomain[e.Domain], e)
		if i > 0 && got[i-1].Time < e.Time {
			t.Errorf("all domains, limit %d: %s (%s) after the older %s (%s)", limit, e.ID, e.Time, got[i-1].ID, got[i-1].Time)
		}
	}
	for _, c := range chains {
		if d := diff(c, byDomain[c[0].Domain]); d != "" {
			t.Errorf("all domains, limit %d: events of %s (-want +got):\n%s", limit, c[0].Domain, d)
		}
	}
	if n := len(chains[0]) + len(chains[1]); len(got) != n {
		t.Errorf("all domains, limit %d: %d events, want %d", limit, len(got), n)
	}
}
