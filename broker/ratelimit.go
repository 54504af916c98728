package broker

import (
	"context"
	"math"
	"sync"
	"time"
)

// Rate limits fall on failures only (SPEC §10): a failed sign-in or client authentication
// is counted in the shared store, and the replica that sees the count reach the limit
// remembers, in memory, that the key is blocked until the window ends. So the success path
// costs no store round trip, and across replicas at most one extra failure per replica
// slips through before each replica has learnt of the block.

// blocks is the in-memory view of keys over their limit. The zero value is ready.
type blocks struct {
	mu    sync.Mutex
	until map[string]time.Time
}

const maxBlocks = 100_000

func (bl *blocks) get(key string, now time.Time) (time.Time, bool) {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	u, ok := bl.until[key]
	if !ok || !now.Before(u) {
		return time.Time{}, false
	}
	return u, true
}

func (bl *blocks) set(key string, until, now time.Time) {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	if bl.until == nil {
		bl.until = map[string]time.Time{}
	}
	if len(bl.until) >= maxBlocks {
		for k, u := range bl.until {
			if !now.Before(u) {
				delete(bl.until, k)
			}
		}
		if len(bl.until) >= maxBlocks { // all live: keep memory bounded, forget the oldest half at random
			n := 0
			for k := range bl.until {
				if n++; n > maxBlocks/2 {
					break
				}
				delete(bl.until, k)
			}
		}
	}
	bl.until[key] = until
}

// throttled refuses key while it is blocked: too_many_requests with Retry-After.
func (b *Broker) throttled(_ context.Context, l RateLimit, key, what string) error {
	if l.Limit <= 0 || l.Window <= 0 {
		return nil
	}
	now := b.now()
	until, ok := b.blocks.get(key, now)
	if !ok {
		return nil
	}
	secs := int(math.Ceil(until.Sub(now).Seconds()))
	return &Error{Code: TooManyRequests, Description: "too many failed " + what + "; try again later", RetryAfter: max(secs, 1)}
}

// countFailure adds one failure to key's window in the store and blocks the key locally
// once the window holds Limit failures.
func (b *Broker) countFailure(ctx context.Context, l RateLimit, key string) error {
	if l.Limit <= 0 || l.Window <= 0 {
		return nil
	}
	now := b.now()
	n, resetAt, err := b.store.Hit(ctx, key, l.Window, now)
	if err != nil {
		return storeErr("rate limit", err)
	}
	if n >= l.Limit {
		b.blocks.set(key, resetAt, now)
	}
	return nil
}

// clearFailures forgets key's failures (a successful sign-in clears its account's count).
func (b *Broker) clearFailures(ctx context.Context, key string) error {
	b.blocks.mu.Lock()
	delete(b.blocks.until, key)
	b.blocks.mu.Unlock()
	if err := b.store.ResetLimit(ctx, key); err != nil {
		return storeErr("rate limit", err)
	}
	return nil
}
