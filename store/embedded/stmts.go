package embedded

import (
	"context"
	"database/sql"
	"sync"
)

// Parsing SQL is most of the cost of a small statement in SQLite (a lookup spends more time
// in the parser than in the B-tree), so every statement this package runs is prepared once
// per pool and kept: database/sql then keeps one prepared copy per connection. The set of
// statements is bounded (the dynamic filters of ListGrants and ListAudit combine a fixed
// set of conditions), so the cache needs no eviction.

// stmtCache holds the prepared statements of one pool, by query text.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}}
}

// lookup returns the cached statement for q, if any.
func (c *stmtCache) lookup(q string) (*sql.Stmt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.m[q]
	return st, ok
}

// get returns the prepared statement for q, preparing it on first use. The lock is not held
// while preparing: preparing waits for a free connection, and a goroutine that holds one
// may be waiting for the lock.
func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := c.lookup(q); ok {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[q]; ok { // prepared concurrently
		st.Close()
		return prev, nil
	}
	c.m[q] = st
	return st, nil
}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}

// errRow is a row whose statement could not be prepared: Scan reports the error.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// row runs q on the read pool and returns its first row.
func (s *Store) row(ctx context.Context, q string, args ...any) scanner {
	st, err := s.rs.get(ctx, q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// rows runs q on the read pool.
func (s *Store) rows(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.rs.get(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// wtx is a write transaction (BEGIN IMMEDIATE) that runs cached statements.
type wtx struct {
	ctx    context.Context
	tx     *sql.Tx
	c      *stmtCache
	misses []string // statements prepared for this transaction only; cached after it
}

// stmt returns the statement for q bound to the transaction. The write pool has one
// connection, which the transaction holds, so a statement missing from the cache cannot be
// prepared on the pool now: it is prepared on the transaction, and on the pool once the
// transaction has ended (see Store.write).
func (t *wtx) stmt(q string) (*sql.Stmt, error) {
	if st, ok := t.c.lookup(q); ok {
		return t.tx.StmtContext(t.ctx, st), nil
	}
	t.misses = append(t.misses, q)
	return t.tx.PrepareContext(t.ctx, q)
}

// warm caches the statements t had to prepare for itself. Called after the transaction
// has released the connection; a failure only means the next use prepares again.
func (t *wtx) warm() {
	for _, q := range t.misses {
		_, _ = t.c.get(context.WithoutCancel(t.ctx), q)
	}
}

// exec runs q in the transaction.
func (t *wtx) exec(q string, args ...any) (sql.Result, error) {
	st, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.ctx, args...)
}

// row runs q in the transaction and returns its first row.
func (t *wtx) row(q string, args ...any) scanner {
	st, err := t.stmt(q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(t.ctx, args...)
}

// rows runs q in the transaction.
func (t *wtx) rows(q string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(t.ctx, args...)
}
