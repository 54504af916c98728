package broker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// clientTTL bounds how long a replica trusts its copy of a client record. Client records
// never change after registration; deletion revokes the client's grants in the store at
// once (so every token dies at once), and this replica forgets the record within clientTTL.
const clientTTL = 30 * time.Second

// clientCache keeps client records in process memory, so client authentication on the
// token path costs no store round trip. The zero value is ready.
type clientCache struct {
	mu sync.RWMutex
	m  map[string]cachedClient
}

type cachedClient struct {
	c  store.Client
	at time.Time
}

const clientCacheMax = 10_000

// client returns the client with that id, from the cache or the store.
func (b *Broker) client(ctx context.Context, id string) (store.Client, error) {
	now := b.now()
	b.clients.mu.RLock()
	e, ok := b.clients.m[id]
	b.clients.mu.RUnlock()
	if ok && now.Sub(e.at) < clientTTL {
		return e.c, nil
	}
	c, err := b.store.GetClient(ctx, id)
	if err != nil {
		return c, err
	}
	b.clients.mu.Lock()
	if b.clients.m == nil || len(b.clients.m) >= clientCacheMax {
		b.clients.m = map[string]cachedClient{}
	}
	b.clients.m[id] = cachedClient{c: c, at: now}
	b.clients.mu.Unlock()
	return c, nil
}

// usage gathers delegated-token counts per grant and writes them to the store once a
// second (RecordGrantUse), so a mint does not wait for a bookkeeping write. Spec is silent
// on how fresh last_used_at must be; a second is fresher than any admin page reload, and a
// crash loses at most that second of counts, never a token or an audit event. Without a
// running flush loop (Run), every use is written at once.
type usage struct {
	running atomic.Bool
	mu      sync.Mutex
	pending map[string]int
	last    map[string]time.Time
}

// recordUse notes n delegated tokens minted for grant id at now.
func (b *Broker) recordUse(ctx context.Context, id string, now time.Time, n int) error {
	if !b.usage.running.Load() {
		if err := b.store.RecordGrantUse(ctx, id, now, n); err != nil {
			return storeErr("record grant use", err)
		}
		return nil
	}
	b.usage.mu.Lock()
	if b.usage.pending == nil {
		b.usage.pending, b.usage.last = map[string]int{}, map[string]time.Time{}
	}
	b.usage.pending[id] += n
	b.usage.last[id] = now
	b.usage.mu.Unlock()
	return nil
}

// flushUsage writes the gathered counts.
func (b *Broker) flushUsage(ctx context.Context) {
	b.usage.mu.Lock()
	pending, last := b.usage.pending, b.usage.last
	b.usage.pending, b.usage.last = nil, nil
	b.usage.mu.Unlock()
	for id, n := range pending {
		if err := b.store.RecordGrantUse(ctx, id, last[id], n); err != nil {
			b.log.WarnContext(ctx, "recording grant use failed", "grant_id", id, "err", err)
		}
	}
}

// Run does the broker's background work until ctx ends: callback deliveries (SPEC §5) and
// the once-a-second grant usage flush. Call it once per process.
func (b *Broker) Run(ctx context.Context) {
	b.usage.running.Store(true)
	go b.RunDeliveries(ctx)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			b.flushUsage(context.WithoutCancel(ctx))
			return
		case <-t.C:
			b.flushUsage(ctx)
		}
	}
}

// elevationTTL bounds how long a replica reuses what it read of a subject's elevations.
// Elevations only ever add access, and this replica forgets its copy the moment it records
// one, so the staleness is bounded to elevationTTL for an elevation made on another
// replica, and it can only delay extra access, never extend it: a revoked grant mints
// nothing (its access tokens are refused by the store), whatever is cached.
const elevationTTL = time.Second

// elevationCache keeps recent Elevations answers per (grant, subject). The zero value is
// ready.
type elevationCache struct {
	mu sync.Mutex
	m  map[string]cachedElevations
}

type cachedElevations struct {
	cals []string
	at   time.Time
}

const elevationCacheMax = 100_000

// elevations returns the elevated calendars of subjects under grant, reading from the
// store only the subjects not cached (one round trip at most).
func (b *Broker) elevations(ctx context.Context, grantID string, subjects []string) (map[string][]string, error) {
	now := b.now()
	out := make(map[string][]string, len(subjects))
	var missing []string
	b.elev.mu.Lock()
	for _, s := range subjects {
		if e, ok := b.elev.m[grantID+"\x00"+s]; ok && now.Sub(e.at) < elevationTTL {
			if e.cals != nil {
				out[s] = e.cals
			}
			continue
		}
		missing = append(missing, s)
	}
	b.elev.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	got, err := b.store.Elevations(ctx, grantID, missing)
	if err != nil {
		return nil, err
	}
	b.elev.mu.Lock()
	if b.elev.m == nil || len(b.elev.m)+len(missing) > elevationCacheMax {
		b.elev.m = map[string]cachedElevations{}
	}
	for _, s := range missing {
		b.elev.m[grantID+"\x00"+s] = cachedElevations{cals: got[s], at: now}
		if c := got[s]; c != nil {
			out[s] = c
		}
	}
	b.elev.mu.Unlock()
	return out, nil
}

// forgetElevations drops this replica's copy after it records an elevation.
func (b *Broker) forgetElevations(grantID, subject string) {
	b.elev.mu.Lock()
	delete(b.elev.m, grantID+"\x00"+subject)
	b.elev.mu.Unlock()
}
