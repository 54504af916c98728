package broker

// SPEC §4: bearer authentication of the service account's API and the single mint.

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/enterprise-connect/broker/store"
)

func TestDelegated_Authenticate_RefusesMissingUnknownExpiredRevoked(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		sa := e.grant(e.full, dtGrantOpts{})
		jwtTok := e.mint(sa, "alice@example.com", "").AccessToken

		// A JWT of the right shape, claims and kid, signed by someone else's key.
		_, foreign, _ := ed25519.GenerateKey(rand.Reader)
		h, claims := dtClaims(t, jwtTok)
		forged := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
		forged.Header["typ"], forged.Header["kid"] = h["typ"], h["kid"]
		forgedTok, err := forged.SignedString(foreign)
		if err != nil {
			t.Fatal(err)
		}
		// The same claims under a kid the broker never had.
		unknownKid := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
		unknownKid.Header["kid"] = "key_doesnotexist"
		unknownKidTok, _ := unknownKid.SignedString(foreign)

		tests := []struct {
			name        string
			bearer      string
			wantNoToken bool
		}{
			{name: "no token", bearer: "", wantNoToken: true},
			{name: "unknown opaque token", bearer: strings.Repeat("A", 43)},
			{name: "refresh token as bearer", bearer: sa.Refresh},
			{name: "three dots of garbage", bearer: "a.b.c"},
			{name: "JWT signed by a foreign key", bearer: forgedTok},
			{name: "JWT with an unknown kid", bearer: unknownKidTok},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.b.Authenticate(e.ctx, tc.bearer)
				be := dtWantCode(t, err, InvalidToken)
				if be.NoToken != tc.wantNoToken {
					t.Errorf("NoToken = %v, want %v (RFC 6750 §3.1: no error attribute only when no token was sent)", be.NoToken, tc.wantNoToken)
				}
			})
		}

		t.Run("valid tokens pass", func(t *testing.T) {
			if c := e.caller(sa.Access); c.Access == nil || c.Grant.ID != sa.GrantID {
				t.Errorf("service-account caller = %+v, want the access token of grant %s", c, sa.GrantID)
			}
			if c := e.caller(jwtTok); c.Delegated == nil || c.Delegated.Subject != "alice@example.com" {
				t.Errorf("delegated caller = %+v, want alice's delegated claims", c)
			}
		})

		t.Run("delegated JWT past its exp", func(t *testing.T) {
			e.clock.Advance(dtDelegatedTTL + time.Second)
			_, err := e.b.Authenticate(e.ctx, jwtTok)
			dtWantCode(t, err, InvalidToken)
			if in := e.introspect(e.full, jwtTok); in.Active {
				t.Errorf("introspection of an expired delegated JWT: active")
			}
		})

		t.Run("service-account token past AccessTokenTTL", func(t *testing.T) {
			e.clock.Advance(dtAccessTTL) // now dtDelegatedTTL + 1 s + dtAccessTTL after issue
			_, err := e.b.Authenticate(e.ctx, sa.Access)
			dtWantCode(t, err, InvalidToken)
		})

		t.Run("revoked service-account token (RFC 7009)", func(t *testing.T) {
			fresh := e.grant(e.full, dtGrantOpts{})
			e.caller(fresh.Access)
			e.revoke(e.full, map[string]string{"token": fresh.Access})
			_, err := e.b.Authenticate(e.ctx, fresh.Access)
			dtWantCode(t, err, InvalidToken)
		})
	})
}

func TestDelegated_Authenticate_AccessTokenExpiresExactlyAtTTL(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.full, dtGrantOpts{})
	e.clock.Advance(dtAccessTTL - time.Second)
	if _, err := e.b.Authenticate(e.ctx, sa.Access); err != nil {
		t.Fatalf("one second before AccessTokenTTL: %v", err)
	}
	e.clock.Advance(time.Second)
	_, err := e.b.Authenticate(e.ctx, sa.Access)
	dtWantCode(t, err, InvalidToken)
}

// A delegated token is a subject's token: it never acts as the service account (SPEC §4:
// every call of §4–§5 uses a service-account access token).
func TestDelegated_DelegatedToken_CannotActAsServiceAccount(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.full, dtGrantOpts{})
	del := e.caller(e.mint(sa, "alice@example.com", "").AccessToken)

	calls := []struct {
		name string
		call func() error
	}{
		{"mint one", func() error {
			_, err := e.b.MintOne(e.ctx, del, MintRequest{Sub: "bob@example.com"}, e.meta())
			return err
		}},
		{"mint one for itself", func() error {
			_, err := e.b.MintOne(e.ctx, del, MintRequest{Sub: "alice@example.com"}, e.meta())
			return err
		}},
		{"mint batch", func() error {
			_, err := e.b.MintBatch(e.ctx, del, []MintRequest{{Sub: "bob@example.com"}}, e.meta())
			return err
		}},
		{"list resources", func() error {
			_, err := e.b.Resources(e.ctx, del)
			return err
		}},
		{"per-subject authorization", func() error {
			email, cb := "bob@example.com", "https://cb.example/x"
			return e.b.RequestSubjectAuthorizations(e.ctx, del, []SubjectAuthorization{{Email: &email, CallbackURL: &cb}}, e.meta())
		}},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("a delegated token was accepted where a service-account token is required")
			}
			var be *Error
			if !errors.As(err, &be) || (be.Code != InvalidToken && be.Code != InsufficientScope) {
				t.Fatalf("got %v, want invalid_token (401) or insufficient_scope (403)", err)
			}
		})
	}
	if n := e.pending(); n != 0 {
		t.Errorf("%d callback deliveries queued by a delegated token, want 0", n)
	}
}

// The JWT is RFC 9068's, verifiable with nothing but the published JWKS (SPEC §4).
func TestDelegated_MintOne_JWTClaimsVerifyWithPublishedJWKS(t *testing.T) {
	tests := []struct {
		name     string
		mod      func(*Options)
		wantAud  string
		wantAlg  string
		wantLife time.Duration
	}{
		{name: "default audience is the issuer", wantAud: dtIssuer, wantAlg: "EdDSA", wantLife: dtDelegatedTTL},
		{name: "configured delegated_token_audience", mod: func(o *Options) { o.DelegatedTokenAudience = "https://api.dt.example" },
			wantAud: "https://api.dt.example", wantAlg: "EdDSA", wantLife: dtDelegatedTTL},
		{name: "ES256 signing", mod: func(o *Options) { o.SigningAlgorithm = AlgES256 }, wantAud: dtIssuer, wantAlg: "ES256", wantLife: dtDelegatedTTL},
		{name: "another delegated_token_ttl", mod: func(o *Options) { o.DelegatedTokenTTL = 90 * time.Second },
			wantAud: dtIssuer, wantAlg: "EdDSA", wantLife: 90 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mods []func(*Options)
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			e := dtNewEnv(t, dtOpenMiniredis(t), mods...)
			sa := e.grant(e.full, dtGrantOpts{})
			m := e.mint(sa, "alice@example.com", "read_only")

			wantMinted := Minted{TokenType: "bearer", AccessToken: m.AccessToken, ExpiresIn: int64(tc.wantLife / time.Second),
				Scope: dtReadOnly, Sub: "alice@example.com", Kind: "account"}
			if *m != wantMinted {
				t.Errorf("minted = %+v, want %+v", *m, wantMinted)
			}

			v := dtVerifyWithJWKS(t, e.b.Keys().JWKS(), m.AccessToken)
			if v.Header["typ"] != "at+jwt" {
				t.Errorf("header typ = %v, want at+jwt (RFC 9068)", v.Header["typ"])
			}
			if v.Header["alg"] != tc.wantAlg {
				t.Errorf("header alg = %v, want %s", v.Header["alg"], tc.wantAlg)
			}
			if kid, _ := v.Header["kid"].(string); kid == "" {
				t.Errorf("header kid missing")
			}
			c := jwt.MapClaims(v.Claims)
			str := func(k string) string { s, _ := v.Claims[k].(string); return s }
			for k, want := range map[string]string{
				"iss": dtIssuer, "sub": "alice@example.com", "client_id": e.full.ID, "scope": dtReadOnly,
				"domain": "example.com", "kind": "account", "grant_id": sa.GrantID,
			} {
				if got := str(k); got != want {
					t.Errorf("claim %s = %q, want %q", k, got, want)
				}
			}
			if aud, _ := c.GetAudience(); !slices.Equal(aud, jwt.ClaimStrings{tc.wantAud}) {
				t.Errorf("aud = %v, want [%s]", aud, tc.wantAud)
			}
			act, _ := v.Claims["act"].(map[string]any)
			if act["sub"] != sa.GrantID || !dtReGrantID.MatchString(sa.GrantID) {
				t.Errorf("act = %v, want {sub: %s}", v.Claims["act"], sa.GrantID)
			}
			if str("jti") == "" {
				t.Errorf("jti missing")
			}
			iat, _ := c.GetIssuedAt()
			exp, _ := c.GetExpirationTime()
			if iat == nil || !iat.Equal(e.clock.Now()) {
				t.Errorf("iat = %v, want now %v", iat, e.clock.Now())
			}
			if exp == nil || iat == nil || exp.Sub(iat.Time) != tc.wantLife {
				t.Errorf("exp - iat = %v, want %v", exp.Sub(iat.Time), tc.wantLife)
			}
			if _, ok := v.Claims["unrestricted_calendars"]; ok {
				t.Errorf("unrestricted_calendars present without any elevation: %v", v.Claims["unrestricted_calendars"])
			}

			// Every mint has its own jti.
			m2 := e.mint(sa, "alice@example.com", "read_only")
			_, c2 := dtClaims(t, m2.AccessToken)
			if c2["jti"] == v.Claims["jti"] {
				t.Errorf("two mints share jti %v", c2["jti"])
			}

			// The broker accepts its own token and introspects it (SPEC §8).
			in := e.introspect(e.full, m.AccessToken)
			want := Introspection{Active: true, TokenType: "bearer", Kind: "account", Scope: dtReadOnly,
				DelegatedScope: dtCeiling, ClientID: e.full.ID, Sub: "alice@example.com", Domain: "example.com",
				GrantID: sa.GrantID, Exp: exp.Unix(), Iat: iat.Unix()}
			got := *in
			got.UnrestrictedCalendars = nil
			if got != want {
				t.Errorf("introspection = %+v, want %+v", got, want)
			}
			if in.UnrestrictedCalendars == nil || len(*in.UnrestrictedCalendars) != 0 {
				t.Errorf("introspection unrestricted_calendars = %v, want []", in.UnrestrictedCalendars)
			}
		})
	}
}

// A token minted for one audience is not accepted by a broker configured for another.
func TestDelegated_Authenticate_RefusesOtherAudience(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.full, dtGrantOpts{})
	tok := e.mint(sa, "alice@example.com", "").AccessToken
	other := e.replica(func(o *Options) { o.DelegatedTokenAudience = "https://elsewhere.example" })
	_, err := other.Authenticate(e.ctx, tok)
	dtWantCode(t, err, InvalidToken)
}

func TestDelegated_MintOne_ScopeParsing(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.full, dtGrantOpts{}) // ceiling "read_write read_contacts"
	c := e.caller(sa.Access)
	tests := []struct {
		name      string
		scope     string
		wantScope string
		wantErr   ErrorCode
	}{
		{name: "no scope is the whole ceiling", scope: "", wantScope: dtCeiling},
		{name: "read_only shorthand", scope: "read_only", wantScope: dtReadOnly},
		{name: "read_write shorthand", scope: "read_write",
			wantScope: "change_participation_status create_calendar create_event delete_event list_calendars read_account read_events read_free_busy"},
		{name: "free_busy shorthand", scope: "free_busy", wantScope: "list_calendars read_account read_free_busy"},
		{name: "free_busy_write shorthand", scope: "free_busy_write", wantScope: "create_event delete_event list_calendars read_account read_free_busy"},
		{name: "write_only shorthand", scope: "write_only", wantScope: "create_event delete_event read_account"},
		{name: "read_events brings read_free_busy", scope: "read_events", wantScope: "read_events read_free_busy"},
		{name: "duplicates collapse", scope: "read_account read_account read_account", wantScope: "read_account"},
		{name: "repeated spaces ignored", scope: "  read_contacts    read_account  ", wantScope: "read_account read_contacts"},
		{name: "shorthand plus its own members", scope: "read_only read_events list_calendars", wantScope: dtReadOnly},
		{name: "the ceiling spelled out", scope: dtCeiling, wantScope: dtCeiling},
		{name: "outside the ceiling", scope: "read_directory", wantErr: InvalidScope},
		{name: "partly outside the ceiling", scope: "read_only read_directory", wantErr: InvalidScope},
		{name: "unknown scope", scope: "read_everything", wantErr: InvalidScope},
		{name: "scopes are case-sensitive", scope: "READ_ONLY", wantErr: InvalidScope},
		{name: "service-account scope is not delegated", scope: dtAccountsManage, wantErr: InvalidScope},
		{name: "comma is not a separator", scope: "read_account,list_calendars", wantErr: InvalidScope},
		{name: "tab is not a separator", scope: "read_account\tlist_calendars", wantErr: InvalidScope},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := e.b.MintOne(e.ctx, c, MintRequest{Sub: "alice@example.com", Scope: tc.scope}, e.meta())
			if tc.wantErr != "" {
				be := dtWantCode(t, err, tc.wantErr)
				if be.Description == "" {
					t.Errorf("no error_description")
				}
				return
			}
			if err != nil {
				t.Fatalf("MintOne(%q): %v", tc.scope, err)
			}
			if m.Scope != tc.wantScope {
				t.Errorf("scope = %q, want %q", m.Scope, tc.wantScope)
			}
			if _, claims := dtClaims(t, m.AccessToken); claims["scope"] != tc.wantScope {
				t.Errorf("JWT scope claim = %v, want %q", claims["scope"], tc.wantScope)
			}
		})
	}
}

func TestDelegated_MintOne_NarrowCeiling(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.full, dtGrantOpts{DelegatedScope: "free_busy"})
	c := e.caller(sa.Access)
	m, err := e.b.MintOne(e.ctx, c, MintRequest{Sub: "alice@example.com"}, e.meta())
	if err != nil {
		t.Fatal(err)
	}
	if m.Scope != "list_calendars read_account read_free_busy" {
		t.Errorf("default scope = %q, want the free_busy ceiling expanded", m.Scope)
	}
	// read_events expands to read_events + read_free_busy: outside free_busy.
	_, err = e.b.MintOne(e.ctx, c, MintRequest{Sub: "alice@example.com", Scope: "read_events"}, e.meta())
	dtWantCode(t, err, InvalidScope)
	_, err = e.b.MintOne(e.ctx, c, MintRequest{Sub: "alice@example.com", Scope: "read_free_busy"}, e.meta())
	if err != nil {
		t.Errorf("read_free_busy within free_busy: %v", err)
	}
}

func TestDelegated_MintOne_Subjects(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.full, dtGrantOpts{})
	c := e.caller(sa.Access)
	tests := []struct {
		name     string
		sub      string
		wantSub  string
		wantKind string
		wantErr  ErrorCode
	}{
		{name: "account", sub: "alice@example.com", wantSub: "alice@example.com", wantKind: "account"},
		{name: "resource", sub: "room-1@example.com", wantSub: "room-1@example.com", wantKind: "resource"},
		{name: "email case is not significant", sub: "Alice@Example.COM", wantSub: "alice@example.com", wantKind: "account"},
		{name: "unknown subject", sub: "nobody@example.com", wantErr: InvalidSubject},
		{name: "subject of another domain", sub: "carol@other.org", wantErr: InvalidSubject},
		{name: "administrator who is not a user", sub: "admin@example.com", wantErr: InvalidSubject},
		{name: "other domain's administrator", sub: "admin@other.org", wantErr: InvalidSubject},
		{name: "look-alike domain", sub: "alice@example.com.evil.test", wantErr: InvalidSubject},
		{name: "not an email", sub: "alice", wantErr: InvalidSubject},
		{name: "empty sub", sub: "", wantErr: InvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := e.b.MintOne(e.ctx, c, MintRequest{Sub: tc.sub}, e.meta())
			if tc.wantErr != "" {
				dtWantCode(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("MintOne(%s): %v", tc.sub, err)
			}
			if m.Sub != tc.wantSub || m.Kind != tc.wantKind {
				t.Errorf("sub, kind = %s, %s; want %s, %s", m.Sub, m.Kind, tc.wantSub, tc.wantKind)
			}
			if _, claims := dtClaims(t, m.AccessToken); claims["sub"] != tc.wantSub || claims["kind"] != tc.wantKind {
				t.Errorf("JWT sub, kind = %v, %v; want %s, %s", claims["sub"], claims["kind"], tc.wantSub, tc.wantKind)
			}
		})
	}
}

// Minting for a resource needs resources/manage, for an account accounts/manage: otherwise
// insufficient_scope (SPEC §4). Listing resources needs resources/manage.
func TestDelegated_MintOne_NeedsTheKindsManageScope(t *testing.T) {
	tests := []struct {
		name          string
		scope         string
		sub           string
		wantErr       ErrorCode
		wantResources bool
	}{
		{name: "accounts/manage mints an account", scope: dtAccountsManage, sub: "alice@example.com"},
		{name: "accounts/manage cannot mint a resource", scope: dtAccountsManage, sub: "room-1@example.com", wantErr: InsufficientScope},
		{name: "resources/manage mints a resource", scope: dtResourcesManage, sub: "room-1@example.com", wantResources: true},
		{name: "resources/manage cannot mint an account", scope: dtResourcesManage, sub: "alice@example.com", wantErr: InsufficientScope, wantResources: true},
		{name: "unrestricted_access alone mints nothing", scope: dtAccountsUnrestrict, sub: "alice@example.com", wantErr: InsufficientScope},
		{name: "both manage scopes", scope: dtAccountsManage + " " + dtResourcesManage, sub: "room-1@example.com", wantResources: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := dtNewEnv(t, dtOpenMiniredis(t))
			sa := e.grant(e.full, dtGrantOpts{Scope: tc.scope})
			c := e.caller(sa.Access)
			_, err := e.b.MintOne(e.ctx, c, MintRequest{Sub: tc.sub}, e.meta())
			if tc.wantErr != "" {
				dtWantCode(t, err, tc.wantErr)
			} else if err != nil {
				t.Fatalf("MintOne(%s): %v", tc.sub, err)
			}
			// The batch form refuses the same item the same way.
			outs, err := e.b.MintBatch(e.ctx, c, []MintRequest{{Sub: tc.sub}}, e.meta())
			if err != nil {
				t.Fatal(err)
			}
			if got := dtOutcomeCode(outs[0]); got != string(tc.wantErr) {
				t.Errorf("batch item outcome %q, want %q", got, tc.wantErr)
			}

			rs, err := e.b.Resources(e.ctx, c)
			if !tc.wantResources {
				dtWantCode(t, err, InsufficientScope)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := []Resource{{Email: "room-1@example.com", Name: "Room 1"}}; !slices.Equal(rs, want) {
				t.Errorf("resources = %+v, want %+v", rs, want)
			}
			b, _ := json.Marshal(map[string]any{"resources": rs})
			if string(b) != `{"resources":[{"email":"room-1@example.com","name":"Room 1"}]}` {
				t.Errorf("resources JSON = %s", b)
			}
		})
	}
}

// The subject policy chosen on the consent page (SPEC §2) limits minting: outside it,
// invalid_subject (SPEC §4).
func TestDelegated_MintOne_SubjectPolicy(t *testing.T) {
	type want map[string]ErrorCode // subject → "" (minted) or the error
	tests := []struct {
		name   string
		policy dtGrantOpts
		want   want
	}{
		{name: "no policy", policy: dtGrantOpts{},
			want: want{"alice@example.com": "", "bob@example.com": "", "room-1@example.com": ""}},
		{name: "group sales", policy: dtGrantOpts{Groups: "sales"},
			want: want{"alice@example.com": "", "bob@example.com": InvalidSubject, "room-1@example.com": InvalidSubject}},
		{name: "groups sales and eng", policy: dtGrantOpts{Groups: "sales, eng"},
			want: want{"alice@example.com": "", "bob@example.com": ""}},
		{name: "emails bob", policy: dtGrantOpts{Emails: "bob@example.com"},
			want: want{"alice@example.com": InvalidSubject, "bob@example.com": "", "room-1@example.com": InvalidSubject}},
		{name: "emails are case-insensitive", policy: dtGrantOpts{Emails: " BOB@Example.com "},
			want: want{"bob@example.com": "", "alice@example.com": InvalidSubject}},
		{name: "group or email", policy: dtGrantOpts{Groups: "sales", Emails: "bob@example.com"},
			want: want{"alice@example.com": "", "bob@example.com": "", "room-1@example.com": InvalidSubject}},
		{name: "resources only", policy: dtGrantOpts{ResourcesOnly: true},
			want: want{"alice@example.com": InvalidSubject, "bob@example.com": InvalidSubject, "room-1@example.com": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := dtNewEnv(t, dtOpenMiniredis(t))
			c := e.caller(e.grant(e.full, tc.policy).Access)
			var reqs []MintRequest
			for sub, wantErr := range tc.want {
				reqs = append(reqs, MintRequest{Sub: sub})
				_, err := e.b.MintOne(e.ctx, c, MintRequest{Sub: sub}, e.meta())
				if wantErr == "" {
					if err != nil {
						t.Errorf("MintOne(%s): %v, want a token", sub, err)
					}
					continue
				}
				if err == nil {
					t.Errorf("MintOne(%s) minted, want %s", sub, wantErr)
					continue
				}
				dtWantCode(t, err, wantErr)
			}
			outs, err := e.b.MintBatch(e.ctx, c, reqs, e.meta())
			if err != nil {
				t.Fatal(err)
			}
			for i, o := range outs {
				if got := dtOutcomeCode(o); got != string(tc.want[reqs[i].Sub]) {
					t.Errorf("batch %s: %q, want %q", reqs[i].Sub, got, tc.want[reqs[i].Sub])
				}
			}
		})
	}
}

// UserInfo answers for the grant (service-account token) or the subject (delegated token).
func TestDelegated_UserInfo_BothForms(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.full, dtGrantOpts{})
	got, err := e.b.UserInfo(e.ctx, e.caller(sa.Access))
	if err != nil {
		t.Fatal(err)
	}
	wantSA := map[string]any{"sub": sa.GrantID, "type": "service_account", "domain": "example.com", "client_id": e.full.ID,
		"scope": e.caller(sa.Access).Grant.Scope, "delegated_scope": dtCeiling, "status": "active", "provider": "static",
		"cronofy.type": "service_account", "cronofy.service_account.domain": "example.com"}
	if b1, b2 := dtJSON(got), dtJSON(wantSA); b1 != b2 {
		t.Errorf("service-account userinfo\n got %s\nwant %s", b1, b2)
	}

	m := e.mint(sa, "alice@example.com", "read_only")
	got, err = e.b.UserInfo(e.ctx, e.caller(m.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"sub": "alice@example.com", "type": "account", "domain": "example.com",
		"client_id": e.full.ID, "scope": dtReadOnly, "grant_id": sa.GrantID} {
		if got[k] != want {
			t.Errorf("delegated userinfo %s = %v, want %v", k, got[k], want)
		}
	}
	if cals := dtJSON(got["calendars"]); cals != `[{"calendar_id":"cal_alice_1","name":"Alice"},{"calendar_id":"cal_alice_2","name":"Team"}]` {
		t.Errorf("delegated userinfo calendars = %s", cals)
	}
}

func dtJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "marshal error: " + err.Error()
	}
	return string(b)
}

// dtOutcomeCode is "" for a minted batch item, else its error code.
func dtOutcomeCode(o MintOutcome) string {
	if o.Minted != nil {
		return ""
	}
	if o.Failed == nil {
		return "<neither minted nor failed>"
	}
	return o.Failed.Error
}
