package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-cmp/cmp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/enterprise-connect/broker/store"
)

// workload touches every role once, so that every kind of key exists afterwards.
func workload(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	now := time.Now()
	exp := now.Add(time.Hour)
	must(t, s.CreateClient(ctx, store.Client{ID: "cli_1", CreatedAt: now}))
	must(t, s.CreateAPIKey(ctx, store.APIKey{ID: "key_1", Hash: "h1", Role: store.RoleAuditor}))
	must(t, s.PutPending(ctx, store.PendingAuthorization{ID: "pen_1", ExpiresAt: exp}))
	must(t, s.PutSession(ctx, store.Session{Hash: "s1", ExpiresAt: exp}))
	must(t, s.PutCode(ctx, store.Code{Hash: "c1", ExpiresAt: exp}))
	_, err := s.CreateGrant(ctx, store.Grant{ID: "ser_1", ClientID: "cli_1", Domain: "example.com", ApprovedAt: now})
	must(t, err)
	must(t, s.RecordGrantUse(ctx, "ser_1", now, 3))
	fam := store.Family{ID: "fam_1", GrantID: "ser_1", Kind: store.KindAccount, Subject: "alice@example.com"}
	must(t, s.IssueTokens(ctx, fam, &store.AccessToken{Hash: "a1", FamilyID: "fam_1", GrantID: "ser_1", ExpiresAt: exp},
		&store.RefreshToken{Hash: "r1", FamilyID: "fam_1", GrantID: "ser_1"}))
	must(t, s.RevokeSubject(ctx, "ser_1", "bob@example.com", now))
	must(t, s.DenyJTI(ctx, "j1", exp))
	must(t, s.UseOnce(ctx, "u1", exp, now))
	_, err = s.EnsureAccount(ctx, store.Account{ID: "acc_1", Domain: "example.com", Subject: "alice@example.com"})
	must(t, err)
	must(t, s.AddElevations(ctx, "ser_1", "alice@example.com", []string{"cal_1"}))
	must(t, s.PutPermissionRequest(ctx, store.PermissionRequest{ID: "per_1", ExpiresAt: exp}))
	_, _, err = s.Hit(ctx, "k", time.Minute, now)
	must(t, err)
	must(t, s.AppendAudit(ctx, "example.com", "", []store.AuditEvent{{ID: "e1", Time: "2026-11-25T10:00:00.000Z", Hash: "h"}}))
	must(t, s.AppendAudit(ctx, "", "", []store.AuditEvent{{ID: "e2", Time: "2026-11-25T10:00:00.000Z", Hash: "h2"}}))
	_, err = s.TrimAudit(ctx, "", now)
	must(t, err)
	must(t, s.EnqueueDeliveries(ctx, []store.Delivery{{ID: "d1", NextAt: now}}))
	_, err = s.InitSigningKey(ctx, store.SigningKey{ID: "k1", CreatedAt: now})
	must(t, err)
	must(t, s.RotateSigningKey(ctx, store.SigningKey{ID: "k2", CreatedAt: now}))
}

// TestKeys_ShareOneHashTag: every key of the store carries the hash tag {<prefix>}, so every
// script runs on Redis Cluster (one slot), and keys of two prefixes never mix.
func TestKeys_ShareOneHashTag(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	workload(t, openURL(t, "redis://"+m.Addr(), Options{}))
	own := NewFromClient(goredis.NewClient(&goredis.Options{Addr: m.Addr()}), Options{Prefix: "tenant-a"})
	defer own.Close()
	workload(t, own)
	kinds := map[string]bool{}
	for _, k := range m.Keys() {
		a, b := strings.Index(k, "{"), strings.Index(k, "}")
		if a < 0 || b < a {
			t.Errorf("key %q has no hash tag", k)
			continue
		}
		tag := k[a+1 : b]
		if !strings.HasPrefix(k, tag+":{"+tag+"}:") || (tag != DefaultPrefix && tag != "tenant-a") {
			t.Errorf("key %q: want the form <prefix>:{<prefix>}:…", k)
		}
		name, _, _ := strings.Cut(k[b+2:], ":")
		kinds[name] = true
	}
	if len(kinds) < 25 {
		t.Errorf("the workload made only %d kinds of keys (%v): it should touch every role", len(kinds), kinds)
	}
}

// TestUnavailable_EveryRoleWrapsErrUnavailable: when Redis is down, every method fails with
// ErrUnavailable (SPEC §10: 503 temporarily_unavailable, never a token, never ErrNotFound).
func TestUnavailable_EveryRoleWrapsErrUnavailable(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	addr := m.Addr()
	m.Close()
	s := openURL(t, "redis://"+addr, Options{DialTimeout: 50 * time.Millisecond})
	now := time.Now()
	calls := map[string]func(ctx context.Context) error{
		"GetClient":         func(ctx context.Context) error { _, err := s.GetClient(ctx, "c"); return err },
		"APIKeyByHash":      func(ctx context.Context) error { _, err := s.APIKeyByHash(ctx, "h"); return err },
		"CreateAPIKey":      func(ctx context.Context) error { return s.CreateAPIKey(ctx, store.APIKey{ID: "k"}) },
		"ConsumePending":    func(ctx context.Context) error { _, err := s.ConsumePending(ctx, "p", now); return err },
		"GetSession":        func(ctx context.Context) error { _, err := s.GetSession(ctx, "s", now); return err },
		"ConsumeCode":       func(ctx context.Context) error { _, err := s.ConsumeCode(ctx, "c", now); return err },
		"CreateGrant":       func(ctx context.Context) error { _, err := s.CreateGrant(ctx, store.Grant{ID: "g"}); return err },
		"ListGrants":        func(ctx context.Context) error { _, _, err := s.ListGrants(ctx, store.GrantFilter{}); return err },
		"LookupAccessToken": func(ctx context.Context) error { _, err := s.LookupAccessToken(ctx, "a", now); return err },
		"RotateRefresh": func(ctx context.Context) error {
			_, err := s.RotateRefresh(ctx, "r", now, store.RefreshRotation{})
			return err
		},
		"CheckDelegated": func(ctx context.Context) error { _, err := s.CheckDelegated(ctx, store.DelegatedCheck{}); return err },
		"UseOnce":        func(ctx context.Context) error { return s.UseOnce(ctx, "u", now, now) },
		"Elevations": func(ctx context.Context) error {
			_, err := s.Elevations(ctx, "g", []string{"a"})
			return err
		},
		"Hit":             func(ctx context.Context) error { _, _, err := s.Hit(ctx, "k", time.Second, now); return err },
		"AuditHead":       func(ctx context.Context) error { _, err := s.AuditHead(ctx, "d"); return err },
		"AppendAudit":     func(ctx context.Context) error { return s.AppendAudit(ctx, "d", "", nil) },
		"SubmitAudit":     func(ctx context.Context) error { return s.SubmitAudit(ctx, "d", "", nil)() },
		"ListAudit":       func(ctx context.Context) error { _, _, err := s.ListAudit(ctx, store.AuditFilter{}); return err },
		"ExportAudit":     func(ctx context.Context) error { return s.ExportAudit(ctx, store.AuditFilter{}, nil) },
		"TrimAudit":       func(ctx context.Context) error { _, err := s.TrimAudit(ctx, "d", now); return err },
		"ClaimDelivery":   func(ctx context.Context) error { _, err := s.ClaimDelivery(ctx, now, time.Second); return err },
		"InitSigningKey":  func(ctx context.Context) error { _, err := s.InitSigningKey(ctx, store.SigningKey{}); return err },
		"ListSigningKeys": func(ctx context.Context) error { _, err := s.ListSigningKeys(ctx); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := call(t.Context()); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%s while Redis is down: %v, want ErrUnavailable", name, err)
			}
		})
	}
}

// TestScripts_ReloadAfterFlush: EVALSHA falls back to EVAL when Redis lost its script cache
// (a restart, a failover to a replica that never saw the script).
func TestScripts_ReloadAfterFlush(t *testing.T) {
	t.Parallel()
	_, s := openMini(t)
	ctx := t.Context()
	now := time.Now()
	must(t, s.PutCode(ctx, store.Code{Hash: "c1", ExpiresAt: now.Add(time.Minute)}))
	must(t, s.c.ScriptFlush(ctx).Err())
	if _, err := s.ConsumeCode(ctx, "c1", now); err != nil {
		t.Fatalf("ConsumeCode after SCRIPT FLUSH: %v", err)
	}
}

// TestListGrants_SmallScanBudget_SamePages: a sparse filter over a long index takes several
// bounded scripts, yet every page is full and the pages are those of an unbounded scan.
func TestListGrants_SmallScanBudget_SamePages(t *testing.T) {
	t.Parallel()
	_, s := openMini(t)
	ctx := t.Context()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 23 {
		g := store.Grant{ID: fmt.Sprintf("ser_%02d", i), ClientID: fmt.Sprintf("cli_%d", i%4), Domain: "example.com",
			ApprovedAt: base.Add(time.Duration(i/2) * time.Minute)} // pairs share an approval time
		_, err := s.CreateGrant(ctx, g)
		must(t, err)
		if i%3 != 0 {
			_, err = s.RevokeGrant(ctx, g.ID, base)
			must(t, err)
		}
	}
	pages := func(f store.GrantFilter) (all [][]string) {
		for range 30 {
			gs, next, err := s.ListGrants(ctx, f)
			must(t, err)
			var ids []string
			for _, g := range gs {
				ids = append(ids, g.ID)
			}
			all = append(all, ids)
			if next == "" {
				return all
			}
			if len(gs) != f.Limit {
				t.Errorf("a page with a next cursor holds %d grants, want the limit %d", len(gs), f.Limit)
			}
			f.Cursor = next
		}
		t.Fatal("ListGrants never ended")
		return nil
	}
	for _, f := range []store.GrantFilter{
		{Status: store.GrantActive, Limit: 2},
		{Domain: "example.com", Status: store.GrantActive, Limit: 3},
		{ClientID: "cli_1", Limit: 1},
		{Status: store.GrantRevoked, Limit: 4},
	} {
		s.scanBudget = defaultScanBudget
		want := pages(f)
		s.scanBudget = 2
		if d := cmp.Diff(want, pages(f)); d != "" {
			t.Errorf("ListGrants(%+v) with a scan budget of 2 (-unbounded +bounded):\n%s", f, d)
		}
	}
}

func TestCursors_Malformed_AreErrors(t *testing.T) {
	t.Parallel()
	_, s := openMini(t)
	ctx := t.Context()
	for _, c := range []string{"!!!", "bm90IGEgY3Vyc29y", encodeAuditCursor("5", false)} {
		if _, _, err := s.ListGrants(ctx, store.GrantFilter{Cursor: c}); err == nil {
			t.Errorf("ListGrants with cursor %q: want an error", c)
		}
	}
	for _, tc := range []struct {
		cursor string
		all    bool
	}{
		{"!!!", false}, {"!!!", true},
		{encodeAuditCursor("5", false), true}, // a domain cursor for the all-domains listing
		{encodeAuditCursor("0000000000001:0000000000000001:d", true), false},
		{encodeAuditCursor("000000000000x:0000000000000001:d", true), true}, // its time names no day
		{encodeAuditCursor("0000000000001:-000000000000001:d", true), true},
		{encodeAuditCursor("x", false), false},
	} {
		if _, _, err := s.ListAudit(ctx, store.AuditFilter{Cursor: tc.cursor, AllDomains: tc.all}); err == nil {
			t.Errorf("ListAudit(all=%v) with cursor %q: want an error", tc.all, tc.cursor)
		}
	}
}

// TestTrimAudit_CleansTheAllDomainsIndex: trimmed events leave no entry behind in the global
// index (memory stays bounded by retention) and big trims span several scripts.
func TestTrimAudit_CleansTheAllDomainsIndex(t *testing.T) {
	t.Parallel()
	m, s := openMini(t)
	ctx := t.Context()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := ""
	var events []store.AuditEvent
	for i := range 2*auditPageSize + 7 {
		e := store.AuditEvent{ID: fmt.Sprintf("e%d", i), Domain: "example.com",
			Time: base.Add(time.Duration(i) * time.Second).Format("2006-01-02T15:04:05.000Z07:00"), PrevHash: prev, Hash: fmt.Sprintf("h%d", i)}
		events, prev = append(events, e), e.Hash
	}
	must(t, s.AppendAudit(ctx, "example.com", "", events))
	must(t, s.AppendAudit(ctx, "other.example", "", []store.AuditEvent{{ID: "o", Time: "2026-01-01T00:00:00.000Z", Hash: "o"}}))
	n, err := s.TrimAudit(ctx, "example.com", base.Add(time.Duration(2*auditPageSize+5)*time.Second))
	must(t, err)
	if n != 2*auditPageSize+5 {
		t.Fatalf("TrimAudit removed %d, want %d", n, 2*auditPageSize+5)
	}
	if got, _ := s.AuditAnchor(ctx, "example.com"); got != events[n-1].Hash {
		t.Errorf("anchor %q, want %q", got, events[n-1].Hash)
	}
	members, err := m.ZMembers(s.key("ag:20260101"))
	must(t, err)
	if len(members) != 3 { // two kept events of example.com, one of other.example
		t.Errorf("all-domains index holds %d entries after the trim, want 3: %v", len(members), members)
	}
	left, err := m.HKeys(s.key("ae:example.com"))
	must(t, err)
	if len(left) != 2 {
		t.Errorf("domain hash holds %d events after the trim, want 2", len(left))
	}
}
