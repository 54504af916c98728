package embedded

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// Each domain's chain is the rows of audit_events with that chain value, ordered by seq
// (AUTOINCREMENT: never reused, even after trimming); audit_chains keeps its head (the
// newest appended hash, which stays when everything is trimmed) and anchor (the newest
// trimmed hash).

const auditColumns = `id, time, type, domain, client_id, grant_id, actor, subject, scope,
	result, error, ip, request_id, prev_hash, hash`

// AuditHead returns the hash of the domain's newest event, or the chain's anchor when every
// event was trimmed, or "" for a chain that never had an event.
func (s *Store) AuditHead(ctx context.Context, domain string) (string, error) {
	return s.chainField(ctx, "audit head", `head`, domain)
}

// AuditAnchor returns the hash of the domain's newest trimmed event ("" when none was
// trimmed): the prev_hash its oldest kept event must carry.
func (s *Store) AuditAnchor(ctx context.Context, domain string) (string, error) {
	return s.chainField(ctx, "audit anchor", `anchor`, domain)
}

func (s *Store) chainField(ctx context.Context, op, col, domain string) (string, error) {
	var v string
	err := s.row(ctx, `SELECT `+col+` FROM audit_chains WHERE domain = ?`,
		domain).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", classify(op, err)
	}
	return v, nil
}

// AppendAudit appends events to domain's chain in one transaction, if and only if the
// domain's head is still prevHash ("" for a chain without events); otherwise ErrConflict
// and nothing is written. The events are stored verbatim (their own Domain field
// included, since their hashes cover it); this store does not recompute or check their
// hashes. An empty events only checks the head.
func (s *Store) AppendAudit(ctx context.Context, domain, prevHash string, events []store.AuditEvent) error {
	return s.write(ctx, "append audit", func(tx *wtx) error {
		var head string
		err := tx.row(`SELECT head FROM audit_chains WHERE domain = ?`,
			domain).Scan(&head)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if head != prevHash {
			return store.ErrConflict
		}
		if len(events) == 0 {
			return nil
		}
		const insert = `INSERT INTO audit_events (chain, time_ms, ` + auditColumns + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
		for _, e := range events {
			if _, err := tx.exec(insert, domain, eventMillis(e.Time),
				e.ID, e.Time, e.Type, e.Domain, e.ClientID, e.GrantID, e.Actor, e.Subject,
				e.Scope, e.Result, e.Error, e.IP, e.RequestID, e.PrevHash, e.Hash); err != nil {
				return err
			}
		}
		_, err = tx.exec(`INSERT INTO audit_chains (domain, head, anchor)
			VALUES (?, ?, '') ON CONFLICT (domain) DO UPDATE SET head = excluded.head`,
			domain, events[len(events)-1].Hash)
		return err
	})
}

// eventMillis parses an event's RFC 3339 time; zeroMillis when it does not parse, which
// sorts such an event as the oldest, keeps it out of Since filters and stops trimming at it.
func eventMillis(t string) int64 {
	parsed, err := time.Parse(time.RFC3339Nano, t)
	if err != nil {
		return zeroMillis
	}
	return ms(parsed)
}

// trimChunk bounds how many events one TrimAudit transaction deletes, so that trimming a
// long chain never holds the write lock for long.
const trimChunk = 2000

// TrimAudit removes the domain's events older than before (by Time), keeping the hash of
// the newest removed one as the anchor, and returns how many it removed. It removes the
// longest prefix of the chain whose events are all older than before, so the chain stays
// verifiable from its anchor: an event at or after before (or with an unparsable time)
// stops the trim even when older events follow it (clocks of replicas differ). It works in
// transactions of trimChunk events, each moving the anchor with what it deletes.
func (s *Store) TrimAudit(ctx context.Context, domain string, before time.Time) (int, error) {
	total := 0
	for {
		n, done, err := s.trimAuditChunk(ctx, domain, ms(before))
		total += n
		if err != nil || done {
			return total, err
		}
	}
}

func (s *Store) trimAuditChunk(ctx context.Context, domain string, before int64) (removed int, done bool, err error) {
	err = s.write(ctx, "trim audit", func(tx *wtx) error {
		removed, done = 0, false
		rows, err := tx.rows(`SELECT seq, hash, time_ms FROM audit_events
			WHERE chain = ? ORDER BY seq LIMIT ?`, domain, trimChunk)
		if err != nil {
			return err
		}
		var (
			lastSeq  int64
			lastHash string
			seen     int
		)
		for rows.Next() {
			var (
				seq, at int64
				h       string
			)
			if err := rows.Scan(&seq, &h, &at); err != nil {
				rows.Close()
				return err
			}
			seen++
			if at == zeroMillis || at >= before {
				done = true
				break
			}
			lastSeq, lastHash = seq, h
			removed++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if seen < trimChunk {
			done = true
		}
		if removed == 0 {
			done = true
			return nil
		}
		if _, err := tx.exec(`DELETE FROM audit_events WHERE chain = ? AND seq <= ?`,
			domain, lastSeq); err != nil {
			return err
		}
		_, err = tx.exec(`UPDATE audit_chains SET anchor = ? WHERE domain = ?`,
			lastHash, domain)
		return err
	})
	if err != nil {
		return 0, true, err
	}
	return removed, done, nil
}

// AuditDomains returns every domain that has a chain (even one trimmed to its anchor), ""
// included when it has one, sorted.
func (s *Store) AuditDomains(ctx context.Context) ([]string, error) {
	rows, err := s.rows(ctx, `SELECT domain FROM audit_chains ORDER BY domain`)
	if err != nil {
		return nil, classify("audit domains", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, classify("audit domains", err)
		}
		out = append(out, d)
	}
	return out, classify("audit domains", rows.Err())
}
