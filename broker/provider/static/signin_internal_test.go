package static

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Unknown emails must cost what known ones cost: the dummy hash has the directory's highest
// bcrypt cost. (No test measures time, STYLE §10; this checks the cause instead.)
func TestDirectory_DummyHash_MatchesDirectoryCost(t *testing.T) {
	t.Parallel()
	if c, err := bcrypt.Cost([]byte(dummyHash)); err != nil || c != bcrypt.DefaultCost {
		t.Fatalf("dummyHash cost = %d, %v; want %d", c, err, bcrypt.DefaultCost)
	}
	if got := (&Directory{maxCost: bcrypt.DefaultCost}).dummy(); string(got) != dummyHash {
		t.Errorf("dummy() at the default cost = %s, want the constant", got)
	}
	tests := []struct {
		name     string
		costs    []int
		wantCost int
	}{
		{"min cost", []int{bcrypt.MinCost}, bcrypt.MinCost},
		{"mixed costs: highest", []int{bcrypt.MinCost, bcrypt.MinCost + 1}, bcrypt.MinCost + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			yaml := "domain: example.com\nadmins:\n"
			for i, c := range tc.costs {
				h, err := bcrypt.GenerateFromPassword([]byte("pw"), c)
				if err != nil {
					t.Fatal(err)
				}
				yaml += "  - {email: a" + string(rune('0'+i)) + "@example.com, password_hash: '" + string(h) + "'}\n"
			}
			d, err := Parse("x.yaml", []byte(yaml))
			if err != nil {
				t.Fatal(err)
			}
			h := d.dummy()
			if c, err := bcrypt.Cost(h); err != nil || c != tc.wantCost {
				t.Errorf("dummy cost = %d, %v; want %d", c, err, tc.wantCost)
			}
			if string(d.dummy()) != string(h) {
				t.Errorf("dummy hash changed between calls")
			}
		})
	}
}

func TestLookup_DoesNotAllocate(t *testing.T) {
	m := map[string]int{"alice@example.com": 1}
	for _, email := range []string{"alice@example.com", "ALICE@example.com", "nobody@example.com"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = lookup(m, email) }); n != 0 {
			t.Errorf("lookup(%q) allocates %v times, want 0", email, n)
		}
	}
}

func TestRandomBase62_LengthAlphabetAndFreshness(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		s, err := randomBase62(demoPasswordLen)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != demoPasswordLen {
			t.Errorf("len(%q) = %d, want %d", s, len(s), demoPasswordLen)
		}
		for _, c := range s {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				t.Errorf("%q has %q, not base-62", s, c)
			}
		}
		if seen[s] {
			t.Errorf("%q generated twice", s)
		}
		seen[s] = true
	}
}
