package broker

// SPEC §3 jwt-bearer grant (RFC 7523 §2.1, the Google domain-wide delegation shape), called
// in-process; handlers/delegated_jwtbearer_test.go drives it with golang.org/x/oauth2/jwt.

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// dtAssertion signs a jwt-bearer assertion of client c for sub with alg (EdDSA, ES256, RS256)
// and the client's registered key; edit changes the claims (delete a key to omit it) and
// the token before signing.
func (e *dtEnv) dtAssertion(c dtClient, alg, sub string, edit func(jwt.MapClaims, *jwt.Token)) string {
	e.t.Helper()
	keys := dtClientKeys()
	now := e.clock.Now()
	claims := jwt.MapClaims{
		"iss": c.ID, "sub": sub, "aud": dtTokenEndpoint,
		"iat": now.Unix(), "exp": now.Add(30 * time.Minute).Unix(), "jti": "jti-" + dtRandHex(8),
	}
	var (
		method jwt.SigningMethod
		key    any
		kid    string
	)
	switch alg {
	case "EdDSA":
		method, key, kid = jwt.SigningMethodEdDSA, keys.ed, "dt-ed"
	case "ES256":
		method, key, kid = jwt.SigningMethodES256, keys.ec, "dt-ec"
	case "RS256":
		method, key, kid = jwt.SigningMethodRS256, keys.rsa, "dt-rsa"
	default:
		e.t.Fatalf("unknown alg %s", alg)
	}
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	if edit != nil {
		edit(claims, tok)
	}
	if tok.Method == jwt.SigningMethodNone {
		s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			e.t.Fatal(err)
		}
		return s
	}
	if k, ok := tok.Header["dt-key"]; ok {
		delete(tok.Header, "dt-key")
		key = k
	}
	s, err := tok.SignedString(key)
	if err != nil {
		e.t.Fatalf("signing the assertion: %v", err)
	}
	return s
}

// jwtBearer calls the token endpoint with the assertion, without client authentication (the
// Google shape) unless creds are given.
func (e *dtEnv) jwtBearer(assertion string, params map[string]string, creds ...ClientCredentialsIn) (*Minted, error) {
	p := map[string]string{"grant_type": GrantJWTBearer, "assertion": assertion}
	for k, v := range params {
		p[k] = v
	}
	r := TokenRequest{Params: p, Meta: e.meta()}
	if len(creds) > 0 {
		r.Client = creds[0]
	}
	res, err := e.b.Token(e.ctx, r)
	if err != nil {
		return nil, err
	}
	m, ok := res.(*Minted)
	if !ok {
		e.t.Fatalf("jwt-bearer answered %T, want *Minted (§4's single mint)", res)
	}
	return m, nil
}

func TestDelegated_JWTBearer_MintsForEveryKeyType(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.jwtc, dtGrantOpts{}) // ceiling read_write
	readWrite := "change_participation_status create_calendar create_event delete_event list_calendars read_account read_events read_free_busy"
	tests := []struct {
		alg, sub, scope string
		wantScope       string
		wantKind        string
	}{
		{alg: "EdDSA", sub: "alice@example.com", scope: "read_only", wantScope: dtReadOnly, wantKind: "account"},
		{alg: "ES256", sub: "bob@example.com", scope: "free_busy", wantScope: "list_calendars read_account read_free_busy", wantKind: "account"},
		{alg: "RS256", sub: "alice@example.com", scope: "", wantScope: readWrite, wantKind: "account"},
		{alg: "EdDSA", sub: "room-1@example.com", scope: "", wantScope: readWrite, wantKind: "resource"},
	}
	for _, tc := range tests {
		t.Run(tc.alg+" "+tc.sub+" "+tc.scope, func(t *testing.T) {
			a := e.dtAssertion(e.jwtc, tc.alg, tc.sub, func(c jwt.MapClaims, _ *jwt.Token) {
				if tc.scope != "" {
					c["scope"] = tc.scope
				}
			})
			m, err := e.jwtBearer(a, nil)
			if err != nil {
				t.Fatalf("jwt-bearer (%s): %v", tc.alg, err)
			}
			want := Minted{TokenType: "bearer", AccessToken: m.AccessToken, ExpiresIn: int64(dtDelegatedTTL / time.Second),
				Scope: tc.wantScope, Sub: tc.sub, Kind: tc.wantKind}
			if *m != want {
				t.Errorf("response %+v, want %+v", *m, want)
			}
			v := dtVerifyWithJWKS(t, e.b.Keys().JWKS(), m.AccessToken)
			act, _ := v.Claims["act"].(map[string]any)
			if v.Claims["sub"] != tc.sub || v.Claims["client_id"] != e.jwtc.ID || v.Claims["grant_id"] != sa.GrantID || act["sub"] != sa.GrantID {
				t.Errorf("JWT claims %v: want sub %s, client %s, grant and act.sub %s", v.Claims, tc.sub, e.jwtc.ID, sa.GrantID)
			}
			if !e.introspect(e.jwtc, m.AccessToken).Active {
				t.Errorf("minted token inactive at introspection")
			}
		})
	}
	t.Run("scope in the form body is not the assertion's", func(t *testing.T) {
		// SPEC §3: scope is a claim of the assertion. Spec is silent on a form parameter;
		// it must at least never widen the ceiling.
		a := e.dtAssertion(e.jwtc, "EdDSA", "alice@example.com", nil)
		m, err := e.jwtBearer(a, map[string]string{"scope": "read_directory"})
		if err == nil && strings.Contains(m.Scope, "read_directory") {
			t.Errorf("a form scope widened the token beyond the ceiling: %s", m.Scope)
		}
	})
	t.Run("with client authentication of the issuer", func(t *testing.T) {
		a := e.dtAssertion(e.jwtc, "ES256", "alice@example.com", nil)
		if _, err := e.jwtBearer(a, nil, e.jwtc.basic()); err != nil {
			t.Fatalf("jwt-bearer with client_secret_basic of the assertion's issuer: %v", err)
		}
	})
	t.Run("audited", func(t *testing.T) {
		want := len(tests) + 1 // the table and the authenticated call
		if _, err := e.jwtBearer(e.dtAssertion(e.jwtc, "EdDSA", "alice@example.com", nil), map[string]string{"scope": "read_directory"}); err == nil {
			want++ // the form-scope subtest minted too (with the assertion's scope)
			want++ // and so did this call
		}
		n := 0
		for _, ev := range e.eventsOf(EvDelegatedMinted) {
			if ev.ClientID == e.jwtc.ID && ev.GrantID == sa.GrantID && ev.Subject != "" && ev.Scope != "" {
				n++
			}
		}
		if n != want {
			t.Errorf("%d delegated.minted events of the jwt-bearer client, want %d", n, want)
		}
	})
}

func TestDelegated_JWTBearer_Refusals(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	e.grant(e.jwtc, dtGrantOpts{}) // example.com only; ceiling read_write
	e.grant(e.full, dtGrantOpts{})
	_, foreign, _ := ed25519.GenerateKey(rand.Reader)
	now := e.clock.Now()
	alice := "alice@example.com"

	type edit = func(jwt.MapClaims, *jwt.Token)
	set := func(k string, v any) edit { return func(c jwt.MapClaims, _ *jwt.Token) { c[k] = v } }
	del := func(k string) edit { return func(c jwt.MapClaims, _ *jwt.Token) { delete(c, k) } }
	both := func(a, b edit) edit { return func(c jwt.MapClaims, t *jwt.Token) { a(c, t); b(c, t) } }

	tests := []struct {
		name    string
		alg     string
		sub     string
		edit    edit
		creds   *ClientCredentialsIn
		wantErr ErrorCode // "" = minted
	}{
		{name: "exp exactly 60 min after iat", sub: alice, edit: set("exp", now.Add(60*time.Minute).Unix())},
		{name: "exp 61 min after iat", sub: alice, edit: set("exp", now.Add(61*time.Minute).Unix()), wantErr: InvalidGrant},
		{name: "exp 2 days after iat", sub: alice, edit: set("exp", now.Add(48*time.Hour).Unix()), wantErr: InvalidGrant},
		{name: "no iat, exp 59 min ahead", sub: alice, edit: both(del("iat"), set("exp", now.Add(59*time.Minute).Unix()))},
		{name: "no iat, exp 61 min ahead", sub: alice, edit: both(del("iat"), set("exp", now.Add(61*time.Minute).Unix())), wantErr: InvalidGrant},
		{name: "expired", sub: alice, edit: both(set("iat", now.Add(-10*time.Minute).Unix()), set("exp", now.Add(-time.Second).Unix())), wantErr: InvalidGrant},
		{name: "no exp", sub: alice, edit: del("exp"), wantErr: InvalidGrant},
		{name: "foreign key under a registered kid", sub: alice, edit: func(_ jwt.MapClaims, t *jwt.Token) { t.Header["dt-key"] = foreign }, wantErr: InvalidGrant},
		{name: "unsigned (alg none)", sub: alice, edit: func(_ jwt.MapClaims, t *jwt.Token) { t.Method = jwt.SigningMethodNone; t.Header["alg"] = "none" }, wantErr: InvalidGrant},
		{name: "iss is not a client", sub: alice, edit: set("iss", "cli_unknown"), wantErr: InvalidGrant},
		{name: "iss is a client without a JWKS", sub: alice, edit: set("iss", e.full.ID), wantErr: InvalidGrant},
		{name: "aud is another server", sub: alice, edit: set("aud", "https://elsewhere.example/oauth/token"), wantErr: InvalidGrant},
		{name: "aud is the issuer", sub: alice, edit: set("aud", dtIssuer)},
		{name: "no aud", sub: alice, edit: del("aud"), wantErr: InvalidGrant},
		{name: "unknown subject", sub: "nobody@example.com", wantErr: InvalidGrant},
		{name: "administrator who is not a user", sub: "admin@example.com", wantErr: InvalidGrant},
		{name: "subject of a domain without a grant", sub: "carol@other.org", wantErr: InvalidGrant},
		{name: "subject of an unconfigured domain", sub: "someone@nowhere.test", wantErr: InvalidGrant},
		{name: "no sub", sub: alice, edit: del("sub"), wantErr: InvalidGrant},
		{name: "scope outside the ceiling", sub: alice, edit: set("scope", "read_contacts"), wantErr: InvalidScope},
		{name: "unknown scope", sub: alice, edit: set("scope", "read_everything"), wantErr: InvalidScope},
		{name: "ES256 key", alg: "ES256", sub: alice},
		{name: "RS256 key", alg: "RS256", sub: alice},
		{name: "authenticated as another client", sub: alice, creds: &ClientCredentialsIn{HasBasic: true, BasicID: e.full.ID, BasicSecret: e.full.Secret}, wantErr: InvalidGrant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alg := tc.alg
			if alg == "" {
				alg = "EdDSA"
			}
			a := e.dtAssertion(e.jwtc, alg, tc.sub, tc.edit)
			var creds []ClientCredentialsIn
			if tc.creds != nil {
				creds = append(creds, *tc.creds)
			}
			m, err := e.jwtBearer(a, nil, creds...)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("jwt-bearer: %v", err)
				}
				if m.Sub != tc.sub {
					t.Errorf("minted for %s, want %s", m.Sub, tc.sub)
				}
				return
			}
			if err == nil {
				t.Fatalf("minted (sub %s, scope %q), want %s", m.Sub, m.Scope, tc.wantErr)
			}
			dtWantCode(t, err, tc.wantErr)
		})
	}
}

// An assertion is single use until its exp: by jti, or by its SHA-256 without one (SPEC §3).
func TestDelegated_JWTBearer_ReplayRefused(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	e.grant(e.jwtc, dtGrantOpts{})
	alice := "alice@example.com"

	t.Run("same jti, new signature", func(t *testing.T) {
		jti := "jti-replay-" + dtRandHex(4)
		first := e.dtAssertion(e.jwtc, "EdDSA", alice, func(c jwt.MapClaims, _ *jwt.Token) { c["jti"] = jti })
		if _, err := e.jwtBearer(first, nil); err != nil {
			t.Fatal(err)
		}
		second := e.dtAssertion(e.jwtc, "ES256", alice, func(c jwt.MapClaims, _ *jwt.Token) { c["jti"] = jti; c["scope"] = "read_only" })
		_, err := e.jwtBearer(second, nil)
		dtWantCode(t, err, InvalidGrant)
	})
	t.Run("no jti, same bytes", func(t *testing.T) {
		a := e.dtAssertion(e.jwtc, "EdDSA", alice, func(c jwt.MapClaims, _ *jwt.Token) { delete(c, "jti") })
		if _, err := e.jwtBearer(a, nil); err != nil {
			t.Fatalf("first use: %v", err)
		}
		_, err := e.jwtBearer(a, nil)
		dtWantCode(t, err, InvalidGrant)
	})
	t.Run("no jti, different assertions both pass", func(t *testing.T) {
		a := e.dtAssertion(e.jwtc, "EdDSA", alice, func(c jwt.MapClaims, _ *jwt.Token) { delete(c, "jti"); c["scope"] = "read_only" })
		b := e.dtAssertion(e.jwtc, "EdDSA", alice, func(c jwt.MapClaims, _ *jwt.Token) { delete(c, "jti"); c["scope"] = "free_busy" })
		for _, x := range []string{a, b} {
			if _, err := e.jwtBearer(x, nil); err != nil {
				t.Fatalf("distinct assertion without jti refused: %v", err)
			}
		}
	})
	t.Run("replay after the subject was refused is still a replay", func(t *testing.T) {
		a := e.dtAssertion(e.jwtc, "EdDSA", "nobody@example.com", nil)
		_, err := e.jwtBearer(a, nil)
		dtWantCode(t, err, InvalidGrant)
		_, err = e.jwtBearer(a, nil)
		dtWantCode(t, err, InvalidGrant)
	})
	t.Run("replay on another replica", func(t *testing.T) {
		a := e.dtAssertion(e.jwtc, "EdDSA", alice, nil)
		if _, err := e.jwtBearer(a, nil); err != nil {
			t.Fatal(err)
		}
		_, err := e.replica().Token(e.ctx, TokenRequest{Params: map[string]string{"grant_type": GrantJWTBearer, "assertion": a}, Meta: e.meta()})
		dtWantCode(t, err, InvalidGrant)
	})
}

// SPEC §3 takes Google's rule for assertion lifetimes ("exp at most 60 min after iat … and in
// the future"). Google also refuses an iat in the future; without that check an assertion
// signed today with iat and exp two days ahead is good for two days and 30 minutes, far past
// the 60 minutes the rule exists to enforce. Spec is silent on iat in the future: this test
// takes Google's (and RFC 7523 §3's "MAY reject JWTs with an iat claim in the unreasonable
// future") safer side, allowing a minute of clock skew.
func TestDelegated_JWTBearer_IssuedInTheFuture_Refused(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	e.grant(e.jwtc, dtGrantOpts{})
	now := e.clock.Now()
	tests := []struct {
		name    string
		iat     time.Time
		wantErr bool
	}{
		{name: "iat 30 s ahead (clock skew)", iat: now.Add(30 * time.Second)},
		{name: "iat 2 days ahead", iat: now.Add(48 * time.Hour), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.dtAssertion(e.jwtc, "EdDSA", "alice@example.com", func(c jwt.MapClaims, _ *jwt.Token) {
				c["iat"], c["exp"] = tc.iat.Unix(), tc.iat.Add(30*time.Minute).Unix()
			})
			m, err := e.jwtBearer(a, nil)
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("jwt-bearer: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("an assertion issued %v in the future (exp %v ahead) minted a token for %s; want invalid_grant",
					tc.iat.Sub(now), tc.iat.Add(30*time.Minute).Sub(now), m.Sub)
			}
			dtWantCode(t, err, InvalidGrant)
		})
	}
}
