package scopes

import (
	"slices"
	"strings"
	"testing"
)

func TestGoogle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string // short names, after GooglePrefix
	}{
		// SPEC §1 mapping table, each row.
		{name: "read_account", in: "read_account", want: []string{"userinfo.email"}},
		{name: "list_calendars", in: "list_calendars", want: []string{"calendar.calendarlist.readonly"}},
		{name: "read_events brings read_free_busy", in: "read_events", want: []string{"calendar.events.freebusy", "calendar.events.readonly"}},
		{name: "read_free_busy", in: "read_free_busy", want: []string{"calendar.events.freebusy"}},
		{name: "create_event", in: "create_event", want: []string{"calendar.events"}},
		{name: "delete_event", in: "delete_event", want: []string{"calendar.events"}},
		{name: "change_participation_status", in: "change_participation_status", want: []string{"calendar.events"}},
		{name: "create_calendar", in: "create_calendar", want: []string{"calendar.app.created"}},
		{name: "read_contacts", in: "read_contacts", want: []string{"contacts.readonly"}},
		{name: "read_directory", in: "read_directory", want: []string{"directory.readonly"}},

		// Shorthands: the fewest scopes, covered ones dropped.
		{name: "read_only", in: "read_only", want: []string{"calendar.calendarlist.readonly", "calendar.events.freebusy", "calendar.events.readonly", "userinfo.email"}},
		{name: "read_write: calendar.events covers readonly and freebusy", in: "read_write", want: []string{"calendar.app.created", "calendar.calendarlist.readonly", "calendar.events", "userinfo.email"}},
		{name: "free_busy", in: "free_busy", want: []string{"calendar.calendarlist.readonly", "calendar.events.freebusy", "userinfo.email"}},
		{name: "free_busy_write: calendar.events covers freebusy", in: "free_busy_write", want: []string{"calendar.calendarlist.readonly", "calendar.events", "userinfo.email"}},
		{name: "write_only", in: "write_only", want: []string{"calendar.events", "userinfo.email"}},

		// The fewest rule on mixed sets.
		{name: "three write scopes share one", in: "create_event delete_event change_participation_status", want: []string{"calendar.events"}},
		{name: "calendar.events covers read_events", in: "read_events create_event", want: []string{"calendar.events"}},
		{name: "calendar.events covers read_free_busy", in: "read_free_busy change_participation_status", want: []string{"calendar.events"}},
		{name: "calendar.app.created covers no event reads", in: "create_calendar read_events", want: []string{"calendar.app.created", "calendar.events.freebusy", "calendar.events.readonly"}},
		{name: "nothing to drop", in: "read_contacts read_directory read_account", want: []string{"contacts.readonly", "directory.readonly", "userinfo.email"}},
		{name: "consent page ask", in: "read_contacts read_write", want: []string{"calendar.app.created", "calendar.calendarlist.readonly", "calendar.events", "contacts.readonly", "userinfo.email"}},
		{name: "empty set", in: "", want: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = GooglePrefix + w
			}
			got := Google(mustDelegated(t, tc.in))
			if got == nil || !slices.Equal(got, want) {
				t.Errorf("Google(%q) = %q, want %q", tc.in, got, want)
			}
		})
	}
}

func TestGoogle_ServiceAccountScopesMapToNothing(t *testing.T) {
	t.Parallel()
	sa, err := ParseServiceAccount(strings.Join(ServiceAccountScopes(), " "))
	if err != nil {
		t.Fatal(err)
	}
	if got := Google(sa.Union(mustDelegated(t, "read_account"))); !slices.Equal(got, []string{GooglePrefix + "userinfo.email"}) {
		t.Errorf("Google = %q, want only userinfo.email", got)
	}
}

// TestGoogle_EverySet_CoversWithFewest walks all 1,024 delegated sets: the result covers every
// granular scope's own mapping, and no scope in it is covered by another (so none can go).
func TestGoogle_EverySet_CoversWithFewest(t *testing.T) {
	t.Parallel()
	for b := range delegatedMask + 1 {
		set := Set{bits: b}
		got := Google(set)
		if !slices.IsSorted(got) {
			t.Errorf("%q: %q not sorted", set, got)
		}
		chosen := googleSet(set)
		for _, g := range set.Scopes() {
			need := Google(Set{bits: 1 << slices.Index(names[:], g)})
			for _, n := range need {
				i := slices.Index(googleNames[:], n)
				if chosen&(1<<i) == 0 && !coveredBy(chosen, i) {
					t.Errorf("%q: %s needs %s, which %q neither holds nor covers", set, g, n, got)
				}
			}
		}
		for i := range googleCount {
			if chosen&(1<<i) != 0 && coveredBy(chosen&^(1<<i), i) {
				t.Errorf("%q: %s is covered by another chosen scope in %q", set, googleNames[i], got)
			}
		}
	}
}

// coveredBy reports whether some Google scope in chosen covers Google scope i.
func coveredBy(chosen uint16, i int) bool {
	for j := range googleCount {
		if chosen&(1<<j) != 0 && googleCovers[j]&(1<<i) != 0 {
			return true
		}
	}
	return false
}

func TestGoogleNames_SortedByIndex(t *testing.T) {
	t.Parallel()
	if !slices.IsSorted(googleNames[:]) {
		t.Errorf("googleNames not sorted: %q", googleNames)
	}
	for i, n := range googleNames {
		if !strings.HasPrefix(n, GooglePrefix) || len(n) == len(GooglePrefix) {
			t.Errorf("googleNames[%d] = %q", i, n)
		}
	}
}

func TestGoogleOf_EveryGranularScopeMapped(t *testing.T) {
	t.Parallel()
	for i := range scopeCount {
		delegated := delegatedMask&(1<<i) != 0
		if mapped := googleOf[i] != 0; mapped != delegated {
			t.Errorf("%s: mapped %v, want %v", names[i], mapped, delegated)
		}
	}
}

func BenchmarkGoogle(b *testing.B) {
	set := mustDelegated(b, "read_write read_contacts")
	b.ReportAllocs()
	for b.Loop() {
		_ = Google(set)
	}
}
