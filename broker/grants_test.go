package broker_test

// Tests of the grants API (SPEC §9 GET/DELETE /v1/grants) and the CLI's grant functions,
// plus the helpers ("gq…") the auditquery and admin tests share: a broker on the embedded
// store in t.TempDir() with the static directories of example.com and other.org, a clock
// the test moves, and grants stored directly.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/broker/provider"
	"github.com/enterprise-connect/broker/broker/provider/static"
	"github.com/enterprise-connect/broker/store"
	"github.com/enterprise-connect/broker/store/embedded"
)

const (
	gqAdminPW      = "pw-gq-admin-2Wx"
	gqOtherAdminPW = "pw-gq-other-6Pn"
	gqAlicePW      = "pw-gq-alice-4Hs"
)

var (
	gqDirOnce                  sync.Once
	gqExampleYAML, gqOtherYAML []byte
)

func gqDirectories() (example, other []byte) {
	gqDirOnce.Do(func() {
		h := func(pw string) string {
			b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
			if err != nil {
				panic(err)
			}
			return string(b)
		}
		gqExampleYAML = fmt.Appendf(nil, `domain: example.com
admins:
  - email: admin@example.com
    name: Example Admin
    password_hash: %q
users:
  - email: alice@example.com
    name: Alice
    password_hash: %q
    groups: [sales]
`, h(gqAdminPW), h(gqAlicePW))
		gqOtherYAML = fmt.Appendf(nil, `domain: other.org
admins:
  - email: admin@other.org
    name: Other Admin
    password_hash: %q
`, h(gqOtherAdminPW))
	})
	return gqExampleYAML, gqOtherYAML
}

// gqClock stands still until the test moves it.
type gqClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *gqClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *gqClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// gqEnv is a broker on a fresh embedded store.
type gqEnv struct {
	ctx    context.Context
	store  store.Store
	b      *broker.Broker
	clock  *gqClock
	sealer *broker.Sealer
	app    broker.ClientCredentials // "Calendar App"
	other  broker.ClientCredentials // "Other App"
}

func newGQEnv(t *testing.T) *gqEnv {
	t.Helper()
	ctx := t.Context()
	s, err := embedded.Open(ctx, filepath.Join(t.TempDir(), "broker.db"))
	if err != nil {
		t.Fatalf("embedded.Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	exampleYAML, otherYAML := gqDirectories()
	example, err := static.Parse("example.com.yaml", exampleYAML)
	if err != nil {
		t.Fatal(err)
	}
	other, err := static.Parse("other.org.yaml", otherYAML)
	if err != nil {
		t.Fatal(err)
	}
	kek := make([]byte, 32)
	rand.Read(kek)
	sealer, err := broker.NewSealer(kek)
	if err != nil {
		t.Fatal(err)
	}
	clock := &gqClock{now: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	b, err := broker.New(ctx, broker.Options{
		Store: s, Providers: []provider.Provider{example, other}, Sealer: sealer, Now: clock.Now,
		Issuer: "https://broker.test", CodeTTL: 5 * time.Minute, AccessTokenTTL: 30 * time.Minute,
		DelegatedTokenTTL: 10 * time.Minute, SigningAlgorithm: broker.AlgEdDSA,
	})
	if err != nil {
		t.Fatalf("broker.New: %v", err)
	}
	e := &gqEnv{ctx: ctx, store: s, b: b, clock: clock, sealer: sealer}
	e.app = e.client(t, "Calendar App")
	e.other = e.client(t, "Other App")
	return e
}

func (e *gqEnv) client(t *testing.T, name string) broker.ClientCredentials {
	t.Helper()
	creds, err := broker.CreateClient(e.ctx, e.store, e.sealer, broker.ClientSpec{
		Name: name, RedirectURIs: []string{"https://app.example/cb"},
		Scope: "service_account/accounts/manage", DelegatedScope: "read_only",
	}, e.clock.Now)
	if err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	return creds
}

// grant stores an active grant of clientID for domain, approved now; the clock then moves
// on a second so grants are ordered by approval.
func (e *gqEnv) grant(t *testing.T, clientID, domain string, policy store.SubjectPolicy) store.Grant {
	t.Helper()
	g := store.Grant{
		ID: "ser_" + gqRandID(), ClientID: clientID, Domain: domain,
		Scope: "service_account/accounts/manage", DelegatedScope: "list_calendars read_account read_events read_free_busy",
		Policy: policy, ApprovedBy: "admin@" + domain, ApprovedAt: e.clock.Now(), Status: store.GrantActive,
	}
	if _, err := e.store.CreateGrant(e.ctx, g); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
	e.clock.Advance(time.Second)
	return g
}

// key creates an API key and authenticates it.
func (e *gqEnv) key(t *testing.T, role store.APIKeyRole, domain string) broker.APIKeyCaller {
	t.Helper()
	k, err := broker.CreateAPIKey(e.ctx, e.store, string(role), domain, nil, e.clock.Now())
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	c, err := e.b.AuthenticateAPIKey(e.ctx, k.Key)
	if err != nil {
		t.Fatalf("AuthenticateAPIKey: %v", err)
	}
	return c
}

// events returns the domain's stored audit events, oldest first.
func (e *gqEnv) events(t *testing.T, domain string) []store.AuditEvent {
	t.Helper()
	var out []store.AuditEvent
	if err := e.store.ExportAudit(e.ctx, store.AuditFilter{Domain: domain}, func(ev store.AuditEvent) error {
		out = append(out, ev)
		return nil
	}); err != nil {
		t.Fatalf("ExportAudit: %v", err)
	}
	return out
}

func gqRandID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 24)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// wantCode fails unless err is a *broker.Error with code want (nil want: no error).
func wantCode(t *testing.T, err error, want broker.ErrorCode) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("err = %v, want none", err)
		}
		return
	}
	var be *broker.Error
	if !errors.As(err, &be) || be.Code != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func grantIDs(gs []broker.GrantView) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.ID)
	}
	return out
}

func TestListGrants_RolesAndDomainLimits(t *testing.T) {
	t.Parallel()
	e := newGQEnv(t)
	ex := e.grant(t, e.app.ClientID, "example.com", store.SubjectPolicy{})
	ot := e.grant(t, e.app.ClientID, "other.org", store.SubjectPolicy{})
	operator := e.key(t, store.RoleOperator, "")
	auditor := e.key(t, store.RoleAuditor, "example.com")
	introspect := e.key(t, store.RoleIntrospect, "")
	tests := []struct {
		name     string
		caller   broker.APIKeyCaller
		query    map[string]string
		wantIDs  []string // newest approval first
		wantCode broker.ErrorCode
	}{
		{name: "operator sees every domain", caller: operator, wantIDs: []string{ot.ID, ex.ID}},
		{name: "operator filters by domain", caller: operator, query: map[string]string{"domain": "other.org"}, wantIDs: []string{ot.ID}},
		{name: "limited auditor sees its domain", caller: auditor, wantIDs: []string{ex.ID}},
		{name: "limited auditor may name its domain", caller: auditor, query: map[string]string{"domain": "EXAMPLE.com"}, wantIDs: []string{ex.ID}},
		{name: "limited auditor asking for another domain", caller: auditor, query: map[string]string{"domain": "other.org"}, wantCode: broker.Forbidden},
		{name: "introspect role", caller: introspect, wantCode: broker.Forbidden},
		{name: "status filter", caller: operator, query: map[string]string{"status": "revoked"}, wantIDs: nil},
		{name: "client filter", caller: operator, query: map[string]string{"client_id": e.other.ClientID}, wantIDs: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := broker.ParseGrantQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			page, err := e.b.ListGrants(e.ctx, tc.caller, q)
			wantCode(t, err, tc.wantCode)
			if tc.wantCode != "" {
				return
			}
			if diff := cmp.Diff(tc.wantIDs, grantIDs(page.Grants)); diff != "" {
				t.Errorf("grants (-want +got):\n%s", diff)
			}
			if page.Grants == nil {
				t.Error("Grants is nil: the JSON would say null, not []")
			}
		})
	}
}

func TestListGrants_PagesWithCursor(t *testing.T) {
	t.Parallel()
	e := newGQEnv(t)
	var want []string
	for range 5 {
		want = append([]string{e.grant(t, e.app.ClientID, "example.com", store.SubjectPolicy{}).ID}, want...)
	}
	op := e.key(t, store.RoleOperator, "")
	var got []string
	q := broker.GrantQuery{Limit: 2}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		page, err := e.b.ListGrants(e.ctx, op, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Grants) > 2 {
			t.Fatalf("a page of limit 2 holds %d grants", len(page.Grants))
		}
		got = append(got, grantIDs(page.Grants)...)
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paged grants (-want +got):\n%s", diff)
	}
}

func TestListGrants_MalformedCursor_InvalidRequest(t *testing.T) {
	t.Parallel()
	e := newGQEnv(t)
	op := e.key(t, store.RoleOperator, "")
	for _, c := range []string{"garbage", "!!!", "MTIzOmFiYw"} {
		_, err := e.b.ListGrants(e.ctx, op, broker.GrantQuery{Cursor: c, Limit: 10})
		if c == "MTIzOmFiYw" && err == nil {
			continue // a well-formed cursor of this store (123:abc): an empty page is right
		}
		wantCode(t, err, broker.InvalidRequest)
	}
}

func TestParseGrantQuery_Errors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		params    map[string]string
		wantLimit int
		wantErr   bool
	}{
		{name: "default limit", params: nil, wantLimit: 100},
		{name: "limit 1", params: map[string]string{"limit": "1"}, wantLimit: 1},
		{name: "limit 1000", params: map[string]string{"limit": "1000"}, wantLimit: 1000},
		{name: "limit 0", params: map[string]string{"limit": "0"}, wantErr: true},
		{name: "limit 1001", params: map[string]string{"limit": "1001"}, wantErr: true},
		{name: "limit not a number", params: map[string]string{"limit": "ten"}, wantErr: true},
		{name: "negative limit", params: map[string]string{"limit": "-1"}, wantErr: true},
		{name: "unknown status", params: map[string]string{"status": "paused"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q, err := broker.ParseGrantQuery(tc.params)
			if tc.wantErr {
				wantCode(t, err, broker.InvalidRequest)
				return
			}
			if err != nil || q.Limit != tc.wantLimit {
				t.Fatalf("ParseGrantQuery = %+v, %v; want limit %d", q, err, tc.wantLimit)
			}
		})
	}
}

func TestGetGrant_View(t *testing.T) {
	t.Parallel()
	e := newGQEnv(t)
	g := e.grant(t, e.app.ClientID, "example.com", store.SubjectPolicy{Groups: []string{"sales"}})
	op := e.key(t, store.RoleOperator, "")
	v, err := e.b.GetGrant(e.ctx, op, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := broker.GrantView{
		ID: g.ID, ClientID: e.app.ClientID, ClientName: "Calendar App", Domain: "example.com",
		Scope: g.Scope, DelegatedScope: g.DelegatedScope,
		Policy:     broker.GrantPolicy{Groups: []string{"sales"}, Emails: []string{}},
		ApprovedBy: "admin@example.com", ApprovedAt: "2026-03-10T12:00:00.000Z", LastUsedAt: "", Status: "active",
	}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("GetGrant (-want +got):\n%s", diff)
	}
	// Used since: last_used_at says when.
	if err := e.store.RecordGrantUse(e.ctx, g.ID, e.clock.Now(), 1); err != nil {
		t.Fatal(err)
	}
	if v, _ = e.b.GetGrant(e.ctx, op, g.ID); v.LastUsedAt != "2026-03-10T12:00:01.000Z" {
		t.Errorf("last_used_at = %q after a use", v.LastUsedAt)
	}
	// The JSON has exactly SPEC §9's members; policy is an object.
	b, _ := json.Marshal(v)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	wantKeys := []string{"approved_at", "approved_by", "client_id", "client_name", "delegated_scope", "domain", "id",
		"last_used_at", "policy", "scope", "status"}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("JSON members (-want +got):\n%s", diff)
	}
	if p, ok := m["policy"].(map[string]any); !ok || p["resources_only"] != false {
		t.Errorf("policy = %v, want an object with resources_only", m["policy"])
	}
}

func TestGetGrant_NotVisible_NotFound(t *testing.T) {
	t.Parallel()
	e := newGQEnv(t)
	ot := e.grant(t, e.app.ClientID, "other.org", store.SubjectPolicy{})
	tests := []struct {
		name   string
		caller broker.APIKeyCaller
		id     string
		want   broker.ErrorCode
	}{
		{name: "another domain's grant", caller: e.key(t, store.RoleAuditor, "example.com"), id: ot.ID, want: broker.NotFound},
		{name: "unknown id", caller: e.key(t, store.RoleOperator, ""), id: "ser_" + gqRandID(), want: broker.NotFound},
		{name: "introspect role", caller: e.key(t, store.RoleIntrospect, ""), id: ot.ID, want: broker.Forbidden},
		{name: "own domain", caller: e.key(t, store.RoleAuditor, "other.org"), id: ot.ID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.b.GetGrant(e.ctx, tc.caller, tc.id)
			wantCode(t, err, tc.want)
		})
	}
}

func TestRevokeGrantByKey_OperatorOnly_Audited(t *testing.T) {
	t.Parallel()
	e := newGQEnv(t)
	g := e.grant(t, e.app.ClientID, "example.com", store.SubjectPolicy{})
	auditor := e.key(t, store.RoleAuditor, "")
	otherOperator := e.key(t, store.RoleOperator, "other.org")
	operator := e.key(t, store.RoleOperator, "")
	m := broker.Meta{IP: "192.0.2.1", RequestID: "req-1"}

	wantCode(t, e.b.RevokeGrantByKey(e.ctx, auditor, g.ID, m), broker.Forbidden)
	wantCode(t, e.b.RevokeGrantByKey(e.ctx, otherOperator, g.ID, m), broker.NotFound)
	wantCode(t, e.b.RevokeGrantByKey(e.ctx, operator, "ser_"+gqRandID(), m), broker.NotFound)
	if got, _ := e.store.GetGrant(e.ctx, g.ID); got.Status != store.GrantActive {
		t.Fatalf("refused revocations changed the grant: %s", got.Status)
	}

	wantCode(t, e.b.RevokeGrantByKey(e.ctx, operator, g.ID, m), "")
	if got, _ := e.store.GetGrant(e.ctx, g.ID); got.Status != store.GrantRevoked {
		t.Fatalf("status after DELETE = %s", got.Status)
	}
	// Again: still fine, and audited once.
	wantCode(t, e.b.RevokeGrantByKey(e.ctx, operator, g.ID, m), "")
	var revoked []store.AuditEvent
	for _, ev := range e.events(t, "example.com") {
		if ev.Type == broker.EvGrantRevoked {
			revoked = append(revoked, ev)
		}
	}
	if len(revoked) != 1 {
		t.Fatalf("%d grant.revoked events, want 1", len(revoked))
	}
	ev := revoked[0]
	if ev.Actor != "apikey:"+operator.ID || ev.GrantID != g.ID || ev.ClientID != e.app.ClientID || ev.IP != m.IP || ev.Result != "success" {
		t.Errorf("grant.revoked event = %+v", ev)
	}
}

func TestCLIGrants_ListAllAndRevoke(t *testing.T) {
	t.Parallel()
	e := newGQEnv(t)
	var ids []string // newest first; one client each, as one active grant per (client, domain)
	for i := range 3 {
		c := e.client(t, fmt.Sprintf("App %d", i))
		ids = append([]string{e.grant(t, c.ClientID, "example.com", store.SubjectPolicy{}).ID}, ids...)
	}
	ot := e.grant(t, e.other.ClientID, "other.org", store.SubjectPolicy{})

	all, err := broker.ListAllGrants(e.ctx, e.store, broker.GrantQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(append([]string{ot.ID}, ids...), grantIDs(all)); diff != "" {
		t.Errorf("ListAllGrants (-want +got):\n%s", diff)
	}
	wantCode(t, broker.RevokeGrantID(e.ctx, e.store, ids[0], e.clock.Now), "")
	wantCode(t, broker.RevokeGrantID(e.ctx, e.store, "ser_"+gqRandID(), e.clock.Now), broker.NotFound)

	active, err := broker.ListAllGrants(e.ctx, e.store, broker.GrantQuery{Domain: "example.com", Status: "active"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids[1:], grantIDs(active)); diff != "" {
		t.Errorf("active example.com grants after revoke (-want +got):\n%s", diff)
	}
	evs := e.events(t, "example.com")
	if len(evs) != 1 || evs[0].Type != broker.EvGrantRevoked || evs[0].Actor != "cli" || evs[0].GrantID != ids[0] {
		t.Errorf("audit after `grants revoke` = %+v, want one grant.revoked by cli", evs)
	}
}
