package redis

import (
	"errors"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/enterprise-connect/broker/store"
)

// Housekeeping TTLs: every record with an expiry gets a Redis TTL a little after it (so memory
// does not grow with expired state), and never before it (expiry is decided by now).

// wantTTL fails unless key has a TTL of at least min and at most max.
func wantTTL(t *testing.T, m *miniredis.Miniredis, key string, lo, hi time.Duration) {
	t.Helper()
	if !m.Exists(key) {
		t.Errorf("%s: missing", key)
		return
	}
	if got := m.TTL(key); got < lo || got > hi {
		t.Errorf("TTL(%s) = %v, want between %v and %v", key, got, lo, hi)
	}
}

// wantNoTTL fails unless key exists without a TTL.
func wantNoTTL(t *testing.T, m *miniredis.Miniredis, key string) {
	t.Helper()
	if !m.Exists(key) {
		t.Errorf("%s: missing", key)
	} else if got := m.TTL(key); got != 0 {
		t.Errorf("TTL(%s) = %v, want none", key, got)
	}
}

func TestTTL_ExpiringRecordsGetRedisExpiry(t *testing.T) {
	t.Parallel()
	m, s := openMini(t)
	ctx := t.Context()
	now := time.Now()
	exp := now.Add(5 * time.Minute)
	// The TTL runs to exp on the wall clock plus ttlGrace.
	lo, hi := 5*time.Minute, 5*time.Minute+ttlGrace+time.Second

	must(t, s.PutCode(ctx, store.Code{Hash: "code1", ExpiresAt: exp}))
	must(t, s.PutPending(ctx, store.PendingAuthorization{ID: "pen1", ExpiresAt: exp}))
	must(t, s.PutSession(ctx, store.Session{Hash: "sess1", ExpiresAt: exp}))
	must(t, s.PutPermissionRequest(ctx, store.PermissionRequest{ID: "per1", ExpiresAt: exp}))
	must(t, s.UseOnce(ctx, "jti-1", exp, now))
	must(t, s.DenyJTI(ctx, "jti-2", exp))
	fam := store.Family{ID: "fam1", GrantID: "ser_1", Kind: store.KindAccount, Subject: "alice@example.com"}
	must(t, s.IssueTokens(ctx, fam,
		&store.AccessToken{Hash: "at1", FamilyID: "fam1", GrantID: "ser_1", ExpiresAt: exp},
		&store.RefreshToken{Hash: "rt1", FamilyID: "fam1", GrantID: "ser_1", ExpiresAt: now.Add(time.Hour)}))
	_, _, err := s.Hit(ctx, "signin:alice", 10*time.Minute, now)
	must(t, err)

	for _, k := range []string{
		s.key("co:code1"), s.key("pa:pen1"), s.key("se:sess1"), s.key("pr:per1"),
		s.key("uo:jti-1"), s.key("jd:jti-2"), s.key("at:at1"),
	} {
		wantTTL(t, m, k, lo, hi)
	}
	// A refresh token with an expiry, its family and the family's (grant, subject) index
	// live as long as the longest-lived token.
	for _, k := range []string{s.key("rt:rt1"), s.key("f:fam1"), s.key("sf:ser_1:alice@example.com")} {
		wantTTL(t, m, k, time.Hour, time.Hour+ttlGrace+time.Second)
	}
	// The rate-limit hash lives past the end of its window (at most 10 minutes away).
	wantTTL(t, m, s.key("rl:signin:alice"), ttlGrace, 10*time.Minute+ttlGrace+time.Second)

	// Consuming a code keeps its TTL (a used code stays until it expires, SPEC §3).
	_, err = s.ConsumeCode(ctx, "code1", now)
	must(t, err)
	wantTTL(t, m, s.key("co:code1"), lo, hi)

	// Once Redis's clock passes the TTL, the records are gone.
	m.FastForward(5*time.Minute + ttlGrace + time.Second)
	for _, k := range []string{s.key("co:code1"), s.key("pa:pen1"), s.key("at:at1"), s.key("uo:jti-1")} {
		if m.Exists(k) {
			t.Errorf("%s still exists after its TTL", k)
		}
	}
}

func TestTTL_RefreshWithoutExpiry_NoTTLUntilItsFamilyDies(t *testing.T) {
	t.Parallel()
	m, s := openMini(t)
	ctx := t.Context()
	now := time.Now()
	fam := store.Family{ID: "fam1", GrantID: "ser_1", Kind: store.KindServiceAccount, Subject: "ser_1"}
	r1 := store.RefreshToken{Hash: "rt1", FamilyID: "fam1", GrantID: "ser_1"}
	must(t, s.IssueTokens(ctx, fam, &store.AccessToken{Hash: "at1", FamilyID: "fam1", GrantID: "ser_1", ExpiresAt: now.Add(time.Hour)}, &r1))
	wantNoTTL(t, m, s.key("rt:rt1"))
	wantNoTTL(t, m, s.key("f:fam1"))
	if m.Exists(s.key("sf:ser_1:ser_1")) {
		t.Errorf("service-account families must not be indexed per subject (the index would grow per redemption)")
	}

	// Rotation keeps the used token (replay detection) and the new one without TTL.
	_, err := s.RotateRefresh(ctx, "rt1", now, store.RefreshRotation{RefreshHash: "rt2"})
	must(t, err)
	wantNoTTL(t, m, s.key("rt:rt1"))
	wantNoTTL(t, m, s.key("rt:rt2"))

	// Once the family is revoked, a lookup that finds the token dead deletes it.
	must(t, s.RevokeFamily(ctx, "fam1"))
	if _, err := s.LookupRefreshToken(ctx, "rt2", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LookupRefreshToken in a revoked family: %v, want ErrNotFound", err)
	}
	if m.Exists(s.key("rt:rt2")) {
		t.Errorf("a refresh token found dead (revoked family) must be deleted")
	}
	if _, err := s.RotateRefresh(ctx, "rt1", now, store.RefreshRotation{RefreshHash: "rt3"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RotateRefresh in a revoked family: %v, want ErrNotFound", err)
	}
	if m.Exists(s.key("rt:rt1")) || m.Exists(s.key("rt:rt3")) {
		t.Errorf("rotation in a revoked family must delete the old token and store nothing")
	}
	wantNoTTL(t, m, s.key("f:fam1")) // the family outlives any token that might still name it
}

func TestTTL_FamilyOutlivesRotatedTokens(t *testing.T) {
	t.Parallel()
	m, s := openMini(t)
	ctx := t.Context()
	now := time.Now()
	fam := store.Family{ID: "fam1", GrantID: "ser_1", Kind: store.KindResource, Subject: "room@example.com"}
	must(t, s.IssueTokens(ctx, fam, nil, &store.RefreshToken{Hash: "rt1", FamilyID: "fam1", GrantID: "ser_1", ExpiresAt: now.Add(time.Hour)}))
	wantTTL(t, m, s.key("f:fam1"), time.Hour, time.Hour+ttlGrace+time.Second)
	_, err := s.RotateRefresh(ctx, "rt1", now, store.RefreshRotation{RefreshHash: "rt2", RefreshExpiresAt: now.Add(48 * time.Hour)})
	must(t, err)
	for _, k := range []string{s.key("f:fam1"), s.key("sf:ser_1:room@example.com"), s.key("rt:rt2")} {
		wantTTL(t, m, k, 48*time.Hour, 48*time.Hour+ttlGrace+time.Second)
	}
	// A refresh token without expiry makes the family permanent.
	_, err = s.RotateRefresh(ctx, "rt2", now, store.RefreshRotation{RefreshHash: "rt3"})
	must(t, err)
	wantNoTTL(t, m, s.key("f:fam1"))
	wantNoTTL(t, m, s.key("sf:ser_1:room@example.com"))
}

func TestTTL_RotatedServiceAccountFamilyOutlivesItsAccessToken(t *testing.T) {
	t.Parallel()
	m, s := openMini(t)
	ctx := t.Context()
	now := time.Now()
	fam := store.Family{ID: "fam1", GrantID: "ser_1", Kind: store.KindServiceAccount, Subject: "ser_1"}
	must(t, s.IssueTokens(ctx, fam, nil, &store.RefreshToken{Hash: "rt1", FamilyID: "fam1", GrantID: "ser_1",
		Kind: store.KindServiceAccount, ExpiresAt: now.Add(time.Hour)}))
	_, err := s.RotateRefresh(ctx, "rt1", now, store.RefreshRotation{RefreshHash: "rt2", RefreshExpiresAt: now.Add(time.Hour),
		AccessHash: "at2", AccessExpiresAt: now.Add(2 * time.Hour)})
	must(t, err)
	wantTTL(t, m, s.key("rt:rt2"), time.Hour, time.Hour+ttlGrace+time.Second)
	for _, k := range []string{s.key("at:at2"), s.key("f:fam1")} {
		wantTTL(t, m, k, 2*time.Hour, 2*time.Hour+ttlGrace+time.Second)
	}
}

func TestTTL_RevokeUnknownFamily_LeavesStub(t *testing.T) {
	t.Parallel()
	m, s := openMini(t)
	ctx := t.Context()
	// A code reused before its first redemption issued tokens: the family is revoked first.
	must(t, s.RevokeFamily(ctx, "fam_late"))
	wantTTL(t, m, s.key("f:fam_late"), familyStubTTL-time.Second, familyStubTTL)
	err := s.IssueTokens(ctx, store.Family{ID: "fam_late", GrantID: "ser_1", Kind: store.KindServiceAccount},
		&store.AccessToken{Hash: "at1", FamilyID: "fam_late", ExpiresAt: time.Now().Add(time.Hour)}, nil)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("IssueTokens into a family revoked before it existed: %v, want ErrNotFound", err)
	}
	if m.Exists(s.key("at:at1")) {
		t.Errorf("a refused IssueTokens stored its access token")
	}
}

// TestTTL_PastNow_RecordsStayWhileNowSaysLive: callers may decide expiry with a now far from
// Redis's clock (the suite does); a record already expired by the wall clock still lives
// ttlGrace, and one the wall clock considers live is never dropped early.
func TestTTL_PastNow_RecordsStayWhileNowSaysLive(t *testing.T) {
	t.Parallel()
	m, s := openMini(t)
	ctx := t.Context()
	past := time.Now().Add(-24 * time.Hour)
	must(t, s.PutCode(ctx, store.Code{Hash: "old", ExpiresAt: past.Add(5 * time.Minute)}))
	wantTTL(t, m, s.key("co:old"), ttlGrace-time.Second, ttlGrace)
	if _, err := s.ConsumeCode(ctx, "old", past); err != nil {
		t.Fatalf("ConsumeCode at a now before its expiry: %v", err)
	}
	if _, err := s.ConsumeCode(ctx, "old", past.Add(5*time.Minute+time.Millisecond)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ConsumeCode after its expiry: %v, want ErrNotFound", err)
	}
}

func TestTTL_RateLimitHash_DropsOldWindows(t *testing.T) {
	t.Parallel()
	m, s := openMini(t)
	ctx := t.Context()
	now := time.Now()
	for i := range 20 {
		_, _, err := s.Hit(ctx, "ip:192.0.2.1", time.Minute, now.Add(time.Duration(i)*time.Minute))
		must(t, err)
	}
	fields, err := m.HKeys(s.key("rl:ip:192.0.2.1"))
	must(t, err)
	if len(fields) > 2 {
		t.Errorf("rate-limit hash keeps %d windows %v, want at most the current and the previous", len(fields), fields)
	}
}
