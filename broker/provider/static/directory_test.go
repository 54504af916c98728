package static_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/enterprise-connect/broker/broker/provider"
)

func TestDirectory_Subject(t *testing.T) {
	t.Parallel()
	d := loadChecker(t)
	alice := provider.Subject{Email: "alice@example.com", Name: "Alice Example", Kind: provider.Account,
		Groups:    []string{"sales"},
		Calendars: []provider.Calendar{{ID: "cal_alice_1", Name: "Alice"}, {ID: "cal_alice_2", Name: "Team"}}}
	room := provider.Subject{Email: "room-1@example.com", Name: "Room 1", Kind: provider.Resource,
		Groups: []string{}, Calendars: []provider.Calendar{{ID: "cal_room_1", Name: "Room 1"}}}
	boss := provider.Subject{Email: "boss@example.com", Name: "Boss User", Kind: provider.Account,
		Groups: []string{"exec"}, Calendars: []provider.Calendar{}}
	tests := []struct {
		name    string
		email   string
		want    provider.Subject
		wantErr error
	}{
		{"user", "alice@example.com", alice, nil},
		{"user, mixed case", "ALICE@Example.Com", alice, nil},
		{"resource", "room-1@example.com", room, nil},
		{"admin who is also a user", "boss@example.com", boss, nil},
		{"admin who is not a user", "admin@example.com", provider.Subject{}, provider.ErrUnknownSubject},
		{"unknown", "carol@example.com", provider.Subject{}, provider.ErrUnknownSubject},
		{"other domain", "alice@other.org", provider.Subject{}, provider.ErrUnknownSubject},
		{"empty", "", provider.Subject{}, provider.ErrUnknownSubject},
		{"unicode look-alike does not fold", "\u212Aalice@example.com", provider.Subject{}, provider.ErrUnknownSubject},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := d.Subject(t.Context(), tc.email)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Subject(%q) error = %v, want %v", tc.email, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Subject(%q) (-want +got):\n%s", tc.email, diff)
			}
		})
	}
}

// An append by a caller must copy rather than write into the directory's shared arrays, which
// another goroutine's later Subject call would then see.
func TestDirectory_Subject_SlicesAreClipped(t *testing.T) {
	t.Parallel()
	d := loadChecker(t)
	for _, email := range []string{"alice@example.com", "room-1@example.com", "boss@example.com"} {
		s, err := d.Subject(t.Context(), email)
		if err != nil {
			t.Fatal(err)
		}
		if cap(s.Groups) != len(s.Groups) || cap(s.Calendars) != len(s.Calendars) {
			t.Errorf("%s: cap(Groups)=%d len=%d, cap(Calendars)=%d len=%d, want cap == len",
				email, cap(s.Groups), len(s.Groups), cap(s.Calendars), len(s.Calendars))
		}
	}
}

func TestDirectory_ResourcesAndAdmins_ReturnCallersSlices(t *testing.T) {
	t.Parallel()
	d := loadChecker(t)
	rs, _ := d.Resources(t.Context())
	rs[0].Email = "changed@example.com"
	as := d.Admins()
	as[0].Email = "changed@example.com"
	rs2, _ := d.Resources(t.Context())
	if rs2[0].Email != "room-1@example.com" || d.Admins()[0].Email != "admin@example.com" {
		t.Errorf("changing returned slices changed the directory")
	}
}

func BenchmarkDirectory_Subject(b *testing.B) {
	d := loadChecker(b)
	for _, bc := range []struct{ name, email string }{
		{"lower case", "alice@example.com"},
		{"mixed case", "Alice@Example.COM"},
		{"unknown", "nobody@example.com"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				_, _ = d.Subject(ctx, bc.email)
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		ctx := b.Context()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = d.Subject(ctx, "Bob@example.com")
			}
		})
	})
}
