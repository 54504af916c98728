package static_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/enterprise-connect/broker/broker/provider"
	"github.com/enterprise-connect/broker/broker/provider/static"
)

func isBase62(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func TestGenerateDemo_LoadsAndAdminSignsIn(t *testing.T) {
	t.Parallel()
	data, email, password, err := static.GenerateDemo("example.com")
	if err != nil {
		t.Fatal(err)
	}
	if email != "admin@example.com" {
		t.Errorf("admin email = %q, want admin@example.com", email)
	}
	if len(password) < 16 || !isBase62(password) {
		t.Errorf("admin password %q: want ≥ 16 base-62 characters", password)
	}
	if strings.Contains(string(data), password) {
		t.Error("the file contains the admin password")
	}
	d, err := static.Parse("demo.yaml", data)
	if err != nil {
		t.Fatalf("Parse(demo) error = %v\n%s", err, data)
	}
	p, err := d.SignIn(t.Context(), email, password)
	if err != nil || !p.IsAdmin || p.Email != email {
		t.Errorf("SignIn(admin) = %+v, %v; want the admin", p, err)
	}
	if _, err := d.Subject(t.Context(), email); !errors.Is(err, provider.ErrUnknownSubject) {
		t.Errorf("Subject(admin) error = %v, want ErrUnknownSubject (admins are not users)", err)
	}
	for _, tc := range []struct {
		email     string
		kind      provider.SubjectKind
		calendars int
	}{
		{"alice@example.com", provider.Account, 2},
		{"bob@example.com", provider.Account, 1},
		{"room-1@example.com", provider.Resource, 1},
	} {
		s, err := d.Subject(t.Context(), tc.email)
		if err != nil || s.Kind != tc.kind || len(s.Calendars) != tc.calendars {
			t.Errorf("Subject(%s) = %+v, %v; want a %s with %d calendars", tc.email, s, err, tc.kind, tc.calendars)
		}
	}
}

func TestNewDemo_UsersSignInAndPasswordsStayHidden(t *testing.T) {
	t.Parallel()
	demo, err := static.NewDemo("Demo.Test")
	if err != nil {
		t.Fatal(err)
	}
	d, err := static.Parse("demo.yaml", demo.YAML)
	if err != nil {
		t.Fatal(err)
	}
	if d.Domain() != "demo.test" {
		t.Errorf("Domain() = %q, want demo.test", d.Domain())
	}
	if len(demo.Users) != 2 {
		t.Fatalf("got %d users, want 2", len(demo.Users))
	}
	for _, u := range demo.Users {
		p, err := d.SignIn(t.Context(), u.Email, u.Password)
		if err != nil || p.IsAdmin {
			t.Errorf("SignIn(%s) = %+v, %v; want a non-admin person", u.Email, p, err)
		}
		var logged strings.Builder
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "account", u)
		if printed := fmt.Sprint(u) + fmt.Sprintf("%v %+v", u, u) + logged.String(); strings.Contains(printed, u.Password) {
			t.Errorf("printing or logging the account shows its password: %s", printed)
		}
	}
}

func TestGenerateDemo_BadDomain(t *testing.T) {
	t.Parallel()
	for _, domain := range []string{"", "not a domain", "a@b.c", "-x.org"} {
		if _, _, _, err := static.GenerateDemo(domain); err == nil {
			t.Errorf("GenerateDemo(%q) succeeded, want an error", domain)
		}
	}
}
