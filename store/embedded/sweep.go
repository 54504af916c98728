package embedded

import (
	"context"
	"time"
)

// sweepChunk bounds how many rows one Sweep statement deletes (unless Store.sweepChunk
// says otherwise), so that a large backlog never holds the write lock for long: other
// writers (and other processes) get the lock between chunks.
const sweepChunk = 5000

// sweeps lists, per table, the condition under which a row has expired at the bound now.
// Used codes and refresh tokens stay until their own expiry, so a replay is still
// recognised until then (SPEC §3); a refresh token without expiry is never swept.
var sweeps = []struct{ table, expired string }{
	{"codes", "expires_at <= ?"},
	{"pending_authorizations", "expires_at <= ?"},
	{"sessions", "expires_at <= ?"},
	{"access_tokens", "expires_at <= ?"},
	{"refresh_tokens", "expires_at != -62135596800000 AND expires_at <= ?"},
	{"used_once", "expires_at <= ?"},
	{"denied_jtis", "expires_at <= ?"},
	{"rate_limits", "window_end <= ?"},
	{"permission_requests", "expires_at <= ?"},
}

// Sweep deletes the rows that have expired at now: codes, pending authorizations, sessions,
// access tokens, refresh tokens with an expiry, use-once keys, denied jtis, ended
// rate-limit windows and permission requests. It is housekeeping only: every read already
// refuses expired rows with the now it is given, so Sweep never changes what a caller
// sees. The server calls it every minute; it is safe to run from several processes at
// once. It deletes in chunks of sweepChunk rows per transaction and stops at ctx's end.
func (s *Store) Sweep(ctx context.Context, now time.Time) error {
	at, chunk := ms(now), int64(s.sweepChunk)
	if chunk <= 0 {
		chunk = sweepChunk
	}
	for _, sw := range sweeps {
		q := `DELETE FROM ` + sw.table + ` WHERE rowid IN (SELECT rowid FROM ` + sw.table +
			` WHERE ` + sw.expired + ` LIMIT ?)`
		for {
			var n int64
			err := s.write(ctx, "sweep "+sw.table, func(tx *wtx) error {
				res, err := tx.exec(q, at, chunk)
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return err
			}
			if n < chunk {
				break
			}
		}
	}
	return nil
}
