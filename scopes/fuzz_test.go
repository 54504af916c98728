package scopes

import (
	"errors"
	"strings"
	"testing"
)

// fuzzSeeds are inputs both fuzz targets start from: valid lists of either kind, odd spacing,
// and near misses.
var fuzzSeeds = []string{
	"", " ", "read_only", "read_contacts read_write", "  free_busy  free_busy ", "read_events",
	"write_only free_busy_write", "read_only\tread_write", "READ_ONLY", "read_", "nope",
	AccountsManage, AccountsManage + " " + ResourcesManage + " " + AccountsManage,
	"service_account/", "\xff\xfe", strings.Repeat("read_account ", 50),
}

func FuzzParseDelegated(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkRoundTrip(t, s, ParseDelegated, delegatedMask)
	})
}

func FuzzParseServiceAccount(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkRoundTrip(t, s, ParseServiceAccount, serviceAccountMask)
	})
}

// checkRoundTrip: parsing never panics; a failure names a real token of s and returns the
// empty Set; a success stays inside its kind, and parse → String → parse gives the same Set
// and the same String.
func checkRoundTrip(t *testing.T, s string, parse func(string) (Set, error), kind uint32) {
	set, err := parse(s)
	if err != nil {
		var ue *UnknownError
		if !errors.As(err, &ue) {
			t.Fatalf("parse(%q): %T %v, want *UnknownError", s, err, err)
		}
		if ue.Token == "" || strings.Contains(ue.Token, " ") || !strings.Contains(s, ue.Token) {
			t.Fatalf("parse(%q): Token %q is not a token of the input", s, ue.Token)
		}
		if !set.IsEmpty() {
			t.Fatalf("parse(%q): Set %q with an error", s, set)
		}
		return
	}
	if set.bits&^kind != 0 {
		t.Fatalf("parse(%q) = %q, outside its kind", s, set)
	}
	str := set.String()
	again, err := parse(str)
	if err != nil {
		t.Fatalf("parse(%q) = %q, which does not parse: %v", s, str, err)
	}
	if again != set || again.String() != str {
		t.Fatalf("parse(%q) = %q, reparsed %q", s, str, again)
	}
	if !set.Within(again) || !again.Within(set) {
		t.Fatalf("parse(%q): round trip not within each other", s)
	}
	_ = Google(set)
}
