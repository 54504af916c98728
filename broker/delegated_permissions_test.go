package broker

// SPEC §7: extended permissions (unrestricted access to a subject's calendars).

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/broker/provider"
	"github.com/enterprise-connect/broker/store"
)

func dtPtr[T any](v T) *T { return &v }

// dtPerms builds a §7 body: calendar ids at level unrestricted, and redirect_uri.
func dtPerms(redirect string, cals ...string) PermissionsBody {
	ps := make([]Permission, len(cals))
	for i, c := range cals {
		ps[i] = Permission{CalendarID: dtPtr(c), PermissionLevel: dtPtr("unrestricted")}
	}
	return PermissionsBody{Permissions: &ps, RedirectURI: &redirect}
}

// unrestricted returns a fresh token's unrestricted_calendars claim, introspection's list,
// and Authenticate's Elevations for sub.
func (e *dtEnv) unrestricted(sa dtSA, sub string) (claim, introspected, caller []string) {
	e.t.Helper()
	tok := e.mint(sa, sub, "").AccessToken
	_, c := dtClaims(e.t, tok)
	if raw, ok := c["unrestricted_calendars"].([]any); ok {
		claim = []string{}
		for _, x := range raw {
			s, _ := x.(string)
			claim = append(claim, s)
		}
	}
	in := e.introspect(e.full, tok)
	if in.UnrestrictedCalendars != nil {
		introspected = *in.UnrestrictedCalendars
	}
	return claim, introspected, e.caller(tok).Elevations
}

// With the grant's unrestricted_access scope the elevation is recorded at once, and later
// tokens and introspection carry it (SPEC §7).
func TestDelegated_Permissions_AcceptedAtOnceWithUnrestrictedAccess(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		sa := e.grant(e.full, dtGrantOpts{}) // every SA scope
		tests := []struct {
			sub  string
			cals []string
		}{
			{sub: "alice@example.com", cals: []string{"cal_alice_1"}},
			{sub: "room-1@example.com", cals: []string{"cal_room_1"}},
		}
		for _, tc := range tests {
			t.Run(tc.sub, func(t *testing.T) {
				c := e.caller(e.mint(sa, tc.sub, "").AccessToken)
				ans, err := e.b.RequestPermissions(e.ctx, c, dtPerms(dtRedirect, tc.cals...), e.meta())
				if err != nil {
					t.Fatalf("RequestPermissions: %v", err)
				}
				if !ans.PermissionsRequest.Accepted || ans.PermissionsRequest.URL != "" {
					t.Fatalf("answer %+v, want accepted at once", ans.PermissionsRequest)
				}
				if got := dtJSON(ans); got != `{"permissions_request":{"accepted":true}}` {
					t.Errorf("answer JSON %s", got)
				}
				claim, in, caller := e.unrestricted(sa, tc.sub)
				for name, got := range map[string][]string{"JWT claim": claim, "introspection": in, "Authenticate": caller} {
					if !slices.Equal(got, tc.cals) {
						t.Errorf("%s unrestricted_calendars = %v, want %v", name, got, tc.cals)
					}
				}
			})
		}
		t.Run("other subjects unaffected", func(t *testing.T) {
			if claim, in, _ := e.unrestricted(sa, "bob@example.com"); claim != nil || len(in) != 0 {
				t.Errorf("bob's token carries elevations %v / %v", claim, in)
			}
		})
		t.Run("audited", func(t *testing.T) {
			evs := e.eventsOf(EvPermissionElevated)
			if len(evs) != 2 {
				t.Fatalf("%d permission.elevated events, want 2", len(evs))
			}
			for _, ev := range evs {
				if ev.GrantID != sa.GrantID || ev.Subject == "" || ev.Scope == "" {
					t.Errorf("event %+v: want grant, subject and calendars", ev)
				}
			}
		})
	})
}

// SPEC §7 field errors: 422 naming exactly permissions, calendar_id, permission_level or
// redirect_uri; nothing is elevated or queued.
func TestDelegated_Permissions_ValidationErrorsNameTheField(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.full, dtGrantOpts{})
	c := e.caller(e.mint(sa, "alice@example.com", "").AccessToken)
	perm := func(cal, level *string) Permission { return Permission{CalendarID: cal, PermissionLevel: level} }
	body := func(ps *[]Permission, redirect *string) PermissionsBody {
		return PermissionsBody{Permissions: ps, RedirectURI: redirect}
	}
	ok := dtPtr("unrestricted")
	good := &[]Permission{perm(dtPtr("cal_alice_1"), ok)}
	tests := []struct {
		name       string
		body       PermissionsBody
		wantFields []string
	}{
		{name: "permissions missing", body: body(nil, dtPtr(dtRedirect)), wantFields: []string{"permissions"}},
		{name: "permissions empty", body: body(&[]Permission{}, dtPtr(dtRedirect)), wantFields: []string{"permissions"}},
		{name: "unknown calendar", body: body(&[]Permission{perm(dtPtr("cal_nope"), ok)}, dtPtr(dtRedirect)), wantFields: []string{"calendar_id"}},
		{name: "another subject's calendar", body: body(&[]Permission{perm(dtPtr("cal_bob_1"), ok)}, dtPtr(dtRedirect)), wantFields: []string{"calendar_id"}},
		{name: "a resource's calendar", body: body(&[]Permission{perm(dtPtr("cal_room_1"), ok)}, dtPtr(dtRedirect)), wantFields: []string{"calendar_id"}},
		{name: "calendar_id missing", body: body(&[]Permission{perm(nil, ok)}, dtPtr(dtRedirect)), wantFields: []string{"calendar_id"}},
		{name: "level read", body: body(&[]Permission{perm(dtPtr("cal_alice_1"), dtPtr("read"))}, dtPtr(dtRedirect)), wantFields: []string{"permission_level"}},
		{name: "level missing", body: body(&[]Permission{perm(dtPtr("cal_alice_1"), nil)}, dtPtr(dtRedirect)), wantFields: []string{"permission_level"}},
		{name: "level in capitals", body: body(&[]Permission{perm(dtPtr("cal_alice_1"), dtPtr("UNRESTRICTED"))}, dtPtr(dtRedirect)), wantFields: []string{"permission_level"}},
		{name: "redirect_uri missing", body: body(good, nil), wantFields: []string{"redirect_uri"}},
		{name: "redirect_uri empty", body: body(good, dtPtr("")), wantFields: []string{"redirect_uri"}},
		{name: "redirect_uri unregistered", body: body(good, dtPtr("https://evil.example/cb")), wantFields: []string{"redirect_uri"}},
		{name: "redirect_uri differs by a slash", body: body(good, dtPtr(dtRedirect+"/")), wantFields: []string{"redirect_uri"}},
		{name: "one good, one unknown calendar", body: body(&[]Permission{perm(dtPtr("cal_alice_1"), ok), perm(dtPtr("cal_x"), ok)}, dtPtr(dtRedirect)),
			wantFields: []string{"calendar_id"}},
		{name: "every field wrong", body: body(&[]Permission{perm(dtPtr("cal_x"), dtPtr("read"))}, dtPtr("https://evil.example/cb")),
			wantFields: []string{"calendar_id", "permission_level", "redirect_uri"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.b.RequestPermissions(e.ctx, c, tc.body, e.meta())
			dtWantFields(t, err, tc.wantFields...)
		})
	}
	if claim, in, _ := e.unrestricted(sa, "alice@example.com"); claim != nil || len(in) != 0 {
		t.Errorf("refused requests elevated %v / %v", claim, in)
	}
	if n := len(e.eventsOf(EvPermissionElevated)); n != 0 {
		t.Errorf("%d permission.elevated events after refused requests", n)
	}
	t.Run("service-account token refused", func(t *testing.T) {
		_, err := e.b.RequestPermissions(e.ctx, e.caller(sa.Access), dtPerms(dtRedirect, "cal_alice_1"), e.meta())
		if err == nil {
			t.Fatal("a service-account token requested a subject's permissions")
		}
	})
}

// Without the unrestricted_access scope the subject is asked: a page at
// <issuer>/permissions/<id>, the subject signs in, sees the calendars and accepts or rejects.
func TestDelegated_Permissions_SubjectDecidesOnPage(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		sa := e.grant(e.full, dtGrantOpts{Scope: dtAccountsManage + " " + dtResourcesManage})
		alice := e.caller(e.mint(sa, "alice@example.com", "").AccessToken)

		ask := func(cals ...string) string {
			t.Helper()
			ans, err := e.b.RequestPermissions(e.ctx, alice, dtPerms(dtRedirect, cals...), e.meta())
			if err != nil {
				t.Fatalf("RequestPermissions: %v", err)
			}
			re := regexp.MustCompile("^" + regexp.QuoteMeta(dtIssuer) + `/permissions/([A-Za-z0-9_-]{20,})$`)
			m := re.FindStringSubmatch(ans.PermissionsRequest.URL)
			if ans.PermissionsRequest.Accepted || m == nil {
				t.Fatalf("answer %+v, want a URL %s/permissions/<id> and not accepted", ans.PermissionsRequest, dtIssuer)
			}
			if got := dtJSON(ans); got != `{"permissions_request":{"url":"`+ans.PermissionsRequest.URL+`"}}` {
				t.Errorf("answer JSON %s", got)
			}
			return m[1]
		}
		id := ask("cal_alice_2")
		if claim, _, _ := e.unrestricted(sa, "alice@example.com"); claim != nil {
			t.Fatalf("elevated before the subject accepted: %v", claim)
		}

		aliceCookie := e.signIn("alice@example.com", dtAlicePW, false)
		bobCookie := e.signIn("bob@example.com", dtBobPW, false)
		adminCookie := e.signIn("admin@example.com", dtAdminPW, true)

		t.Run("page needs the subject's own session", func(t *testing.T) {
			for name, cookie := range map[string]string{"no session": "", "unknown cookie": "nope", "bob": bobCookie, "the administrator": adminCookie} {
				_, err := e.b.PermissionsPage(e.ctx, id, cookie)
				if err == nil {
					t.Errorf("%s: page shown", name)
					continue
				}
				dtWantCode(t, err, Unauthenticated)
			}
			_, err := e.b.PermissionsPage(e.ctx, "unknown-request-id", aliceCookie)
			dtWantCode(t, err, NotFound)
		})
		t.Run("page lists the requested calendars", func(t *testing.T) {
			v, err := e.b.PermissionsPage(e.ctx, id, aliceCookie)
			if err != nil {
				t.Fatalf("PermissionsPage: %v", err)
			}
			if v.Subject != "alice@example.com" || v.ClientName != "DT Full" || v.CSRF == "" || v.RequestID != id {
				t.Errorf("view %+v", v)
			}
			if want := []provider.Calendar{{ID: "cal_alice_2", Name: "Team"}}; !slices.Equal(v.Calendars, want) {
				t.Errorf("calendars %+v, want %+v", v.Calendars, want)
			}
		})
		v, err := e.b.PermissionsPage(e.ctx, id, aliceCookie)
		if err != nil {
			t.Fatal(err)
		}
		decide := func(d PermissionDecision) (string, error) {
			d.Meta = e.meta()
			return e.b.DecidePermissions(e.ctx, d)
		}
		t.Run("forged forms refused", func(t *testing.T) {
			for name, d := range map[string]PermissionDecision{
				"wrong CSRF":        {RequestID: id, CSRF: "forged", Cookie: aliceCookie, Decision: "accept"},
				"no CSRF":           {RequestID: id, Cookie: aliceCookie, Decision: "accept"},
				"cross-site":        {RequestID: id, CSRF: v.CSRF, Cookie: aliceCookie, Decision: "accept", CrossSite: true},
				"CSRF of a session": {RequestID: id, CSRF: v.CSRF, Cookie: e.signIn("alice@example.com", dtAlicePW, false), Decision: "accept"},
			} {
				_, err := decide(d)
				if err == nil {
					t.Errorf("%s: accepted", name)
					continue
				}
				dtWantCode(t, err, Forbidden)
			}
			_, err := decide(PermissionDecision{RequestID: id, CSRF: v.CSRF, Cookie: bobCookie, Decision: "accept"})
			if err == nil {
				t.Errorf("bob answered alice's request")
			}
			if claim, _, _ := e.unrestricted(sa, "alice@example.com"); claim != nil {
				t.Fatalf("a refused form elevated %v", claim)
			}
		})
		t.Run("accept", func(t *testing.T) {
			to, err := decide(PermissionDecision{RequestID: id, CSRF: v.CSRF, Cookie: aliceCookie, Decision: "accept"})
			if err != nil {
				t.Fatalf("DecidePermissions(accept): %v", err)
			}
			u, err := url.Parse(to)
			if err != nil || u.Scheme+"://"+u.Host+u.Path != dtRedirect || u.Query().Has("error") {
				t.Fatalf("redirect %q, want %s without error", to, dtRedirect)
			}
			claim, in, _ := e.unrestricted(sa, "alice@example.com")
			if !slices.Equal(claim, []string{"cal_alice_2"}) || !slices.Equal(in, []string{"cal_alice_2"}) {
				t.Errorf("after accepting: claim %v, introspection %v; want [cal_alice_2]", claim, in)
			}
			evs := e.eventsOf(EvPermissionElevated)
			if len(evs) != 1 || evs[0].Subject != "alice@example.com" || !strings.Contains(evs[0].Scope, "cal_alice_2") {
				t.Errorf("permission.elevated events %+v", evs)
			}
		})
		t.Run("replay refused", func(t *testing.T) {
			_, err := decide(PermissionDecision{RequestID: id, CSRF: v.CSRF, Cookie: aliceCookie, Decision: "accept"})
			if err == nil {
				t.Fatal("a replayed decision was accepted")
			}
			if _, err := e.b.PermissionsPage(e.ctx, id, aliceCookie); err == nil {
				t.Errorf("an answered request still shows its page")
			}
		})
		t.Run("reject", func(t *testing.T) {
			id2 := ask("cal_alice_1")
			v2, err := e.b.PermissionsPage(e.ctx, id2, aliceCookie)
			if err != nil {
				t.Fatal(err)
			}
			to, err := decide(PermissionDecision{RequestID: id2, CSRF: v2.CSRF, Cookie: aliceCookie, Decision: "reject"})
			if err != nil {
				t.Fatalf("DecidePermissions(reject): %v", err)
			}
			u, _ := url.Parse(to)
			if u == nil || u.Scheme+"://"+u.Host+u.Path != dtRedirect || u.Query().Get("error") != "access_denied" {
				t.Fatalf("redirect %q, want %s?error=access_denied", to, dtRedirect)
			}
			if claim, _, _ := e.unrestricted(sa, "alice@example.com"); !slices.Equal(claim, []string{"cal_alice_2"}) {
				t.Errorf("after rejecting cal_alice_1: %v, want only the earlier [cal_alice_2]", claim)
			}
			if n := len(e.eventsOf(EvPermissionElevated)); n != 1 {
				t.Errorf("%d permission.elevated events after a rejection, want 1", n)
			}
		})
		t.Run("decision must be accept or reject", func(t *testing.T) {
			id3 := ask("cal_alice_1")
			v3, _ := e.b.PermissionsPage(e.ctx, id3, aliceCookie)
			_, err := decide(PermissionDecision{RequestID: id3, CSRF: v3.CSRF, Cookie: aliceCookie, Decision: "approve"})
			dtWantCode(t, err, InvalidRequest)
		})
		t.Run("request expires", func(t *testing.T) {
			id4 := ask("cal_alice_1")
			e.clock.Advance(PermissionRequestTTL + time.Second)
			_, err := e.b.PermissionsPage(e.ctx, id4, aliceCookie)
			dtWantCode(t, err, NotFound)
		})
	})
}

// Elevations die with the grant: a re-approval makes a new grant without them, and a request
// answered after its grant was revoked elevates nothing (SPEC §7).
func TestDelegated_Permissions_DieWithTheGrant(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		sa := e.grant(e.full, dtGrantOpts{})
		c := e.caller(e.mint(sa, "alice@example.com", "").AccessToken)
		if _, err := e.b.RequestPermissions(e.ctx, c, dtPerms(dtRedirect, "cal_alice_1", "cal_alice_2"), e.meta()); err != nil {
			t.Fatal(err)
		}
		if claim, _, _ := e.unrestricted(sa, "alice@example.com"); !slices.Equal(claim, []string{"cal_alice_1", "cal_alice_2"}) {
			t.Fatalf("elevation not recorded: %v", claim)
		}
		next := e.grant(e.full, dtGrantOpts{})
		claim, in, caller := e.unrestricted(next, "alice@example.com")
		if claim != nil || len(in) != 0 || len(caller) != 0 {
			t.Errorf("a new grant inherited elevations: claim %v, introspection %v, caller %v", claim, in, caller)
		}

		// Asked under a grant without unrestricted_access, answered after it was revoked.
		asking := e.grant(e.full, dtGrantOpts{Scope: dtAccountsManage})
		ans, err := e.b.RequestPermissions(e.ctx, e.caller(e.mint(asking, "alice@example.com", "").AccessToken),
			dtPerms(dtRedirect, "cal_alice_1"), e.meta())
		if err != nil || ans.PermissionsRequest.URL == "" {
			t.Fatalf("RequestPermissions: %+v, %v", ans, err)
		}
		id := ans.PermissionsRequest.URL[strings.LastIndexByte(ans.PermissionsRequest.URL, '/')+1:]
		cookie := e.signIn("alice@example.com", dtAlicePW, false)
		v, err := e.b.PermissionsPage(e.ctx, id, cookie)
		if err != nil {
			t.Fatal(err)
		}
		e.revoke(e.full, map[string]string{"sub": asking.GrantID})
		if _, err := e.b.DecidePermissions(e.ctx, PermissionDecision{RequestID: id, CSRF: v.CSRF, Cookie: cookie, Decision: "accept", Meta: e.meta()}); err == nil {
			t.Errorf("accepted a request whose grant was revoked")
		}
		st, err := e.store.Elevations(e.ctx, asking.GrantID, []string{"alice@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if len(st["alice@example.com"]) != 0 {
			t.Errorf("revoked grant %s got elevations %v", asking.GrantID, st)
		}
	})
}

// The unrestricted_access scope must match the subject's kind: accounts/… for accounts,
// resources/… for resources (SPEC §1, §7).
func TestDelegated_Permissions_ScopeMatchesTheSubjectKind(t *testing.T) {
	tests := []struct {
		name, scope, sub, cal string
		wantAccepted          bool
	}{
		{"accounts scope, account", dtAccountsManage + " " + dtResourcesManage + " " + dtAccountsUnrestrict, "alice@example.com", "cal_alice_1", true},
		{"accounts scope, resource", dtAccountsManage + " " + dtResourcesManage + " " + dtAccountsUnrestrict, "room-1@example.com", "cal_room_1", false},
		{"resources scope, resource", dtAccountsManage + " " + dtResourcesManage + " " + dtResourcesUnrestr, "room-1@example.com", "cal_room_1", true},
		{"resources scope, account", dtAccountsManage + " " + dtResourcesManage + " " + dtResourcesUnrestr, "alice@example.com", "cal_alice_1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := dtNewEnv(t, dtOpenMiniredis(t))
			sa := e.grant(e.full, dtGrantOpts{Scope: tc.scope})
			ans, err := e.b.RequestPermissions(e.ctx, e.caller(e.mint(sa, tc.sub, "").AccessToken), dtPerms(dtRedirect, tc.cal), e.meta())
			if err != nil {
				t.Fatal(err)
			}
			if ans.PermissionsRequest.Accepted != tc.wantAccepted || (ans.PermissionsRequest.URL == "") != tc.wantAccepted {
				t.Errorf("answer %+v, want accepted=%v (else a URL)", ans.PermissionsRequest, tc.wantAccepted)
			}
			claim, _, _ := e.unrestricted(sa, tc.sub)
			if got := len(claim) > 0; got != tc.wantAccepted {
				t.Errorf("elevated %v, want elevated=%v", claim, tc.wantAccepted)
			}
		})
	}
}
