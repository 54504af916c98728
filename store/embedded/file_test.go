package embedded_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/enterprise-connect/broker/store"
	"github.com/enterprise-connect/broker/store/embedded"
)

func TestOpen_ReopenKeepsEveryKindOfRecord(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "broker.db")
	s, err := embedded.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	client := store.Client{
		ID: "cli_1", Name: "App", SecretHash: "h", CallbackSecret: []byte{1, 2},
		RedirectURIs: []string{"https://a/cb", "https://b/cb"}, Scope: "s", DelegatedScope: "d",
		RequirePKCE: true, JWKS: []byte(`{"keys":[]}`), CreatedAt: t0,
	}
	grant := testGrant("ser_1", "cli_1", "example.com", t0)
	code := testCode("code_1", t0.Add(5*time.Minute))
	fam := store.Family{ID: "fam_1", GrantID: "ser_1", ClientID: "cli_1", Domain: "example.com",
		Kind: store.KindServiceAccount, Subject: "ser_1"}
	access := store.AccessToken{Hash: "at_1", FamilyID: "fam_1", GrantID: "ser_1",
		ClientID: "cli_1", Domain: "example.com", Kind: store.KindServiceAccount, Subject: "ser_1",
		Scope: "s", DelegatedScope: "d", IssuedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}
	key := store.SigningKey{ID: "kid_1", Alg: "EdDSA", Private: []byte("sealed"),
		Public: []byte(`{}`), CreatedAt: t0}
	ev := testEvent("example.com", "ev_1", "", "hash_1", t0)
	for _, step := range []struct {
		name string
		err  error
	}{
		{"create client", s.CreateClient(ctx, client)},
		{"create grant", func() error { _, err := s.CreateGrant(ctx, grant); return err }()},
		{"put code", s.PutCode(ctx, code)},
		{"issue tokens", s.IssueTokens(ctx, fam, &access, nil)},
		{"init key", func() error { _, err := s.InitSigningKey(ctx, key); return err }()},
		{"append audit", s.AppendAudit(ctx, "example.com", "", []store.AuditEvent{ev})},
	} {
		wantErr(t, step.name, step.err, nil)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openAt(t, path)
	gotClient, err := s.GetClient(ctx, "cli_1")
	wantErr(t, "get client", err, nil)
	if d := cmp.Diff(client, gotClient); d != "" {
		t.Errorf("client after reopen (-want +got):\n%s", d)
	}
	gotGrant, err := s.GetGrant(ctx, "ser_1")
	wantErr(t, "get grant", err, nil)
	if d := cmp.Diff(grant, gotGrant); d != "" {
		t.Errorf("grant after reopen (-want +got):\n%s", d)
	}
	gotAccess, err := s.LookupAccessToken(ctx, "at_1", t0)
	wantErr(t, "lookup access", err, nil)
	if d := cmp.Diff(access, gotAccess); d != "" {
		t.Errorf("access token after reopen (-want +got):\n%s", d)
	}
	gotCode, err := s.ConsumeCode(ctx, "code_1", t0)
	wantErr(t, "consume code", err, nil)
	if gotCode.FamilyID != "fam_1" || gotCode.CodeChallenge != "chal" {
		t.Errorf("code after reopen = %+v", gotCode)
	}
	keys, err := s.ListSigningKeys(ctx)
	wantErr(t, "list keys", err, nil)
	if d := cmp.Diff([]store.SigningKey{key}, keys); d != "" {
		t.Errorf("keys after reopen (-want +got):\n%s", d)
	}
	head, err := s.AuditHead(ctx, "example.com")
	if err != nil || head != "hash_1" {
		t.Errorf("AuditHead after reopen = %q, %v; want hash_1", head, err)
	}
}

func TestOpen_ReopenOfCurrentSchemaIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broker.db")
	for i := range 3 {
		s, err := embedded.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		s.Close()
	}
}

func TestOpen_BadPath_Unavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "sub", "broker.db")
	_, err := embedded.Open(t.Context(), path)
	wantErr(t, "open in a missing directory", err, store.ErrUnavailable)
}

func TestOpen_PathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a?b#c%d.db")
	s := openAt(t, path)
	wantErr(t, "ping", s.Ping(t.Context()), nil)
}

// The broker's default data_dir is the relative ./data (SPEC §10).
func TestOpen_RelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("data", 0o700); err != nil {
		t.Fatal(err)
	}
	s := openAt(t, filepath.Join("data", "broker.db"))
	wantErr(t, "put code", s.PutCode(t.Context(), testCode("c", t0)), nil)
	if _, err := os.Stat(filepath.Join(dir, "data", "broker.db")); err != nil {
		t.Fatalf("the file is not where the relative path says: %v", err)
	}
}

func TestClose_LaterCallsAreUnavailable(t *testing.T) {
	s, err := embedded.Open(t.Context(), filepath.Join(t.TempDir(), "broker.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	wantErr(t, "ping after close", s.Ping(t.Context()), store.ErrUnavailable)
	_, err = s.GetClient(t.Context(), "x")
	wantErr(t, "read after close", err, store.ErrUnavailable)
	wantErr(t, "write after close", s.PutCode(t.Context(), testCode("c", t0)), store.ErrUnavailable)
}

// Two *Store on one file are what the CLI and the server are: separate connections, and
// SQLite's file locks between them.
func TestTwoStores_SeeEachOthersWrites(t *testing.T) {
	ctx := t.Context()
	server, path := openTemp(t)
	cli := openAt(t, path)

	wantErr(t, "cli creates client", cli.CreateClient(ctx, store.Client{ID: "cli_1", CreatedAt: t0}), nil)
	if _, err := server.GetClient(ctx, "cli_1"); err != nil {
		t.Fatalf("server does not see the CLI's client: %v", err)
	}
	if _, err := server.CreateGrant(ctx, testGrant("ser_1", "cli_1", "example.com", t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.RevokeGrant(ctx, "ser_1", t0.Add(time.Minute)); err != nil {
		t.Fatalf("cli revokes: %v", err)
	}
	if _, err := server.ActiveGrant(ctx, "cli_1", "example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("server still sees the grant the CLI revoked: %v", err)
	}
}

func TestTwoStores_ConcurrentWritesNeverBusy(t *testing.T) {
	ctx := t.Context()
	a, path := openTemp(t)
	b := openAt(t, path)
	const perStore, goroutines = 40, 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*goroutines*perStore)
	for _, s := range []*embedded.Store{a, b} {
		for g := range goroutines {
			wg.Go(func() {
				for i := range perStore {
					if _, _, err := s.Hit(ctx, "ip:1", time.Hour, t0); err != nil {
						errs <- fmt.Errorf("hit: %w", err)
					}
					// Writes to other tables too, so the two stores contend on one file.
					id := fmt.Sprintf("%p-%d-%d", s, g, i)
					if err := s.PutCode(ctx, testCode(id, t0.Add(time.Minute))); err != nil {
						errs <- fmt.Errorf("put code: %w", err)
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n, err := b.Count(ctx, "ip:1", time.Hour, t0)
	wantErr(t, "count", err, nil)
	if want := int64(2 * goroutines * perStore); n != want {
		t.Fatalf("Count = %d, want %d (lost updates)", n, want)
	}
}

func TestTwoStores_ConsumeCodeExactlyOnce(t *testing.T) {
	ctx := t.Context()
	a, path := openTemp(t)
	b := openAt(t, path)
	wantErr(t, "put", a.PutCode(ctx, testCode("c1", t0.Add(time.Minute))), nil)
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		wins, used int
	)
	for i := range 50 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			_, err := s.ConsumeCode(ctx, "c1", t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrUsed):
				used++
			default:
				t.Errorf("ConsumeCode: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || used != 49 {
		t.Fatalf("wins = %d, used = %d; want 1 and 49", wins, used)
	}
}

func TestTwoStores_AuditChainStaysLinear(t *testing.T) {
	ctx := t.Context()
	a, path := openTemp(t)
	b := openAt(t, path)
	const writers, each = 6, 10
	var wg sync.WaitGroup
	for w := range writers {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for i := range each {
				appendWithRetry(t, s, "example.com", fmt.Sprintf("w%d-%d", w, i))
			}
		})
	}
	wg.Wait()
	var prev string
	n := 0
	err := a.ExportAudit(ctx, store.AuditFilter{Domain: "example.com"}, func(e store.AuditEvent) error {
		if e.PrevHash != prev {
			return fmt.Errorf("event %s: prev_hash %q, want %q", e.ID, e.PrevHash, prev)
		}
		prev = e.Hash
		n++
		return nil
	})
	wantErr(t, "export", err, nil)
	if n != writers*each {
		t.Fatalf("exported %d events, want %d", n, writers*each)
	}
}

// appendWithRetry appends one event chained to the current head, retrying on ErrConflict as
// the broker does.
func appendWithRetry(t *testing.T, s *embedded.Store, domain, id string) {
	for range 1000 {
		head, err := s.AuditHead(t.Context(), domain)
		if err != nil {
			t.Error(err)
			return
		}
		err = s.AppendAudit(t.Context(), domain, head,
			[]store.AuditEvent{testEvent(domain, id, head, "h-"+id, t0)})
		if err == nil {
			return
		}
		if !errors.Is(err, store.ErrConflict) {
			t.Error(err)
			return
		}
	}
	t.Errorf("append %s: still conflicting after 1000 tries", id)
}
