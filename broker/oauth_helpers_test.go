package broker_test

// Helpers of the oauth_*_test.go files: a broker on a real store (the embedded store in
// t.TempDir(), miniredis, and real Redis when REDIS_URL is set) with a static directory, a
// clock the test moves, registered clients, and the admin flow run in-process
// (Authorize → SignIn → Consent → Decide → code). Names start with "oa" so they do not
// collide with other helpers of package broker_test.

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/broker/audit"
	"github.com/enterprise-connect/broker/broker/provider"
	"github.com/enterprise-connect/broker/broker/provider/static"
	"github.com/enterprise-connect/broker/store"
	"github.com/enterprise-connect/broker/store/embedded"
	"github.com/enterprise-connect/broker/store/redis"
)

const (
	oaIssuer        = "https://broker.test"
	oaTokenEndpoint = oaIssuer + "/oauth/token"
	oaIP            = "192.0.2.10"

	oaAdminEmail      = "admin@example.com"
	oaAdminPW         = "pw-admin-example-7Hq"
	oaAlicePW         = "pw-alice-sales-3Kd"
	oaBobPW           = "pw-bob-eng-9Zx"
	oaOtherAdminEmail = "admin@other.org"
	oaOtherAdminPW    = "pw-admin-other-4Rt"
	oaCarolPW         = "pw-carol-other-1Mv"

	oaCodeTTL   = 5 * time.Minute
	oaAccessTTL = 30 * time.Minute

	// oaSigninLimit failures of one account within oaSigninWindow throttle it.
	oaSigninLimit  = 3
	oaSigninWindow = 15 * time.Minute
)

// oaReCode is SPEC §2's authorization code; oaReGrantID SPEC §0's grant id.
var (
	oaReCode    = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)
	oaReGrantID = regexp.MustCompile(`^ser_[A-Za-z0-9]{24}$`)
)

// ---- clock ----

// oaClock is the broker's Now: it stands still until the test moves it.
type oaClock struct {
	mu  sync.Mutex
	now time.Time
}

func newOAClock() *oaClock {
	// Near the wall clock, so Redis housekeeping TTLs (computed from the wall clock) stay
	// sensible; whole seconds, JWT NumericDate's precision.
	return &oaClock{now: time.Now().UTC().Truncate(time.Second)}
}

func (c *oaClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *oaClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// ---- stores ----

// forEachStore runs fn against every backend, each subtest with a fresh, empty store and in
// parallel: the embedded store in t.TempDir(), miniredis, and the real Redis named by
// REDIS_URL (a random key prefix per subtest, deleted afterwards) when it is set.
func forEachStore(t *testing.T, fn func(t *testing.T, s store.Store)) {
	t.Helper()
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		fn(t, oaOpenEmbedded(t))
	})
	t.Run("miniredis", func(t *testing.T) {
		t.Parallel()
		fn(t, oaOpenMiniredis(t))
	})
	t.Run("redis", func(t *testing.T) {
		url := os.Getenv("REDIS_URL")
		if url == "" {
			t.Log("REDIS_URL is not set: not running against a real Redis (embedded and miniredis ran)")
			return
		}
		t.Parallel()
		fn(t, oaOpenRealRedis(t, url))
	})
}

func oaOpenEmbedded(t testing.TB) store.Store {
	t.Helper()
	s, err := embedded.Open(context.Background(), filepath.Join(t.TempDir(), "broker.db"))
	if err != nil {
		t.Fatalf("embedded.Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func oaOpenMiniredis(t testing.TB) store.Store {
	t.Helper()
	m := miniredis.RunT(t)
	s, err := redis.Open(context.Background(), "redis://"+m.Addr(), redis.Options{})
	if err != nil {
		t.Fatalf("redis.Open(miniredis): %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func oaOpenRealRedis(t testing.TB, url string) store.Store {
	t.Helper()
	prefix := "oatest" + oaRandHex(8)
	s, err := redis.Open(context.Background(), url, redis.Options{Prefix: prefix})
	if err != nil {
		t.Fatalf("redis.Open(%s): %v", url, err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		opt, err := goredis.ParseURL(url)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		c := goredis.NewClient(opt)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+":*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			if err := c.Del(ctx, keys[:n]...).Err(); err != nil {
				t.Errorf("cleanup del: %v", err)
				return
			}
			keys = keys[n:]
		}
	})
	return s
}

func oaRandHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- directory ----

var (
	oaDirOnce                  sync.Once
	oaExampleYAML, oaOtherYAML []byte
)

// oaDirectories returns the two directory files, hashed once at bcrypt.MinCost.
func oaDirectories(t testing.TB) (example, other []byte) {
	oaDirOnce.Do(func() {
		h := func(pw string) string {
			b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
			if err != nil {
				panic(err)
			}
			return string(b)
		}
		oaExampleYAML = fmt.Appendf(nil, `domain: example.com
admins:
  - email: admin@example.com
    name: Example Admin
    password_hash: %q
users:
  - email: alice@example.com
    name: Alice
    password_hash: %q
    groups: [sales]
    calendars:
      - calendar_id: cal_alice
        name: Alice
  - email: bob@example.com
    name: Bob
    password_hash: %q
    groups: [eng]
    calendars:
      - calendar_id: cal_bob
        name: Bob
resources:
  - email: room-1@example.com
    name: Room 1
    calendars:
      - calendar_id: cal_room_1
        name: Room 1
`, h(oaAdminPW), h(oaAlicePW), h(oaBobPW))
		oaOtherYAML = fmt.Appendf(nil, `domain: other.org
admins:
  - email: admin@other.org
    name: Other Admin
    password_hash: %q
users:
  - email: carol@other.org
    name: Carol
    password_hash: %q
    groups: [ops]
`, h(oaOtherAdminPW), h(oaCarolPW))
	})
	return oaExampleYAML, oaOtherYAML
}

// ---- client keys (private_key_jwt) ----

// oaKeySet is the key pairs of the JWKS client; the test keeps the private keys.
type oaKeySet struct {
	ed   ed25519.PrivateKey
	ec   *ecdsa.PrivateKey
	rsa  *rsa.PrivateKey
	jwks []byte // public keys only, kids "ed", "ec", "rsa"
}

var (
	oaKeysOnce sync.Once
	oaKeys     oaKeySet
)

func oaClientKeys() oaKeySet {
	oaKeysOnce.Do(func() {
		var err error
		_, oaKeys.ed, err = ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		if oaKeys.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if oaKeys.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: oaKeys.ed.Public(), KeyID: "ed", Algorithm: "EdDSA", Use: "sig"},
			{Key: oaKeys.ec.Public(), KeyID: "ec", Algorithm: "ES256", Use: "sig"},
			{Key: oaKeys.rsa.Public(), KeyID: "rsa", Algorithm: "RS256", Use: "sig"},
		}}
		if oaKeys.jwks, err = json.Marshal(set); err != nil {
			panic(err)
		}
	})
	return oaKeys
}

// ---- environment ----

// oaClient is a registered client and its secret.
type oaClient struct {
	ID, Secret     string
	Name           string
	RedirectURIs   []string
	Scope          string
	DelegatedScope string
}

// oaEnv is one broker on one store with its clock and clients.
type oaEnv struct {
	t      *testing.T
	ctx    context.Context
	store  store.Store
	b      *broker.Broker
	clock  *oaClock
	keys   oaKeySet
	sealer *broker.Sealer
	opts   broker.Options

	plain  oaClient // two redirect URIs (the second with a query)
	single oaClient // one redirect URI
	pkce   oaClient // require_pkce
	jwtc   oaClient // a JWKS with Ed25519, P-256 and RSA keys

	mu   sync.Mutex
	seen []string // every secret, code, token, password the test handled
}

// newOAEnv builds a broker on s. mods may change the options before New.
func newOAEnv(t *testing.T, s store.Store, mods ...func(*broker.Options)) *oaEnv {
	t.Helper()
	ctx := context.Background()
	exampleYAML, otherYAML := oaDirectories(t)
	example, err := static.Parse("example.com.yaml", exampleYAML)
	if err != nil {
		t.Fatalf("static.Parse(example.com): %v", err)
	}
	other, err := static.Parse("other.org.yaml", otherYAML)
	if err != nil {
		t.Fatalf("static.Parse(other.org): %v", err)
	}
	kek := make([]byte, 32)
	rand.Read(kek)
	sealer, err := broker.NewSealer(kek)
	if err != nil {
		t.Fatalf("NewSealer: %v", err)
	}
	clock := newOAClock()
	opts := broker.Options{
		Store:             s,
		Providers:         []provider.Provider{example, other},
		Sealer:            sealer,
		Now:               clock.Now,
		Issuer:            oaIssuer,
		CodeTTL:           oaCodeTTL,
		AccessTokenTTL:    oaAccessTTL,
		DelegatedTokenTTL: 10 * time.Minute,
		SigningAlgorithm:  broker.AlgEdDSA,
		RateLimits: broker.RateLimits{
			SigninPerAccount:    broker.RateLimit{Limit: oaSigninLimit, Window: oaSigninWindow},
			SigninPerIP:         broker.RateLimit{Limit: 100, Window: oaSigninWindow},
			ClientAuthPerClient: broker.RateLimit{Limit: 100, Window: 15 * time.Minute},
			ClientAuthPerIP:     broker.RateLimit{Limit: 200, Window: 15 * time.Minute},
			AuthorizePerIP:      broker.RateLimit{Limit: 1000, Window: time.Minute},
		},
	}
	for _, m := range mods {
		m(&opts)
	}
	b, err := broker.New(ctx, opts)
	if err != nil {
		t.Fatalf("broker.New: %v", err)
	}
	e := &oaEnv{ctx: ctx, store: s, b: b, clock: clock, keys: oaClientKeys(), sealer: sealer, opts: opts}
	e.saw(oaAdminPW, oaAlicePW, oaBobPW, oaOtherAdminPW, oaCarolPW)
	e.plain = e.createClient(t, broker.ClientSpec{
		Name:           "Plain App",
		RedirectURIs:   []string{"https://plain.example/cb", "https://plain.example/cb2?tenant=7"},
		Scope:          "service_account/accounts/manage service_account/resources/manage",
		DelegatedScope: "read_write read_contacts",
	})
	e.single = e.createClient(t, broker.ClientSpec{
		Name:           "Single App",
		RedirectURIs:   []string{"https://single.example/callback"},
		Scope:          "service_account/accounts/manage service_account/resources/manage service_account/accounts/unrestricted_access",
		DelegatedScope: "read_write",
	})
	e.pkce = e.createClient(t, broker.ClientSpec{
		Name:           "PKCE App",
		RedirectURIs:   []string{"https://pkce.example/cb"},
		Scope:          "service_account/accounts/manage",
		DelegatedScope: "free_busy",
		RequirePKCE:    true,
	})
	e.jwtc = e.createClient(t, broker.ClientSpec{
		Name:           "JWT App",
		RedirectURIs:   []string{"https://jwt.example/cb"},
		Scope:          "service_account/accounts/manage",
		DelegatedScope: "read_only",
		JWKS:           e.keys.jwks,
	})
	return e
}

// replica builds another broker on the same store, key-encryption key, directory and clock:
// a second replica of the same deployment (SPEC §10).
func (e *oaEnv) replica(t *testing.T) *broker.Broker {
	t.Helper()
	b, err := broker.New(e.ctx, e.opts)
	if err != nil {
		t.Fatalf("broker.New (replica): %v", err)
	}
	return b
}

// oaOn is newOAEnv for forEachStore's fn.
func oaOn(t *testing.T, s store.Store, mods ...func(*broker.Options)) *oaEnv {
	t.Helper()
	return newOAEnv(t, s, mods...)
}

func (e *oaEnv) createClient(t *testing.T, spec broker.ClientSpec) oaClient {
	t.Helper()
	creds, err := broker.CreateClient(e.ctx, e.store, e.sealer, spec, e.clock.Now)
	if err != nil {
		t.Fatalf("CreateClient(%s): %v", spec.Name, err)
	}
	e.saw(creds.ClientSecret, creds.CallbackSecret)
	return oaClient{ID: creds.ClientID, Secret: creds.ClientSecret, Name: spec.Name, RedirectURIs: spec.RedirectURIs,
		Scope: spec.Scope, DelegatedScope: spec.DelegatedScope}
}

// saw records values that must never appear in an audit event.
func (e *oaEnv) saw(secrets ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			e.seen = append(e.seen, s)
		}
	}
}

func (e *oaEnv) secrets() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.seen...)
}

func (e *oaEnv) meta() broker.Meta { return broker.Meta{IP: oaIP, RequestID: "req-" + oaRandHex(4)} }

// ---- authorize flow ----

// oaDel, as a value in oaQuery's pairs, removes the parameter.
const oaDel = "\x00delete"

// oaQuery is a valid authorize request of c (redirect_uri = its first registered URI,
// state "st-123", scope and delegated_scope it is registered for), changed by pairs of
// name, value (value oaDel removes the parameter).
func oaQuery(c oaClient, pairs ...string) url.Values {
	q := url.Values{
		"response_type":   {"code"},
		"client_id":       {c.ID},
		"redirect_uri":    {c.RedirectURIs[0]},
		"scope":           {c.Scope},
		"delegated_scope": {c.DelegatedScope},
		"state":           {"st-123"},
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == oaDel {
			q.Del(pairs[i])
		} else {
			q.Set(pairs[i], pairs[i+1])
		}
	}
	return q
}

// oaPKCE returns a fresh verifier and its S256 challenge.
func oaPKCE() (verifier, challenge string) {
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func (e *oaEnv) authorize(q url.Values) (store.PendingAuthorization, error) {
	return e.b.Authorize(e.ctx, q, e.meta())
}

// mustAuthorize runs a valid authorize request.
func (e *oaEnv) mustAuthorize(t *testing.T, q url.Values) store.PendingAuthorization {
	t.Helper()
	p, err := e.authorize(q)
	if err != nil {
		t.Fatalf("Authorize(%v): %v", q, err)
	}
	return p
}

// signIn signs in and returns the session cookie.
func (e *oaEnv) signIn(t *testing.T, email, password string, adminOnly bool) string {
	t.Helper()
	res, err := e.b.SignIn(e.ctx, broker.SignInRequest{Email: email, Password: password, AdminOnly: adminOnly, Meta: e.meta()})
	if err != nil {
		t.Fatalf("SignIn(%s): %v", email, err)
	}
	e.saw(res.Cookie)
	return res.Cookie
}

// consent returns the consent view (and its CSRF token).
func (e *oaEnv) consent(t *testing.T, requestID, cookie string) broker.ConsentView {
	t.Helper()
	v, err := e.b.Consent(e.ctx, requestID, cookie)
	if err != nil {
		t.Fatalf("Consent: %v", err)
	}
	e.saw(v.CSRF)
	return v
}

func (e *oaEnv) decide(d broker.Decision) (string, error) {
	d.Meta = e.meta()
	return e.b.Decide(e.ctx, d)
}

// oaFlow is the outcome of one admin flow.
type oaFlow struct {
	Pending  store.PendingAuthorization
	Cookie   string
	Redirect *url.URL
	Code     string
	Verifier string // "" without PKCE
}

// oaFlowOpts change the admin flow.
type oaFlowOpts struct {
	Email, Password string   // default admin@example.com
	PKCE            bool     // send a code challenge (always for a require_pkce client)
	Pairs           []string // oaQuery changes
	Decision        string   // default approve
	Groups, Emails  string
}

// flow runs Authorize → SignIn → Consent → Decide for c and returns the redirect and code.
func (e *oaEnv) flow(t *testing.T, c oaClient, o oaFlowOpts) oaFlow {
	t.Helper()
	if o.Email == "" {
		o.Email, o.Password = oaAdminEmail, oaAdminPW
	}
	if o.Decision == "" {
		o.Decision = "approve"
	}
	var f oaFlow
	pairs := o.Pairs
	if o.PKCE || c.ID == e.pkce.ID {
		var challenge string
		f.Verifier, challenge = oaPKCE()
		e.saw(f.Verifier)
		pairs = append([]string{"code_challenge", challenge, "code_challenge_method", "S256"}, pairs...)
	}
	f.Pending = e.mustAuthorize(t, oaQuery(c, pairs...))
	f.Cookie = e.signIn(t, o.Email, o.Password, true)
	v := e.consent(t, f.Pending.ID, f.Cookie)
	to, err := e.decide(broker.Decision{RequestID: f.Pending.ID, CSRF: v.CSRF, Cookie: f.Cookie, Decision: o.Decision,
		PolicyGroups: o.Groups, PolicyEmails: o.Emails})
	if err != nil {
		t.Fatalf("Decide(%s): %v", o.Decision, err)
	}
	if f.Redirect, err = url.Parse(to); err != nil {
		t.Fatalf("Decide redirect %q: %v", to, err)
	}
	f.Code = f.Redirect.Query().Get("code")
	e.saw(f.Code)
	return f
}

// ---- token endpoint ----

// oaBasic authenticates as c with client_secret_basic.
func oaBasic(c oaClient) broker.ClientCredentialsIn {
	return broker.ClientCredentialsIn{HasBasic: true, BasicID: c.ID, BasicSecret: c.Secret}
}

// oaPost authenticates as c with client_secret_post.
func oaPost(c oaClient) broker.ClientCredentialsIn {
	return broker.ClientCredentialsIn{ClientID: c.ID, ClientSecret: c.Secret, HasClientSecret: true}
}

// token calls the token endpoint and returns a service-account token response.
func (e *oaEnv) token(creds broker.ClientCredentialsIn, params map[string]string) (*broker.TokenResponse, error) {
	res, err := e.b.Token(e.ctx, broker.TokenRequest{Params: params, Client: creds, Meta: e.meta()})
	if err != nil {
		return nil, err
	}
	tr, ok := any(res).(*broker.TokenResponse)
	if !ok {
		return nil, fmt.Errorf("Token answered %T, want *broker.TokenResponse", res)
	}
	e.saw(tr.AccessToken, tr.RefreshToken)
	return tr, nil
}

// oaRedeemParams are the parameters of redeeming f's code.
func oaRedeemParams(c oaClient, f oaFlow) map[string]string {
	p := map[string]string{"grant_type": "authorization_code", "code": f.Code, "redirect_uri": f.Pending.RedirectURI}
	if !f.Pending.RedirectURIGiven {
		delete(p, "redirect_uri")
	}
	if f.Verifier != "" {
		p["code_verifier"] = f.Verifier
	}
	return p
}

// redeem exchanges f's code for c and fails the test on error.
func (e *oaEnv) redeem(t *testing.T, c oaClient, f oaFlow) *broker.TokenResponse {
	t.Helper()
	res, err := e.token(oaBasic(c), oaRedeemParams(c, f))
	if err != nil {
		t.Fatalf("redeeming the code: %v", err)
	}
	return res
}

// tokens runs the whole flow for c and redeems the code.
func (e *oaEnv) tokens(t *testing.T, c oaClient, o oaFlowOpts) (*broker.TokenResponse, oaFlow) {
	t.Helper()
	f := e.flow(t, c, o)
	return e.redeem(t, c, f), f
}

// refresh rotates a refresh token.
func (e *oaEnv) refresh(c oaClient, rt string) (*broker.TokenResponse, error) {
	return e.token(oaBasic(c), map[string]string{"grant_type": "refresh_token", "refresh_token": rt})
}

// introspect asks, as client c, about tok.
func (e *oaEnv) introspect(t *testing.T, c oaClient, tok string) *broker.Introspection {
	t.Helper()
	in, err := e.b.Introspect(e.ctx, broker.IntrospectRequest{Params: map[string]string{"token": tok}, Client: oaBasic(c), Meta: e.meta()})
	if err != nil {
		t.Fatalf("Introspect: %v", err)
	}
	return in
}

// active reports whether c's token is active at introspection.
func (e *oaEnv) active(t *testing.T, c oaClient, tok string) bool {
	t.Helper()
	return e.introspect(t, c, tok).Active
}

// revoke revokes as client c.
func (e *oaEnv) revoke(c oaClient, params map[string]string) error {
	return e.b.Revoke(e.ctx, broker.RevokeRequest{Params: params, Client: oaBasic(c), Meta: e.meta()})
}

// ---- private_key_jwt ----

// assertion signs a client assertion for c with alg (EdDSA, ES256, RS256) and the matching
// registered key; edit changes claims and header before signing.
func (e *oaEnv) assertion(t *testing.T, c oaClient, alg string, edit func(*jwt.RegisteredClaims, *jwt.Token)) string {
	t.Helper()
	now := e.clock.Now()
	claims := &jwt.RegisteredClaims{
		Issuer: c.ID, Subject: c.ID, Audience: jwt.ClaimStrings{oaTokenEndpoint},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(2 * time.Minute)),
		ID: "jti-" + oaRandHex(8),
	}
	var (
		method jwt.SigningMethod
		key    any
		kid    string
	)
	switch alg {
	case "EdDSA":
		method, key, kid = jwt.SigningMethodEdDSA, e.keys.ed, "ed"
	case "ES256":
		method, key, kid = jwt.SigningMethodES256, e.keys.ec, "ec"
	case "RS256":
		method, key, kid = jwt.SigningMethodRS256, e.keys.rsa, "rsa"
	default:
		t.Fatalf("assertion: unknown alg %s", alg)
	}
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	if edit != nil {
		edit(claims, tok)
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("signing assertion: %v", err)
	}
	e.saw(s)
	return s
}

// oaAssertionCreds authenticates with a client assertion.
func oaAssertionCreds(a string) broker.ClientCredentialsIn {
	return broker.ClientCredentialsIn{AssertionType: broker.AssertionTypeJWTBearer, Assertion: a, HasAssertionType: true, HasAssn: true}
}

// ---- errors ----

// oaWantErrCode fails the test unless err is a *broker.Error with code want, and returns it.
func oaWantErrCode(t *testing.T, err error, want broker.ErrorCode) *broker.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", want)
	}
	var be *broker.Error
	if !errors.As(err, &be) {
		t.Fatalf("got error %v (%T), want *broker.Error %s", err, err, want)
	}
	if be.Code != want {
		t.Fatalf("got error code %s (%v), want %s", be.Code, be, want)
	}
	return be
}

// ---- audit ----

// auditEvents returns every audit event of every domain, newest first (ListAudit pages).
func (e *oaEnv) auditEvents(t *testing.T) []store.AuditEvent {
	t.Helper()
	var out []store.AuditEvent
	cursor := ""
	for range 1000 {
		evs, next, err := e.store.ListAudit(e.ctx, store.AuditFilter{AllDomains: true, Cursor: cursor, Limit: 100})
		if err != nil {
			t.Fatalf("ListAudit: %v", err)
		}
		out = append(out, evs...)
		if next == "" {
			return out
		}
		cursor = next
	}
	t.Fatal("ListAudit: too many pages")
	return nil
}

// oaAuditTypes counts events by type.
func oaAuditTypes(evs []store.AuditEvent) map[string]int {
	n := map[string]int{}
	for _, ev := range evs {
		n[ev.Type]++
	}
	return n
}

// verifyAuditChain re-verifies every domain's chain from the export, oldest first.
func (e *oaEnv) verifyAuditChain(t *testing.T) int {
	t.Helper()
	v := audit.NewVerifier(nil)
	err := e.store.ExportAudit(e.ctx, store.AuditFilter{AllDomains: true}, func(ev store.AuditEvent) error {
		return v.Add(ev)
	})
	if err != nil {
		t.Fatalf("audit chain does not verify: %v", err)
	}
	return v.Count()
}

// oaContainsAny returns the first of needles found in hay.
func oaContainsAny(hay string, needles []string) (string, bool) {
	for _, n := range needles {
		if n != "" && strings.Contains(hay, n) {
			return n, true
		}
	}
	return "", false
}
