package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// testListGrants checks ListGrants' filters, order and paging on 24 grants over 3 clients and
// 3 domains, where later approvals of a (client, domain) replaced earlier ones and pairs of
// grants share an approval time (so a cursor must cope with ties).
func testListGrants(open Opener) func(t *testing.T) {
	return func(t *testing.T) {
		_, s := fresh(t, open)
		clients := []string{"cli_a", "cli_b", "cli_c"}
		domains := []string{"a.example", "b.example", "c.example"}
		var all []store.Grant         // the expected final state, in creation order
		active := map[[2]string]int{} // (client, domain) -> index in all
		for i := range 24 {
			g := newGrant(id("ser_", name("list %d", i)), clients[i%3], domains[(i/3)%3], at(time.Duration(i/2)*time.Minute))
			pair := [2]string{g.ClientID, g.Domain}
			prev, ok := active[pair]
			wantReplaced := ""
			if ok {
				wantReplaced = all[prev].ID
				all[prev] = revoked(all[prev], g.ApprovedAt)
			}
			createGrant(t, s, g, wantReplaced)
			active[pair] = len(all)
			all = append(all, g)
		}
		if revokedCount := len(all) - len(active); revokedCount == 0 {
			t.Fatal("fixture has no revoked grants")
		}

		filters := []struct {
			name string
			f    store.GrantFilter
		}{
			{"none", store.GrantFilter{}},
			{"domain", store.GrantFilter{Domain: "b.example"}},
			{"client", store.GrantFilter{ClientID: "cli_c"}},
			{"active", store.GrantFilter{Status: store.GrantActive}},
			{"revoked", store.GrantFilter{Status: store.GrantRevoked}},
			{"domain and client", store.GrantFilter{Domain: "a.example", ClientID: "cli_b"}},
			{"domain and status", store.GrantFilter{Domain: "c.example", Status: store.GrantRevoked}},
			{"all three", store.GrantFilter{Domain: "a.example", ClientID: "cli_a", Status: store.GrantActive}},
			{"no match", store.GrantFilter{Domain: "nobody.example"}},
		}
		for _, tc := range filters {
			var want []store.Grant
			for _, g := range all {
				if (tc.f.Domain == "" || g.Domain == tc.f.Domain) &&
					(tc.f.ClientID == "" || g.ClientID == tc.f.ClientID) &&
					(tc.f.Status == "" || g.Status == tc.f.Status) {
					want = append(want, g)
				}
			}
			for _, limit := range []int{0, 1, 4, 100} {
				f := tc.f
				f.Limit = limit
				got := listAllGrants(t, s, f)
				checkGrantPages(t, name("%s, limit %d", tc.name, limit), want, got)
			}
		}
	}
}

// listAllGrants follows ListGrants' cursor from the first page to the last and returns every
// grant in page order.
func listAllGrants(t *testing.T, s store.Store, f store.GrantFilter) []store.Grant {
	t.Helper()
	var all []store.Grant
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatalf("ListGrants(%+v): still a next cursor after %d pages", f, page)
		}
		got, next, err := s.ListGrants(t.Context(), f)
		if err != nil {
			t.Fatalf("ListGrants(%+v), page %d: %v", f, page+1, err)
		}
		if f.Limit > 0 && len(got) > f.Limit {
			t.Fatalf("ListGrants(%+v) returned %d grants, more than the limit", f, len(got))
		}
		all = append(all, got...)
		if next == "" {
			return all
		}
		if len(got) == 0 {
			t.Fatalf("ListGrants(%+v): an empty page with next cursor %q", f, next)
		}
		f.Cursor = next
	}
}

// checkGrantPages fails unless got holds exactly the grants of want, each once and equal to
// its expected state, newest approval first (grants approved at the same instant may come
// in either order).
func checkGrantPages(t *testing.T, what string, want, got []store.Grant) {
	t.Helper()
	byID := map[string]store.Grant{}
	for _, g := range want {
		byID[g.ID] = g
	}
	seen := map[string]bool{}
	for i, g := range got {
		if seen[g.ID] {
			t.Errorf("%s: grant %s listed twice", what, g.ID)
			continue
		}
		seen[g.ID] = true
		w, ok := byID[g.ID]
		if !ok {
			t.Errorf("%s: grant %s (client %s, domain %s, status %s) does not match the filter", what, g.ID, g.ClientID, g.Domain, g.Status)
			continue
		}
		if d := diff(w, g); d != "" {
			t.Errorf("%s: grant %s (-want +got):\n%s", what, g.ID, d)
		}
		if i > 0 && got[i-1].ApprovedAt.Before(g.ApprovedAt) {
			t.Errorf("%s: %s (approved %v) listed after the older %s (approved %v); want newest first",
				what, g.ID, g.ApprovedAt, got[i-1].ID, got[i-1].ApprovedAt)
		}
	}
	var missing []string
	for _, g := range want {
		if !seen[g.ID] {
			missing = append(missing, g.ID)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("%s: %d of %d grants missing: %v", what, len(missing), len(want), missing)
	}
}
