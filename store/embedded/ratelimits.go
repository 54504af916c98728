package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// A counter is one row per (key, window length, window start); Sweep deletes windows that
// have ended. Keeping the window length in the key keeps two limits that share a key but
// not a window apart.

// window returns the window length in milliseconds and the start of the window that
// contains now, aligned to multiples of the length since the Unix epoch.
func window(w time.Duration, now time.Time) (length, start int64, err error) {
	length = w.Milliseconds()
	if length <= 0 {
		return 0, 0, fmt.Errorf("%w: rate-limit window %v is under a millisecond", errInvalid, w)
	}
	t := ms(now)
	start = t - t%length
	if t%length < 0 { // floor, not truncation, before 1970
		start -= length
	}
	return length, start, nil
}

// Hit adds one to the counter key for the window that contains now and returns the new
// count and when that window ends, in one statement. A window under a millisecond is
// refused.
func (s *Store) Hit(ctx context.Context, key string, w time.Duration, now time.Time) (int64, time.Time, error) {
	length, start, err := window(w, now)
	if err != nil {
		return 0, time.Time{}, classify("hit", err)
	}
	var count int64
	err = s.write(ctx, "hit", func(tx *wtx) error {
		return tx.row(`INSERT INTO rate_limits
			(key, window_ms, window_start, window_end, count) VALUES (?, ?, ?, ?, 1)
			ON CONFLICT (key, window_ms, window_start) DO UPDATE SET count = count + 1
			RETURNING count`, key, length, start, start+length).Scan(&count)
	})
	if err != nil {
		return 0, time.Time{}, err
	}
	return count, fromMS(start + length), nil
}

// Count returns the counter's value in the window that contains now, without adding; 0
// for a counter never hit in that window.
func (s *Store) Count(ctx context.Context, key string, w time.Duration, now time.Time) (int64, error) {
	length, start, err := window(w, now)
	if err != nil {
		return 0, classify("count", err)
	}
	var count int64
	err = s.row(ctx, `SELECT count FROM rate_limits
		WHERE key = ? AND window_ms = ? AND window_start = ?`, key, length, start).Scan(&count)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, classify("count", err)
	}
	return count, nil
}

// ResetLimit clears the counter key in every window.
func (s *Store) ResetLimit(ctx context.Context, key string) error {
	return s.write(ctx, "reset limit", func(tx *wtx) error {
		_, err := tx.exec(`DELETE FROM rate_limits WHERE key = ?`, key)
		return err
	})
}
