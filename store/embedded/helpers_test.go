package embedded_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
	"github.com/enterprise-connect/broker/store/embedded"
)

// t0 is a fixed instant with whole milliseconds, the store's resolution.
var t0 = time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC)

// openAt opens the store at path and closes it when the test ends.
func openAt(t testing.TB, path string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openTemp opens a new store in a fresh temporary directory and returns it with its path.
func openTemp(t testing.TB) (*embedded.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "broker.db")
	return openAt(t, path), path
}

// wantErr fails the test unless errors.Is(err, want) (want nil: err must be nil).
func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: unexpected error %v", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func testGrant(id, client, domain string, at time.Time) store.Grant {
	return store.Grant{
		ID: id, ClientID: client, Domain: domain,
		Scope:          "service_account/accounts/manage",
		DelegatedScope: "list_calendars read_account",
		Policy:         store.SubjectPolicy{Groups: []string{"eng"}, ResourcesOnly: true},
		ApprovedBy:     "admin@" + domain,
		ApprovedAt:     at,
		Status:         store.GrantActive,
	}
}

func testCode(hash string, expires time.Time) store.Code {
	return store.Code{
		Hash: hash, ClientID: "cli_1", RedirectURI: "https://app.example/cb",
		RedirectURIGiven: true, CodeChallenge: "chal", GrantID: "ser_1",
		Domain: "example.com", FamilyID: "fam_1", SubjectKind: store.KindServiceAccount,
		ExpiresAt: expires,
	}
}

func testEvent(domain, id, prev, hash string, at time.Time) store.AuditEvent {
	return store.AuditEvent{
		ID: id, Time: at.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Type: "token.issued",
		Domain: domain, ClientID: "cli_1", Result: "success", PrevHash: prev, Hash: hash,
	}
}
