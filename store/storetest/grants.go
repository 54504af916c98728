package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// newGrant returns an active grant with every field the broker sets on approval.
func newGrant(gid, clientID, domain string, approved time.Time) store.Grant {
	return store.Grant{
		ID:             gid,
		ClientID:       clientID,
		Domain:         domain,
		Scope:          "service_account/accounts/manage service_account/resources/manage",
		DelegatedScope: "list_calendars read_account read_events read_free_busy",
		Policy: store.SubjectPolicy{
			Groups: []string{"eng@" + domain, "sales@" + domain},
			Emails: []string{"alice@" + domain},
		},
		ApprovedBy: "admin@" + domain,
		ApprovedAt: approved,
		Status:     store.GrantActive,
	}
}

// createGrant stores g and fails the test unless it replaced wantReplaced.
func createGrant(t *testing.T, s store.Store, g store.Grant, wantReplaced string) {
	t.Helper()
	replaced, err := s.CreateGrant(t.Context(), g)
	must(t, "CreateGrant "+g.ID, err)
	if replaced != wantReplaced {
		t.Fatalf("CreateGrant %s replaced %q, want %q", g.ID, replaced, wantReplaced)
	}
}

// wantGrant fails the test unless GetGrant(want.ID) equals want.
func wantGrant(t *testing.T, s store.Store, want store.Grant) {
	t.Helper()
	got, err := s.GetGrant(t.Context(), want.ID)
	must(t, "GetGrant "+want.ID, err)
	if d := diff(want, got); d != "" {
		t.Errorf("GetGrant %s (-want +got):\n%s", want.ID, d)
	}
}

// revoked returns g as revoked at when.
func revoked(g store.Grant, when time.Time) store.Grant {
	g.Status = store.GrantRevoked
	g.RevokedAt = when
	return g
}

func testGrants(t *testing.T, open Opener) {
	t.Run("CreateGetRoundTrip", func(t *testing.T) {
		ctx, s := fresh(t, open)
		full := newGrant(id("ser_", "full"), "cli_1", "example.com", at(17*ms))
		full.Policy.ResourcesOnly = true
		bare := newGrant(id("ser_", "bare"), "cli_1", "other.example", at(time.Second))
		bare.Policy = store.SubjectPolicy{}
		for _, g := range []store.Grant{full, bare} {
			createGrant(t, s, g, "")
			wantGrant(t, s, g)
			got, err := s.ActiveGrant(ctx, g.ClientID, g.Domain)
			must(t, "ActiveGrant", err)
			if d := diff(g, got); d != "" {
				t.Errorf("ActiveGrant (-want +got):\n%s", d)
			}
		}
		_, err := s.GetGrant(ctx, id("ser_", "unknown"))
		wantErr(t, "GetGrant unknown", err, store.ErrNotFound)
		_, err = s.ActiveGrant(ctx, "cli_2", "example.com")
		wantErr(t, "ActiveGrant of another client", err, store.ErrNotFound)
		_, err = s.ActiveGrant(ctx, "cli_1", "third.example")
		wantErr(t, "ActiveGrant of another domain", err, store.ErrNotFound)
	})
	t.Run("CreateReplacesActive", func(t *testing.T) {
		_, s := fresh(t, open)
		g1 := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		otherClient := newGrant(id("ser_", "other client"), "cli_2", "example.com", at(time.Second))
		otherDomain := newGrant(id("ser_", "other domain"), "cli_1", "other.example", at(2*time.Second))
		createGrant(t, s, g1, "")
		createGrant(t, s, otherClient, "")
		createGrant(t, s, otherDomain, "")

		g2 := newGrant(id("ser_", "2"), "cli_1", "example.com", at(time.Hour))
		g2.Scope = "service_account/accounts/manage"
		createGrant(t, s, g2, g1.ID)
		wantGrant(t, s, revoked(g1, g2.ApprovedAt))
		wantGrant(t, s, g2)
		wantActive(t, s, g2)
		wantGrant(t, s, otherClient)
		wantActive(t, s, otherClient)
		wantGrant(t, s, otherDomain)
		wantActive(t, s, otherDomain)

		g3 := newGrant(id("ser_", "3"), "cli_1", "example.com", at(2*time.Hour))
		createGrant(t, s, g3, g2.ID)
		wantGrant(t, s, revoked(g1, g2.ApprovedAt)) // revoked once, not again
		wantGrant(t, s, revoked(g2, g3.ApprovedAt))
		wantActive(t, s, g3)
	})
	t.Run("CreateExisting", func(t *testing.T) {
		ctx, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		createGrant(t, s, g, "")
		for _, dup := range []store.Grant{
			newGrant(g.ID, "cli_1", "example.com", at(time.Hour)),
			newGrant(g.ID, "cli_2", "other.example", at(time.Hour)),
		} {
			_, err := s.CreateGrant(ctx, dup)
			wantErr(t, "CreateGrant with a taken id", err, store.ErrExists)
		}
		wantGrant(t, s, g)
		wantActive(t, s, g)
		_, err := s.ActiveGrant(ctx, "cli_2", "other.example")
		wantErr(t, "ActiveGrant after a refused create", err, store.ErrNotFound)
	})
	t.Run("Revoke", func(t *testing.T) {
		ctx, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		other := newGrant(id("ser_", "2"), "cli_2", "example.com", at(0))
		createGrant(t, s, g, "")
		createGrant(t, s, other, "")

		got, err := s.RevokeGrant(ctx, g.ID, at(time.Hour+5*ms))
		must(t, "RevokeGrant", err)
		want := revoked(g, at(time.Hour+5*ms))
		if d := diff(want, got); d != "" {
			t.Errorf("RevokeGrant (-want +got):\n%s", d)
		}
		wantGrant(t, s, want)
		_, err = s.ActiveGrant(ctx, g.ClientID, g.Domain)
		wantErr(t, "ActiveGrant after revoke", err, store.ErrNotFound)
		wantActive(t, s, other)

		got, err = s.RevokeGrant(ctx, g.ID, at(2*time.Hour))
		must(t, "RevokeGrant again", err)
		if d := diff(want, got); d != "" {
			t.Errorf("revoking a revoked grant must return it unchanged (-want +got):\n%s", d)
		}
		wantGrant(t, s, want)
		_, err = s.RevokeGrant(ctx, id("ser_", "unknown"), at(time.Hour))
		wantErr(t, "RevokeGrant unknown", err, store.ErrNotFound)

		// A revoked grant is not active, so a new approval replaces nothing.
		next := newGrant(id("ser_", "3"), g.ClientID, g.Domain, at(3*time.Hour))
		createGrant(t, s, next, "")
		wantGrant(t, s, want)
		wantActive(t, s, next)
	})
	t.Run("RecordUseAndMintCounts", testGrantUse(open))
	t.Run("List", testListGrants(open))
	t.Run("ListCursorSurvivesCreates", func(t *testing.T) {
		ctx, s := fresh(t, open)
		var want []store.Grant
		for i := range 10 {
			g := newGrant(id("ser_", name("%d", i)), name("cli_%d", i), "example.com", at(time.Duration(i)*time.Minute))
			createGrant(t, s, g, "")
			want = append(want, g)
		}
		slices.Reverse(want) // newest first
		page, next, err := s.ListGrants(ctx, store.GrantFilter{Limit: 4})
		must(t, "ListGrants", err)
		// Approvals go on while an operator pages: a new grant replaces an old one (listed
		// later, now revoked) and another is new; neither may shift the pages already started.
		replacing := newGrant(id("ser_", "replacing"), want[7].ClientID, want[7].Domain, at(time.Hour))
		createGrant(t, s, replacing, want[7].ID)
		want[7] = revoked(want[7], replacing.ApprovedAt)
		createGrant(t, s, newGrant(id("ser_", "new"), "cli_new", "example.com", at(time.Hour+time.Second)), "")
		got := append(page, listAllGrants(t, s, store.GrantFilter{Limit: 4, Cursor: next})...)
		if d := diff(want, got); d != "" {
			t.Errorf("ListGrants with creates between pages (-want +got):\n%s", d)
		}
	})
	t.Run("ListDefaultLimit", func(t *testing.T) {
		ctx, s := fresh(t, open)
		for i := range 101 {
			createGrant(t, s, newGrant(id("ser_", name("%d", i)), name("cli_%d", i), "example.com", at(time.Duration(i)*time.Second)), "")
		}
		page, next, err := s.ListGrants(ctx, store.GrantFilter{})
		must(t, "ListGrants", err)
		if len(page) != 100 || next == "" {
			t.Fatalf("ListGrants without a limit: %d grants, next %q; want the default 100 and a cursor", len(page), next)
		}
		page, next, err = s.ListGrants(ctx, store.GrantFilter{Cursor: next})
		must(t, "ListGrants page 2", err)
		if len(page) != 1 || next != "" {
			t.Fatalf("ListGrants page 2: %d grants, next %q; want 1 and \"\"", len(page), next)
		}
		if page[0].ApprovedAt.After(at(0)) {
			t.Errorf("last page holds %s approved at %v, want the oldest grant", page[0].ID, page[0].ApprovedAt)
		}
	})
	t.Run("CreateRace", func(t *testing.T) {
		ctx, s := fresh(t, open)
		const n = 20
		ids := make([]string, n)
		replaced := make([]string, n)
		errs := race(n, func(i int) error {
			ids[i] = id("ser_", name("race %d", i))
			var err error
			replaced[i], err = s.CreateGrant(ctx, newGrant(ids[i], "cli_1", "example.com", at(time.Duration(i)*time.Second)))
			return err
		})
		for i, err := range errs {
			must(t, name("CreateGrant %d", i), err)
		}
		active, err := s.ActiveGrant(ctx, "cli_1", "example.com")
		must(t, "ActiveGrant", err)
		list, _, err := s.ListGrants(ctx, store.GrantFilter{ClientID: "cli_1", Domain: "example.com", Status: store.GrantActive})
		must(t, "ListGrants active", err)
		if len(list) != 1 || list[0].ID != active.ID {
			t.Errorf("after %d concurrent CreateGrant: %d active grants listed, want exactly 1 (%s)", n, len(list), active.ID)
		}
		// Serialised creates form one chain: one replaced nothing, every other grant was
		// replaced exactly once, and the survivor was replaced by nobody.
		empty, seen := 0, map[string]bool{}
		for _, r := range replaced {
			switch {
			case r == "":
				empty++
			case seen[r]:
				t.Errorf("grant %s was replaced twice: two grants were active at once", r)
			case !slices.Contains(ids, r):
				t.Errorf("CreateGrant replaced unknown grant %q", r)
			}
			seen[r] = true
		}
		if empty != 1 {
			t.Errorf("%d creates replaced nothing, want exactly 1", empty)
		}
		if seen[active.ID] {
			t.Errorf("the active grant %s is reported as replaced", active.ID)
		}
		for _, gid := range ids {
			g, err := s.GetGrant(ctx, gid)
			must(t, "GetGrant", err)
			if wantStatus := store.GrantRevoked; gid != active.ID && g.Status != wantStatus {
				t.Errorf("grant %s: status %q, want %q", gid, g.Status, wantStatus)
			}
		}
	})
}

// wantActive fails the test unless ActiveGrant of g's (client, domain) is g.
func wantActive(t *testing.T, s store.Store, g store.Grant) {
	t.Helper()
	got, err := s.ActiveGrant(t.Context(), g.ClientID, g.Domain)
	must(t, "ActiveGrant", err)
	if d := diff(g, got); d != "" {
		t.Errorf("ActiveGrant(%s, %s) (-want +got):\n%s", g.ClientID, g.Domain, d)
	}
}

func testGrantUse(open Opener) func(t *testing.T) {
	return func(t *testing.T) {
		ctx, s := fresh(t, open)
		g := newGrant(id("ser_", "1"), "cli_1", "example.com", at(0))
		other := newGrant(id("ser_", "2"), "cli_2", "example.com", at(0))
		createGrant(t, s, g, "")
		createGrant(t, s, other, "")
		est := time.FixedZone("EST", -5*60*60)
		uses := []struct {
			grant  string
			now    time.Time
			minted int
		}{
			{g.ID, time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), 3},
			{g.ID, time.Date(2026, 11, 25, 23, 59, 59, 999e6, time.UTC), 4},
			{other.ID, time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC), 9},
			{g.ID, time.Date(2026, 11, 25, 22, 0, 0, 0, est), 5}, // 2026-11-26 03:00 UTC
			{g.ID, time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), 0},
			{id("ser_", "unknown"), time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), 1},
		}
		for _, u := range uses {
			must(t, "RecordGrantUse", s.RecordGrantUse(ctx, u.grant, u.now, u.minted))
		}
		got, err := s.GetGrant(ctx, g.ID)
		must(t, "GetGrant", err)
		if want := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC); !sameTime(got.LastUsedAt, want) {
			t.Errorf("LastUsedAt = %v, want %v (the now of the last use, also with minted 0)", got.LastUsedAt, want)
		}
		if got.Status != store.GrantActive {
			t.Errorf("RecordGrantUse changed Status to %q", got.Status)
		}
		tests := []struct {
			name  string
			grant string
			since time.Time
			want  map[string]int
		}{
			{"from the first day", g.ID, time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC), map[string]int{"2026-11-25": 7, "2026-11-26": 5}},
			{"from the second day", g.ID, time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), map[string]int{"2026-11-26": 5}},
			{"since given in another zone", g.ID, time.Date(2026, 11, 25, 20, 0, 0, 0, est), map[string]int{"2026-11-26": 5}},
			{"after every use", g.ID, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), map[string]int{}},
			{"another grant", other.ID, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), map[string]int{"2026-11-26": 9}},
		}
		for _, tc := range tests {
			counts, err := s.MintCounts(ctx, tc.grant, tc.since)
			must(t, "MintCounts "+tc.name, err)
			for day, n := range counts {
				if n == 0 {
					delete(counts, day) // a day with only minted=0 uses may be listed as 0
				}
			}
			if d := diff(tc.want, counts); d != "" {
				t.Errorf("MintCounts %s (-want +got):\n%s", tc.name, d)
			}
		}
	}
}
