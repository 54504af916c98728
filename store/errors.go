package store

import "errors"

// Sentinel errors every backend returns, wrapped or bare; callers test them with errors.Is.
var (
	// ErrNotFound: no such record, or it has expired or been revoked at the now passed in.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: a record with that key already exists (create-only operations).
	ErrExists = errors.New("store: already exists")
	// ErrUsed: a single-use record (code, refresh token, jti) was consumed or rotated before.
	// Methods that return it also return the record, so the caller can revoke its family.
	ErrUsed = errors.New("store: already used")
	// ErrWrongClient: the record belongs to another client; nothing was changed. Methods that
	// return it also return the record (RotateRefresh: a refresh token presented by a client
	// it was not issued to, RFC 6749 §10.4).
	ErrWrongClient = errors.New("store: belongs to another client")
	// ErrConflict: an expected state changed under the caller (the audit chain head moved).
	// The caller re-reads and retries.
	ErrConflict = errors.New("store: conflict")
	// ErrUnavailable: the backend is unreachable or failed; it wraps the cause. The broker
	// fails closed on it (SPEC §10: 503 temporarily_unavailable).
	ErrUnavailable = errors.New("store: unavailable")
)
