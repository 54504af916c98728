// Package storetest is the conformance suite of the store contract (STYLE §2): every backend
// (store/embedded, store/redis) runs it from its own tests, and a backend that fails a case is
// fixed, never the case commented out.
//
// Use it from a backend's test file:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := Open(t.TempDir()) // or a fresh miniredis / Redis database
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Run groups its subtests per role interface ("Codes/ConsumeTwice", "Audit/AppendRace", …).
// Every subtest calls open with its own *testing.T and needs a fresh, EMPTY store that no other
// subtest sees: the subtests of one role run in parallel (t.Parallel), the roles one after
// the other, and Run returns only when every subtest has finished. open registers the store's
// cleanup with t.Cleanup. RunReopen is an optional extra that checks data survives closing
// and reopening a store; see its comment.
//
// What the suite expects of a backend beyond the doc comments of package store:
//
//   - Times round-trip to at least millisecond precision: the suite truncates both sides to
//     the millisecond and compares instants with time.Time.Equal. Backends should normalise
//     times to UTC; the zero time.Time must come back as the zero time (IsZero), since zero
//     means "none" in several fields (Grant.LastUsedAt, RefreshToken.ExpiresAt, …).
//   - nil and empty slices ([]byte, []string) are interchangeable.
//   - Expiry is decided only by the now passed in, to the millisecond: a record is good at
//     ExpiresAt-1ms and gone at ExpiresAt+1ms (the exact instant ExpiresAt is not tested).
//     The suite never sleeps; it moves a fixed base time forward, so backend TTLs (Redis
//     EXPIRE, sweeps) must never drop a record that the passed-in now still considers live.
//   - Race cases (50 goroutines on one code, refresh token, pending request, UseOnce key,
//     audit head; 20 on one grant or account; 10 claimers on one queue) expect the backend to
//     serialise them itself, without errors other than the documented sentinels.
//   - Within one domain, ListAudit (newest first) and ExportAudit (oldest first) follow the
//     chain, i.e. append order, also among events that share a Time (a busy domain writes
//     many per millisecond; `audit verify` needs chain order). Across domains (AllDomains)
//     the order is by Time; the suite always appends in time order overall, so ordering by a
//     global append sequence passes too, and it never checks the order of events of
//     different domains with equal Times.
//   - A cursor (ListGrants, ListAudit) is a position, not an offset: grants created and
//     events appended between two pages neither repeat nor hide anything on later pages.
//
// The suite imports only package store, the standard library and go-cmp (STYLE §1). It
// keeps its total runtime to a few seconds, because CI runs it three times (SQLite,
// miniredis, real Redis).
package storetest
