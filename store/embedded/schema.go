package embedded

import (
	"context"
	"fmt"
)

// migrations are the schema versions, in order: migrations[i] takes a file from
// PRAGMA user_version i to i+1. Released entries are never edited; a change is a new entry.
//
// Conventions: times are INTEGER Unix milliseconds (zeroMillis for a zero time), booleans
// INTEGER 0/1, slices and the subject policy JSON TEXT. There are no foreign keys on
// purpose: a token names its grant and family by id, and revocation is read through joins.
var migrations = []string{
	// 1: the whole store.
	`
CREATE TABLE clients (
	id              TEXT PRIMARY KEY,
	name            TEXT NOT NULL,
	secret_hash     TEXT NOT NULL,
	callback_secret BLOB,
	redirect_uris   TEXT NOT NULL,
	scope           TEXT NOT NULL,
	delegated_scope TEXT NOT NULL,
	require_pkce    INTEGER NOT NULL,
	jwks            BLOB,
	created_at      INTEGER NOT NULL
);
CREATE TABLE api_keys (
	id         TEXT PRIMARY KEY,
	hash       TEXT NOT NULL UNIQUE,
	role       TEXT NOT NULL,
	domain     TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE TABLE pending_authorizations (
	id                 TEXT PRIMARY KEY,
	client_id          TEXT NOT NULL,
	redirect_uri       TEXT NOT NULL,
	redirect_uri_given INTEGER NOT NULL,
	scope              TEXT NOT NULL,
	delegated_scope    TEXT NOT NULL,
	state              TEXT NOT NULL,
	code_challenge     TEXT NOT NULL,
	login_hint         TEXT NOT NULL,
	created_at         INTEGER NOT NULL,
	expires_at         INTEGER NOT NULL
);
CREATE INDEX pending_authorizations_expiry ON pending_authorizations (expires_at);
CREATE TABLE sessions (
	hash       TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	email      TEXT NOT NULL,
	name       TEXT NOT NULL,
	domain     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE TABLE codes (
	hash               TEXT PRIMARY KEY,
	client_id          TEXT NOT NULL,
	redirect_uri       TEXT NOT NULL,
	redirect_uri_given INTEGER NOT NULL,
	code_challenge     TEXT NOT NULL,
	grant_id           TEXT NOT NULL,
	domain             TEXT NOT NULL,
	family_id          TEXT NOT NULL,
	subject            TEXT NOT NULL,
	subject_kind       TEXT NOT NULL,
	scope              TEXT NOT NULL,
	expires_at         INTEGER NOT NULL,
	used               INTEGER NOT NULL
);
CREATE INDEX codes_expiry ON codes (expires_at);
CREATE TABLE grants (
	id              TEXT PRIMARY KEY,
	client_id       TEXT NOT NULL,
	domain          TEXT NOT NULL,
	scope           TEXT NOT NULL,
	delegated_scope TEXT NOT NULL,
	policy          TEXT NOT NULL,
	approved_by     TEXT NOT NULL,
	approved_at     INTEGER NOT NULL,
	last_used_at    INTEGER NOT NULL,
	status          TEXT NOT NULL,
	revoked_at      INTEGER NOT NULL
);
-- One active grant per (client, domain) (SPEC §0), enforced by the file itself.
CREATE UNIQUE INDEX grants_active ON grants (client_id, domain) WHERE status = 'active';
CREATE INDEX grants_by_approval ON grants (approved_at, id);
CREATE INDEX grants_by_domain ON grants (domain, approved_at, id);
CREATE INDEX grants_by_client ON grants (client_id, approved_at, id);
CREATE TABLE grant_mints (
	grant_id TEXT NOT NULL,
	day      TEXT NOT NULL,
	count    INTEGER NOT NULL,
	PRIMARY KEY (grant_id, day)
) WITHOUT ROWID;
CREATE TABLE families (
	id        TEXT PRIMARY KEY,
	grant_id  TEXT NOT NULL,
	client_id TEXT NOT NULL,
	domain    TEXT NOT NULL,
	kind      TEXT NOT NULL,
	subject   TEXT NOT NULL,
	revoked   INTEGER NOT NULL
);
CREATE INDEX families_by_subject ON families (grant_id, subject);
CREATE TABLE access_tokens (
	hash            TEXT PRIMARY KEY,
	family_id       TEXT NOT NULL,
	grant_id        TEXT NOT NULL,
	client_id       TEXT NOT NULL,
	domain          TEXT NOT NULL,
	kind            TEXT NOT NULL,
	subject         TEXT NOT NULL,
	scope           TEXT NOT NULL,
	delegated_scope TEXT NOT NULL,
	issued_at       INTEGER NOT NULL,
	expires_at      INTEGER NOT NULL
);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);
CREATE TABLE refresh_tokens (
	hash            TEXT PRIMARY KEY,
	family_id       TEXT NOT NULL,
	grant_id        TEXT NOT NULL,
	client_id       TEXT NOT NULL,
	domain          TEXT NOT NULL,
	kind            TEXT NOT NULL,
	subject         TEXT NOT NULL,
	scope           TEXT NOT NULL,
	delegated_scope TEXT NOT NULL,
	issued_at       INTEGER NOT NULL,
	expires_at      INTEGER NOT NULL,
	used            INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
CREATE TABLE denied_jtis (
	jti        TEXT PRIMARY KEY,
	expires_at INTEGER NOT NULL
);
CREATE INDEX denied_jtis_expiry ON denied_jtis (expires_at);
CREATE TABLE subject_revocations (
	grant_id   TEXT NOT NULL,
	subject    TEXT NOT NULL,
	revoked_at INTEGER NOT NULL,
	PRIMARY KEY (grant_id, subject)
) WITHOUT ROWID;
CREATE TABLE used_once (
	key        TEXT PRIMARY KEY,
	expires_at INTEGER NOT NULL
);
CREATE INDEX used_once_expiry ON used_once (expires_at);
CREATE TABLE accounts (
	id         TEXT PRIMARY KEY,
	profile_id TEXT NOT NULL UNIQUE,
	domain     TEXT NOT NULL,
	subject    TEXT NOT NULL,
	UNIQUE (domain, subject)
);
CREATE TABLE elevations (
	grant_id    TEXT NOT NULL,
	subject     TEXT NOT NULL,
	calendar_id TEXT NOT NULL,
	PRIMARY KEY (grant_id, subject, calendar_id)
) WITHOUT ROWID;
CREATE TABLE permission_requests (
	id           TEXT PRIMARY KEY,
	grant_id     TEXT NOT NULL,
	client_id    TEXT NOT NULL,
	domain       TEXT NOT NULL,
	subject      TEXT NOT NULL,
	calendar_ids TEXT NOT NULL,
	redirect_uri TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL
);
CREATE INDEX permission_requests_expiry ON permission_requests (expires_at);
CREATE TABLE rate_limits (
	key          TEXT NOT NULL,
	window_ms    INTEGER NOT NULL,
	window_start INTEGER NOT NULL,
	window_end   INTEGER NOT NULL,
	count        INTEGER NOT NULL,
	PRIMARY KEY (key, window_ms, window_start)
);
CREATE INDEX rate_limits_expiry ON rate_limits (window_end);
-- seq orders each chain; chain is the domain the event was appended to (the event's own
-- domain field is kept verbatim, since its hash covers it); time_ms is the event's parsed
-- time (zeroMillis when unparsable) for the since/until filters, the all-domains order and
-- trimming.
CREATE TABLE audit_events (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	chain      TEXT NOT NULL,
	time_ms    INTEGER NOT NULL,
	id         TEXT NOT NULL,
	time       TEXT NOT NULL,
	type       TEXT NOT NULL,
	domain     TEXT NOT NULL,
	client_id  TEXT NOT NULL,
	grant_id   TEXT NOT NULL,
	actor      TEXT NOT NULL,
	subject    TEXT NOT NULL,
	scope      TEXT NOT NULL,
	result     TEXT NOT NULL,
	error      TEXT NOT NULL,
	ip         TEXT NOT NULL,
	request_id TEXT NOT NULL,
	prev_hash  TEXT NOT NULL,
	hash       TEXT NOT NULL
);
-- A domain query reads only its chain (SPEC §9: no scan of other domains). Type, client and
-- subject filters walk the chain's index: every index is written on every append, the
-- broker's hottest write, so only the type filter (the admin UI's) gets one.
CREATE INDEX audit_by_chain ON audit_events (chain, seq);
CREATE INDEX audit_by_type ON audit_events (chain, type, seq);
-- All domains at once are listed newest first by time (then append order).
CREATE INDEX audit_by_time ON audit_events (time_ms, seq);
CREATE TABLE audit_chains (
	domain TEXT PRIMARY KEY,
	head   TEXT NOT NULL,
	anchor TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE deliveries (
	id          TEXT PRIMARY KEY,
	client_id   TEXT NOT NULL,
	grant_id    TEXT NOT NULL,
	domain      TEXT NOT NULL,
	subject     TEXT NOT NULL,
	url         TEXT NOT NULL,
	body        BLOB,
	attempts    INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	next_at     INTEGER NOT NULL,
	give_up_at  INTEGER NOT NULL,
	lease_until INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_at);
CREATE TABLE signing_keys (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	id         TEXT NOT NULL UNIQUE,
	alg        TEXT NOT NULL,
	private    BLOB,
	public     BLOB,
	created_at INTEGER NOT NULL,
	retired_at INTEGER NOT NULL
);
`,
}

// migrate brings the file to len(migrations) in one write transaction, so that two
// processes opening a new file at once apply each migration exactly once. A file newer than
// this binary is refused rather than misread.
func (s *Store) migrate(ctx context.Context) error {
	return s.write(ctx, "migrate", func(tx *wtx) error {
		var version int
		if err := tx.tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
			return err
		}
		if version > len(migrations) {
			return fmt.Errorf("%w: schema version %d is newer than this broker (%d)",
				errInvalid, version, len(migrations))
		}
		for i := version; i < len(migrations); i++ {
			if _, err := tx.tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		if version == len(migrations) {
			return nil
		}
		// PRAGMA takes no bound parameters; the value is an int we produced.
		_, err := tx.tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations)))
		return err
	})
}
