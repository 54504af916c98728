package static_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/enterprise-connect/broker/broker/provider/static"
)

// Passwords of the test directory; hashed at bcrypt.MinCost so tests stay fast.
const (
	adminPW     = "pw-admin-secret"
	alicePW     = "pw-alice-secret"
	bobPW       = "pw-bob-secret"
	bossAdminPW = "pw-boss-as-admin"
	bossUserPW  = "pw-boss-as-user"
)

func hash(t testing.TB, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// q quotes like the checker does: JSON strings are YAML strings.
func q(s string) string { b, _ := json.Marshal(s); return string(b) }

// checkerYAML is the file /work/shared/checks/env.go writeDirectories writes for example.com,
// plus boss@, an administrator who is also a user with a different password.
func checkerYAML(t testing.TB) string {
	return fmt.Sprintf(`domain: example.com
admins:
  - email: %s
    name: %s
    password_hash: %s
  - email: Boss@Example.com
    name: Boss Admin
    password_hash: %s
users:
  - email: %s
    name: %s
    password_hash: %s
    groups: [sales]
    calendars:
      - calendar_id: cal_alice_1
        name: Alice
      - calendar_id: cal_alice_2
        name: Team
  - email: %s
    name: %s
    password_hash: %s
    groups: [eng]
    calendars:
      - calendar_id: cal_bob_1
        name: Bob
  - email: boss@example.com
    name: Boss User
    password_hash: %s
    groups: [exec]
resources:
  - email: room-1@example.com
    name: Room 1
    calendars:
      - calendar_id: cal_room_1
        name: Room 1
`, q("admin@example.com"), q("Example Admin"), q(hash(t, adminPW)),
		q(hash(t, bossAdminPW)),
		q("alice@example.com"), q("Alice Example"), q(hash(t, alicePW)),
		q("bob@example.com"), q("Bob Example"), q(hash(t, bobPW)),
		q(hash(t, bossUserPW)))
}

// loadChecker writes checkerYAML to a temporary example.com.yaml and loads it.
func loadChecker(t testing.TB) *static.Directory {
	t.Helper()
	path := filepath.Join(t.TempDir(), "example.com.yaml")
	if err := os.WriteFile(path, []byte(checkerYAML(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := static.Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return d
}

func parse(t testing.TB, yaml string) *static.Directory {
	t.Helper()
	d, err := static.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d
}
