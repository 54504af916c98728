package scopes

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestParseDelegated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		want      string
		wantToken string // set when an *UnknownError naming this token is expected
	}{
		{name: "empty input is the empty set", in: "", want: ""},
		{name: "only spaces is the empty set", in: "   ", want: ""},

		// SPEC §1 shorthand table, each row.
		{name: "read_only", in: "read_only", want: "list_calendars read_account read_events read_free_busy"},
		{name: "read_write", in: "read_write", want: "change_participation_status create_calendar create_event delete_event list_calendars read_account read_events read_free_busy"},
		{name: "free_busy", in: "free_busy", want: "list_calendars read_account read_free_busy"},
		{name: "free_busy_write", in: "free_busy_write", want: "create_event delete_event list_calendars read_account read_free_busy"},
		{name: "write_only", in: "write_only", want: "create_event delete_event read_account"},

		// Granular scopes stand for themselves; read_events implies read_free_busy.
		{name: "read_account", in: "read_account", want: "read_account"},
		{name: "list_calendars", in: "list_calendars", want: "list_calendars"},
		{name: "read_events implies read_free_busy", in: "read_events", want: "read_events read_free_busy"},
		{name: "read_free_busy", in: "read_free_busy", want: "read_free_busy"},
		{name: "create_event", in: "create_event", want: "create_event"},
		{name: "delete_event", in: "delete_event", want: "delete_event"},
		{name: "create_calendar", in: "create_calendar", want: "create_calendar"},
		{name: "change_participation_status", in: "change_participation_status", want: "change_participation_status"},
		{name: "read_contacts", in: "read_contacts", want: "read_contacts"},
		{name: "read_directory", in: "read_directory", want: "read_directory"},

		{name: "shorthand and granular merge sorted", in: "read_contacts read_write", want: "change_participation_status create_calendar create_event delete_event list_calendars read_account read_contacts read_events read_free_busy"},
		{name: "duplicates collapse", in: "free_busy  free_busy", want: "list_calendars read_account read_free_busy"},
		{name: "overlapping shorthands collapse", in: "write_only free_busy read_account", want: "create_event delete_event list_calendars read_account read_free_busy"},
		{name: "repeated, leading and trailing spaces ignored", in: "  read_directory    read_account ", want: "read_account read_directory"},
		{name: "unsorted input comes back sorted", in: "read_free_busy create_event read_account", want: "create_event read_account read_free_busy"},

		{name: "unknown token is named", in: "read_only not_a_scope", wantToken: "not_a_scope"},
		{name: "first unknown token is named", in: "nope read_only also_nope", wantToken: "nope"},
		{name: "service-account scope is not delegated", in: "read_only " + AccountsManage, wantToken: AccountsManage},
		{name: "names are case-sensitive", in: "READ_ONLY", wantToken: "READ_ONLY"},
		{name: "prefix of a name is unknown", in: "read", wantToken: "read"},
		{name: "tab does not separate", in: "read_only\tread_write", wantToken: "read_only\tread_write"},
		{name: "newline does not separate", in: "read_only\n", wantToken: "read_only\n"},
		{name: "comma does not separate", in: "read_only,read_write", wantToken: "read_only,read_write"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDelegated(tc.in)
			checkParse(t, got, err, tc.want, tc.wantToken)
		})
	}
}

func TestParseServiceAccount(t *testing.T) {
	t.Parallel()
	all := AccountsManage + " " + AccountsUnrestrictedAccess + " " + ResourcesManage + " " + ResourcesUnrestrictedAccess
	tests := []struct {
		name      string
		in        string
		want      string
		wantToken string
	}{
		{name: "empty input is the empty set", in: "", want: ""},
		{name: "one scope", in: ResourcesManage, want: ResourcesManage},
		{name: "all four", in: all, want: all},
		{name: "unsorted input comes back sorted", in: ResourcesManage + " " + AccountsManage + " " + AccountsUnrestrictedAccess,
			want: AccountsManage + " " + AccountsUnrestrictedAccess + " " + ResourcesManage},
		{name: "duplicates and spaces", in: " " + AccountsManage + "   " + AccountsManage + " ", want: AccountsManage},
		{name: "delegated scope is not a service-account scope", in: AccountsManage + " read_only", wantToken: "read_only"},
		{name: "unknown token is named", in: "service_account/accounts/own", wantToken: "service_account/accounts/own"},
		{name: "names are case-sensitive", in: strings.ToUpper(AccountsManage), wantToken: strings.ToUpper(AccountsManage)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseServiceAccount(tc.in)
			checkParse(t, got, err, tc.want, tc.wantToken)
		})
	}
}

// checkParse checks a parse result against either want (success) or wantToken (an
// *UnknownError naming that token, and the empty Set).
func checkParse(t *testing.T, got Set, err error, want, wantToken string) {
	t.Helper()
	if wantToken != "" {
		var ue *UnknownError
		if !errors.As(err, &ue) {
			t.Fatalf("err = %v, want *UnknownError", err)
		}
		if ue.Token != wantToken {
			t.Errorf("Token = %q, want %q", ue.Token, wantToken)
		}
		if !strings.Contains(ue.Error(), strconv.Quote(wantToken)) {
			t.Errorf("Error() = %q does not name %q", ue.Error(), wantToken)
		}
		if !got.IsEmpty() {
			t.Errorf("set = %q on error, want empty", got)
		}
		return
	}
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if got.String() != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if n := len(strings.Fields(want)); got.Len() != n {
		t.Errorf("Len() = %d, want %d", got.Len(), n)
	}
	if joined := strings.Join(got.Scopes(), " "); joined != want {
		t.Errorf("Scopes() = %q, want %q", joined, want)
	}
}

func TestUnknownError_LongTokenIsCut(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 10_000)
	_, err := ParseDelegated("read_only " + long)
	var ue *UnknownError
	if !errors.As(err, &ue) || ue.Token != long {
		t.Fatalf("err = %v, want *UnknownError with the whole token", err)
	}
	if msg := ue.Error(); len(msg) > 100 || !strings.Contains(msg, strings.Repeat("x", maxTokenInMessage)) {
		t.Errorf("Error() = %q (%d bytes), want the first %d bytes of the token", msg, len(msg), maxTokenInMessage)
	}
}

func TestSet_Within(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		a, b   string
		within bool
	}{
		{name: "a set is within itself", a: "read_write", b: "read_write", within: true},
		{name: "read_only within read_write", a: "read_only", b: "read_write", within: true},
		{name: "read_write not within read_only", a: "read_write", b: "read_only", within: false},
		{name: "free_busy within read_only", a: "free_busy", b: "read_only", within: true},
		{name: "read_events not within free_busy", a: "read_events", b: "free_busy", within: false},
		{name: "read_free_busy within read_events (expanded)", a: "read_free_busy", b: "read_events", within: true},
		{name: "read_events within its own expansion written out", a: "read_events", b: "read_events read_free_busy", within: true},
		{name: "write_only within free_busy_write", a: "write_only", b: "free_busy_write", within: true},
		{name: "free_busy_write within read_write", a: "free_busy_write", b: "read_write", within: true},
		{name: "granular written out within shorthand", a: "read_account list_calendars read_free_busy", b: "free_busy", within: true},
		{name: "read_contacts not within read_write", a: "read_contacts", b: "read_write", within: false},
		{name: "empty within empty", a: "", b: "", within: true},
		{name: "empty within anything", a: "", b: "write_only", within: true},
		{name: "something not within empty", a: "read_account", b: "", within: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := mustDelegated(t, tc.a), mustDelegated(t, tc.b)
			if got := a.Within(b); got != tc.within {
				t.Errorf("%q.Within(%q) = %v, want %v", a, b, got, tc.within)
			}
		})
	}
}

func TestSet_Has(t *testing.T) {
	t.Parallel()
	grant, err := ParseServiceAccount(AccountsManage + " " + ResourcesUnrestrictedAccess)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		set   Set
		scope string
		want  bool
	}{
		{name: "held service-account scope", set: grant, scope: AccountsManage, want: true},
		{name: "missing service-account scope", set: grant, scope: ResourcesManage, want: false},
		{name: "granular in expansion", set: mustDelegated(t, "read_only"), scope: "read_free_busy", want: true},
		{name: "granular not in expansion", set: mustDelegated(t, "read_only"), scope: "create_event", want: false},
		{name: "shorthand wholly held", set: mustDelegated(t, "read_write"), scope: "free_busy", want: true},
		{name: "shorthand held once written out", set: mustDelegated(t, "read_account list_calendars read_free_busy"), scope: "free_busy", want: true},
		{name: "shorthand partly held", set: mustDelegated(t, "free_busy"), scope: "read_only", want: false},
		{name: "read_events needs read_free_busy too", set: mustDelegated(t, "read_events").Minus(mustDelegated(t, "read_free_busy")), scope: "read_events", want: false},
		{name: "unknown name", set: mustDelegated(t, "read_write"), scope: "nope", want: false},
		{name: "empty name", set: mustDelegated(t, "read_write"), scope: "", want: false},
		{name: "empty set", set: Set{}, scope: "read_account", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.set.Has(tc.scope); got != tc.want {
				t.Errorf("%q.Has(%q) = %v, want %v", tc.set, tc.scope, got, tc.want)
			}
		})
	}
}

func TestSet_UnionMinus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		a, b      string
		wantUnion string
		wantMinus string
	}{
		{name: "disjoint", a: "read_contacts", b: "read_directory", wantUnion: "read_contacts read_directory", wantMinus: "read_contacts"},
		{name: "overlapping shorthands", a: "read_only", b: "write_only", wantUnion: "create_event delete_event list_calendars read_account read_events read_free_busy", wantMinus: "list_calendars read_events read_free_busy"},
		{name: "what a request asks beyond its ceiling", a: "read_write read_contacts", b: "read_only", wantUnion: "change_participation_status create_calendar create_event delete_event list_calendars read_account read_contacts read_events read_free_busy", wantMinus: "change_participation_status create_calendar create_event delete_event read_contacts"},
		{name: "with the empty set", a: "free_busy", b: "", wantUnion: "list_calendars read_account read_free_busy", wantMinus: "list_calendars read_account read_free_busy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := mustDelegated(t, tc.a), mustDelegated(t, tc.b)
			if got := a.Union(b).String(); got != tc.wantUnion {
				t.Errorf("Union = %q, want %q", got, tc.wantUnion)
			}
			if got := a.Minus(b).String(); got != tc.wantMinus {
				t.Errorf("Minus = %q, want %q", got, tc.wantMinus)
			}
		})
	}
}

func TestSet_ZeroValue(t *testing.T) {
	t.Parallel()
	var s Set
	if !s.IsEmpty() || s.Len() != 0 || s.String() != "" {
		t.Errorf("zero Set: IsEmpty %v, Len %d, String %q", s.IsEmpty(), s.Len(), s.String())
	}
	if got := s.Scopes(); got == nil || len(got) != 0 {
		t.Errorf("zero Set Scopes() = %#v, want an empty non-nil slice", got)
	}
	if parsed := mustDelegated(t, ""); parsed != s {
		t.Errorf("ParseDelegated(\"\") = %#v, want the zero Set", parsed)
	}
}

func TestSet_EqualSetsCompareEqual(t *testing.T) {
	t.Parallel()
	if a, b := mustDelegated(t, "read_only"), mustDelegated(t, "read_free_busy read_events list_calendars read_account read_account"); a != b {
		t.Errorf("%#v != %#v", a, b)
	}
}

func mustDelegated(t testing.TB, s string) Set {
	t.Helper()
	set, err := ParseDelegated(s)
	if err != nil {
		t.Fatalf("ParseDelegated(%q): %v", s, err)
	}
	return set
}

func BenchmarkParseDelegated(b *testing.B) {
	for _, in := range []string{"read_only", "read_contacts read_write", "read_account list_calendars read_events read_free_busy create_event"} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseDelegated(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWithin(b *testing.B) {
	ask, ceiling := mustDelegated(b, "free_busy"), mustDelegated(b, "read_write read_contacts")
	b.ReportAllocs()
	for b.Loop() {
		if !ask.Within(ceiling) {
			b.Fatal("not within")
		}
	}
}

// BenchmarkParseWithinString is a mint's whole scope work: parse the request, check it against
// the stored ceiling, write the expanded form into the token.
func BenchmarkParseWithinString(b *testing.B) {
	ceiling := mustDelegated(b, "read_write read_contacts")
	b.ReportAllocs()
	for b.Loop() {
		ask, err := ParseDelegated("read_only")
		if err != nil || !ask.Within(ceiling) {
			b.Fatal(err)
		}
		_ = ask.String()
	}
}

func BenchmarkString(b *testing.B) {
	s := mustDelegated(b, "read_write read_contacts")
	b.ReportAllocs()
	for b.Loop() {
		_ = s.String()
	}
}
