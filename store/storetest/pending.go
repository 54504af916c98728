package storetest

import (
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

func newPending(pid string, created time.Time) store.PendingAuthorization {
	return store.PendingAuthorization{
		ID:               pid,
		ClientID:         "cli_1",
		RedirectURI:      "https://app.example/cb",
		RedirectURIGiven: true,
		Scope:            "service_account/accounts/manage",
		DelegatedScope:   "read_account read_free_busy",
		State:            "st<&>\"'", // opaque, echoed verbatim
		CodeChallenge:    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		LoginHint:        "admin@example.com",
		CreatedAt:        created,
		ExpiresAt:        created.Add(10 * time.Minute),
	}
}

func testAuthorizations(t *testing.T, open Opener) {
	t.Run("PutGetRoundTrip", func(t *testing.T) {
		ctx, s := fresh(t, open)
		p := newPending("pen_1", at(7*ms))
		must(t, "PutPending", s.PutPending(ctx, p))
		got, err := s.GetPending(ctx, p.ID, at(time.Minute))
		must(t, "GetPending", err)
		if d := diff(p, got); d != "" {
			t.Errorf("GetPending (-want +got):\n%s", d)
		}
		bare := store.PendingAuthorization{ID: "pen_2", ClientID: "cli_1", CreatedAt: at(0), ExpiresAt: at(time.Minute)}
		must(t, "PutPending bare", s.PutPending(ctx, bare))
		got, err = s.GetPending(ctx, bare.ID, at(0))
		must(t, "GetPending bare", err)
		if d := diff(bare, got); d != "" {
			t.Errorf("GetPending bare (-want +got):\n%s", d)
		}
		_, err = s.GetPending(ctx, "pen_unknown", at(0))
		wantErr(t, "GetPending unknown", err, store.ErrNotFound)
	})
	t.Run("PutExisting", func(t *testing.T) {
		ctx, s := fresh(t, open)
		p := newPending("pen_1", at(0))
		must(t, "PutPending", s.PutPending(ctx, p))
		other := newPending("pen_1", at(time.Second))
		other.State = "other"
		wantErr(t, "PutPending again", s.PutPending(ctx, other), store.ErrExists)
		got, err := s.GetPending(ctx, p.ID, at(time.Second))
		must(t, "GetPending", err)
		if got.State != p.State {
			t.Errorf("the refused put replaced the request: State = %q, want %q", got.State, p.State)
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		ctx, s := fresh(t, open)
		p := newPending("pen_1", at(0))
		must(t, "PutPending", s.PutPending(ctx, p))
		if _, err := s.GetPending(ctx, p.ID, p.ExpiresAt.Add(-ms)); err != nil {
			t.Fatalf("GetPending just before ExpiresAt: %v", err)
		}
		_, err := s.GetPending(ctx, p.ID, p.ExpiresAt.Add(ms))
		wantErr(t, "GetPending after ExpiresAt", err, store.ErrNotFound)
		_, err = s.ConsumePending(ctx, p.ID, p.ExpiresAt.Add(ms))
		wantErr(t, "ConsumePending after ExpiresAt", err, store.ErrNotFound)
	})
	t.Run("ConsumeOnce", func(t *testing.T) {
		ctx, s := fresh(t, open)
		p := newPending("pen_1", at(0))
		must(t, "PutPending", s.PutPending(ctx, p))
		got, err := s.ConsumePending(ctx, p.ID, at(time.Minute))
		must(t, "ConsumePending", err)
		if d := diff(p, got); d != "" {
			t.Errorf("ConsumePending (-want +got):\n%s", d)
		}
		_, err = s.ConsumePending(ctx, p.ID, at(time.Minute))
		wantErr(t, "ConsumePending again", err, store.ErrNotFound)
		_, err = s.GetPending(ctx, p.ID, at(time.Minute))
		wantErr(t, "GetPending after consume", err, store.ErrNotFound)
		_, err = s.ConsumePending(ctx, "pen_unknown", at(0))
		wantErr(t, "ConsumePending unknown", err, store.ErrNotFound)
	})
	t.Run("ConsumeRace", func(t *testing.T) {
		ctx, s := fresh(t, open)
		p := newPending("pen_1", at(0))
		must(t, "PutPending", s.PutPending(ctx, p))
		errs := race(50, func(int) error {
			_, err := s.ConsumePending(ctx, p.ID, at(time.Minute))
			return err
		})
		if wins, losses := tally(t, errs, store.ErrNotFound); wins != 1 || losses != 49 {
			t.Errorf("50 concurrent ConsumePending: %d won, %d ErrNotFound; want 1 and 49", wins, losses)
		}
	})
}

func newSession(cookie string, kind store.SessionKind, created time.Time) store.Session {
	return store.Session{
		Hash:      hashOf(cookie),
		Kind:      kind,
		Email:     "admin@example.com",
		Name:      "Ada Admin",
		Domain:    "example.com",
		CreatedAt: created,
		ExpiresAt: created.Add(time.Hour),
	}
}

func testSessions(t *testing.T, open Opener) {
	t.Run("PutGetRoundTrip", func(t *testing.T) {
		ctx, s := fresh(t, open)
		for i, kind := range []store.SessionKind{store.SessionAdmin, store.SessionSubject} {
			sess := newSession(name("cookie-%d", i), kind, at(time.Duration(i)*time.Second+9*ms))
			must(t, "PutSession", s.PutSession(ctx, sess))
			got, err := s.GetSession(ctx, sess.Hash, at(time.Minute))
			must(t, "GetSession", err)
			if d := diff(sess, got); d != "" {
				t.Errorf("GetSession %s (-want +got):\n%s", kind, d)
			}
		}
		_, err := s.GetSession(ctx, hashOf("no such cookie"), at(0))
		wantErr(t, "GetSession unknown", err, store.ErrNotFound)
	})
	t.Run("Expiry", func(t *testing.T) {
		ctx, s := fresh(t, open)
		sess := newSession("cookie", store.SessionAdmin, at(0))
		must(t, "PutSession", s.PutSession(ctx, sess))
		if _, err := s.GetSession(ctx, sess.Hash, sess.ExpiresAt.Add(-ms)); err != nil {
			t.Fatalf("GetSession just before ExpiresAt: %v", err)
		}
		_, err := s.GetSession(ctx, sess.Hash, sess.ExpiresAt.Add(ms))
		wantErr(t, "GetSession after ExpiresAt", err, store.ErrNotFound)
	})
	t.Run("Delete", func(t *testing.T) {
		ctx, s := fresh(t, open)
		a := newSession("cookie-a", store.SessionAdmin, at(0))
		b := newSession("cookie-b", store.SessionSubject, at(0))
		must(t, "PutSession a", s.PutSession(ctx, a))
		must(t, "PutSession b", s.PutSession(ctx, b))
		must(t, "DeleteSession", s.DeleteSession(ctx, a.Hash))
		_, err := s.GetSession(ctx, a.Hash, at(time.Minute))
		wantErr(t, "GetSession after delete", err, store.ErrNotFound)
		if _, err := s.GetSession(ctx, b.Hash, at(time.Minute)); err != nil {
			t.Errorf("GetSession of the other session: %v", err)
		}
		must(t, "DeleteSession again", s.DeleteSession(ctx, a.Hash))
		must(t, "DeleteSession unknown", s.DeleteSession(ctx, hashOf("no such cookie")))
	})
}

func newPermissionRequest(rid string, created time.Time) store.PermissionRequest {
	return store.PermissionRequest{
		ID:          rid,
		GrantID:     id("ser_", "perm"),
		ClientID:    "cli_1",
		Domain:      "example.com",
		Subject:     "alice@example.com",
		CalendarIDs: []string{"cal_b", "cal_a"},
		RedirectURI: "https://app.example/done",
		CreatedAt:   created,
		ExpiresAt:   created.Add(30 * time.Minute),
	}
}

func testPermissions(t *testing.T, open Opener) {
	t.Run("PutGetRoundTrip", func(t *testing.T) {
		ctx, s := fresh(t, open)
		r := newPermissionRequest("prq_1", at(11*ms))
		must(t, "PutPermissionRequest", s.PutPermissionRequest(ctx, r))
		got, err := s.GetPermissionRequest(ctx, r.ID, at(time.Minute))
		must(t, "GetPermissionRequest", err)
		if d := diff(r, got); d != "" {
			t.Errorf("GetPermissionRequest (-want +got):\n%s", d)
		}
		_, err = s.GetPermissionRequest(ctx, "prq_unknown", at(0))
		wantErr(t, "GetPermissionRequest unknown", err, store.ErrNotFound)
	})
	t.Run("PutExisting", func(t *testing.T) {
		ctx, s := fresh(t, open)
		r := newPermissionRequest("prq_1", at(0))
		must(t, "PutPermissionRequest", s.PutPermissionRequest(ctx, r))
		other := newPermissionRequest("prq_1", at(0))
		other.Subject = "mallory@example.com"
		wantErr(t, "PutPermissionRequest again", s.PutPermissionRequest(ctx, other), store.ErrExists)
		got, err := s.GetPermissionRequest(ctx, r.ID, at(0))
		must(t, "GetPermissionRequest", err)
		if got.Subject != r.Subject {
			t.Errorf("the refused put replaced the request: Subject = %q, want %q", got.Subject, r.Subject)
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		ctx, s := fresh(t, open)
		r := newPermissionRequest("prq_1", at(0))
		must(t, "PutPermissionRequest", s.PutPermissionRequest(ctx, r))
		if _, err := s.GetPermissionRequest(ctx, r.ID, r.ExpiresAt.Add(-ms)); err != nil {
			t.Fatalf("GetPermissionRequest just before ExpiresAt: %v", err)
		}
		_, err := s.GetPermissionRequest(ctx, r.ID, r.ExpiresAt.Add(ms))
		wantErr(t, "GetPermissionRequest after ExpiresAt", err, store.ErrNotFound)
		_, err = s.ConsumePermissionRequest(ctx, r.ID, r.ExpiresAt.Add(ms))
		wantErr(t, "ConsumePermissionRequest after ExpiresAt", err, store.ErrNotFound)
	})
	t.Run("ConsumeOnce", func(t *testing.T) {
		ctx, s := fresh(t, open)
		r := newPermissionRequest("prq_1", at(0))
		must(t, "PutPermissionRequest", s.PutPermissionRequest(ctx, r))
		got, err := s.ConsumePermissionRequest(ctx, r.ID, at(time.Minute))
		must(t, "ConsumePermissionRequest", err)
		if d := diff(r, got); d != "" {
			t.Errorf("ConsumePermissionRequest (-want +got):\n%s", d)
		}
		_, err = s.ConsumePermissionRequest(ctx, r.ID, at(time.Minute))
		wantErr(t, "ConsumePermissionRequest again", err, store.ErrNotFound)
		_, err = s.GetPermissionRequest(ctx, r.ID, at(time.Minute))
		wantErr(t, "GetPermissionRequest after consume", err, store.ErrNotFound)
		_, err = s.ConsumePermissionRequest(ctx, "prq_unknown", at(0))
		wantErr(t, "ConsumePermissionRequest unknown", err, store.ErrNotFound)
	})
	t.Run("ConsumeRace", func(t *testing.T) {
		ctx, s := fresh(t, open)
		r := newPermissionRequest("prq_1", at(0))
		must(t, "PutPermissionRequest", s.PutPermissionRequest(ctx, r))
		errs := race(50, func(int) error {
			_, err := s.ConsumePermissionRequest(ctx, r.ID, at(time.Minute))
			return err
		})
		if wins, losses := tally(t, errs, store.ErrNotFound); wins != 1 || losses != 49 {
			t.Errorf("50 concurrent ConsumePermissionRequest: %d won, %d ErrNotFound; want 1 and 49", wins, losses)
		}
	})
}
