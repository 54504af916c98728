package scopes

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNames_SortedByIndex(t *testing.T) {
	t.Parallel()
	if !slices.IsSorted(names[:]) {
		t.Errorf("names not sorted, so a Set would not print sorted: %q", names)
	}
}

func TestEntries_Sorted(t *testing.T) {
	t.Parallel()
	if !slices.IsSortedFunc(entries[:], func(a, b entry) int { return strings.Compare(a.name, b.name) }) {
		t.Error("entries not sorted by name: lookup would miss some")
	}
	for _, e := range entries {
		if got, ok := lookup(e.name); !ok || got.name != e.name {
			t.Errorf("lookup(%q) = %v, %v", e.name, got, ok)
		}
	}
}

// TestEntries_MatchNames: every granular and service-account scope has an entry standing for
// its own bit (read_events plus its implication), and every shorthand stands for granular
// scopes only.
func TestEntries_MatchNames(t *testing.T) {
	t.Parallel()
	for i, n := range names {
		e, ok := lookup(n)
		if !ok || e.shorthand || e.bits&(1<<i) == 0 {
			t.Errorf("%s: entry %+v, %v", n, e, ok)
		}
	}
	if n := len(entries) - len(names); n != 5 {
		t.Errorf("%d shorthand entries, want SPEC §1's 5", n)
	}
	for _, e := range entries {
		if e.shorthand && (e.bits&^delegatedMask != 0 || e.bits == 0) {
			t.Errorf("shorthand %s stands for %q", e.name, Set{bits: e.bits})
		}
	}
}

func TestExpandsTo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scope string
		want  []string
	}{
		{scope: "read_only", want: []string{"list_calendars", "read_account", "read_events", "read_free_busy"}},
		{scope: "read_write", want: []string{"change_participation_status", "create_calendar", "create_event", "delete_event", "list_calendars", "read_account", "read_events", "read_free_busy"}},
		{scope: "free_busy", want: []string{"list_calendars", "read_account", "read_free_busy"}},
		{scope: "free_busy_write", want: []string{"create_event", "delete_event", "list_calendars", "read_account", "read_free_busy"}},
		{scope: "write_only", want: []string{"create_event", "delete_event", "read_account"}},
		{scope: "read_events", want: []string{"read_events", "read_free_busy"}},
		{scope: "read_contacts", want: []string{"read_contacts"}},
		{scope: AccountsManage, want: []string{AccountsManage}},
		{scope: "not_a_scope", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.scope, func(t *testing.T) {
			t.Parallel()
			if got := ExpandsTo(tc.scope); !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Errorf("ExpandsTo(%q) = %q, want %q", tc.scope, got, tc.want)
			}
		})
	}
}

// TestDescribe_EveryScope: each name has one plain-language sentence that survives HTML
// escaping unchanged, and no two names share one (the consent page tells them apart).
func TestDescribe_EveryScope(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, scope := range slices.Concat(ServiceAccountScopes(), DelegatedScopes()) {
		d, ok := Describe(scope)
		switch {
		case !ok:
			t.Errorf("%s: no description", scope)
		case len(strings.Fields(d)) < 3 || !strings.HasSuffix(d, ".") || strings.Count(d, ".") != 1:
			t.Errorf("%s: %q is not one sentence", scope, d)
		case strings.ContainsAny(d, "<>&'\"`") || strings.Contains(d, "http") || strings.Contains(d, "_"):
			t.Errorf("%s: %q has markup, a URL or a scope name in it", scope, d)
		case seen[d] != "":
			t.Errorf("%s and %s share the description %q", scope, seen[d], d)
		}
		seen[d] = scope
	}
	if d, ok := Describe("not_a_scope"); ok || d != "" {
		t.Errorf("Describe(not_a_scope) = %q, %v", d, ok)
	}
}

func TestLists(t *testing.T) {
	t.Parallel()
	wantSA := []string{AccountsManage, AccountsUnrestrictedAccess, ResourcesManage, ResourcesUnrestrictedAccess}
	if got := ServiceAccountScopes(); !slices.Equal(got, wantSA) {
		t.Errorf("ServiceAccountScopes() = %q, want %q", got, wantSA)
	}
	wantDelegated := []string{
		"change_participation_status", "create_calendar", "create_event", "delete_event", "list_calendars",
		"read_account", "read_contacts", "read_directory", "read_events", "read_free_busy",
		"free_busy", "free_busy_write", "read_only", "read_write", "write_only",
	}
	if got := DelegatedScopes(); !slices.Equal(got, wantDelegated) {
		t.Errorf("DelegatedScopes() = %q, want %q", got, wantDelegated)
	}
	// The lists are copies: changing one changes nothing here.
	DelegatedScopes()[0] = "x"
	if DelegatedScopes()[0] != wantDelegated[0] {
		t.Error("DelegatedScopes shares its backing array")
	}
}

func TestIsServiceAccount_IsDelegated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scope                             string
		wantServiceAccount, wantDelegated bool
	}{
		{scope: AccountsManage, wantServiceAccount: true},
		{scope: ResourcesUnrestrictedAccess, wantServiceAccount: true},
		{scope: "read_only", wantDelegated: true},
		{scope: "read_free_busy", wantDelegated: true},
		{scope: "service_account/accounts", wantServiceAccount: false},
		{scope: ""},
		{scope: "nope"},
	}
	for _, tc := range tests {
		t.Run(tc.scope, func(t *testing.T) {
			t.Parallel()
			if got := IsServiceAccount(tc.scope); got != tc.wantServiceAccount {
				t.Errorf("IsServiceAccount(%q) = %v", tc.scope, got)
			}
			if got := IsDelegated(tc.scope); got != tc.wantDelegated {
				t.Errorf("IsDelegated(%q) = %v", tc.scope, got)
			}
		})
	}
}

// TestExplain_CheckerCases mirrors `broker scopes explain free_busy write_only read_write
// read_contacts --json` as SPEC §10 and the conformance checker expect it.
func TestExplain_CheckerCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scope      string
		wantExpand []string
		wantGoogle []string // short names
	}{
		{scope: "free_busy", wantExpand: []string{"list_calendars", "read_account", "read_free_busy"},
			wantGoogle: []string{"calendar.calendarlist.readonly", "calendar.events.freebusy", "userinfo.email"}},
		{scope: "write_only", wantExpand: []string{"create_event", "delete_event", "read_account"},
			wantGoogle: []string{"calendar.events", "userinfo.email"}},
		{scope: "read_write", wantExpand: ExpandsTo("read_write"),
			wantGoogle: []string{"calendar.app.created", "calendar.calendarlist.readonly", "calendar.events", "userinfo.email"}},
		{scope: "read_contacts", wantExpand: []string{"read_contacts"}, wantGoogle: []string{"contacts.readonly"}},
		{scope: ResourcesManage, wantExpand: []string{ResourcesManage}, wantGoogle: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.scope, func(t *testing.T) {
			t.Parallel()
			got, err := Explain(tc.scope)
			if err != nil {
				t.Fatal(err)
			}
			wantGoogle := make([]string, len(tc.wantGoogle))
			for i, g := range tc.wantGoogle {
				wantGoogle[i] = GooglePrefix + g
			}
			desc, _ := Describe(tc.scope)
			if got.Scope != tc.scope || got.Description != desc || !slices.Equal(got.ExpandsTo, tc.wantExpand) || !slices.Equal(got.Google, wantGoogle) {
				t.Errorf("Explain(%q) = %+v", tc.scope, got)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"scope", "description", "expands_to", "google"} {
				if m[k] == nil {
					t.Errorf("JSON %s lacks %q (or it is null)", b, k)
				}
			}
		})
	}
}

func TestExplain_UnknownScope(t *testing.T) {
	t.Parallel()
	_, err := Explain("not_a_scope")
	var ue *UnknownError
	if !errors.As(err, &ue) || ue.Token != "not_a_scope" {
		t.Errorf("err = %v, want *UnknownError for not_a_scope", err)
	}
}
