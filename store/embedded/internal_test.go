package embedded

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store"
)

func TestZeroMillis_IsTheZeroTime(t *testing.T) {
	if got := (time.Time{}).UnixMilli(); got != zeroMillis {
		t.Fatalf("time.Time{}.UnixMilli() = %d, zeroMillis = %d", got, zeroMillis)
	}
	if got := fromMS(ms(time.Time{})); !got.IsZero() || got != (time.Time{}) {
		t.Fatalf("zero time round trip = %v", got)
	}
	when := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.FixedZone("x", 3600))
	if got := fromMS(ms(when)); !got.Equal(when) || got.Location() != time.UTC {
		t.Fatalf("round trip of %v = %v", when, got)
	}
}

func TestSweep_DeletesInChunks(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "broker.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.sweepChunk = 7
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 50 // several chunks, the last one partial
	for i := range n {
		if _, _, err := s.Hit(ctx, "k", time.Millisecond, t0.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sweep(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := s.row(ctx, `SELECT count(*) FROM rate_limits`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("rows left after Sweep: %d, %v", left, err)
	}
}

func TestOpen_NewerSchemaIsRefused(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "broker.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(ctx, path)
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open of a newer schema: %v; want a non-retryable error", err)
	}
}

func TestCursors_Garbage(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "broker.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []string{"%%%", "bm9wZQ", encodeAuditCursor(position{seq: 0})} {
		if _, _, err := s.ListAudit(ctx, store.AuditFilter{Cursor: c}); !errors.Is(err, errInvalid) {
			t.Errorf("ListAudit cursor %q: %v, want errInvalid", c, err)
		}
		if _, _, err := s.ListGrants(ctx, store.GrantFilter{Cursor: c}); !errors.Is(err, errInvalid) {
			t.Errorf("ListGrants cursor %q: %v, want errInvalid", c, err)
		}
	}
}
