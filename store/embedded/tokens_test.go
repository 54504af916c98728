package embedded_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/enterprise-connect/broker/store"
)

func TestConsumeCode_ExpiryThenUse(t *testing.T) {
	ctx := t.Context()
	s, _ := openTemp(t)
	exp := t0.Add(5 * time.Minute)
	wantErr(t, "put", s.PutCode(ctx, testCode("c1", exp)), nil)
	wantErr(t, "put again", s.PutCode(ctx, testCode("c1", exp)), store.ErrExists)

	tests := []struct {
		name    string
		hash    string
		now     time.Time
		want    error
		wantFam string
	}{
		{"unknown", "nope", t0, store.ErrNotFound, ""},
		{"at expiry", "c1", exp, store.ErrNotFound, ""},
		{"first redemption", "c1", exp.Add(-time.Millisecond), nil, "fam_1"},
		{"second redemption", "c1", t0, store.ErrUsed, "fam_1"},
		{"used and expired", "c1", exp.Add(time.Second), store.ErrNotFound, ""},
	}
	for _, tc := range tests {
		got, err := s.ConsumeCode(ctx, tc.hash, tc.now)
		wantErr(t, tc.name, err, tc.want)
		if got.FamilyID != tc.wantFam {
			t.Errorf("%s: FamilyID = %q, want %q", tc.name, got.FamilyID, tc.wantFam)
		}
	}
}

func TestConsumeCode_FiftyGoroutinesOneWinner(t *testing.T) {
	ctx := t.Context()
	s, _ := openTemp(t)
	wantErr(t, "put", s.PutCode(ctx, testCode("c1", t0.Add(time.Minute))), nil)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range 50 {
		wg.Go(func() {
			_, err := s.ConsumeCode(ctx, "c1", t0)
			if err != nil && !errors.Is(err, store.ErrUsed) {
				t.Errorf("ConsumeCode: %v", err)
			}
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d winners, want 1", wins)
	}
}

// tokenFixture is a grant with one family, one access and one refresh token.
type tokenFixture struct {
	fam     store.Family
	access  store.AccessToken
	refresh store.RefreshToken
}

func issue(t *testing.T, s store.Store) tokenFixture {
	t.Helper()
	ctx := t.Context()
	if _, err := s.CreateGrant(ctx, testGrant("ser_1", "cli_1", "example.com", t0)); err != nil {
		t.Fatal(err)
	}
	f := tokenFixture{
		fam: store.Family{ID: "fam_1", GrantID: "ser_1", ClientID: "cli_1", Domain: "example.com",
			Kind: store.KindServiceAccount, Subject: "ser_1"},
		access: store.AccessToken{Hash: "at_1", FamilyID: "fam_1", GrantID: "ser_1",
			ClientID: "cli_1", Domain: "example.com", Kind: store.KindServiceAccount,
			Subject: "ser_1", Scope: "s", DelegatedScope: "d", IssuedAt: t0,
			ExpiresAt: t0.Add(30 * time.Minute)},
		refresh: store.RefreshToken{Hash: "rt_1", FamilyID: "fam_1", GrantID: "ser_1",
			ClientID: "cli_1", Domain: "example.com", Kind: store.KindServiceAccount,
			Subject: "ser_1", Scope: "s", DelegatedScope: "d", IssuedAt: t0},
	}
	wantErr(t, "issue", s.IssueTokens(ctx, f.fam, &f.access, &f.refresh), nil)
	return f
}

func TestTokens_LookupAndExpiry(t *testing.T) {
	ctx := t.Context()
	s, _ := openTemp(t)
	f := issue(t, s)
	got, err := s.LookupAccessToken(ctx, "at_1", t0)
	wantErr(t, "lookup", err, nil)
	if d := cmp.Diff(f.access, got); d != "" {
		t.Errorf("access (-want +got):\n%s", d)
	}
	_, err = s.LookupAccessToken(ctx, "at_1", f.access.ExpiresAt)
	wantErr(t, "lookup at expiry", err, store.ErrNotFound)
	// A refresh token without expiry never expires on its own.
	rt, err := s.LookupRefreshToken(ctx, "rt_1", t0.Add(24*365*time.Hour))
	wantErr(t, "lookup refresh far ahead", err, nil)
	if d := cmp.Diff(f.refresh, rt); d != "" {
		t.Errorf("refresh (-want +got):\n%s", d)
	}
	wantErr(t, "revoke access", s.RevokeAccessToken(ctx, "at_1"), nil)
	_, err = s.LookupAccessToken(ctx, "at_1", t0)
	wantErr(t, "lookup revoked", err, store.ErrNotFound)
	wantErr(t, "revoke unknown", s.RevokeAccessToken(ctx, "nope"), nil)
}

func TestRotateRefresh_ReplayIsUsedAndFamilyRevocable(t *testing.T) {
	ctx := t.Context()
	s, _ := openTemp(t)
	f := issue(t, s)
	rot := store.RefreshRotation{ClientID: "cli_1", IssuedAt: t0.Add(time.Minute), RefreshHash: "rt_2",
		AccessHash: "at_2", AccessExpiresAt: t0.Add(31 * time.Minute)}

	old, err := s.RotateRefresh(ctx, "rt_1", t0.Add(time.Minute), rot)
	wantErr(t, "rotate", err, nil)
	if d := cmp.Diff(f.refresh, old); d != "" {
		t.Errorf("rotate must return the old record (-want +got):\n%s", d)
	}
	_, err = s.LookupRefreshToken(ctx, "rt_1", t0)
	wantErr(t, "lookup rotated", err, store.ErrNotFound)
	old, err = s.RotateRefresh(ctx, "rt_1", t0.Add(2*time.Minute), store.RefreshRotation{ClientID: "cli_1", RefreshHash: "rt_x"})
	wantErr(t, "replay", err, store.ErrUsed)
	if old.FamilyID != "fam_1" || !old.Used {
		t.Errorf("replay returned %+v, want the used old record", old)
	}
	if _, err := s.LookupAccessToken(ctx, "at_2", t0); err != nil {
		t.Fatalf("rotated access token: %v", err)
	}

	wantErr(t, "revoke family", s.RevokeFamily(ctx, "fam_1"), nil)
	_, err = s.LookupAccessToken(ctx, "at_2", t0)
	wantErr(t, "access after family revocation", err, store.ErrNotFound)
	_, err = s.LookupRefreshToken(ctx, "rt_2", t0)
	wantErr(t, "refresh after family revocation", err, store.ErrNotFound)
	_, err = s.RotateRefresh(ctx, "rt_2", t0, store.RefreshRotation{ClientID: "cli_1", RefreshHash: "rt_3"})
	wantErr(t, "rotate in revoked family", err, store.ErrNotFound)
	err = s.IssueTokens(ctx, f.fam, nil, &store.RefreshToken{Hash: "rt_4", FamilyID: "fam_1"})
	wantErr(t, "issue into revoked family", err, store.ErrNotFound)
}

func TestRotateRefresh_OtherClientRefused(t *testing.T) {
	ctx := t.Context()
	s, _ := openTemp(t)
	issue(t, s)
	_, err := s.RotateRefresh(ctx, "rt_1", t0, store.RefreshRotation{ClientID: "cli_other", RefreshHash: "rt_2"})
	wantErr(t, "rotate by another client", err, store.ErrWrongClient)
	if _, err := s.LookupRefreshToken(ctx, "rt_1", t0); err != nil {
		t.Fatalf("a refused rotation must not use the token: %v", err)
	}
}

func TestRevokeGrant_RefusesEveryDerivedToken(t *testing.T) {
	ctx := t.Context()
	s, _ := openTemp(t)
	issue(t, s)
	g, err := s.RevokeGrant(ctx, "ser_1", t0.Add(time.Hour))
	wantErr(t, "revoke", err, nil)
	if g.Status != store.GrantRevoked || !g.RevokedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("revoked grant = %+v", g)
	}
	again, err := s.RevokeGrant(ctx, "ser_1", t0.Add(2*time.Hour))
	wantErr(t, "revoke again", err, nil)
	if !again.RevokedAt.Equal(g.RevokedAt) {
		t.Errorf("second revocation moved RevokedAt to %v", again.RevokedAt)
	}
	_, err = s.LookupAccessToken(ctx, "at_1", t0)
	wantErr(t, "access", err, store.ErrNotFound)
	_, err = s.LookupRefreshToken(ctx, "rt_1", t0)
	wantErr(t, "refresh", err, store.ErrNotFound)
	_, err = s.RotateRefresh(ctx, "rt_1", t0, store.RefreshRotation{ClientID: "cli_1", RefreshHash: "rt_2"})
	wantErr(t, "rotate", err, store.ErrNotFound)
	_, err = s.CheckDelegated(ctx, store.DelegatedCheck{GrantID: "ser_1", Subject: "a@example.com", JTI: "j", IssuedAt: t0})
	wantErr(t, "delegated", err, store.ErrNotFound)
	_, err = s.RevokeGrant(ctx, "ser_unknown", t0)
	wantErr(t, "revoke unknown", err, store.ErrNotFound)
}

func TestCheckDelegated(t *testing.T) {
	ctx := t.Context()
	s, _ := openTemp(t)
	issue(t, s)
	sub := "alice@example.com"
	fam := store.Family{ID: "fam_sub", GrantID: "ser_1", ClientID: "cli_1", Domain: "example.com",
		Kind: store.KindAccount, Subject: sub}
	wantErr(t, "issue subject family", s.IssueTokens(ctx, fam, nil, nil), nil)
	wantErr(t, "elevate", s.AddElevations(ctx, "ser_1", sub, []string{"cal_b", "cal_a", "cal_b"}), nil)
	check := store.DelegatedCheck{GrantID: "ser_1", Subject: sub, JTI: "j1", FamilyID: "fam_sub", IssuedAt: t0}

	st, err := s.CheckDelegated(ctx, check)
	wantErr(t, "good token", err, nil)
	if d := cmp.Diff([]string{"cal_a", "cal_b"}, st.Elevations); d != "" {
		t.Errorf("elevations (-want +got):\n%s", d)
	}
	other := check
	other.Subject = "bob@example.com"
	st, err = s.CheckDelegated(ctx, other)
	if err != nil || st.Elevations != nil {
		t.Errorf("subject without elevations: %+v, %v", st, err)
	}
	unknownGrant := check
	unknownGrant.GrantID = "ser_nope"
	_, err = s.CheckDelegated(ctx, unknownGrant)
	wantErr(t, "unknown grant", err, store.ErrNotFound)

	wantErr(t, "deny jti", s.DenyJTI(ctx, "j1", t0.Add(time.Hour)), nil)
	_, err = s.CheckDelegated(ctx, check)
	wantErr(t, "denied jti", err, store.ErrNotFound)

	check.JTI = "j2"
	wantErr(t, "revoke subject", s.RevokeSubject(ctx, "ser_1", sub, t0.Add(time.Minute)), nil)
	_, err = s.CheckDelegated(ctx, check)
	wantErr(t, "issued before subject revocation", err, store.ErrNotFound)
	check.IssuedAt, check.FamilyID = t0.Add(2*time.Minute), ""
	_, err = s.CheckDelegated(ctx, check)
	wantErr(t, "issued after subject revocation", err, nil)
	check.FamilyID = "fam_sub"
	_, err = s.CheckDelegated(ctx, check)
	wantErr(t, "subject family revoked by RevokeSubject", err, store.ErrNotFound)
	if _, err := s.LookupAccessToken(ctx, "at_1", t0); err != nil {
		t.Errorf("RevokeSubject revoked the service-account family: %v", err)
	}
}

func TestUseOnce(t *testing.T) {
	ctx := t.Context()
	s, _ := openTemp(t)
	exp := t0.Add(5 * time.Minute)
	wantErr(t, "first", s.UseOnce(ctx, "jti", exp, t0), nil)
	wantErr(t, "replay", s.UseOnce(ctx, "jti", exp, t0.Add(time.Minute)), store.ErrUsed)
	wantErr(t, "after expiry", s.UseOnce(ctx, "jti", exp.Add(time.Hour), exp), nil)
	wantErr(t, "replay of renewed", s.UseOnce(ctx, "jti", exp, exp.Add(time.Minute)), store.ErrUsed)

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range 50 {
		wg.Go(func() {
			if err := s.UseOnce(ctx, "race", exp, t0); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, store.ErrUsed) {
				t.Errorf("UseOnce: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d winners, want 1", wins)
	}
}
