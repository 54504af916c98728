package embedded

import (
	"context"
	"time"

	"github.com/enterprise-connect/broker/store"
)

const deliveryColumns = `id, client_id, grant_id, domain, subject, url, body, attempts,
	created_at, next_at, give_up_at, lease_until`

// EnqueueDeliveries stores ds in one transaction. ErrExists when an id is taken (then
// none is stored). The stored LeaseUntil is what each delivery carries (zero: not leased).
func (s *Store) EnqueueDeliveries(ctx context.Context, ds []store.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	return s.write(ctx, "enqueue deliveries", func(tx *wtx) error {
		for _, d := range ds {
			if _, err := tx.exec(`INSERT INTO deliveries (`+deliveryColumns+`)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				d.ID, d.ClientID, d.GrantID, d.Domain, d.Subject, d.URL, d.Body, d.Attempts,
				ms(d.CreatedAt), ms(d.NextAt), ms(d.GiveUpAt), ms(d.LeaseUntil)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ClaimDelivery leases the due delivery (NextAt <= now, lease run out: LeaseUntil <= now)
// with the earliest NextAt (then the earliest enqueued) until now+lease and returns it, with
// LeaseUntil set. ErrNotFound when none is due. One UPDATE … RETURNING inside a write
// transaction: a delivery is leased to one claimer at a time, across processes too.
func (s *Store) ClaimDelivery(ctx context.Context, now time.Time, lease time.Duration) (store.Delivery, error) {
	var d store.Delivery
	err := s.write(ctx, "claim delivery", func(tx *wtx) error {
		var err error
		d, err = scanDelivery(tx.row(`UPDATE deliveries SET lease_until = ?1
			WHERE rowid = (SELECT rowid FROM deliveries
				WHERE next_at <= ?2 AND lease_until <= ?2 ORDER BY next_at, rowid LIMIT 1)
			RETURNING `+deliveryColumns, ms(now.Add(lease)), ms(now)))
		return err
	})
	if err != nil {
		return store.Delivery{}, err
	}
	return d, nil
}

// AckDelivery removes a delivered (or given-up) delivery. Unknown ids are not an error.
func (s *Store) AckDelivery(ctx context.Context, id string) error {
	return s.write(ctx, "ack delivery", func(tx *wtx) error {
		_, err := tx.exec(`DELETE FROM deliveries WHERE id = ?`, id)
		return err
	})
}

// RetryDelivery ends the lease and schedules the next attempt: Attempts = attempts,
// NextAt = nextAt. ErrNotFound when the id is unknown.
func (s *Store) RetryDelivery(ctx context.Context, id string, attempts int, nextAt time.Time) error {
	return s.write(ctx, "retry delivery", func(tx *wtx) error {
		return mustAffect(tx.exec(`UPDATE deliveries
			SET attempts = ?, next_at = ?, lease_until = ? WHERE id = ?`,
			attempts, ms(nextAt), zeroMillis, id))
	})
}

// PendingDeliveries counts queued deliveries, leased or not (for metrics and tests).
func (s *Store) PendingDeliveries(ctx context.Context) (int, error) {
	var n int
	if err := s.row(ctx, `SELECT count(*) FROM deliveries`).Scan(&n); err != nil {
		return 0, classify("pending deliveries", err)
	}
	return n, nil
}

func scanDelivery(row scanner) (store.Delivery, error) {
	var (
		d                               store.Delivery
		created, next, giveUp, leaseEnd int64
	)
	err := row.Scan(&d.ID, &d.ClientID, &d.GrantID, &d.Domain, &d.Subject, &d.URL, &d.Body,
		&d.Attempts, &created, &next, &giveUp, &leaseEnd)
	if err != nil {
		return store.Delivery{}, err
	}
	d.CreatedAt, d.NextAt = fromMS(created), fromMS(next)
	d.GiveUpAt, d.LeaseUntil = fromMS(giveUp), fromMS(leaseEnd)
	return d, nil
}
