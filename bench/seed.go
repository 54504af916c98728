package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/enterprise-connect/broker/broker/audit"
	"github.com/enterprise-connect/broker/store"
)

// seed fills the store with grants and audit events spread over many domains (issue 6:
// 1,000,000 grants and 5,000,000 events across 1,000 domains), through the store's own
// operations: CreateGrant, and AppendAudit in chained batches of 1,000.
func seed(ctx context.Context, fx *fixture, o options) error {
	start := time.Now()
	domain := func(i int) string { return fmt.Sprintf("seed-%04d.example", i%o.seedDomains) }
	var done atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	const workers = 64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < o.seedGrants; i += workers {
				g := store.Grant{ID: "ser_" + base62(24), ClientID: fmt.Sprintf("cli_seed%06d", i%5000), Domain: domain(i),
					Scope: "service_account/accounts/manage", DelegatedScope: "list_calendars read_account read_events read_free_busy",
					ApprovedBy: "seed@" + domain(i), ApprovedAt: time.Now().UTC(), Status: store.GrantActive}
				if _, err := fx.store.CreateGrant(ctx, g); err != nil {
					errc <- err
					return
				}
				if n := done.Add(1); n%100000 == 0 {
					fmt.Fprintf(os.Stderr, "  %d grants (%s)\n", n, time.Since(start).Round(time.Second))
				}
			}
		}(w)
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	fmt.Fprintf(os.Stderr, "%d grants in %s\n", o.seedGrants, time.Since(start).Round(time.Second))

	start = time.Now()
	perDomain := o.seedEvents / o.seedDomains
	var events atomic.Int64
	sem := make(chan struct{}, 32)
	for d := 0; d < o.seedDomains && perDomain > 0; d++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(d int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := seedChain(ctx, fx.store, domain(d), perDomain); err != nil {
				errc <- err
				return
			}
			if n := events.Add(int64(perDomain)); n%500000 < int64(perDomain) {
				fmt.Fprintf(os.Stderr, "  %d events (%s)\n", n, time.Since(start).Round(time.Second))
			}
		}(d)
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	fmt.Fprintf(os.Stderr, "%d audit events in %s\n", events.Load(), time.Since(start).Round(time.Second))
	return nil
}

// seedRetention is how far back seeded events go: SPEC §9's default audit_retention, so the
// seeded history looks like what a store retains.
const seedRetention = 90 * 24 * time.Hour

// seedChain appends n chained events to one domain in batches of 1,000, their times spread
// evenly over the seedRetention before now in chain order (event i of n at
// now - seedRetention + i*seedRetention/n).
func seedChain(ctx context.Context, s store.Audit, domain string, n int) error {
	head, err := s.AuditHead(ctx, domain)
	if err != nil {
		return err
	}
	prev := head
	if prev == "" {
		prev = audit.Genesis
	}
	start, step := time.Now().UTC().Add(-seedRetention), seedRetention/time.Duration(max(n, 1))
	for done := 0; done < n; {
		batch := make([]store.AuditEvent, 0, min(1000, n-done))
		for len(batch) < cap(batch) {
			when := start.Add(step * time.Duration(done+len(batch)))
			e := store.AuditEvent{ID: "evt_" + base62(24), Time: when.Format(audit.TimeFormat), Type: "delegated.minted",
				Domain: domain, ClientID: "cli_seed", GrantID: "ser_seed", Actor: "ser_seed", Subject: "user@" + domain,
				Scope: "read_account", Result: "success", PrevHash: prev}
			e.Hash = audit.Hash(e)
			prev = e.Hash
			batch = append(batch, e)
		}
		if err := s.AppendAudit(ctx, domain, head, batch); err != nil {
			return err
		}
		head = prev
		done += len(batch)
	}
	return nil
}
