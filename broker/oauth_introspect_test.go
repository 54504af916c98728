package broker_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/store"
)

// TestIntrospect_OwnTokens_EveryField checks SPEC §8's active answer for an access token
// and a refresh token, field by field, and its JSON shape.
func TestIntrospect_OwnTokens_EveryField(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		issuedAt := e.clock.Now()
		res, _ := e.tokens(t, e.plain, oaFlowOpts{})
		none := []string{}
		want := &broker.Introspection{
			Active: true, TokenType: "bearer", Kind: "service_account", Scope: res.Scope, DelegatedScope: res.DelegatedScope,
			ClientID: e.plain.ID, Sub: res.ServiceAccountID, Domain: "example.com", GrantID: res.ServiceAccountID,
			Exp: issuedAt.Add(oaAccessTTL).Unix(), Iat: issuedAt.Unix(), UnrestrictedCalendars: &none,
		}
		got := e.introspect(t, e.plain, res.AccessToken)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("access token introspection (-want +got):\n%s", diff)
		}
		var m map[string]any
		b, _ := json.Marshal(got)
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"active", "token_type", "kind", "scope", "delegated_scope", "client_id", "sub", "domain", "grant_id", "exp", "iat", "unrestricted_calendars"} {
			if _, ok := m[k]; !ok {
				t.Errorf("introspection JSON lacks %q: %s", k, b)
			}
		}

		wantRT := *want
		wantRT.TokenType, wantRT.Exp = "refresh_token", 0
		gotRT := e.introspect(t, e.plain, res.RefreshToken)
		if diff := cmp.Diff(&wantRT, gotRT); diff != "" {
			t.Errorf("refresh token introspection (-want +got):\n%s", diff)
		}
		// The hint only changes the lookup order.
		in, err := e.b.Introspect(e.ctx, broker.IntrospectRequest{Params: map[string]string{"token": res.AccessToken, "token_type_hint": "refresh_token"},
			Client: oaPost(e.plain), Meta: e.meta()})
		if err != nil || !in.Active || in.TokenType != "bearer" {
			t.Errorf("introspection with a wrong hint: %+v, %v", in, err)
		}
	})
}

// TestIntrospect_Callers: a client sees only its own tokens; an introspect API key sees all;
// other roles are forbidden; unknown keys unauthenticated; inactive answers carry nothing
// but active=false.
func TestIntrospect_Callers(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		res, _ := e.tokens(t, e.plain, oaFlowOpts{})
		key := func(role, domain string) string {
			k, err := broker.CreateAPIKey(e.ctx, s, role, domain, nil, e.clock.Now())
			if err != nil {
				t.Fatalf("CreateAPIKey(%s): %v", role, err)
			}
			e.saw(k.Key)
			return k.Key
		}
		introspectKey, auditorKey, operatorKey := key("introspect", ""), key("auditor", ""), key("operator", "")
		byKey := func(k, tok string) (*broker.Introspection, error) {
			return e.b.Introspect(e.ctx, broker.IntrospectRequest{Params: map[string]string{"token": tok}, APIKey: k, Meta: e.meta()})
		}

		t.Run("other client sees inactive", func(t *testing.T) {
			for _, tok := range []string{res.AccessToken, res.RefreshToken} {
				got := e.introspect(t, e.single, tok)
				if diff := cmp.Diff(&broker.Introspection{}, got); diff != "" {
					t.Errorf("another client's view (-want +got):\n%s", diff)
				}
			}
		})
		t.Run("unknown token inactive", func(t *testing.T) {
			if got := e.introspect(t, e.plain, "nope"); got.Active || got.ClientID != "" {
				t.Errorf("unknown token: %+v", got)
			}
		})
		t.Run("token missing", func(t *testing.T) {
			_, err := e.b.Introspect(e.ctx, broker.IntrospectRequest{Params: map[string]string{}, Client: oaBasic(e.plain), Meta: e.meta()})
			oaWantErrCode(t, err, broker.InvalidRequest)
		})
		t.Run("client auth fails", func(t *testing.T) {
			_, err := e.b.Introspect(e.ctx, broker.IntrospectRequest{Params: map[string]string{"token": res.AccessToken},
				Client: broker.ClientCredentialsIn{ClientID: e.plain.ID, ClientSecret: "x", HasClientSecret: true}, Meta: e.meta()})
			oaWantErrCode(t, err, broker.InvalidClient)
		})
		t.Run("introspect key sees all", func(t *testing.T) {
			for _, tok := range []string{res.AccessToken, res.RefreshToken} {
				got, err := byKey(introspectKey, tok)
				if err != nil {
					t.Fatalf("Introspect by key: %v", err)
				}
				if !got.Active || got.ClientID != e.plain.ID || got.GrantID != res.ServiceAccountID {
					t.Errorf("introspect key view: %+v", got)
				}
			}
		})
		t.Run("auditor key forbidden", func(t *testing.T) {
			_, err := byKey(auditorKey, res.AccessToken)
			oaWantErrCode(t, err, broker.Forbidden)
		})
		t.Run("operator key forbidden", func(t *testing.T) {
			_, err := byKey(operatorKey, res.AccessToken)
			oaWantErrCode(t, err, broker.Forbidden)
		})
		t.Run("unknown key unauthenticated", func(t *testing.T) {
			_, err := byKey("eck_nope", res.AccessToken)
			oaWantErrCode(t, err, broker.Unauthenticated)
		})
	})
}

// TestIntrospect_DomainLimitedKey_SeesOnlyItsDomain: SPEC §9 — "a key limited to a domain
// sees only that domain"; an introspect key made with --domain other.org must not reveal
// example.com's tokens (STYLE §12: the safer reading of §8's "see all").
func TestIntrospect_DomainLimitedKey_SeesOnlyItsDomain(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store.Store) {
		e := oaOn(t, s)
		mine, _ := e.tokens(t, e.plain, oaFlowOpts{Email: oaOtherAdminEmail, Password: oaOtherAdminPW})
		theirs, _ := e.tokens(t, e.single, oaFlowOpts{})
		k, err := broker.CreateAPIKey(e.ctx, s, "introspect", "other.org", func(d string) bool { return d == "other.org" || d == "example.com" }, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		e.saw(k.Key)
		ask := func(tok string) *broker.Introspection {
			in, err := e.b.Introspect(e.ctx, broker.IntrospectRequest{Params: map[string]string{"token": tok}, APIKey: k.Key, Meta: e.meta()})
			if err != nil {
				t.Fatalf("Introspect: %v", err)
			}
			return in
		}
		if in := ask(mine.AccessToken); !in.Active || in.Domain != "other.org" {
			t.Errorf("own domain's token: %+v", in)
		}
		if in := ask(theirs.AccessToken); in.Active || in.Domain != "" {
			t.Errorf("a key limited to other.org introspected example.com's token: active=%v domain=%q client=%q", in.Active, in.Domain, in.ClientID)
		}
	})
}
