package broker

// SPEC §5: Cronofy-compatible per-subject authorization — validation, signed and queued
// callbacks with retries, per-subject codes, tokens, refresh and revocation.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/enterprise-connect/broker/store"
)

// dtCallback is one request the receiver got.
type dtCallback struct {
	Body      []byte
	Signature string
	Type      string
	At        time.Time // the broker's clock when it arrived
}

// dtReceiver is a callback_url: it records every POST and answers with status(n) for the
// n-th request (0-based); nil status answers 204.
type dtReceiver struct {
	srv    *httptest.Server
	clock  *dtClock
	mu     sync.Mutex
	got    []dtCallback
	status func(n int) int
}

func (e *dtEnv) receiver(status func(n int) int) *dtReceiver {
	e.t.Helper()
	r := &dtReceiver{clock: e.clock, status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.got)
		r.got = append(r.got, dtCallback{Body: body, Signature: req.Header.Get("X-Broker-Signature"),
			Type: req.Header.Get("Content-Type"), At: r.clock.Now()})
		st := http.StatusNoContent
		if r.status != nil {
			st = r.status(n)
		}
		r.mu.Unlock()
		w.WriteHeader(st)
	}))
	e.t.Cleanup(r.srv.Close)
	return r
}

func (r *dtReceiver) URL() string { return r.srv.URL + "/callback" }

func (r *dtReceiver) calls() []dtCallback {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// dtAuthz is one per-subject authorization item.
func dtAuthz(email, scope, callback, state string) SubjectAuthorization {
	a := SubjectAuthorization{Email: &email, CallbackURL: &callback, State: &state}
	if scope != "" {
		a.Scope = &scope
	}
	return a
}

// deliverAll runs deliverOne until nothing is due and returns how many were attempted.
func (e *dtEnv) deliverAll() int {
	n := 0
	for e.b.deliverOne(e.ctx) {
		n++
		if n > 1000 {
			e.t.Fatal("deliverOne keeps finding work")
		}
	}
	return n
}

// dtCallbackAuthorization is the callback body's authorization object, strictly.
type dtCallbackAuthorization struct {
	Code             string `json:"code"`
	State            string `json:"state"`
	Error            string `json:"error"`
	ErrorKey         string `json:"error_key"`
	ErrorDescription string `json:"error_description"`
}

// parseCallback checks the body's shape: {"authorization":{…}} with exactly wantKeys.
func dtParseCallback(t testing.TB, body []byte, wantKeys ...string) dtCallbackAuthorization {
	t.Helper()
	var raw map[string]map[string]any
	if err := json.Unmarshal(body, &raw); err != nil || len(raw) != 1 || raw["authorization"] == nil {
		t.Fatalf("callback body %s, want {\"authorization\":{…}}", body)
	}
	keys := dtMapKeys(raw["authorization"])
	slices.Sort(keys)
	slices.Sort(wantKeys)
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("callback authorization keys %v, want %v (body %s)", keys, wantKeys, body)
	}
	var out struct{ Authorization dtCallbackAuthorization }
	_ = json.Unmarshal(body, &out)
	return out.Authorization
}

// dtVerifySignature checks X-Broker-Signature: t=<unix>,v1=<hex HMAC-SHA256("t.body")>.
func dtVerifySignature(t testing.TB, header string, secret string, body []byte, wantT time.Time) {
	t.Helper()
	parts := strings.Split(header, ",")
	if len(parts) != 2 || !strings.HasPrefix(parts[0], "t=") || !strings.HasPrefix(parts[1], "v1=") {
		t.Fatalf("X-Broker-Signature %q, want t=<unix>,v1=<hex>", header)
	}
	ts := strings.TrimPrefix(parts[0], "t=")
	if sec, err := strconv.ParseInt(ts, 10, 64); err != nil || sec != wantT.Unix() {
		t.Errorf("signature t=%s, want %d", ts, wantT.Unix())
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	if got := strings.TrimPrefix(parts[1], "v1="); !hmac.Equal([]byte(got), []byte(want)) {
		t.Errorf("signature v1=%s, want %s (HMAC-SHA256 of \"t.body\" with the callback_secret)", got, want)
	}
}

func TestDelegated_SubjectAuth_ValidationQueuesNothing(t *testing.T) {
	dtFastStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		strict := e.replica(func(o *Options) { o.AllowInsecureCallbacks = false })
		sa := e.grant(e.full, dtGrantOpts{})
		c := e.caller(sa.Access)
		good := dtAuthz("alice@example.com", "read_only", "https://cb.example/x", "s1")
		many := func(n int) []SubjectAuthorization {
			out := make([]SubjectAuthorization, n)
			for i := range out {
				out[i] = dtAuthz("alice@example.com", "", "https://cb.example/x", fmt.Sprint(i))
			}
			return out
		}
		with := func(f func(*SubjectAuthorization)) []SubjectAuthorization {
			a := dtAuthz("alice@example.com", "read_only", "https://cb.example/x", "s1")
			f(&a)
			return []SubjectAuthorization{a}
		}
		tests := []struct {
			name       string
			b          *Broker
			items      []SubjectAuthorization
			wantFields []string
		}{
			{name: "email missing", items: with(func(a *SubjectAuthorization) { a.Email = nil }), wantFields: []string{"email"}},
			{name: "email blank", items: with(func(a *SubjectAuthorization) { a.Email = dtPtr("  ") }), wantFields: []string{"email"}},
			{name: "callback_url missing", items: with(func(a *SubjectAuthorization) { a.CallbackURL = nil }), wantFields: []string{"callback_url"}},
			{name: "callback_url empty", items: with(func(a *SubjectAuthorization) { a.CallbackURL = dtPtr("") }), wantFields: []string{"callback_url"}},
			{name: "ftp callback", items: with(func(a *SubjectAuthorization) { a.CallbackURL = dtPtr("ftp://127.0.0.1/cb") }), wantFields: []string{"callback_url"}},
			{name: "http to a public host", items: with(func(a *SubjectAuthorization) { a.CallbackURL = dtPtr("http://cb.example/x") }), wantFields: []string{"callback_url"}},
			{name: "http to a private address", items: with(func(a *SubjectAuthorization) { a.CallbackURL = dtPtr("http://10.0.0.1/x") }), wantFields: []string{"callback_url"}},
			{name: "http to a loopback look-alike host", items: with(func(a *SubjectAuthorization) { a.CallbackURL = dtPtr("http://127.0.0.1.nip.io/x") }), wantFields: []string{"callback_url"}},
			{name: "relative URL", items: with(func(a *SubjectAuthorization) { a.CallbackURL = dtPtr("/callback") }), wantFields: []string{"callback_url"}},
			{name: "http to loopback without allow_insecure_callbacks", b: strict,
				items: with(func(a *SubjectAuthorization) { a.CallbackURL = dtPtr("http://127.0.0.1:9/x") }), wantFields: []string{"callback_url"}},
			{name: "scope outside the ceiling", items: with(func(a *SubjectAuthorization) { a.Scope = dtPtr("read_directory") }), wantFields: []string{"scope"}},
			{name: "unknown scope", items: with(func(a *SubjectAuthorization) { a.Scope = dtPtr("read_everything") }), wantFields: []string{"scope"}},
			{name: "no items", items: []SubjectAuthorization{}, wantFields: []string{"service_account_authorizations"}},
			{name: "51 items", items: many(51), wantFields: []string{"service_account_authorizations"}},
			{name: "one bad item among good ones", items: append(many(3), with(func(a *SubjectAuthorization) { a.CallbackURL = dtPtr("ftp://x/y") })...),
				wantFields: []string{"callback_url"}},
			{name: "two bad fields", items: append([]SubjectAuthorization{good}, with(func(a *SubjectAuthorization) { a.Email = nil; a.Scope = dtPtr("bogus") })...),
				wantFields: []string{"email", "scope"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				b := tc.b
				if b == nil {
					b = e.b
				}
				err := b.RequestSubjectAuthorizations(e.ctx, c, tc.items, e.meta())
				dtWantFields(t, err, tc.wantFields...)
				if n := e.pending(); n != 0 {
					t.Fatalf("%d deliveries queued by a refused request, want 0", n)
				}
			})
		}
		t.Run("accepted forms", func(t *testing.T) {
			for _, cb := range []string{"https://cb.example/x", "http://127.0.0.1:9/x", "http://localhost:9/x", "http://[::1]:9/x"} {
				if err := e.b.RequestSubjectAuthorizations(e.ctx, c, []SubjectAuthorization{dtAuthz("alice@example.com", "", cb, "")}, e.meta()); err != nil {
					t.Errorf("callback %s refused: %v", cb, err)
				}
			}
			if err := strict.RequestSubjectAuthorizations(e.ctx, c, []SubjectAuthorization{good}, e.meta()); err != nil {
				t.Errorf("https callback refused without allow_insecure_callbacks: %v", err)
			}
			if err := e.b.RequestSubjectAuthorizations(e.ctx, c, many(50), e.meta()); err != nil {
				t.Errorf("50 items refused: %v", err)
			}
			if n := e.pending(); n != 55 {
				t.Errorf("%d deliveries queued, want 55 (one per item)", n)
			}
		})
	})
}

func TestDelegated_SubjectAuth_DeliversSignedCode(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		sa := e.grant(e.full, dtGrantOpts{})
		rcv := e.receiver(nil)
		err := e.b.RequestSubjectAuthorizations(e.ctx, e.caller(sa.Access),
			[]SubjectAuthorization{dtAuthz("alice@example.com", "read_only", rcv.URL(), "state-é&x")}, e.meta())
		if err != nil {
			t.Fatalf("RequestSubjectAuthorizations: %v", err)
		}
		if n := e.pending(); n != 1 {
			t.Fatalf("%d deliveries queued, want 1", n)
		}
		if n := e.deliverAll(); n != 1 {
			t.Fatalf("%d deliveries attempted, want 1", n)
		}
		calls := rcv.calls()
		if len(calls) != 1 {
			t.Fatalf("receiver got %d callbacks, want 1", len(calls))
		}
		cb := calls[0]
		a := dtParseCallback(t, cb.Body, "code", "state")
		if !dtReCode.MatchString(a.Code) || a.State != "state-é&x" {
			t.Errorf("callback %s: want a 32-char [A-Za-z0-9] code and the state", cb.Body)
		}
		if !strings.HasPrefix(cb.Type, "application/json") {
			t.Errorf("Content-Type %q", cb.Type)
		}
		dtVerifySignature(t, cb.Signature, e.full.CallbackSecret, cb.Body, e.clock.Now())
		if n := e.pending(); n != 0 {
			t.Errorf("%d deliveries still queued after a 2xx", n)
		}
		if n := len(e.eventsOf(EvCallbackDelivered)); n != 1 {
			t.Errorf("%d callback.delivered events, want 1", n)
		}
		if strings.Contains(dtJSON(e.auditEvents()), a.Code) {
			t.Errorf("the per-subject code appears in the audit trail")
		}
	})
}

// SPEC §5: the subject is checked as in §4; refusals reach the callback as
// {"authorization":{"error":"access_denied","error_key",…,"state"}}.
func TestDelegated_SubjectAuth_DeliversRefusals(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.full, dtGrantOpts{Groups: "sales", Scope: dtAccountsManage})
	rcv := e.receiver(nil)
	items := []SubjectAuthorization{
		dtAuthz("alice@example.com", "", rcv.URL(), "ok"),
		dtAuthz("nobody@example.com", "", rcv.URL(), "unknown"),
		dtAuthz("carol@other.org", "", rcv.URL(), "other-domain"),
		dtAuthz("admin@example.com", "", rcv.URL(), "admin"),
		dtAuthz("bob@example.com", "", rcv.URL(), "policy"),
		dtAuthz("room-1@example.com", "", rcv.URL(), "no-resources-scope"),
	}
	wantKey := map[string]string{"unknown": "unknown_subject", "other-domain": "unknown_subject", "admin": "unknown_subject",
		"policy": "subject_not_allowed", "no-resources-scope": "subject_not_allowed"}
	if err := e.b.RequestSubjectAuthorizations(e.ctx, e.caller(sa.Access), items, e.meta()); err != nil {
		t.Fatal(err)
	}
	if n := e.deliverAll(); n != len(items) {
		t.Fatalf("%d deliveries, want %d", n, len(items))
	}
	seen := map[string]bool{}
	for _, cb := range rcv.calls() {
		dtVerifySignature(t, cb.Signature, e.full.CallbackSecret, cb.Body, e.clock.Now())
		var probe struct{ Authorization dtCallbackAuthorization }
		_ = json.Unmarshal(cb.Body, &probe)
		state := probe.Authorization.State
		seen[state] = true
		if state == "ok" {
			dtParseCallback(t, cb.Body, "code", "state")
			continue
		}
		a := dtParseCallback(t, cb.Body, "error", "error_key", "error_description", "state")
		if a.Error != "access_denied" || a.ErrorKey != wantKey[state] || a.ErrorDescription == "" {
			t.Errorf("%s: %s, want error access_denied, error_key %s and a description", state, cb.Body, wantKey[state])
		}
	}
	if len(seen) != len(items) {
		t.Errorf("callbacks for states %v, want all %d", dtMapKeys(seen), len(items))
	}
}

// The callback is retried on any non-2xx, first within 10 s, doubling to at most 1 h, for
// 24 h; then dropped with one callback.failed event (SPEC §5, §9).
func TestDelegated_SubjectAuth_RetriesWithBackoffThenGivesUp(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		sa := e.grant(e.full, dtGrantOpts{})
		rcv := e.receiver(func(int) int { return http.StatusInternalServerError })
		start := e.clock.Now()
		if err := e.b.RequestSubjectAuthorizations(e.ctx, e.caller(sa.Access),
			[]SubjectAuthorization{dtAuthz("alice@example.com", "", rcv.URL(), "s")}, e.meta()); err != nil {
			t.Fatal(err)
		}
		if !e.b.deliverOne(e.ctx) {
			t.Fatal("nothing delivered")
		}
		// Walk the clock a second at a time through the first minute, then a minute at a
		// time: each attempt happens at the first step where it is due.
		for e.pending() > 0 && e.clock.Now().Sub(start) < 26*time.Hour {
			step := time.Minute
			if e.clock.Now().Sub(start) < 2*time.Minute {
				step = time.Second
			}
			e.clock.Advance(step)
			e.deliverAll()
		}
		if n := e.pending(); n != 0 {
			t.Fatalf("still %d deliveries queued after 26 h", n)
		}
		calls := rcv.calls()
		if len(calls) < 3 {
			t.Fatalf("%d attempts", len(calls))
		}
		var gaps []time.Duration
		for i := 1; i < len(calls); i++ {
			gaps = append(gaps, calls[i].At.Sub(calls[i-1].At))
		}
		t.Logf("%d attempts; gaps %v", len(calls), gaps)
		if gaps[0] > 10*time.Second {
			t.Errorf("first retry %v after the first attempt, want within 10 s", gaps[0])
		}
		for i := 1; i < len(gaps); i++ {
			// A minute-step walk rounds gaps up to the next minute.
			want := min(2*gaps[i-1], time.Hour)
			if gaps[i] < gaps[i-1] || gaps[i] > want+time.Minute {
				t.Errorf("gap %d = %v after %v: want doubling up to 1 h", i, gaps[i], gaps[i-1])
			}
		}
		if maxGap := slices.Max(gaps); maxGap < time.Hour-time.Minute || maxGap > time.Hour+time.Minute {
			t.Errorf("longest gap %v, want 1 h", maxGap)
		}
		last := calls[len(calls)-1].At.Sub(start)
		if last > 24*time.Hour || last < 23*time.Hour {
			t.Errorf("last attempt %v after the request, want within the 24 h window and near its end", last)
		}
		// Each attempt carries the same state and a fresh code, valid for code_ttl from
		// that attempt (a code made at enqueue would expire while retries wait).
		seen := map[string]bool{}
		for i, c := range calls {
			var got struct {
				Authorization struct{ Code, State string } `json:"authorization"`
			}
			if err := json.Unmarshal(c.Body, &got); err != nil {
				t.Fatalf("attempt %d: %v", i, err)
			}
			var first struct {
				Authorization struct{ State string } `json:"authorization"`
			}
			_ = json.Unmarshal(calls[0].Body, &first)
			if got.Authorization.State != first.Authorization.State || len(got.Authorization.Code) != 32 || seen[got.Authorization.Code] {
				t.Errorf("attempt %d sent %s: want the same state and a fresh 32-character code", i, c.Body)
			}
			seen[got.Authorization.Code] = true
			dtVerifySignature(t, c.Signature, e.full.CallbackSecret, c.Body, c.At)
		}
		failed := e.eventsOf(EvCallbackFailed)
		if len(failed) != 1 || failed[0].Result != "failure" || failed[0].Subject != "alice@example.com" {
			t.Errorf("callback.failed events %+v, want exactly one failure for alice", failed)
		}
		if n := len(e.eventsOf(EvCallbackDelivered)); n != 0 {
			t.Errorf("%d callback.delivered events for a callback that always failed", n)
		}
		e.clock.Advance(48 * time.Hour)
		if e.b.deliverOne(e.ctx) {
			t.Errorf("a given-up delivery was attempted again")
		}
	})
}

func TestDelegated_SubjectAuth_Backoff(t *testing.T) {
	if d := backoff(1); d <= 0 || d > 10*time.Second {
		t.Errorf("first retry after %v, want within 10 s", d)
	}
	for n := 2; n < 40; n++ {
		prev, d := backoff(n-1), backoff(n)
		if d != min(2*prev, time.Hour) {
			t.Errorf("backoff(%d) = %v after %v, want doubling to at most 1 h", n, d, prev)
		}
	}
	if d := backoff(1000); d != time.Hour {
		t.Errorf("backoff(1000) = %v, want 1 h", d)
	}
}

func TestDelegated_SubjectAuth_RetryThenDeliver(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.full, dtGrantOpts{})
	rcv := e.receiver(func(n int) int {
		return []int{http.StatusServiceUnavailable, http.StatusNotFound, http.StatusOK}[min(n, 2)]
	})
	if err := e.b.RequestSubjectAuthorizations(e.ctx, e.caller(sa.Access),
		[]SubjectAuthorization{dtAuthz("alice@example.com", "", rcv.URL(), "s")}, e.meta()); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		e.deliverAll()
		e.clock.Advance(10 * time.Second)
	}
	if len(rcv.calls()) != 3 || e.pending() != 0 {
		t.Fatalf("%d attempts, %d queued; want 3 attempts and none queued", len(rcv.calls()), e.pending())
	}
	if len(e.eventsOf(EvCallbackDelivered)) != 1 || len(e.eventsOf(EvCallbackFailed)) != 0 {
		t.Errorf("events: %d delivered, %d failed; want 1, 0", len(e.eventsOf(EvCallbackDelivered)), len(e.eventsOf(EvCallbackFailed)))
	}
}

// A timeout counts as a failure and is retried (SPEC §5).
func TestDelegated_SubjectAuth_TimeoutIsRetried(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	e := dtNewEnv(t, dtOpenMiniredis(t), func(o *Options) { o.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond} })
	sa := e.grant(e.full, dtGrantOpts{})
	if err := e.b.RequestSubjectAuthorizations(e.ctx, e.caller(sa.Access),
		[]SubjectAuthorization{dtAuthz("alice@example.com", "", slow.URL+"/cb", "s")}, e.meta()); err != nil {
		t.Fatal(err)
	}
	if !e.b.deliverOne(e.ctx) {
		t.Fatal("nothing delivered")
	}
	if e.pending() != 1 || len(e.eventsOf(EvCallbackDelivered)) != 0 {
		t.Fatalf("a timed-out callback was not kept for a retry")
	}
	e.clock.Advance(10 * time.Second)
	if !e.b.deliverOne(e.ctx) {
		t.Errorf("a timed-out callback was not retried within 10 s")
	}
}

// A callback_url answering a redirect has not received the authorization: 3xx is a non-2xx
// answer and must be retried (SPEC §5: "retried on any non-2xx"), and the broker must not POST
// (or GET) wherever the redirect points: that target never passed the callback_url checks
// (https, or loopback only with allow_insecure_callbacks).
func TestDelegated_SubjectAuth_RedirectIsNotADelivery(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	var mu sync.Mutex
	elsewhere := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		elsewhere++
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(target.Close)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/stolen", http.StatusFound)
	}))
	t.Cleanup(redirector.Close)
	sa := e.grant(e.full, dtGrantOpts{})
	if err := e.b.RequestSubjectAuthorizations(e.ctx, e.caller(sa.Access),
		[]SubjectAuthorization{dtAuthz("alice@example.com", "", redirector.URL+"/cb", "s")}, e.meta()); err != nil {
		t.Fatal(err)
	}
	e.b.deliverOne(e.ctx)
	mu.Lock()
	followed := elsewhere
	mu.Unlock()
	if followed != 0 {
		t.Errorf("the broker followed the callback's redirect to another URL (%d requests there)", followed)
	}
	if e.pending() != 1 || len(e.eventsOf(EvCallbackDelivered)) != 0 {
		t.Errorf("a 302 answer counted as delivered (queued %d, callback.delivered %d); want it retried",
			e.pending(), len(e.eventsOf(EvCallbackDelivered)))
	}
}

// RunDeliveries (the worker every replica runs) sends what is queued without waiting for its
// poll: the request wakes it.
func TestDelegated_SubjectAuth_RunDeliveriesSendsQueuedWork(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.full, dtGrantOpts{})
	got := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case got <- b:
		default:
		}
	}))
	t.Cleanup(srv.Close)
	runCtx, stop := context.WithCancel(t.Context())
	defer stop()
	done := make(chan struct{})
	go func() { e.b.RunDeliveries(runCtx); close(done) }()
	if err := e.b.RequestSubjectAuthorizations(e.ctx, e.caller(sa.Access),
		[]SubjectAuthorization{dtAuthz("alice@example.com", "", srv.URL+"/cb", "run")}, e.meta()); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		dtParseCallback(t, b, "code", "state")
	case <-time.After(10 * time.Second):
		t.Fatal("RunDeliveries did not deliver within 10 s")
	}
	stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RunDeliveries did not stop when its context ended")
	}
}

// ---- codes, tokens, refresh, revocation ----

// dtSubjectCode runs one per-subject authorization for sub and returns its code.
func (e *dtEnv) dtSubjectCode(sa dtSA, sub, scope string, rcv *dtReceiver) string {
	e.t.Helper()
	before := len(rcv.calls())
	if err := e.b.RequestSubjectAuthorizations(e.ctx, e.caller(sa.Access),
		[]SubjectAuthorization{dtAuthz(sub, scope, rcv.URL(), "st")}, e.meta()); err != nil {
		e.t.Fatalf("RequestSubjectAuthorizations(%s): %v", sub, err)
	}
	e.deliverAll()
	calls := rcv.calls()
	if len(calls) != before+1 {
		e.t.Fatalf("receiver got %d new callbacks, want 1", len(calls)-before)
	}
	var body struct{ Authorization dtCallbackAuthorization }
	_ = json.Unmarshal(calls[len(calls)-1].Body, &body)
	if body.Authorization.Code == "" {
		e.t.Fatalf("callback %s carries no code", calls[len(calls)-1].Body)
	}
	return body.Authorization.Code
}

// redeemSubject redeems a per-subject code with redirect_uri = the callback_url.
func (e *dtEnv) redeemSubject(c dtClient, code, redirect string) (*TokenResponse, error) {
	res, err := e.b.Token(e.ctx, TokenRequest{Params: map[string]string{"grant_type": "authorization_code", "code": code,
		"redirect_uri": redirect}, Client: c.basic(), Meta: e.meta()})
	if err != nil {
		return nil, err
	}
	tr, ok := res.(*TokenResponse)
	if !ok {
		e.t.Fatalf("Token answered %T", res)
	}
	return tr, nil
}

func (e *dtEnv) refreshSubject(c dtClient, rt string) (*TokenResponse, error) {
	res, err := e.b.Token(e.ctx, TokenRequest{Params: map[string]string{"grant_type": "refresh_token", "refresh_token": rt},
		Client: c.basic(), Meta: e.meta()})
	if err != nil {
		return nil, err
	}
	return res.(*TokenResponse), nil
}

func TestDelegated_SubjectAuth_CodeRedeemsToCronofyShapedTokens(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		sa := e.grant(e.full, dtGrantOpts{})
		rcv := e.receiver(nil)
		code := e.dtSubjectCode(sa, "alice@example.com", "read_only", rcv)
		tr, err := e.redeemSubject(e.full, code, rcv.URL())
		if err != nil {
			t.Fatalf("redeeming the per-subject code: %v", err)
		}
		if tr.TokenType != "bearer" || tr.ExpiresIn != 3600 || tr.RefreshToken == "" || tr.Scope != dtReadOnly {
			t.Errorf("response %+v: want token_type bearer, expires_in 3600, a refresh token, scope %q", tr, dtReadOnly)
		}
		if !dtReAccID.MatchString(tr.Sub) || tr.AccountID != tr.Sub {
			t.Errorf("sub %q, account_id %q: want the same acc_ + 24 base-62", tr.Sub, tr.AccountID)
		}
		lp := tr.LinkingProfile
		if lp == nil || lp.ProviderName != "static" || !dtReProID.MatchString(lp.ProfileID) || lp.ProfileName != "alice@example.com" {
			t.Errorf("linking_profile %+v, want {static, pro_…, alice@example.com}", lp)
		}
		var keys map[string]any
		_ = json.Unmarshal([]byte(dtJSON(tr)), &keys)
		gotKeys := dtMapKeys(keys)
		slices.Sort(gotKeys)
		if want := []string{"access_token", "account_id", "expires_in", "linking_profile", "refresh_token", "scope", "sub", "token_type"}; !slices.Equal(gotKeys, want) {
			t.Errorf("response keys %v, want %v", gotKeys, want)
		}
		v := dtVerifyWithJWKS(t, e.b.Keys().JWKS(), tr.AccessToken)
		c := jwt.MapClaims(v.Claims)
		iat, _ := c.GetIssuedAt()
		exp, _ := c.GetExpirationTime()
		if v.Claims["sub"] != "alice@example.com" || v.Claims["kind"] != "account" || v.Claims["grant_id"] != sa.GrantID ||
			v.Claims["scope"] != dtReadOnly || exp == nil || iat == nil || exp.Sub(iat.Time) != time.Hour {
			t.Errorf("JWT claims %v: want sub alice@example.com (the email), kind account, grant, scope, 3600 s", v.Claims)
		}
		in := e.introspect(e.full, tr.AccessToken)
		if !in.Active || in.Kind != "account" || in.Sub != "alice@example.com" || in.GrantID != sa.GrantID {
			t.Errorf("introspection %+v", in)
		}
		if in := e.introspect(e.full, tr.RefreshToken); !in.Active || in.TokenType != "refresh_token" || in.Sub != "alice@example.com" {
			t.Errorf("refresh token introspection %+v", in)
		}
		// The per-subject JWT works on the §4–§7 API as its subject.
		if ui, err := e.b.UserInfo(e.ctx, e.caller(tr.AccessToken)); err != nil || ui["sub"] != "alice@example.com" {
			t.Errorf("userinfo with the per-subject token: %v, %v", ui, err)
		}

		t.Run("ids stable for the subject", func(t *testing.T) {
			again, err := e.redeemSubject(e.full, e.dtSubjectCode(sa, "alice@example.com", "", rcv), rcv.URL())
			if err != nil {
				t.Fatal(err)
			}
			if again.AccountID != tr.AccountID || again.LinkingProfile.ProfileID != lp.ProfileID {
				t.Errorf("second authorization of alice: account %s profile %s, want %s %s",
					again.AccountID, again.LinkingProfile.ProfileID, tr.AccountID, lp.ProfileID)
			}
			if again.Scope != dtCeiling {
				t.Errorf("no scope: %q, want the ceiling", again.Scope)
			}
			// Stable across grants too: (domain, subject) names the account.
			next := e.grant(e.full, dtGrantOpts{})
			third, err := e.redeemSubject(e.full, e.dtSubjectCode(next, "alice@example.com", "", rcv), rcv.URL())
			if err != nil {
				t.Fatal(err)
			}
			if third.AccountID != tr.AccountID {
				t.Errorf("after re-approval alice is %s, want %s", third.AccountID, tr.AccountID)
			}
			room, err := e.redeemSubject(e.full, e.dtSubjectCode(next, "room-1@example.com", "", rcv), rcv.URL())
			if err != nil {
				t.Fatal(err)
			}
			if room.AccountID == tr.AccountID || room.LinkingProfile.ProfileID == lp.ProfileID || room.LinkingProfile.ProfileName != "room-1@example.com" {
				t.Errorf("room-1: %+v %+v, want its own ids", room, room.LinkingProfile)
			}
			if _, claims := dtClaims(t, room.AccessToken); claims["kind"] != "resource" {
				t.Errorf("room-1 per-subject JWT kind %v, want resource", claims["kind"])
			}
		})
	})
}

func TestDelegated_SubjectAuth_CodeRefusals(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.full, dtGrantOpts{})
	e.grant(e.jwtc, dtGrantOpts{})
	rcv := e.receiver(nil)
	tests := []struct {
		name     string
		redeem   func(code string) error
		wantCode ErrorCode
	}{
		{name: "used twice", redeem: func(code string) error {
			if _, err := e.redeemSubject(e.full, code, rcv.URL()); err != nil {
				return fmt.Errorf("first redemption: %w", err)
			}
			_, err := e.redeemSubject(e.full, code, rcv.URL())
			return err
		}, wantCode: InvalidGrant},
		{name: "other redirect_uri", redeem: func(code string) error {
			_, err := e.redeemSubject(e.full, code, rcv.URL()+"/other")
			return err
		}, wantCode: InvalidGrant},
		{name: "no redirect_uri", redeem: func(code string) error {
			_, err := e.b.Token(e.ctx, TokenRequest{Params: map[string]string{"grant_type": "authorization_code", "code": code},
				Client: e.full.basic(), Meta: e.meta()})
			return err
		}, wantCode: InvalidRequest},
		{name: "another client", redeem: func(code string) error {
			_, err := e.redeemSubject(e.jwtc, code, rcv.URL())
			return err
		}, wantCode: InvalidGrant},
		{name: "expired", redeem: func(code string) error {
			e.clock.Advance(dtCodeTTL + time.Second)
			_, err := e.redeemSubject(e.full, code, rcv.URL())
			return err
		}, wantCode: InvalidGrant},
		{name: "grant revoked before redemption", redeem: func(code string) error {
			e.revoke(e.full, map[string]string{"sub": sa.GrantID})
			_, err := e.redeemSubject(e.full, code, rcv.URL())
			return err
		}, wantCode: InvalidGrant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code := e.dtSubjectCode(sa, "alice@example.com", "", rcv)
			dtWantCode(t, tc.redeem(code), tc.wantCode)
		})
	}
}

// The per-subject refresh token rotates; replaying a rotated one revokes the family,
// including the JWTs minted in it (SPEC §3, §5).
func TestDelegated_SubjectAuth_RefreshRotatesAndReplayRevokesFamily(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		sa := e.grant(e.full, dtGrantOpts{})
		rcv := e.receiver(nil)
		first, err := e.redeemSubject(e.full, e.dtSubjectCode(sa, "alice@example.com", "read_only", rcv), rcv.URL())
		if err != nil {
			t.Fatal(err)
		}
		other, err := e.redeemSubject(e.full, e.dtSubjectCode(sa, "alice@example.com", "read_only", rcv), rcv.URL())
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		second, err := e.refreshSubject(e.full, first.RefreshToken)
		if err != nil {
			t.Fatalf("refreshing: %v", err)
		}
		if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
			t.Fatalf("refresh did not rotate: %+v", second)
		}
		if second.ExpiresIn != 3600 || second.Scope != dtReadOnly || second.AccountID != first.AccountID || second.Sub != first.Sub {
			t.Errorf("refreshed response %+v: want expires_in 3600, the same scope and account", second)
		}
		if _, claims := dtClaims(t, second.AccessToken); claims["sub"] != "alice@example.com" {
			t.Errorf("refreshed JWT sub %v, want alice only", claims["sub"])
		}
		for name, tok := range map[string]string{"first JWT": first.AccessToken, "second JWT": second.AccessToken} {
			if !e.introspect(e.full, tok).Active {
				t.Fatalf("%s inactive before any replay", name)
			}
		}

		_, err = e.refreshSubject(e.full, first.RefreshToken)
		dtWantCode(t, err, InvalidGrant)
		for name, tok := range map[string]string{"first JWT": first.AccessToken, "second JWT": second.AccessToken} {
			if e.introspect(e.full, tok).Active {
				t.Errorf("%s of the replayed family still active at introspection", name)
			}
			if _, err := e.b.Authenticate(e.ctx, tok); err == nil {
				t.Errorf("%s of the replayed family still accepted", name)
			}
		}
		if _, err := e.refreshSubject(e.full, second.RefreshToken); err == nil {
			t.Errorf("the family's current refresh token still works after a replay")
		}
		if n := len(e.eventsOf(EvRefreshReused)); n != 1 {
			t.Errorf("%d refresh.reused events, want 1", n)
		}
		// Another family of the same subject, and the service account, are untouched.
		if !e.introspect(e.full, other.AccessToken).Active {
			t.Errorf("another family of alice was revoked too")
		}
		if _, err := e.b.Authenticate(e.ctx, sa.Access); err != nil {
			t.Errorf("the service-account token died with a per-subject family: %v", err)
		}
	})
}

// Revocation with sub=acc_… kills that subject's per-subject tokens, nothing else (SPEC §8).
func TestDelegated_SubjectAuth_RevokeByAccountID(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		sa := e.grant(e.full, dtGrantOpts{})
		rcv := e.receiver(nil)
		alice, err := e.redeemSubject(e.full, e.dtSubjectCode(sa, "alice@example.com", "", rcv), rcv.URL())
		if err != nil {
			t.Fatal(err)
		}
		bob, err := e.redeemSubject(e.full, e.dtSubjectCode(sa, "bob@example.com", "", rcv), rcv.URL())
		if err != nil {
			t.Fatal(err)
		}
		// Another client cannot revoke alice's account.
		e.grant(e.jwtc, dtGrantOpts{})
		e.revoke(e.jwtc, map[string]string{"sub": alice.AccountID})
		if !e.introspect(e.full, alice.AccessToken).Active {
			t.Fatalf("another client's revocation by acc_ id killed alice's token")
		}

		e.clock.Advance(time.Second)
		e.revoke(e.full, map[string]string{"sub": alice.AccountID})
		if e.introspect(e.full, alice.AccessToken).Active {
			t.Errorf("alice's per-subject JWT active after revocation by %s", alice.AccountID)
		}
		if _, err := e.b.Authenticate(e.ctx, alice.AccessToken); err == nil {
			t.Errorf("alice's per-subject JWT accepted after revocation")
		}
		_, err = e.refreshSubject(e.full, alice.RefreshToken)
		dtWantCode(t, err, InvalidGrant)

		if !e.introspect(e.full, bob.AccessToken).Active {
			t.Errorf("bob's per-subject JWT died with alice's revocation")
		}
		if _, err := e.refreshSubject(e.full, bob.RefreshToken); err != nil {
			t.Errorf("bob's refresh died with alice's revocation: %v", err)
		}
		if _, err := e.b.Authenticate(e.ctx, sa.Access); err != nil {
			t.Fatalf("the service-account token died with a subject's revocation: %v", err)
		}
		e.mint(sa, "bob@example.com", "")

		// Alice can be authorized again afterwards.
		e.clock.Advance(time.Second)
		again, err := e.redeemSubject(e.full, e.dtSubjectCode(sa, "alice@example.com", "", rcv), rcv.URL())
		if err != nil {
			t.Fatal(err)
		}
		if !e.introspect(e.full, again.AccessToken).Active || again.AccountID != alice.AccountID {
			t.Errorf("alice's new authorization after revocation: active %v, account %s (was %s)",
				e.introspect(e.full, again.AccessToken).Active, again.AccountID, alice.AccountID)
		}
	})
}

// Per-subject tokens die with the grant (SPEC §5).
func TestDelegated_SubjectAuth_TokensDieWithTheGrant(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		sa := e.grant(e.full, dtGrantOpts{})
		rcv := e.receiver(nil)
		tr, err := e.redeemSubject(e.full, e.dtSubjectCode(sa, "alice@example.com", "", rcv), rcv.URL())
		if err != nil {
			t.Fatal(err)
		}
		e.grant(e.full, dtGrantOpts{}) // re-approval revokes the grant
		if e.introspect(e.full, tr.AccessToken).Active {
			t.Errorf("per-subject JWT active after its grant was replaced")
		}
		_, err = e.refreshSubject(e.full, tr.RefreshToken)
		dtWantCode(t, err, InvalidGrant)
	})
}

// SPEC §5 retries a callback for 24 h; the code it carries must still be redeemable when it
// finally arrives. Here the receiver is down for 10 minutes (longer than code_ttl, 5 min in
// this broker), then takes the callback, and the application redeems the code at once.
func TestDelegated_SubjectAuth_CodeDeliveredLateIsStillRedeemable(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.full, dtGrantOpts{})
	down := true
	var mu sync.Mutex
	rcv := e.receiver(func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	start := e.clock.Now()
	if err := e.b.RequestSubjectAuthorizations(e.ctx, e.caller(sa.Access),
		[]SubjectAuthorization{dtAuthz("alice@example.com", "", rcv.URL(), "late")}, e.meta()); err != nil {
		t.Fatal(err)
	}
	for e.clock.Now().Sub(start) < 10*time.Minute {
		e.deliverAll()
		e.clock.Advance(5 * time.Second)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	for e.pending() > 0 && e.clock.Now().Sub(start) < 2*time.Hour {
		e.clock.Advance(5 * time.Second)
		e.deliverAll()
	}
	calls := rcv.calls()
	last := calls[len(calls)-1]
	var body struct{ Authorization dtCallbackAuthorization }
	_ = json.Unmarshal(last.Body, &body)
	if body.Authorization.Code == "" {
		t.Fatalf("delivered body %s", last.Body)
	}
	_, err := e.redeemSubject(e.full, body.Authorization.Code, rcv.URL())
	if err != nil {
		t.Fatalf("a code delivered %v after the request (on the %d-th attempt) and redeemed at once: %v",
			last.At.Sub(start), len(calls), err)
	}
}

// The callback queue lives in the store: a replica that claimed a delivery and died (lease
// never acknowledged) loses nothing; another replica sends it once the lease runs out
// (SPEC §5, §10).
func TestDelegated_SubjectAuth_QueueSurvivesAReplicaCrash(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		sa := e.grant(e.full, dtGrantOpts{})
		rcv := e.receiver(nil)
		if err := e.b.RequestSubjectAuthorizations(e.ctx, e.caller(sa.Access),
			[]SubjectAuthorization{dtAuthz("alice@example.com", "", rcv.URL(), "crash")}, e.meta()); err != nil {
			t.Fatal(err)
		}
		// The "crashed" replica claims the delivery and never answers for it.
		if _, err := e.store.ClaimDelivery(e.ctx, e.clock.Now(), deliveryLease); err != nil {
			t.Fatalf("ClaimDelivery: %v", err)
		}
		other := e.replica()
		if other.deliverOne(e.ctx) {
			t.Fatalf("a leased delivery was sent by another replica while the lease runs")
		}
		e.clock.Advance(deliveryLease + time.Second)
		if !other.deliverOne(e.ctx) {
			t.Fatalf("the delivery of a crashed replica was never sent")
		}
		if calls := rcv.calls(); len(calls) != 1 {
			t.Fatalf("receiver got %d callbacks, want 1", len(calls))
		}
		dtParseCallback(t, rcv.calls()[0].Body, "code", "state")
		if n := e.pending(); n != 0 {
			t.Errorf("%d deliveries still queued", n)
		}
	})
}

// Replicas sending concurrently deliver every callback exactly once.
func TestDelegated_SubjectAuth_ConcurrentSendersDeliverOnce(t *testing.T) {
	dtStores(t, func(t *testing.T, s store.Store) {
		e := dtNewEnv(t, s)
		sa := e.grant(e.full, dtGrantOpts{})
		rcv := e.receiver(nil)
		items := make([]SubjectAuthorization, 30)
		for i := range items {
			items[i] = dtAuthz("alice@example.com", "", rcv.URL(), fmt.Sprint(i))
		}
		if err := e.b.RequestSubjectAuthorizations(e.ctx, e.caller(sa.Access), items, e.meta()); err != nil {
			t.Fatal(err)
		}
		senders := []*Broker{e.b, e.replica(), e.replica()}
		var wg sync.WaitGroup
		for _, b := range senders {
			for range 2 {
				wg.Go(func() {
					for b.deliverOne(e.ctx) {
					}
				})
			}
		}
		wg.Wait()
		states := map[string]int{}
		for _, c := range rcv.calls() {
			var body struct{ Authorization dtCallbackAuthorization }
			_ = json.Unmarshal(c.Body, &body)
			states[body.Authorization.State]++
		}
		if len(states) != len(items) {
			t.Errorf("%d distinct callbacks delivered, want %d", len(states), len(items))
		}
		for st, n := range states {
			if n != 1 {
				t.Errorf("callback %s delivered %d times", st, n)
			}
		}
		if n := len(e.eventsOf(EvCallbackDelivered)); n != len(items) {
			t.Errorf("%d callback.delivered events, want %d", n, len(items))
		}
	})
}

// A subject revoked by acc_ id and authorized again right away (the same second, as a
// "disconnect, reconnect" button does) gets working tokens: revocation concerns the tokens
// that existed, not the ones issued after it (SPEC §8).
func TestDelegated_SubjectAuth_ReauthorizedRightAfterRevocation(t *testing.T) {
	e := dtNewEnv(t, dtOpenMiniredis(t))
	sa := e.grant(e.full, dtGrantOpts{})
	rcv := e.receiver(nil)
	first, err := e.redeemSubject(e.full, e.dtSubjectCode(sa, "alice@example.com", "", rcv), rcv.URL())
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Second)
	e.revoke(e.full, map[string]string{"sub": first.AccountID})
	// Spec is silent: a JWT's iat has one-second resolution, so a token issued in the
	// same second as the revocation is refused with the revoked ones (the safer side);
	// one issued in a later second lives.
	e.clock.Advance(time.Second)
	code := e.dtSubjectCode(sa, "alice@example.com", "", rcv)
	again, err := e.redeemSubject(e.full, code, rcv.URL())
	if err != nil {
		t.Fatal(err)
	}
	if e.introspect(e.full, first.AccessToken).Active {
		t.Errorf("the revoked token is active")
	}
	if !e.introspect(e.full, again.AccessToken).Active {
		t.Errorf("a per-subject token issued a second after the revocation is born inactive")
	}
	if _, err := e.b.Authenticate(e.ctx, again.AccessToken); err != nil {
		t.Errorf("a per-subject token issued a second after the revocation is refused: %v", err)
	}
}
