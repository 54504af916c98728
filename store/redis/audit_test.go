package redis

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/enterprise-connect/broker/store"
)

// eachRedis runs fn against miniredis and, when REDIS_URL is set, against the real Redis
// under a prefix of its own (deleted at cleanup).
func eachRedis(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Run("miniredis", func(t *testing.T) {
		t.Parallel()
		_, s := openMini(t)
		fn(t, s)
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		if url := realURL(t); url != "" {
			fn(t, openReal(t, url, randomPrefix(t)))
		}
	})
}

// appendAt appends one event of domain per time, chained after the domain's head.
func appendAt(t *testing.T, s *Store, domain string, times ...time.Time) {
	t.Helper()
	head, err := s.AuditHead(t.Context(), domain)
	must(t, err)
	prev := head
	var events []store.AuditEvent
	for _, when := range times {
		e := store.AuditEvent{ID: fmt.Sprintf("e_%s_%d", domain, when.UnixMilli()), Domain: domain,
			Time: when.UTC().Format("2006-01-02T15:04:05.000Z07:00"), PrevHash: prev}
		e.Hash = fmt.Sprintf("h_%s_%d_%d", domain, when.UnixMilli(), len(events))
		events, prev = append(events, e), e.Hash
	}
	must(t, s.AppendAudit(t.Context(), domain, head, events))
}

// partitions returns the all-domains index as agd lists it: day -> members of ag:<day>.
// A day whose partition is missing maps to nil.
func partitions(t *testing.T, s *Store) map[string][]string {
	t.Helper()
	ctx := t.Context()
	days, err := s.c.ZRange(ctx, s.key("agd"), 0, -1).Result()
	must(t, err)
	out := map[string][]string{}
	for _, d := range days {
		members, err := s.c.ZRange(ctx, s.key("ag:"+d), 0, -1).Result()
		must(t, err)
		out[d] = members
	}
	return out
}

// TestAppendAudit_PartitionsByUTCDay: each event joins the partition of its own UTC day,
// also within one batch across midnight, and each day joins agd once.
func TestAppendAudit_PartitionsByUTCDay(t *testing.T) {
	t.Parallel()
	eachRedis(t, func(t *testing.T, s *Store) {
		midnight := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		appendAt(t, s, "a.example", midnight.Add(-time.Millisecond), midnight, midnight.Add(time.Millisecond))
		appendAt(t, s, "", midnight.Add(30*time.Hour))
		got := partitions(t, s)
		want := map[string][]string{
			"20260228": {timeKey(midnight.Add(-time.Millisecond).UnixMilli()) + ":0000000000000001:a.example"},
			"20260301": {
				timeKey(midnight.UnixMilli()) + ":0000000000000002:a.example",
				timeKey(midnight.Add(time.Millisecond).UnixMilli()) + ":0000000000000003:a.example",
			},
			"20260302": {timeKey(midnight.Add(30*time.Hour).UnixMilli()) + ":0000000000000001:"},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("day partitions after appends across midnight (-want +got):\n%s", d)
		}
	})
}

// TestTrimAudit_WholeDay_DropsItsPartition: a trim that removes a day's last event deletes
// the day's partition and its agd entry; a day another domain still uses stays.
func TestTrimAudit_WholeDay_DropsItsPartition(t *testing.T) {
	t.Parallel()
	eachRedis(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		day := func(d int, h time.Duration) time.Time {
			return time.Date(2026, 3, 1+d, 0, 0, 0, 0, time.UTC).Add(h)
		}
		appendAt(t, s, "a.example", day(0, time.Hour), day(0, 23*time.Hour), day(1, time.Hour), day(2, time.Hour))
		appendAt(t, s, "b.example", day(1, 2*time.Hour))

		// A whole day of a.example: its partition and its day go.
		n, err := s.TrimAudit(ctx, "a.example", day(1, 0))
		must(t, err)
		if n != 2 {
			t.Fatalf("TrimAudit to the second day removed %d events, want 2", n)
		}
		got := partitions(t, s)
		if d := cmp.Diff([]string{"20260302", "20260303"}, keysOf(got)); d != "" {
			t.Errorf("agd after trimming the first day (-want +got):\n%s", d)
		}
		if k, err := s.c.Exists(ctx, s.key("ag:20260301")).Result(); err != nil || k != 0 {
			t.Errorf("partition of the trimmed day: EXISTS = %d (%v), want 0", k, err)
		}

		// The second day keeps b.example's event; the third goes with a.example's last one.
		n, err = s.TrimAudit(ctx, "a.example", day(3, 0))
		must(t, err)
		if n != 2 {
			t.Fatalf("TrimAudit to the fourth day removed %d events, want 2", n)
		}
		got = partitions(t, s)
		want := map[string][]string{"20260302": {timeKey(day(1, 2*time.Hour).UnixMilli()) + ":0000000000000001:b.example"}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("day partitions after trimming a.example (-want +got):\n%s", d)
		}

		n, err = s.TrimAudit(ctx, "b.example", day(3, 0))
		must(t, err)
		if n != 1 {
			t.Fatalf("TrimAudit of b.example removed %d events, want 1", n)
		}
		if got := partitions(t, s); len(got) != 0 {
			t.Errorf("day partitions after trimming everything: %v, want none", got)
		}
		left, err := s.c.Exists(ctx, s.key("agd"), s.key("ag:20260301"), s.key("ag:20260302"), s.key("ag:20260303")).Result()
		must(t, err)
		if left != 0 {
			t.Errorf("%d keys of the all-domains index left after trimming everything, want none", left)
		}
	})
}

// keysOf returns m's keys, sorted.
func keysOf(m map[string][]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestAuditEvents_StoredAsArrays_ObjectsStillRead: an event is stored as the JSON array of
// encodeEvent, every field comes back (unfiltered, filtered and all-domains listings, and
// trimming, which decodes what it removes); an event stored as a JSON object, as before,
// reads the same; a stored value that is neither is reported as corrupt, not skipped.
func TestAuditEvents_StoredAsArrays_ObjectsStillRead(t *testing.T) {
	eachRedis(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		when := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		e := store.AuditEvent{ID: "evt_1", Time: when.Format("2006-01-02T15:04:05.000Z07:00"), Type: "delegated.minted",
			Domain: "example.com", ClientID: "cli_1", GrantID: "ser_1", Actor: "admin@example.com", Subject: `a"lice\@example.com`,
			Scope: "read_only", Result: "failure", Error: "invalid_scope", IP: "192.0.2.1", RequestID: "req_1\n\t\x01<&>\u2028é🎉",
			PrevHash: "", Hash: "h1"}
		must(t, s.AppendAudit(ctx, e.Domain, "", []store.AuditEvent{e}))
		raw, err := s.c.HGet(ctx, s.key("ae:", e.Domain), "1").Result()
		must(t, err)
		if !strings.HasPrefix(raw, "[") {
			t.Errorf("stored event = %s, want the JSON array form", raw)
		}
		list := func(f store.AuditFilter) []store.AuditEvent {
			t.Helper()
			got, _, err := s.ListAudit(ctx, f)
			must(t, err)
			return got
		}
		for name, f := range map[string]store.AuditFilter{
			"domain": {Domain: e.Domain}, "filtered": {Domain: e.Domain, Type: e.Type}, "all domains": {AllDomains: true},
		} {
			if diff := cmp.Diff([]store.AuditEvent{e}, list(f)); diff != "" {
				t.Errorf("%s listing, array form (-want +got):\n%s", name, diff)
			}
		}

		old, err := json.Marshal(e) // the object form of earlier versions
		must(t, err)
		must(t, s.c.HSet(ctx, s.key("ae:", e.Domain), "1", old).Err())
		if diff := cmp.Diff([]store.AuditEvent{e}, list(store.AuditFilter{Domain: e.Domain, Type: e.Type})); diff != "" {
			t.Errorf("listing, object form (-want +got):\n%s", diff)
		}
		n, err := s.TrimAudit(ctx, e.Domain, when.Add(time.Hour))
		must(t, err)
		if n != 1 || len(list(store.AuditFilter{Domain: e.Domain})) != 0 {
			t.Errorf("trimming the object-form event removed %d, want 1 and an empty chain", n)
		}

		good := encodeEvent(&e)
		must(t, s.c.Set(ctx, s.key("as:", "bad.example"), "1", 0).Err())
		for _, stored := range []string{string(good), `["evt_2","2026-11-25T10:00:00.000Z"]`, `not json`} {
			must(t, s.c.HSet(ctx, s.key("ae:", "bad.example"), "1", stored).Err())
			_, _, err := s.ListAudit(ctx, store.AuditFilter{Domain: "bad.example", Type: e.Type})
			if wantErr := stored != string(good); (err != nil) != wantErr {
				t.Errorf("listing a stored event %q: error %v, want an error: %v", stored, err, wantErr)
			}
		}
	})
}

// chainedEvents returns n events of domain chained from prev, their hashes distinct per tag.
func chainedEvents(domain, prev, tag string, n int) []store.AuditEvent {
	out := make([]store.AuditEvent, n)
	for i := range out {
		out[i] = store.AuditEvent{ID: fmt.Sprintf("e_%s_%d", tag, i), Domain: domain,
			Time: "2026-03-10T12:00:00.000Z", PrevHash: prev, Hash: fmt.Sprintf("h_%s_%d", tag, i)}
		prev = out[i].Hash
	}
	return out
}

// TestSubmitAudit_ChainedAppendsInFlightAtOnce: appends submitted one after the other, each
// chained on the head the previous one leaves and none waited for, all succeed in order.
func TestSubmitAudit_ChainedAppendsInFlightAtOnce(t *testing.T) {
	eachRedis(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		var waits []func() error
		var want []string
		prev := ""
		for i := range 50 {
			evs := chainedEvents("pipe.example", prev, fmt.Sprint(i), 1+i%3)
			waits = append(waits, s.SubmitAudit(ctx, "pipe.example", prev, evs))
			for _, e := range evs {
				want = append(want, e.ID)
			}
			prev = evs[len(evs)-1].Hash
		}
		for i, wait := range waits {
			if err := wait(); err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
		}
		if head, err := s.AuditHead(ctx, "pipe.example"); err != nil || head != prev {
			t.Fatalf("head = %q, %v; want %q", head, err, prev)
		}
		var got []string
		must(t, s.ExportAudit(ctx, store.AuditFilter{Domain: "pipe.example"}, func(e store.AuditEvent) error {
			got = append(got, e.ID)
			return nil
		}))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("stored events (-submitted +stored):\n%s", diff)
		}
	})
}

// TestSubmitAudit_StaleHeadConflictsAndWritesNothing: an append chained on a head that is
// not the chain's answers ErrConflict through its wait, and so does one chained on it.
func TestSubmitAudit_StaleHeadConflictsAndWritesNothing(t *testing.T) {
	eachRedis(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		first := chainedEvents("stale.example", "", "a", 2)
		must(t, s.SubmitAudit(ctx, "stale.example", "", first)())
		stale := chainedEvents("stale.example", "", "b", 1) // chained on the empty chain again
		after := chainedEvents("stale.example", "h_b_0", "c", 1)
		w1 := s.SubmitAudit(ctx, "stale.example", "", stale)
		w2 := s.SubmitAudit(ctx, "stale.example", "h_b_0", after)
		for i, err := range []error{w1(), w2()} {
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("append %d on a stale head: %v, want ErrConflict", i, err)
			}
		}
		if head, err := s.AuditHead(ctx, "stale.example"); err != nil || head != "h_a_1" {
			t.Errorf("head = %q, %v; want h_a_1 (nothing written)", head, err)
		}
	})
}

// TestSubmitAudit_ReloadsAfterFlush: a submitted append whose script Redis lost (SCRIPT
// FLUSH, a restart) is sent again in full.
func TestSubmitAudit_ReloadsAfterFlush(t *testing.T) {
	eachRedis(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		if s.ordered == nil {
			t.Fatal("no ordered pipeline: SubmitAudit would not be exercised")
		}
		must(t, s.SubmitAudit(ctx, "flush.example", "", chainedEvents("flush.example", "", "a", 1))())
		must(t, s.c.ScriptFlush(ctx).Err())
		must(t, s.SubmitAudit(ctx, "flush.example", "h_a_0", chainedEvents("flush.example", "h_a_0", "b", 1))())
		if head, err := s.AuditHead(ctx, "flush.example"); err != nil || head != "h_b_0" {
			t.Errorf("head = %q, %v; want h_b_0", head, err)
		}
	})
}
