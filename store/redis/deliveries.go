package redis

import (
	"context"
	"encoding/json"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// deliveryJSON is the immutable part of a Delivery, in the j field of d:<id>; Attempts,
// NextAt and LeaseUntil live in the a, n and l fields. Deliveries get no TTL: the sender
// acks them, also when it gives up after GiveUpAt (and audits callback.failed).
type deliveryJSON struct {
	store.Delivery
	CreatedAt, NextAt, GiveUpAt, LeaseUntil int64
}

// EnqueueDeliveries stores ds in one script, all or none; ErrExists when an id is taken
// (also twice within ds).
func (s *Store) EnqueueDeliveries(ctx context.Context, ds []store.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(ds))
	args := make([]any, 0, 4*len(ds))
	for _, d := range ds {
		if seen[d.ID] {
			return store.ErrExists
		}
		seen[d.ID] = true
		b, err := json.Marshal(deliveryJSON{Delivery: d, CreatedAt: ms(d.CreatedAt), GiveUpAt: ms(d.GiveUpAt)})
		if err != nil {
			return err
		}
		args = append(args, d.ID, b, ms(d.NextAt), d.Attempts)
	}
	st, _, err := s.run(ctx, s.sc.enqueue, nil, args...)
	if err != nil {
		return err
	}
	return okOr(st)
}

// ClaimDelivery leases the due delivery with the lowest queue score (its NextAt, or the end
// of a lease that ran out) until now+lease and returns it; ErrNotFound when none is due.
// One script, so a delivery is leased to one claimer at a time.
func (s *Store) ClaimDelivery(ctx context.Context, now time.Time, lease time.Duration) (store.Delivery, error) {
	until := now.Add(lease)
	st, rest, err := s.run(ctx, s.sc.claim, nil, now.UnixMilli(), ms(until))
	if err != nil {
		return store.Delivery{}, err
	}
	if err := okOr(st); err != nil {
		return store.Delivery{}, err
	}
	var w deliveryJSON
	if err := json.Unmarshal([]byte(str(rest[0])), &w); err != nil {
		return store.Delivery{}, corrupt("delivery", err)
	}
	d := w.Delivery
	d.CreatedAt, d.GiveUpAt = fromMS(w.CreatedAt), fromMS(w.GiveUpAt)
	d.NextAt = fromMS(msString(rest[1]))
	d.Attempts = int(msString(rest[2]))
	d.LeaseUntil = fromMS(ms(until))
	return d, nil
}

// AckDelivery removes a delivered (or given-up) delivery; unknown ids are not an error.
func (s *Store) AckDelivery(ctx context.Context, id string) error {
	_, _, err := s.run(ctx, s.sc.ack, []string{s.key("d:", id)}, id)
	return err
}

// RetryDelivery ends the lease and schedules the next attempt (Attempts = attempts, NextAt =
// nextAt) in one script. ErrNotFound when the id is unknown.
func (s *Store) RetryDelivery(ctx context.Context, id string, attempts int, nextAt time.Time) error {
	st, _, err := s.run(ctx, s.sc.retry, []string{s.key("d:", id)}, id, attempts, ms(nextAt))
	if err != nil {
		return err
	}
	return okOr(st)
}

// PendingDeliveries counts queued deliveries, leased ones included.
func (s *Store) PendingDeliveries(ctx context.Context) (int, error) {
	n, err := s.cmd.ZCard(ctx, s.key(keyQueue)).Result()
	if err != nil {
		return 0, unavailable(err)
	}
	return int(n), nil
}
