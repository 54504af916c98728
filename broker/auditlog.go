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

// Recorder appends audit events to their domain's hash chain (SPEC §9). Writing the event is
// part of the operation: Record returns an error when the append fails, and callers fail
// the operation with it.
//
// Concurrent appends to one domain are group-committed: one caller at a time writes, taking
// every event queued meanwhile in one store call, so the chain never forks and a burst of
// mints costs a few store round trips instead of one each. Another process appending to the
// same domain (a replica, the CLI) makes the store answer ErrConflict; the recorder then
// re-reads the head and retries.
type Recorder struct {
	store store.Audit
	now   func() time.Time

	mu     sync.Mutex
	chains map[string]*chain
}

type chain struct {
	mu         sync.Mutex // guards queue and committing
	queue      []*batch
	committing bool // a caller is writing; the others wait for their batch's wake

	// head and known belong to the committing caller.
	head  string // the store's head after our last append; valid when known
	known bool
}

// batch is one caller's events. wake is closed when the caller may go on: either its events
// were written by another caller's commit (err is the outcome), or lead is set and it must
// commit itself (the previous committer hands the chain over instead of writing everybody's
// events in a loop, so no caller waits for more than its own round).
type batch struct {
	events []store.AuditEvent
	wake   chan struct{}
	lead   bool
	err    error
}

// NewRecorder returns a Recorder on s. now nil means time.Now.
func NewRecorder(s store.Audit, now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	return &Recorder{store: s, now: now, chains: map[string]*chain{}}
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

func (r *Recorder) append(ctx context.Context, domain string, events []store.AuditEvent) error {
	c := r.chain(domain)
	b := &batch{events: events, wake: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, b)
	if c.committing {
		c.mu.Unlock()
		<-b.wake // no convoy: waiters sleep on their own channel, not on a shared lock
		if !b.lead {
			return b.err
		}
		c.mu.Lock()
	}
	c.committing = true
	batches := c.queue
	c.queue = nil
	c.mu.Unlock()

	err := r.commit(ctx, domain, c, batches)

	c.mu.Lock()
	var next *batch
	if len(c.queue) > 0 {
		next = c.queue[0] // stays queued: its commit takes it with whatever else arrived
		next.lead = true
	} else {
		c.committing = false
	}
	c.mu.Unlock()
	for _, q := range batches {
		q.err = err
		if !q.lead { // a leader's wake was closed when it was handed the chain
			close(q.wake)
		}
	}
	if next != nil {
		close(next.wake)
	}
	return err
}

// commit writes every queued batch as one chained append, retrying on ErrConflict.
func (r *Recorder) commit(ctx context.Context, domain string, c *chain, batches []*batch) error {
	n := 0
	for _, b := range batches {
		n += len(b.events)
	}
	all := make([]store.AuditEvent, 0, n)
	for _, b := range batches {
		all = append(all, b.events...)
	}
	// Another process appending to the same domain moves the head; re-read and retry with a
	// growing, jittered pause, for up to auditRetryBudget in all.
	deadline := time.Now().Add(auditRetryBudget)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if time.Now().After(deadline) {
				break
			}
			pause := time.Duration(1+rand.IntN(1<<min(attempt, 6))) * time.Millisecond
			select {
			case <-ctx.Done():
				return storeErr("audit append", ctx.Err())
			case <-time.After(pause):
			}
		}
		if !c.known {
			head, err := r.store.AuditHead(ctx, domain)
			if err != nil {
				return storeErr("audit head", err)
			}
			c.head, c.known = head, true
		}
		prev := c.head
		if prev == "" {
			prev = audit.Genesis
		}
		for i := range all {
			all[i].PrevHash = prev
			all[i].Hash = audit.Hash(all[i])
			prev = all[i].Hash
		}
		err := r.store.AppendAudit(ctx, domain, c.head, all)
		if err == nil {
			c.head = prev
			return nil
		}
		c.known = false
		if !errors.Is(err, store.ErrConflict) {
			return storeErr("audit append", err)
		}
	}
	return storeErr("audit append", fmt.Errorf("domain %q: chain head kept moving: %w", domain, store.ErrConflict))
}
