package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite" // the "sqlite" database/sql driver, and its error type

	"github.com/enterprise-connect/broker/store"
)

var _ store.Store = (*Store)(nil)

// busyTimeoutMillis is how long a connection waits for another process's lock before it
// gives up with SQLITE_BUSY (reported as store.ErrUnavailable).
const busyTimeoutMillis = 5000

// maxReaders bounds the read pool. SQLite in WAL mode runs readers in parallel; more
// connections than cores only cost memory.
const maxReaders = 8

// Store is the SQLite-backed store.Store. It is safe for concurrent use by many goroutines,
// and several processes (the CLI next to a server) may open the same file at once. The zero
// value is not usable: call Open.
type Store struct {
	r  *sql.DB    // read pool: query_only connections
	w  *sql.DB    // write pool: one connection, every transaction BEGIN IMMEDIATE
	rs *stmtCache // prepared statements of r
	ws *stmtCache // prepared statements of w

	sweepChunk int // rows per Sweep transaction; <= 0: the sweepChunk constant (tests lower it)
}

// Open opens the SQLite file at path (its directory must exist), creating the file and its
// schema when absent, in WAL mode with a busy timeout of 5 s, and migrates an older schema
// to the current one. The caller closes the Store. Errors wrap store.ErrUnavailable, except
// for a file whose schema is newer than this package knows, which retrying cannot fix.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("embedded: open: %w: empty path", store.ErrUnavailable)
	}
	name := "file:" + escapePath(path)
	common := fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeoutMillis)

	// synchronous=NORMAL: in WAL mode a commit is durable against a crash of the process,
	// and only a power loss can lose the last commits, never corrupt the file.
	// journal_size_limit: the WAL shrinks back to 64 MiB after a burst.
	w, err := sql.Open("sqlite", name+"?"+common+"&_pragma=journal_mode(WAL)"+
		"&_pragma=synchronous(NORMAL)&_pragma=journal_size_limit(67108864)&_txlock=immediate")
	if err != nil {
		return nil, unavailable("open", err)
	}
	// One write connection: goroutines queue in database/sql instead of fighting over
	// SQLite's write lock. It never expires, so prepared statements stay warm.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, ws: newStmtCache(w)}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}

	r, err := sql.Open("sqlite", name+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, unavailable("open", err)
	}
	r.SetMaxOpenConns(maxReaders)
	r.SetMaxIdleConns(maxReaders)
	r.SetConnMaxIdleTime(0)
	r.SetConnMaxLifetime(0)
	s.r, s.rs = r, newStmtCache(r)
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// escapePath turns a file path into the path part of an SQLite URI filename: the characters
// that URIs give a meaning to are percent-encoded, everything else is kept as is (relative
// paths stay relative).
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// Ping reports whether the file can be read (SPEC §10 /readyz). Errors wrap
// store.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.row(ctx, `SELECT 1`).Scan(&one); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

// Close releases both connection pools. Calls after Close fail with store.ErrUnavailable.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		s.rs.close()
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		s.ws.close()
		errs = append(errs, s.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return unavailable("close", err)
	}
	return nil
}

// write runs fn in one write transaction (BEGIN IMMEDIATE, so the write lock is taken
// before the first read and no lock upgrade can fail) and commits it when fn returns nil.
// fn's store sentinels pass through; driver failures are classified by classify.
func (s *Store) write(ctx context.Context, op string, fn func(tx *wtx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return classify(op, err)
	}
	t := &wtx{ctx: ctx, tx: tx, c: s.ws}
	defer t.warm()
	if err := fn(t); err != nil {
		_ = tx.Rollback()
		return classify(op, err)
	}
	if err := tx.Commit(); err != nil {
		return classify(op, err)
	}
	return nil
}

// SQLite result codes this package tells apart (extended codes are on: the driver enables
// them for every connection).
const (
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// classify turns an error into the store's vocabulary: store sentinels pass through,
// sql.ErrNoRows becomes store.ErrNotFound, a unique or primary-key violation store.ErrExists,
// and everything else (I/O, SQLITE_BUSY after the timeout, a closed store, a cancelled
// context) wraps store.ErrUnavailable together with its cause.
func classify(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExists),
		errors.Is(err, store.ErrUsed), errors.Is(err, store.ErrConflict),
		errors.Is(err, store.ErrUnavailable), errors.Is(err, errInvalid):
		return fmt.Errorf("embedded: %s: %w", op, err)
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("embedded: %s: %w", op, store.ErrNotFound)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqliteConstraintPrimaryKey, sqliteConstraintUnique:
			return fmt.Errorf("embedded: %s: %w", op, store.ErrExists)
		}
	}
	return unavailable(op, err)
}

// unavailable wraps err with store.ErrUnavailable, keeping err reachable for errors.Is.
func unavailable(op string, err error) error {
	return fmt.Errorf("embedded: %s: %w: %w", op, store.ErrUnavailable, err)
}

// errInvalid marks a caller mistake the contract has no sentinel for (a malformed cursor, a
// non-positive window). It never wraps store.ErrUnavailable: retrying would not help.
var errInvalid = errors.New("invalid argument")

// zeroMillis is time.Time{}.UnixMilli(): the stored value of a zero time, so that a zero
// time survives the round trip and compares below every real instant.
const zeroMillis int64 = -62135596800000

// ms encodes t as Unix milliseconds (UTC). The zero time becomes zeroMillis.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS decodes ms: the UTC instant, or the zero time for zeroMillis.
func fromMS(v int64) time.Time {
	if v == zeroMillis {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// boolInt stores a bool as 0 or 1.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
