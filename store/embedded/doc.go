// Package embedded is the broker's embedded, persistent store: one SQLite file (the broker
// passes <data_dir>/broker.db) reached through modernc.org/sqlite, a pure-Go driver, so the
// broker stays one static binary with no cgo.
//
// Why SQLite: `go run ./cmd/broker` must work without Redis (SPEC §10), and every CLI
// subcommand (`clients create`, `grants revoke`, `audit export`, …) must work while a server
// runs on the same store. A SQLite file in WAL mode gives exactly that: several processes
// and many goroutines share one file, readers never block the writer, and every atomic step
// of the store contract is one transaction.
//
// How it is used:
//   - The file is opened twice: a pool of read connections (query_only) and a pool of one
//     write connection. Every write is a transaction started with BEGIN IMMEDIATE, so the
//     write lock is taken up front and a second process waits (busy_timeout, 5 s) instead of
//     failing with SQLITE_BUSY on a lock upgrade. Goroutines of one process queue for the
//     single write connection; processes queue on SQLite's lock.
//   - Times are stored as integer Unix milliseconds (UTC) and returned in UTC. Expiry is
//     decided with the now the caller passes, never with the database clock; Sweep deletes
//     expired rows as housekeeping only.
//   - Every statement is prepared once per connection and kept (stmts.go): parsing SQL
//     costs more than running a small query.
//   - Revocation is stored once (a grant's status, a family's flag) and joined into every
//     token read, so it holds for every process from its commit on (SPEC §8).
//   - Slices and the subject policy are JSON text columns. There are no foreign keys: the
//     broker writes records in its own order and revocation never cascades by deletion.
//   - The schema is versioned with PRAGMA user_version (schema.go); a file written by a
//     newer broker is refused.
//   - Sweep, called by the server every minute, deletes expired rows in small transactions.
//
// This package implements store.Store and imports only the store package, database/sql,
// the modernc.org/sqlite driver and the standard library. It must not import broker,
// handlers, configs or any other backend.
package embedded
