package broker_test

import (
	"strings"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/store"
)

// signIn signs in at the admin UI and returns the session cookie.
func (e *gqEnv) signIn(t *testing.T, email, password string, adminOnly bool) string {
	t.Helper()
	res, err := e.b.SignIn(e.ctx, broker.SignInRequest{Email: email, Password: password, AdminOnly: adminOnly,
		Meta: broker.Meta{IP: "192.0.2.7"}})
	if err != nil {
		t.Fatalf("SignIn(%s): %v", email, err)
	}
	return res.Cookie
}

func TestAdminView_NeedsAnAdministratorsSession(t *testing.T) {
	t.Parallel()
	e := newGQEnv(t)
	alice := e.signIn(t, "alice@example.com", gqAlicePW, false)
	for name, cookie := range map[string]string{"no cookie": "", "unknown cookie": "nope", "a subject's session": alice} {
		t.Run(name, func(t *testing.T) {
			_, err := e.b.AdminView(e.ctx, cookie, broker.AdminFilter{})
			wantCode(t, err, broker.Unauthenticated)
		})
	}
}

func TestAdminView_OwnDomainsGrantsAndTrail(t *testing.T) {
	t.Parallel()
	e := newGQEnv(t)
	old := e.grant(t, e.other.ClientID, "example.com", store.SubjectPolicy{})
	wantCode(t, broker.RevokeGrantID(e.ctx, e.store, old.ID, e.clock.Now), "")
	g := e.grant(t, e.app.ClientID, "example.com", store.SubjectPolicy{Groups: []string{"sales"}})
	ot := e.grant(t, e.app.ClientID, "other.org", store.SubjectPolicy{})
	now := e.clock.Now()
	for _, use := range []struct {
		at time.Time
		n  int
	}{{now, 3}, {now.AddDate(0, 0, -1), 2}, {now.AddDate(0, 0, -8), 5}} {
		if err := e.store.RecordGrantUse(e.ctx, g.ID, use.at, use.n); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.RecordGrantUse(e.ctx, g.ID, now, 0); err != nil { // last use: now
		t.Fatal(err)
	}
	e.auditTrail(t)
	cookie := e.signIn(t, "admin@example.com", gqAdminPW, true)

	v, err := e.b.AdminView(e.ctx, cookie, broker.AdminFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Domain != "example.com" || v.Admin != "admin@example.com" {
		t.Errorf("view for %s of %s", v.Admin, v.Domain)
	}
	if len(v.Grants) != 2 || v.Grants[0].ID != g.ID || v.Grants[1].ID != old.ID {
		t.Fatalf("grants = %+v, want the active %s then the revoked %s (and never %s)", v.Grants, g.ID, old.ID, ot.ID)
	}
	row := v.Grants[0]
	if !row.Active || row.CSRF == "" || row.ClientName != "Calendar App" || row.ApprovedBy != "admin@example.com" {
		t.Errorf("active row = %+v", row)
	}
	if row.Policy != "members of sales" {
		t.Errorf("policy = %q", row.Policy)
	}
	if len(row.Scopes) != 1 || row.Scopes[0].Description == "" || len(row.DelegatedScopes) != 4 {
		t.Errorf("scopes in plain language: %+v / %+v", row.Scopes, row.DelegatedScopes)
	}
	for _, s := range row.DelegatedScopes {
		if s.Description == "" {
			t.Errorf("delegated scope %s has no description", s.Scope)
		}
	}
	if len(row.Minted) != 7 || row.Minted[6].Count != 3 || row.Minted[5].Count != 2 || row.MintedTotal != 5 {
		t.Errorf("minted per day = %+v (total %d), want 7 days ending with 2, 3", row.Minted, row.MintedTotal)
	}
	if row.Minted[6].Date != now.Format(time.DateOnly) {
		t.Errorf("the last day is %s, want today %s", row.Minted[6].Date, now.Format(time.DateOnly))
	}
	if row.LastUsed == "never" || row.LastUsed == "" {
		t.Errorf("last use = %q", row.LastUsed)
	}
	if r := v.Grants[1]; r.Active || r.CSRF != "" || r.LastUsed != "never" || r.Status != "revoked" {
		t.Errorf("revoked row = %+v", r)
	}
	if len(v.Events) == 0 {
		t.Fatal("no audit events")
	}
	for _, ev := range v.Events {
		if ev.Domain != "example.com" {
			t.Errorf("the trail shows an event of %q", ev.Domain)
		}
	}

	f, err := e.b.AdminView(e.ctx, cookie, broker.AdminFilter{Type: broker.EvTokenIssued, Subject: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Events) != 2 {
		t.Errorf("filtered trail: %d events, want 2", len(f.Events))
	}
	for _, ev := range f.Events {
		if ev.Type != broker.EvTokenIssued || ev.Subject != "alice@example.com" {
			t.Errorf("filtered trail shows %+v", ev)
		}
	}
	_, err = e.b.AdminView(e.ctx, cookie, broker.AdminFilter{Cursor: "bogus"})
	wantCode(t, err, broker.InvalidRequest)
}

func TestAdminRevoke_CSRFSessionAndDomain(t *testing.T) {
	t.Parallel()
	e := newGQEnv(t)
	g := e.grant(t, e.app.ClientID, "example.com", store.SubjectPolicy{})
	ot := e.grant(t, e.app.ClientID, "other.org", store.SubjectPolicy{})
	other := e.grant(t, e.other.ClientID, "example.com", store.SubjectPolicy{})
	cookie := e.signIn(t, "admin@example.com", gqAdminPW, true)
	otherCookie := e.signIn(t, "admin@other.org", gqOtherAdminPW, true)
	v, err := e.b.AdminView(e.ctx, cookie, broker.AdminFilter{})
	if err != nil {
		t.Fatal(err)
	}
	csrf := map[string]string{}
	for _, r := range v.Grants {
		csrf[r.ID] = r.CSRF
	}
	sessionHash := broker.HashSecret(cookie)
	tests := []struct {
		name string
		req  broker.AdminRevokeRequest
		want broker.ErrorCode
	}{
		{name: "no session", req: broker.AdminRevokeRequest{GrantID: g.ID, CSRF: csrf[g.ID]}, want: broker.Unauthenticated},
		{name: "no CSRF token", req: broker.AdminRevokeRequest{Cookie: cookie, GrantID: g.ID}, want: broker.Forbidden},
		{name: "another grant's token", req: broker.AdminRevokeRequest{Cookie: cookie, GrantID: g.ID, CSRF: csrf[other.ID]}, want: broker.Forbidden},
		{name: "another session", req: broker.AdminRevokeRequest{Cookie: otherCookie, GrantID: g.ID, CSRF: csrf[g.ID]}, want: broker.Forbidden},
		{name: "sent from another site", req: broker.AdminRevokeRequest{Cookie: cookie, GrantID: g.ID, CSRF: csrf[g.ID], CrossSite: true}, want: broker.Forbidden},
		{name: "another domain's grant", req: broker.AdminRevokeRequest{Cookie: cookie, GrantID: ot.ID,
			CSRF: e.sealer.MAC("admin-revoke", sessionHash, ot.ID)}, want: broker.Forbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, e.b.AdminRevoke(e.ctx, tc.req), tc.want)
		})
	}
	for _, id := range []string{g.ID, ot.ID} {
		if got, _ := e.store.GetGrant(e.ctx, id); got.Status != store.GrantActive {
			t.Fatalf("a refused revocation revoked %s", id)
		}
	}

	req := broker.AdminRevokeRequest{Cookie: cookie, GrantID: g.ID, CSRF: csrf[g.ID], Meta: broker.Meta{IP: "192.0.2.7", RequestID: "req-admin"}}
	wantCode(t, e.b.AdminRevoke(e.ctx, req), "")
	if got, _ := e.store.GetGrant(e.ctx, g.ID); got.Status != store.GrantRevoked {
		t.Fatalf("status after Revoke = %s", got.Status)
	}
	var found bool
	for _, ev := range e.events(t, "example.com") {
		if ev.Type == broker.EvGrantRevoked && ev.GrantID == g.ID {
			found = true
			if ev.Actor != "admin@example.com" || ev.RequestID != "req-admin" || !strings.HasPrefix(ev.ID, "evt_") {
				t.Errorf("grant.revoked = %+v, want actor admin@example.com", ev)
			}
		}
	}
	if !found {
		t.Error("the admin UI's revocation was not audited")
	}
}
