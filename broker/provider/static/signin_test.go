package static_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/enterprise-connect/broker/broker/provider"
)

func TestDirectory_SignIn(t *testing.T) {
	t.Parallel()
	d := loadChecker(t)
	admin := provider.Person{Email: "admin@example.com", Name: "Example Admin", IsAdmin: true}
	alice := provider.Person{Email: "alice@example.com", Name: "Alice Example"}
	boss := provider.Person{Email: "boss@example.com", Name: "Boss Admin", IsAdmin: true}
	tests := []struct {
		name     string
		email    string
		password string
		want     provider.Person
		wantErr  error
	}{
		{"admin, right password", "admin@example.com", adminPW, admin, nil},
		{"admin, mixed-case email", "Admin@EXAMPLE.com", adminPW, admin, nil},
		{"admin, wrong password", "admin@example.com", alicePW, provider.Person{}, provider.ErrBadCredentials},
		{"user who is not an admin", "alice@example.com", alicePW, alice, nil},
		{"user, wrong password", "alice@example.com", adminPW, provider.Person{}, provider.ErrBadCredentials},
		{"admin and user: admin password", "boss@example.com", bossAdminPW, boss, nil},
		{"admin and user: user password refused", "boss@example.com", bossUserPW, provider.Person{}, provider.ErrBadCredentials},
		{"unknown email", "carol@example.com", alicePW, provider.Person{}, provider.ErrBadCredentials},
		{"resource", "room-1@example.com", "", provider.Person{}, provider.ErrBadCredentials},
		{"empty password", "alice@example.com", "", provider.Person{}, provider.ErrBadCredentials},
		{"password plus 72 bytes", "alice@example.com", alicePW + strings.Repeat("x", 72), provider.Person{}, provider.ErrBadCredentials},
		{"empty email", "", alicePW, provider.Person{}, provider.ErrBadCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := d.SignIn(t.Context(), tc.email, tc.password)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("SignIn(%q) error = %v, want %v", tc.email, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("SignIn(%q) (-want +got):\n%s", tc.email, diff)
			}
		})
	}
}

func TestDirectory_SignIn_UserWithoutPasswordCannotSignIn(t *testing.T) {
	t.Parallel()
	d := parse(t, "domain: example.com\nadmins:\n  - {email: a@example.com, password_hash: "+q(hash(t, "pw"))+"}\n"+
		"users:\n  - email: u@example.com\n")
	if _, err := d.SignIn(t.Context(), "u@example.com", ""); !errors.Is(err, provider.ErrBadCredentials) {
		t.Errorf("SignIn() error = %v, want ErrBadCredentials", err)
	}
	if _, err := d.Subject(t.Context(), "u@example.com"); err != nil {
		t.Errorf("Subject() error = %v, want the user to be a subject", err)
	}
}

func TestDirectory_SignIn_CancelledContext(t *testing.T) {
	t.Parallel()
	d := loadChecker(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := d.SignIn(ctx, "admin@example.com", adminPW); !errors.Is(err, context.Canceled) {
		t.Errorf("SignIn() error = %v, want context.Canceled", err)
	}
}
