package embedded_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// TestSweep_DeletesOnlyWhatExpired fills every swept table with one row that has expired at
// the sweep's now and one that has not, sweeps, and checks what later reads see, including
// reads with an earlier now that would still have accepted the expired rows: the sweep is
// the only way to tell they are gone.
func TestSweep_DeletesOnlyWhatExpired(t *testing.T) {
	ctx := t.Context()
	s, _ := openTemp(t)
	now := t0.Add(time.Hour)
	past, future := now.Add(-time.Millisecond), now.Add(time.Minute)
	before := t0 // a now at which every row is still live

	for _, tc := range []struct {
		id  string
		exp time.Time
	}{{"old", past}, {"new", future}} {
		must(t, s.PutCode(ctx, testCode("code-"+tc.id, tc.exp)))
		must(t, s.PutPending(ctx, store.PendingAuthorization{ID: "pend-" + tc.id, ExpiresAt: tc.exp}))
		must(t, s.PutSession(ctx, store.Session{Hash: "sess-" + tc.id, ExpiresAt: tc.exp}))
		must(t, s.PutPermissionRequest(ctx, store.PermissionRequest{ID: "perm-" + tc.id, ExpiresAt: tc.exp}))
		must(t, s.UseOnce(ctx, "once-"+tc.id, tc.exp, before))
		must(t, s.DenyJTI(ctx, "jti-"+tc.id, tc.exp))
		fam := store.Family{ID: "fam-" + tc.id, GrantID: "ser_1"}
		must(t, s.IssueTokens(ctx, fam,
			&store.AccessToken{Hash: "at-" + tc.id, FamilyID: fam.ID, GrantID: "ser_1", ExpiresAt: tc.exp},
			&store.RefreshToken{Hash: "rt-" + tc.id, FamilyID: fam.ID, GrantID: "ser_1", ExpiresAt: tc.exp}))
	}
	// A refresh token without expiry lives as long as its family and grant.
	must(t, s.IssueTokens(ctx, store.Family{ID: "fam-forever", GrantID: "ser_1"}, nil,
		&store.RefreshToken{Hash: "rt-forever", FamilyID: "fam-forever", GrantID: "ser_1"}))
	// Rate-limit windows: one that ended at now, one that contains now.
	_, _, err := s.Hit(ctx, "ip:old", time.Minute, now.Add(-time.Minute))
	must(t, err)
	_, _, err = s.Hit(ctx, "ip:new", time.Minute, now)
	must(t, err)

	must(t, s.Sweep(ctx, now))
	must(t, s.Sweep(ctx, now)) // idempotent

	gone := map[string]error{}
	_, gone["code"] = s.ConsumeCode(ctx, "code-old", before)
	_, gone["pending"] = s.GetPending(ctx, "pend-old", before)
	_, gone["session"] = s.GetSession(ctx, "sess-old", before)
	_, gone["permission"] = s.GetPermissionRequest(ctx, "perm-old", before)
	_, gone["access"] = s.LookupAccessToken(ctx, "at-old", before)
	_, gone["refresh"] = s.LookupRefreshToken(ctx, "rt-old", before)
	for what, err := range gone {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired %s after Sweep: got %v, want ErrNotFound", what, err)
		}
	}
	// A swept use-once key can be used again, even at a now that would have refused it.
	if err := s.UseOnce(ctx, "once-old", future, before); err != nil {
		t.Errorf("swept UseOnce key: %v", err)
	}
	if n, err := s.Count(ctx, "ip:old", time.Minute, now.Add(-time.Minute)); err != nil || n != 0 {
		t.Errorf("ended window after Sweep: %d, %v; want 0", n, err)
	}

	_, err = s.ConsumeCode(ctx, "code-new", now)
	wantErr(t, "live code", err, nil)
	_, err = s.GetPending(ctx, "pend-new", now)
	wantErr(t, "live pending", err, nil)
	_, err = s.GetSession(ctx, "sess-new", now)
	wantErr(t, "live session", err, nil)
	_, err = s.GetPermissionRequest(ctx, "perm-new", now)
	wantErr(t, "live permission request", err, nil)
	_, err = s.LookupAccessToken(ctx, "at-new", now)
	wantErr(t, "live access token", err, nil)
	_, err = s.LookupRefreshToken(ctx, "rt-new", now)
	wantErr(t, "live refresh token", err, nil)
	_, err = s.LookupRefreshToken(ctx, "rt-forever", now.Add(1000*time.Hour))
	wantErr(t, "refresh token without expiry", err, nil)
	wantErr(t, "live use-once key", s.UseOnce(ctx, "once-new", future, now), store.ErrUsed)
	if n, err := s.Count(ctx, "ip:new", time.Minute, now); err != nil || n != 1 {
		t.Errorf("current window after Sweep: %d, %v; want 1", n, err)
	}
	_, err = s.CheckDelegated(ctx, store.DelegatedCheck{GrantID: "ser_1", JTI: "jti-new"})
	wantErr(t, "denied jti survives", err, store.ErrNotFound)
}

func TestSweep_CancelledContext(t *testing.T) {
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Sweep(ctx, t0); err == nil {
		t.Fatal("Sweep with a cancelled context: want an error")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
