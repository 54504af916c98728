package broker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/enterprise-connect/broker/broker/audit"
	"github.com/enterprise-connect/broker/store"
)

// Audit event types (SPEC §9).
const (
	EvAuthorizationRequested = "authorization.requested"
	EvAuthorizationApproved  = "authorization.approved"
	EvAuthorizationDenied    = "authorization.denied"
	EvSigninFailed           = "signin.failed"
	EvCodeIssued             = "code.issued"
	EvCodeRedeemed           = "code.redeemed"
	EvCodeReused             = "code.reused"
	EvRefreshReused          = "refresh.reused"
	EvTokenIssued            = "token.issued"
	EvTokenRefreshed         = "token.refreshed"
	EvTokenRevoked           = "token.revoked"
	EvDelegatedMinted        = "delegated.minted"
	EvUpstreamMinted         = "upstream.minted"
	EvPermissionElevated     = "permission.elevated"
	EvGrantRevoked           = "grant.revoked"
	EvClientAuthFailed       = "client_auth.failed"
	EvCallbackDelivered      = "callback.delivered"
	EvCallbackFailed         = "callback.failed"
)

// auditRetryBudget bounds how long an append keeps retrying when other replicas keep moving
// the chain's head.
const auditRetryBudget = 3 * time.Second

// Audit results.
const (
	resultSuccess = "success"
	resultFailure = "failure"
)

// auditDepth is how many appends to one domain's chain may be in flight at once on a store
// that keeps their order (store.AuditPipeline): each is chained on the head the one before
// it will leave, so a burst waits for one round trip instead of queueing behind the
// previous append's. More in flight means smaller batches, and one script each.
const auditDepth = 2

// Recorder appends audit events to their domain's hash chain (SPEC §9). Writing the event is
// part of the operation: Record returns an error when the append fails, and callers fail
// the operation with it.
//
// Concurrent appends to one domain are group-committed: one caller at a time (the leader)
// takes every event queued meanwhile, chains it on the head the appends before it leave
// and submits it in one store call. On a store.AuditPipeline the leader hands the chain on
// as soon as its append is submitted, so up to auditDepth appends are in flight, in order;
// elsewhere it hands it on when its append has answered. The store refuses an append whose
// expected head is not the current one, so the chain never forks: an append that fails
// makes the head unknown, the ones submitted after it fail with ErrConflict, and the next
// leader re-reads the head once none is in flight. Another process appending to the same
// domain (a replica, the CLI) also makes the store answer ErrConflict; a caller whose
// append conflicted queues its events again, first, after a short jittered pause, for up
// to auditRetryBudget.
type Recorder struct {
	store  store.Audit
	submit func(ctx context.Context, domain, prevHash string, events []store.AuditEvent) (wait func() error)
	depth  int
	now    func() time.Time

	mu     sync.Mutex
	chains map[string]*chain
}

type chain struct {
	mu       sync.Mutex
	queue    []*batch
	leading  bool // a caller holds the right to submit the next append
	inflight int  // appends submitted and not answered yet
	// head is what the store's head will be once every submitted append succeeds; known
	// false after a failure until a leader re-reads it. gen counts failures, so a leader
	// that read head before one does not store its prediction.
	head  string
	known bool
	gen   uint64
}

// batch is one caller's events, or a caller's retry of the events it led. wake is closed
// once: either the events were written by another caller's append (err is the outcome), or
// lead is set and the caller leads. A leader delivers the outcome to the other callers'
// batches it took.
type batch struct {
	events   []store.AuditEvent
	wake     chan struct{}
	lead     bool
	err      error
	deadline time.Time // retries stop after it
	attempt  int       // appends of these events that conflicted
}

// NewRecorder returns a Recorder on s. now nil means time.Now.
func NewRecorder(s store.Audit, now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	r := &Recorder{store: s, now: now, chains: map[string]*chain{}, depth: 1}
	r.submit = func(ctx context.Context, domain, prevHash string, events []store.AuditEvent) func() error {
		err := s.AppendAudit(ctx, domain, prevHash, events)
		return func() error { return err }
	}
	if p, ok := s.(store.AuditPipeline); ok {
		r.submit, r.depth = p.SubmitAudit, auditDepth
	}
	return r
}

// Event is what a caller knows of an audit event; the recorder adds id, time, hashes.
type Event = store.AuditEvent

// Record appends events (of any domains) and returns once all are stored. Empty Result
// means success.
func (r *Recorder) Record(ctx context.Context, events ...Event) error {
	now := r.now().UTC().Format(audit.TimeFormat)
	out := make([]store.AuditEvent, len(events))
	oneDomain := true
	for i, e := range events {
		if e.ID == "" {
			e.ID = newID("evt_")
		}
		if e.Time == "" {
			e.Time = now
		}
		if e.Result == "" {
			e.Result = resultSuccess
		}
		audit.Clean(&e)
		out[i] = e
		oneDomain = oneDomain && e.Domain == out[0].Domain
	}
	if len(out) == 0 {
		return nil
	}
	if oneDomain { // the usual case: no regrouping
		return r.append(ctx, out[0].Domain, out)
	}
	byDomain := map[string][]store.AuditEvent{}
	var order []string
	for _, e := range out {
		if _, ok := byDomain[e.Domain]; !ok {
			order = append(order, e.Domain)
		}
		byDomain[e.Domain] = append(byDomain[e.Domain], e)
	}
	for _, d := range order {
		if err := r.append(ctx, d, byDomain[d]); err != nil {
			return err
		}
	}
	return nil
}

func (r *Recorder) chain(domain string) *chain {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.chains[domain]
	if !ok {
		c = &chain{}
		r.chains[domain] = c
	}
	return c
}

// append returns once events are stored in domain's chain, written by this caller or by
// another one's append.
func (r *Recorder) append(ctx context.Context, domain string, events []store.AuditEvent) error {
	c := r.chain(domain)
	b := &batch{events: events, wake: make(chan struct{}), deadline: time.Now().Add(auditRetryBudget)}
	var owed []*batch // other callers' batches this caller took: it delivers their outcome
	var err error
	for {
		taken, lead := c.enqueue(b, r.depth)
		if !lead { // written by another caller's append
			err = b.err
			break
		}
		err = r.write(ctx, domain, c, taken)
		deadline, attempt := b.deadline, b.attempt
		for _, q := range taken {
			if q.deadline.Before(deadline) {
				deadline = q.deadline
			}
			attempt = max(attempt, q.attempt)
			if q != b {
				owed = append(owed, q)
			}
		}
		if !errors.Is(err, store.ErrConflict) {
			break
		}
		if time.Now().After(deadline) {
			err = storeErr("audit append", fmt.Errorf("domain %q: chain head kept moving: %w", domain, store.ErrConflict))
			break
		}
		// The head moved (another process, or an append of ours before this one failed):
		// queue the events again, first, after a growing, jittered pause.
		pause := time.NewTimer(time.Duration(1+rand.IntN(1<<min(attempt+1, 6))) * time.Millisecond)
		select {
		case <-ctx.Done():
			pause.Stop()
			err = storeErr("audit append", ctx.Err())
		case <-pause.C:
		}
		if !errors.Is(err, store.ErrConflict) {
			break
		}
		var all []store.AuditEvent
		for _, q := range taken {
			all = append(all, q.events...)
		}
		b = &batch{events: all, wake: make(chan struct{}), deadline: deadline, attempt: attempt + 1}
	}
	for _, q := range owed {
		q.err = err
		close(q.wake)
	}
	return err
}

// enqueue queues b (first when it is a retry) and waits until another caller's append wrote
// it (lead false: b.err is the outcome) or this caller may lead: then it returns every
// queued batch, b included.
func (c *chain) enqueue(b *batch, depth int) (taken []*batch, lead bool) {
	c.mu.Lock()
	if b.attempt > 0 {
		c.queue = append([]*batch{b}, c.queue...)
	} else {
		c.queue = append(c.queue, b)
	}
	if c.mayLead(depth) {
		c.leading = true
	} else {
		c.mu.Unlock()
		<-b.wake // no convoy: waiters sleep on their own channel, not on a shared lock
		if !b.lead {
			return nil, false
		}
		c.mu.Lock()
	}
	taken, c.queue = c.queue, nil
	c.mu.Unlock()
	return taken, true
}

// mayLead reports whether a caller may submit the next append now: nobody else leads, fewer
// than depth are in flight, and the head is known or nothing is in flight (a leader then
// reads it). c.mu held.
func (c *chain) mayLead(depth int) bool {
	return !c.leading && c.inflight < depth && (c.known || c.inflight == 0)
}

// handOff makes the oldest queued batch's caller the leader when one may lead. c.mu held.
func (c *chain) handOff(depth int) {
	if len(c.queue) == 0 || !c.mayLead(depth) {
		return
	}
	next := c.queue[0] // stays queued: its leader takes it with whatever else arrived
	next.lead, c.leading = true, true
	close(next.wake)
}

// write chains the taken batches' events on the predicted head (read from the store when
// unknown), submits them as one append, hands the chain on and waits for the outcome.
func (r *Recorder) write(ctx context.Context, domain string, c *chain, taken []*batch) error {
	n := 0
	for _, q := range taken {
		n += len(q.events)
	}
	all := make([]store.AuditEvent, 0, n)
	for _, q := range taken {
		all = append(all, q.events...)
	}
	c.mu.Lock()
	gen, head, known := c.gen, c.head, c.known
	c.mu.Unlock()
	if !known {
		h, err := r.store.AuditHead(ctx, domain)
		if err != nil {
			c.mu.Lock()
			c.leading = false
			c.handOff(r.depth)
			c.mu.Unlock()
			return storeErr("audit head", err)
		}
		head = h
	}
	prev := head
	if prev == "" {
		prev = audit.Genesis
	}
	for i := range all {
		all[i].PrevHash = prev
		all[i].Hash = audit.Hash(all[i])
		prev = all[i].Hash
	}
	wait := r.submit(ctx, domain, head, all)
	c.mu.Lock()
	c.inflight++
	if c.gen == gen { // no append failed since head was read: it moves on with ours
		c.head, c.known = prev, true
	}
	c.leading = false
	c.handOff(r.depth)
	c.mu.Unlock()

	err := wait()
	c.mu.Lock()
	c.inflight--
	if err != nil {
		c.gen++
		c.known = false
	}
	c.handOff(r.depth)
	c.mu.Unlock()
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return storeErr("audit append", err)
	}
	return err
}
