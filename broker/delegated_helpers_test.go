package broker

// Helpers of the delegated_*_test.go files (SPEC §3 jwt-bearer, §4, §5, §7, §8): a Broker on a
// real store (the embedded store in t.TempDir(), miniredis, and real Redis when REDIS_URL is
// set, under a unique prefix) with a static directory, a clock the test moves, registered
// clients, and the admin flow run in-process to obtain service-account tokens. Every
// top-level name starts with "dt" so it cannot collide with other tests of package broker.

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/enterprise-connect/broker/broker/provider"
	"github.com/enterprise-connect/broker/broker/provider/static"
	"github.com/enterprise-connect/broker/store"
	"github.com/enterprise-connect/broker/store/embedded"
	"github.com/enterprise-connect/broker/store/redis"
)

const (
	dtIssuer        = "https://broker.dt.test"
	dtTokenEndpoint = dtIssuer + "/oauth/token"
	dtRedirect      = "https://app.dt.example/cb"
	dtIP            = "198.51.100.7"

	dtAdminPW      = "pw-dt-admin-Qw3"
	dtAlicePW      = "pw-dt-alice-Er4"
	dtBobPW        = "pw-dt-bob-Ty5"
	dtOtherAdminPW = "pw-dt-other-Ui6"
	dtCarolPW      = "pw-dt-carol-Op7"

	dtCodeTTL      = 5 * time.Minute
	dtAccessTTL    = 30 * time.Minute
	dtDelegatedTTL = 7 * time.Minute // not the default, so a test sees the option is used

	// SPEC §1 service-account scopes.
	dtAccountsManage     = "service_account/accounts/manage"
	dtAccountsUnrestrict = "service_account/accounts/unrestricted_access"
	dtResourcesManage    = "service_account/resources/manage"
	dtResourcesUnrestr   = "service_account/resources/unrestricted_access"
	dtAllSA              = dtAccountsManage + " " + dtAccountsUnrestrict + " " + dtResourcesManage + " " + dtResourcesUnrestr

	// dtCeiling is "read_write read_contacts" expanded and sorted (SPEC §1).
	dtCeiling  = "change_participation_status create_calendar create_event delete_event list_calendars read_account read_contacts read_events read_free_busy"
	dtReadOnly = "list_calendars read_account read_events read_free_busy"
)

var (
	dtReCode    = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)
	dtReGrantID = regexp.MustCompile(`^ser_[A-Za-z0-9]{24}$`)
	dtReAccID   = regexp.MustCompile(`^acc_[A-Za-z0-9]{24}$`)
	dtReProID   = regexp.MustCompile(`^pro_[A-Za-z0-9]{24}$`)
)

// ---- clock ----

// dtClock is the broker's Now: it stands still until the test moves it.
type dtClock struct {
	mu  sync.Mutex
	now time.Time
}

func dtNewClock() *dtClock {
	// Near the wall clock (Redis housekeeping TTLs use it), whole seconds (JWT precision).
	return &dtClock{now: time.Now().UTC().Truncate(time.Second)}
}

func (c *dtClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *dtClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// ---- stores ----

// dtStores runs fn against every backend, each with a fresh store, in parallel subtests: the
// embedded store in t.TempDir(), miniredis, and the Redis of REDIS_URL when it is set.
func dtStores(t *testing.T, fn func(t *testing.T, s store.Store)) {
	t.Helper()
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		fn(t, dtOpenEmbedded(t))
	})
	t.Run("miniredis", func(t *testing.T) {
		t.Parallel()
		fn(t, dtOpenMiniredis(t))
	})
	t.Run("redis", func(t *testing.T) {
		u := os.Getenv("REDIS_URL")
		if u == "" {
			t.Log("REDIS_URL is not set: real Redis not exercised (embedded and miniredis ran)")
			return
		}
		t.Parallel()
		fn(t, dtOpenRealRedis(t, u))
	})
}

// dtFastStores is dtStores without the embedded store, for tests whose point is not the
// backend and that are slow on SQLite under -race.
func dtFastStores(t *testing.T, fn func(t *testing.T, s store.Store)) {
	t.Helper()
	t.Run("miniredis", func(t *testing.T) {
		t.Parallel()
		fn(t, dtOpenMiniredis(t))
	})
	t.Run("redis", func(t *testing.T) {
		u := os.Getenv("REDIS_URL")
		if u == "" {
			t.Log("REDIS_URL is not set: real Redis not exercised (miniredis ran)")
			return
		}
		t.Parallel()
		fn(t, dtOpenRealRedis(t, u))
	})
}

func dtOpenEmbedded(t testing.TB) store.Store {
	t.Helper()
	s, err := embedded.Open(context.Background(), filepath.Join(t.TempDir(), "broker.db"))
	if err != nil {
		t.Fatalf("embedded.Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func dtOpenMiniredis(t testing.TB) store.Store {
	t.Helper()
	m := miniredis.RunT(t)
	s, err := redis.Open(context.Background(), "redis://"+m.Addr(), redis.Options{})
	if err != nil {
		t.Fatalf("redis.Open(miniredis): %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// dtOpenRealRedis opens the Redis of u under a random prefix and deletes the prefix's keys
// when the test ends.
func dtOpenRealRedis(t testing.TB, u string) store.Store {
	t.Helper()
	prefix := "dttest" + dtRandHex(6)
	opt, err := goredis.ParseURL(u)
	if err != nil {
		t.Fatalf("REDIS_URL %q: %v", u, err)
	}
	s := redis.NewFromClient(goredis.NewClient(opt), redis.Options{Prefix: prefix})
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("REDIS_URL is set but Redis does not answer: %v", err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		c := goredis.NewClient(opt)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			if err := c.Del(ctx, keys[:n]...).Err(); err != nil {
				t.Errorf("cleanup of %s: %v", prefix, err)
				return
			}
			keys = keys[n:]
		}
	})
	return s
}

func dtRandHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- directory ----

var (
	dtDirOnce                  sync.Once
	dtExampleYAML, dtOtherYAML []byte
)

// dtDirectories returns the two directory files (SPEC §10 shape), hashed once at MinCost.
// admin@example.com administers example.com but is not a user (so not a subject).
func dtDirectories() (example, other []byte) {
	dtDirOnce.Do(func() {
		h := func(pw string) string {
			b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
			if err != nil {
				panic(err)
			}
			return string(b)
		}
		dtExampleYAML = fmt.Appendf(nil, `domain: example.com
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
      - calendar_id: cal_alice_1
        name: Alice
      - calendar_id: cal_alice_2
        name: Team
  - email: bob@example.com
    name: Bob
    password_hash: %q
    groups: [eng]
    calendars:
      - calendar_id: cal_bob_1
        name: Bob
resources:
  - email: room-1@example.com
    name: Room 1
    calendars:
      - calendar_id: cal_room_1
        name: Room 1
`, h(dtAdminPW), h(dtAlicePW), h(dtBobPW))
		dtOtherYAML = fmt.Appendf(nil, `domain: other.org
admins:
  - email: admin@other.org
    name: Other Admin
    password_hash: %q
users:
  - email: carol@other.org
    name: Carol
    password_hash: %q
    groups: [ops]
    calendars:
      - calendar_id: cal_carol_1
        name: Carol
`, h(dtOtherAdminPW), h(dtCarolPW))
	})
	return dtExampleYAML, dtOtherYAML
}

// ---- client keys (jwt-bearer, private_key_jwt) ----

// dtKeySet is the key pairs behind the JWKS client; the test keeps the private keys.
type dtKeySet struct {
	ed   ed25519.PrivateKey
	ec   *ecdsa.PrivateKey
	rsa  *rsa.PrivateKey
	jwks []byte // public keys only, kids "dt-ed", "dt-ec", "dt-rsa"
}

var (
	dtKeysOnce sync.Once
	dtKeys     dtKeySet
)

func dtClientKeys() dtKeySet {
	dtKeysOnce.Do(func() {
		var err error
		if _, dtKeys.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
		if dtKeys.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if dtKeys.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: dtKeys.ed.Public(), KeyID: "dt-ed", Algorithm: "EdDSA", Use: "sig"},
			{Key: dtKeys.ec.Public(), KeyID: "dt-ec", Algorithm: "ES256", Use: "sig"},
			{Key: dtKeys.rsa.Public(), KeyID: "dt-rsa", Algorithm: "RS256", Use: "sig"},
		}}
		if dtKeys.jwks, err = json.Marshal(set); err != nil {
			panic(err)
		}
	})
	return dtKeys
}

// ---- environment ----

// dtClient is a registered client and its secrets.
type dtClient struct {
	ID, Secret, CallbackSecret string
	Scope, DelegatedScope      string
}

func (c dtClient) basic() ClientCredentialsIn {
	return ClientCredentialsIn{HasBasic: true, BasicID: c.ID, BasicSecret: c.Secret}
}

// dtEnv is one broker on one store with its clock and clients.
type dtEnv struct {
	t      testing.TB
	ctx    context.Context
	store  store.Store
	b      *Broker
	clock  *dtClock
	sealer *Sealer
	opts   Options

	full dtClient // every SA scope, ceiling "read_write read_contacts"
	jwtc dtClient // a JWKS with Ed25519, P-256 and RSA keys (jwt-bearer)
}

// dtNewEnv builds a broker on s; mods change the options before New.
func dtNewEnv(t testing.TB, s store.Store, mods ...func(*Options)) *dtEnv {
	t.Helper()
	ctx := context.Background()
	exYAML, otYAML := dtDirectories()
	example, err := static.Parse("example.com.yaml", exYAML)
	if err != nil {
		t.Fatalf("static.Parse(example.com): %v", err)
	}
	other, err := static.Parse("other.org.yaml", otYAML)
	if err != nil {
		t.Fatalf("static.Parse(other.org): %v", err)
	}
	kek := make([]byte, 32)
	rand.Read(kek)
	sealer, err := NewSealer(kek)
	if err != nil {
		t.Fatalf("NewSealer: %v", err)
	}
	clock := dtNewClock()
	opts := Options{
		Store:                  s,
		Providers:              []provider.Provider{example, other},
		Sealer:                 sealer,
		Now:                    clock.Now,
		Issuer:                 dtIssuer,
		CodeTTL:                dtCodeTTL,
		AccessTokenTTL:         dtAccessTTL,
		DelegatedTokenTTL:      dtDelegatedTTL,
		SigningAlgorithm:       AlgEdDSA,
		AllowInsecureCallbacks: true,
	}
	for _, m := range mods {
		m(&opts)
	}
	b, err := New(ctx, opts)
	if err != nil {
		t.Fatalf("broker.New: %v", err)
	}
	e := &dtEnv{t: t, ctx: ctx, store: s, b: b, clock: clock, sealer: sealer, opts: opts}
	e.full = e.createClient(ClientSpec{Name: "DT Full", RedirectURIs: []string{dtRedirect},
		Scope: dtAllSA, DelegatedScope: "read_write read_contacts"})
	e.jwtc = e.createClient(ClientSpec{Name: "DT JWT", RedirectURIs: []string{"https://jwt.dt.example/cb"},
		Scope: dtAccountsManage + " " + dtResourcesManage, DelegatedScope: "read_write", JWKS: dtClientKeys().jwks})
	return e
}

// replica is another broker on the same store, key-encryption key, directory and clock.
func (e *dtEnv) replica(mods ...func(*Options)) *Broker {
	e.t.Helper()
	o := e.opts
	for _, m := range mods {
		m(&o)
	}
	b, err := New(e.ctx, o)
	if err != nil {
		e.t.Fatalf("broker.New (replica): %v", err)
	}
	return b
}

func (e *dtEnv) createClient(spec ClientSpec) dtClient {
	e.t.Helper()
	creds, err := CreateClient(e.ctx, e.store, e.sealer, spec, e.clock.Now)
	if err != nil {
		e.t.Fatalf("CreateClient(%s): %v", spec.Name, err)
	}
	return dtClient{ID: creds.ClientID, Secret: creds.ClientSecret, CallbackSecret: creds.CallbackSecret,
		Scope: spec.Scope, DelegatedScope: spec.DelegatedScope}
}

func (e *dtEnv) meta() Meta { return Meta{IP: dtIP, RequestID: "req-" + dtRandHex(4)} }

// dtGrantOpts describe what the administrator approves.
type dtGrantOpts struct {
	Scope, DelegatedScope string // "" = everything the client is registered for
	Groups, Emails        string // subject policy (comma-separated)
	ResourcesOnly         bool
	Admin, Password       string // default admin@example.com
}

// dtSA is a service-account token of a grant.
type dtSA struct {
	Access, Refresh string
	GrantID         string
	Res             *TokenResponse
}

// grant runs the admin flow in-process (Authorize → SignIn → Consent → Decide → Token) for
// c and returns the service-account tokens.
func (e *dtEnv) grant(c dtClient, o dtGrantOpts) dtSA {
	e.t.Helper()
	if o.Scope == "" {
		o.Scope = c.Scope
	}
	if o.DelegatedScope == "" {
		o.DelegatedScope = c.DelegatedScope
	}
	if o.Admin == "" {
		o.Admin, o.Password = "admin@example.com", dtAdminPW
	}
	redirect := dtRedirect
	if c.ID == e.jwtc.ID {
		redirect = "https://jwt.dt.example/cb"
	}
	q := url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {redirect},
		"scope": {o.Scope}, "delegated_scope": {o.DelegatedScope}, "state": {"dt-state"}}
	p, err := e.b.Authorize(e.ctx, q, e.meta())
	if err != nil {
		e.t.Fatalf("Authorize: %v", err)
	}
	cookie := e.signIn(o.Admin, o.Password, true)
	v, err := e.b.Consent(e.ctx, p.ID, cookie)
	if err != nil {
		e.t.Fatalf("Consent: %v", err)
	}
	to, err := e.b.Decide(e.ctx, Decision{RequestID: p.ID, CSRF: v.CSRF, Cookie: cookie, Decision: "approve",
		PolicyGroups: o.Groups, PolicyEmails: o.Emails, ResourcesOnly: o.ResourcesOnly, Meta: e.meta()})
	if err != nil {
		e.t.Fatalf("Decide: %v", err)
	}
	u, err := url.Parse(to)
	if err != nil {
		e.t.Fatalf("Decide redirect %q: %v", to, err)
	}
	code := u.Query().Get("code")
	if !dtReCode.MatchString(code) {
		e.t.Fatalf("Decide redirect %q has no code", to)
	}
	res, err := e.b.Token(e.ctx, TokenRequest{Params: map[string]string{"grant_type": "authorization_code",
		"code": code, "redirect_uri": redirect}, Client: c.basic(), Meta: e.meta()})
	if err != nil {
		e.t.Fatalf("Token(authorization_code): %v", err)
	}
	tr, ok := res.(*TokenResponse)
	if !ok {
		e.t.Fatalf("Token answered %T, want *TokenResponse", res)
	}
	if !dtReGrantID.MatchString(tr.ServiceAccountID) {
		e.t.Fatalf("service_account_id %q is not ser_ + 24 base-62", tr.ServiceAccountID)
	}
	return dtSA{Access: tr.AccessToken, Refresh: tr.RefreshToken, GrantID: tr.ServiceAccountID, Res: tr}
}

// signIn signs in and returns the session cookie.
func (e *dtEnv) signIn(email, password string, adminOnly bool) string {
	e.t.Helper()
	res, err := e.b.SignIn(e.ctx, SignInRequest{Email: email, Password: password, AdminOnly: adminOnly, Meta: e.meta()})
	if err != nil {
		e.t.Fatalf("SignIn(%s): %v", email, err)
	}
	return res.Cookie
}

// caller authenticates a bearer token and fails the test on error.
func (e *dtEnv) caller(bearer string) *Caller {
	e.t.Helper()
	c, err := e.b.Authenticate(e.ctx, bearer)
	if err != nil {
		e.t.Fatalf("Authenticate: %v", err)
	}
	return c
}

// mint mints one delegated token with the service-account token and fails the test on error.
func (e *dtEnv) mint(sa dtSA, sub, scope string) *Minted {
	e.t.Helper()
	m, err := e.b.MintOne(e.ctx, e.caller(sa.Access), MintRequest{Sub: sub, Scope: scope}, e.meta())
	if err != nil {
		e.t.Fatalf("MintOne(%s, %q): %v", sub, scope, err)
	}
	return m
}

// introspect asks, as client c, about tok.
func (e *dtEnv) introspect(c dtClient, tok string) *Introspection {
	e.t.Helper()
	in, err := e.b.Introspect(e.ctx, IntrospectRequest{Params: map[string]string{"token": tok}, Client: c.basic(), Meta: e.meta()})
	if err != nil {
		e.t.Fatalf("Introspect: %v", err)
	}
	return in
}

// revoke calls RFC 7009 revocation as client c.
func (e *dtEnv) revoke(c dtClient, params map[string]string) {
	e.t.Helper()
	if err := e.b.Revoke(e.ctx, RevokeRequest{Params: params, Client: c.basic(), Meta: e.meta()}); err != nil {
		e.t.Fatalf("Revoke(%v): %v", params, err)
	}
}

// auditEvents returns every audit event of every domain, newest first.
func (e *dtEnv) auditEvents() []store.AuditEvent {
	e.t.Helper()
	var out []store.AuditEvent
	cursor := ""
	for range 10_000 {
		evs, next, err := e.store.ListAudit(e.ctx, store.AuditFilter{AllDomains: true, Cursor: cursor, Limit: 500})
		if err != nil {
			e.t.Fatalf("ListAudit: %v", err)
		}
		out = append(out, evs...)
		if next == "" {
			return out
		}
		cursor = next
	}
	e.t.Fatal("ListAudit: too many pages")
	return nil
}

// eventsOf returns the audit events of type typ, newest first.
func (e *dtEnv) eventsOf(typ string) []store.AuditEvent {
	e.t.Helper()
	var out []store.AuditEvent
	for _, ev := range e.auditEvents() {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// pending counts the queued callback deliveries.
func (e *dtEnv) pending() int {
	e.t.Helper()
	n, err := e.store.PendingDeliveries(e.ctx)
	if err != nil {
		e.t.Fatalf("PendingDeliveries: %v", err)
	}
	return n
}

// ---- JWT verification with the published JWKS ----

// dtVerified is a delegated JWT verified against the JWKS the Keyring publishes.
type dtVerified struct {
	Header map[string]any
	Claims map[string]any
}

// verifyWithJWKS verifies tok's signature with the key of its kid in jwks (public keys only,
// as a resource server would), and returns header and claims. Time claims are not checked
// here; the caller compares them.
func dtVerifyWithJWKS(t testing.TB, jwks []byte, tok string) dtVerified {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatalf("JWKS %s: %v", jwks, err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Fatalf("JWKS publishes a private key (kid %s)", k.KeyID)
		}
	}
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, func(tk *jwt.Token) (any, error) {
		kid, _ := tk.Header["kid"].(string)
		ks := set.Key(kid)
		if len(ks) != 1 {
			return nil, fmt.Errorf("kid %q: %d keys in the JWKS", kid, len(ks))
		}
		return ks[0].Key, nil
	}, jwt.WithValidMethods([]string{"EdDSA", "ES256"}), jwt.WithoutClaimsValidation())
	if err != nil {
		t.Fatalf("verifying the delegated JWT with the published JWKS: %v", err)
	}
	return dtVerified{Header: parsed.Header, Claims: claims}
}

// dtClaims decodes a JWT's claims without verifying it (for reading kid, exp...).
func dtClaims(t testing.TB, tok string) (header map[string]any, claims jwt.MapClaims) {
	t.Helper()
	claims = jwt.MapClaims{}
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, claims)
	if err != nil {
		t.Fatalf("not a JWT: %v", err)
	}
	return parsed.Header, claims
}

// ---- errors ----

// dtWantCode fails the test unless err is a *Error with code want.
func dtWantCode(t testing.TB, err error, want ErrorCode) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", want)
	}
	var be *Error
	if !errors.As(err, &be) {
		t.Fatalf("got %v (%T), want *broker.Error %s", err, err, want)
	}
	if be.Code != want {
		t.Fatalf("got error code %s (%v), want %s", be.Code, be, want)
	}
	return be
}

// dtWantFields fails the test unless err is a *ValidationError naming exactly fields, each
// with keys of the form errors.<reason> and a description.
func dtWantFields(t testing.TB, err error, fields ...string) *ValidationError {
	t.Helper()
	var v *ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("got %v (%T), want *broker.ValidationError on %v", err, err, fields)
	}
	got := map[string]bool{}
	for f, fes := range v.Fields {
		got[f] = true
		for _, fe := range fes {
			if len(fe.Key) <= len("errors.") || fe.Key[:len("errors.")] != "errors." || fe.Description == "" {
				t.Errorf("field %s: error %+v, want key errors.<reason> and a description", f, fe)
			}
		}
	}
	want := map[string]bool{}
	for _, f := range fields {
		want[f] = true
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("validation error on fields %v, want exactly %v (%+v)", dtMapKeys(got), fields, v.Fields)
	}
	return v
}

func dtMapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// ---- fault-free counting wrapper ----

// dtCountingStore is a real store that counts every call the broker makes to it, by method,
// so a test can assert the cost of an operation in store round trips (SPEC §4: a batch of
// 1000 costs a constant number). It embeds the real store and overrides every method.
type dtCountingStore struct {
	store.Store
	mu sync.Mutex
	n  map[string]int
}

func dtCounting(s store.Store) *dtCountingStore {
	return &dtCountingStore{Store: s, n: map[string]int{}}
}

func (c *dtCountingStore) hit(m string) {
	c.mu.Lock()
	c.n[m]++
	c.mu.Unlock()
}

// snapshot returns the counts so far and resets them.
func (c *dtCountingStore) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.n
	c.n = map[string]int{}
	return out
}

func (c *dtCountingStore) CreateClient(ctx context.Context, cl store.Client) error {
	c.hit("CreateClient")
	return c.Store.CreateClient(ctx, cl)
}
func (c *dtCountingStore) GetClient(ctx context.Context, id string) (store.Client, error) {
	c.hit("GetClient")
	return c.Store.GetClient(ctx, id)
}
func (c *dtCountingStore) ListClients(ctx context.Context) ([]store.Client, error) {
	c.hit("ListClients")
	return c.Store.ListClients(ctx)
}
func (c *dtCountingStore) DeleteClient(ctx context.Context, id string) error {
	c.hit("DeleteClient")
	return c.Store.DeleteClient(ctx, id)
}
func (c *dtCountingStore) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	c.hit("CreateAPIKey")
	return c.Store.CreateAPIKey(ctx, k)
}
func (c *dtCountingStore) APIKeyByHash(ctx context.Context, h string) (store.APIKey, error) {
	c.hit("APIKeyByHash")
	return c.Store.APIKeyByHash(ctx, h)
}
func (c *dtCountingStore) ListAPIKeys(ctx context.Context) ([]store.APIKey, error) {
	c.hit("ListAPIKeys")
	return c.Store.ListAPIKeys(ctx)
}
func (c *dtCountingStore) DeleteAPIKey(ctx context.Context, id string) error {
	c.hit("DeleteAPIKey")
	return c.Store.DeleteAPIKey(ctx, id)
}
func (c *dtCountingStore) PutPending(ctx context.Context, p store.PendingAuthorization) error {
	c.hit("PutPending")
	return c.Store.PutPending(ctx, p)
}
func (c *dtCountingStore) GetPending(ctx context.Context, id string, now time.Time) (store.PendingAuthorization, error) {
	c.hit("GetPending")
	return c.Store.GetPending(ctx, id, now)
}
func (c *dtCountingStore) ConsumePending(ctx context.Context, id string, now time.Time) (store.PendingAuthorization, error) {
	c.hit("ConsumePending")
	return c.Store.ConsumePending(ctx, id, now)
}
func (c *dtCountingStore) PutSession(ctx context.Context, s store.Session) error {
	c.hit("PutSession")
	return c.Store.PutSession(ctx, s)
}
func (c *dtCountingStore) GetSession(ctx context.Context, h string, now time.Time) (store.Session, error) {
	c.hit("GetSession")
	return c.Store.GetSession(ctx, h, now)
}
func (c *dtCountingStore) DeleteSession(ctx context.Context, h string) error {
	c.hit("DeleteSession")
	return c.Store.DeleteSession(ctx, h)
}
func (c *dtCountingStore) PutCode(ctx context.Context, cd store.Code) error {
	c.hit("PutCode")
	return c.Store.PutCode(ctx, cd)
}
func (c *dtCountingStore) ConsumeCode(ctx context.Context, h string, now time.Time) (store.Code, error) {
	c.hit("ConsumeCode")
	return c.Store.ConsumeCode(ctx, h, now)
}
func (c *dtCountingStore) RedeemCode(ctx context.Context, h string, now time.Time, r store.CodeRedemption) (store.Code, bool, error) {
	c.hit("RedeemCode")
	return c.Store.RedeemCode(ctx, h, now, r)
}
func (c *dtCountingStore) CreateGrant(ctx context.Context, g store.Grant) (string, error) {
	c.hit("CreateGrant")
	return c.Store.CreateGrant(ctx, g)
}
func (c *dtCountingStore) GetGrant(ctx context.Context, id string) (store.Grant, error) {
	c.hit("GetGrant")
	return c.Store.GetGrant(ctx, id)
}
func (c *dtCountingStore) ActiveGrant(ctx context.Context, clientID, domain string) (store.Grant, error) {
	c.hit("ActiveGrant")
	return c.Store.ActiveGrant(ctx, clientID, domain)
}
func (c *dtCountingStore) ListGrants(ctx context.Context, f store.GrantFilter) ([]store.Grant, string, error) {
	c.hit("ListGrants")
	return c.Store.ListGrants(ctx, f)
}
func (c *dtCountingStore) RevokeGrant(ctx context.Context, id string, now time.Time) (store.Grant, error) {
	c.hit("RevokeGrant")
	return c.Store.RevokeGrant(ctx, id, now)
}
func (c *dtCountingStore) RecordGrantUse(ctx context.Context, id string, now time.Time, minted int) error {
	c.hit("RecordGrantUse")
	return c.Store.RecordGrantUse(ctx, id, now, minted)
}
func (c *dtCountingStore) MintCounts(ctx context.Context, id string, since time.Time) (map[string]int, error) {
	c.hit("MintCounts")
	return c.Store.MintCounts(ctx, id, since)
}
func (c *dtCountingStore) IssueTokens(ctx context.Context, f store.Family, a *store.AccessToken, r *store.RefreshToken) error {
	c.hit("IssueTokens")
	return c.Store.IssueTokens(ctx, f, a, r)
}
func (c *dtCountingStore) LookupAccessToken(ctx context.Context, h string, now time.Time) (store.AccessToken, error) {
	c.hit("LookupAccessToken")
	return c.Store.LookupAccessToken(ctx, h, now)
}
func (c *dtCountingStore) LookupRefreshToken(ctx context.Context, h string, now time.Time) (store.RefreshToken, error) {
	c.hit("LookupRefreshToken")
	return c.Store.LookupRefreshToken(ctx, h, now)
}
func (c *dtCountingStore) RotateRefresh(ctx context.Context, old string, now time.Time, r store.RefreshRotation) (store.RefreshToken, error) {
	c.hit("RotateRefresh")
	return c.Store.RotateRefresh(ctx, old, now, r)
}
func (c *dtCountingStore) RevokeFamily(ctx context.Context, id string) error {
	c.hit("RevokeFamily")
	return c.Store.RevokeFamily(ctx, id)
}
func (c *dtCountingStore) RevokeAccessToken(ctx context.Context, h string) error {
	c.hit("RevokeAccessToken")
	return c.Store.RevokeAccessToken(ctx, h)
}
func (c *dtCountingStore) RevokeSubject(ctx context.Context, grantID, subject string, at time.Time) error {
	c.hit("RevokeSubject")
	return c.Store.RevokeSubject(ctx, grantID, subject, at)
}
func (c *dtCountingStore) DenyJTI(ctx context.Context, jti string, exp time.Time) error {
	c.hit("DenyJTI")
	return c.Store.DenyJTI(ctx, jti, exp)
}
func (c *dtCountingStore) CheckDelegated(ctx context.Context, d store.DelegatedCheck) (store.DelegatedStatus, error) {
	c.hit("CheckDelegated")
	return c.Store.CheckDelegated(ctx, d)
}
func (c *dtCountingStore) UseOnce(ctx context.Context, key string, exp, now time.Time) error {
	c.hit("UseOnce")
	return c.Store.UseOnce(ctx, key, exp, now)
}
func (c *dtCountingStore) EnsureAccount(ctx context.Context, a store.Account) (store.Account, error) {
	c.hit("EnsureAccount")
	return c.Store.EnsureAccount(ctx, a)
}
func (c *dtCountingStore) AccountByID(ctx context.Context, id string) (store.Account, error) {
	c.hit("AccountByID")
	return c.Store.AccountByID(ctx, id)
}
func (c *dtCountingStore) AddElevations(ctx context.Context, grantID, subject string, cals []string) error {
	c.hit("AddElevations")
	return c.Store.AddElevations(ctx, grantID, subject, cals)
}
func (c *dtCountingStore) Elevations(ctx context.Context, grantID string, subjects []string) (map[string][]string, error) {
	c.hit("Elevations")
	return c.Store.Elevations(ctx, grantID, subjects)
}
func (c *dtCountingStore) PutPermissionRequest(ctx context.Context, r store.PermissionRequest) error {
	c.hit("PutPermissionRequest")
	return c.Store.PutPermissionRequest(ctx, r)
}
func (c *dtCountingStore) GetPermissionRequest(ctx context.Context, id string, now time.Time) (store.PermissionRequest, error) {
	c.hit("GetPermissionRequest")
	return c.Store.GetPermissionRequest(ctx, id, now)
}
func (c *dtCountingStore) ConsumePermissionRequest(ctx context.Context, id string, now time.Time) (store.PermissionRequest, error) {
	c.hit("ConsumePermissionRequest")
	return c.Store.ConsumePermissionRequest(ctx, id, now)
}
func (c *dtCountingStore) Hit(ctx context.Context, key string, w time.Duration, now time.Time) (int64, time.Time, error) {
	c.hit("Hit")
	return c.Store.Hit(ctx, key, w, now)
}
func (c *dtCountingStore) Count(ctx context.Context, key string, w time.Duration, now time.Time) (int64, error) {
	c.hit("Count")
	return c.Store.Count(ctx, key, w, now)
}
func (c *dtCountingStore) ResetLimit(ctx context.Context, key string) error {
	c.hit("ResetLimit")
	return c.Store.ResetLimit(ctx, key)
}
func (c *dtCountingStore) AuditHead(ctx context.Context, d string) (string, error) {
	c.hit("AuditHead")
	return c.Store.AuditHead(ctx, d)
}
func (c *dtCountingStore) AppendAudit(ctx context.Context, d, prev string, evs []store.AuditEvent) error {
	c.hit("AppendAudit")
	return c.Store.AppendAudit(ctx, d, prev, evs)
}
func (c *dtCountingStore) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, string, error) {
	c.hit("ListAudit")
	return c.Store.ListAudit(ctx, f)
}
func (c *dtCountingStore) ExportAudit(ctx context.Context, f store.AuditFilter, fn func(store.AuditEvent) error) error {
	c.hit("ExportAudit")
	return c.Store.ExportAudit(ctx, f, fn)
}
func (c *dtCountingStore) AuditAnchor(ctx context.Context, d string) (string, error) {
	c.hit("AuditAnchor")
	return c.Store.AuditAnchor(ctx, d)
}
func (c *dtCountingStore) TrimAudit(ctx context.Context, d string, before time.Time) (int, error) {
	c.hit("TrimAudit")
	return c.Store.TrimAudit(ctx, d, before)
}
func (c *dtCountingStore) AuditDomains(ctx context.Context) ([]string, error) {
	c.hit("AuditDomains")
	return c.Store.AuditDomains(ctx)
}
func (c *dtCountingStore) EnqueueDeliveries(ctx context.Context, ds []store.Delivery) error {
	c.hit("EnqueueDeliveries")
	return c.Store.EnqueueDeliveries(ctx, ds)
}
func (c *dtCountingStore) ClaimDelivery(ctx context.Context, now time.Time, lease time.Duration) (store.Delivery, error) {
	c.hit("ClaimDelivery")
	return c.Store.ClaimDelivery(ctx, now, lease)
}
func (c *dtCountingStore) AckDelivery(ctx context.Context, id string) error {
	c.hit("AckDelivery")
	return c.Store.AckDelivery(ctx, id)
}
func (c *dtCountingStore) RetryDelivery(ctx context.Context, id string, attempts int, next time.Time) error {
	c.hit("RetryDelivery")
	return c.Store.RetryDelivery(ctx, id, attempts, next)
}
func (c *dtCountingStore) PendingDeliveries(ctx context.Context) (int, error) {
	c.hit("PendingDeliveries")
	return c.Store.PendingDeliveries(ctx)
}
func (c *dtCountingStore) InitSigningKey(ctx context.Context, k store.SigningKey) (store.SigningKey, error) {
	c.hit("InitSigningKey")
	return c.Store.InitSigningKey(ctx, k)
}
func (c *dtCountingStore) RotateSigningKey(ctx context.Context, k store.SigningKey) error {
	c.hit("RotateSigningKey")
	return c.Store.RotateSigningKey(ctx, k)
}
func (c *dtCountingStore) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	c.hit("ListSigningKeys")
	return c.Store.ListSigningKeys(ctx)
}
func (c *dtCountingStore) DeleteSigningKey(ctx context.Context, id string) error {
	c.hit("DeleteSigningKey")
	return c.Store.DeleteSigningKey(ctx, id)
}
func (c *dtCountingStore) Ping(ctx context.Context) error {
	c.hit("Ping")
	return c.Store.Ping(ctx)
}

// dtCountingStore must keep overriding every method of store.Store (but Close): a
// compile-time check that it is one, and TestDelegated_CountingStore_CountsEveryMethod that
// none was forgotten.
var _ store.Store = (*dtCountingStore)(nil)
