package store

import (
	"context"
	"time"
)

// Store is every role a backend plays, plus its lifecycle. Broker components take the
// narrowest role interface they need. All methods are safe for concurrent use, also by other
// processes sharing the same backend (the CLI next to a server, replicas on one Redis).
// Every method returns an error wrapping ErrUnavailable when the backend cannot be reached.
type Store interface {
	Clients
	APIKeys
	Authorizations
	Sessions
	Codes
	Grants
	Tokens
	Accounts
	Permissions
	RateLimits
	Audit
	Deliveries
	SigningKeys

	// Ping reports whether the backend is reachable (SPEC §10 /readyz).
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}

// Clients keeps registered clients (SPEC §10 `clients create|list|delete`).
type Clients interface {
	// CreateClient stores c. ErrExists when c.ID is taken.
	CreateClient(ctx context.Context, c Client) error
	// GetClient returns the client with that id, or ErrNotFound.
	GetClient(ctx context.Context, id string) (Client, error)
	// ListClients returns every client, oldest first.
	ListClients(ctx context.Context) ([]Client, error)
	// DeleteClient removes the client, or returns ErrNotFound. Its grants are the caller's
	// business (the broker revokes them first).
	DeleteClient(ctx context.Context, id string) error
}

// APIKeys keeps API keys by hash (SPEC §9).
type APIKeys interface {
	// CreateAPIKey stores k. ErrExists when its id or hash is taken.
	CreateAPIKey(ctx context.Context, k APIKey) error
	// APIKeyByHash returns the key whose Hash equals hash, or ErrNotFound.
	APIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	// ListAPIKeys returns every key, oldest first.
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	// DeleteAPIKey removes the key with that id, or returns ErrNotFound.
	DeleteAPIKey(ctx context.Context, id string) error
}

// Authorizations keeps pending authorize requests between the request and the decision.
type Authorizations interface {
	// PutPending stores p until p.ExpiresAt. ErrExists when p.ID is taken.
	PutPending(ctx context.Context, p PendingAuthorization) error
	// GetPending returns the pending request, or ErrNotFound when unknown, consumed or
	// expired at now.
	GetPending(ctx context.Context, id string, now time.Time) (PendingAuthorization, error)
	// ConsumePending removes and returns the pending request in one atomic step: of any
	// number of concurrent calls exactly one gets it, the others ErrNotFound (a replayed
	// consent form fails). Expired at now: ErrNotFound.
	ConsumePending(ctx context.Context, id string, now time.Time) (PendingAuthorization, error)
}

// Sessions keeps signed-in browsers by the hash of their cookie.
type Sessions interface {
	// PutSession stores s until s.ExpiresAt.
	PutSession(ctx context.Context, s Session) error
	// GetSession returns the session, or ErrNotFound when unknown or expired at now.
	GetSession(ctx context.Context, hash string, now time.Time) (Session, error)
	// DeleteSession removes it; unknown sessions are not an error.
	DeleteSession(ctx context.Context, hash string) error
}

// Codes keeps authorization codes from approval until redemption (SPEC §2, §5).
type Codes interface {
	// PutCode stores c under c.Hash until c.ExpiresAt. ErrExists when the hash is taken.
	PutCode(ctx context.Context, c Code) error
	// ConsumeCode marks the code stored under hash as used and returns it in one atomic
	// step, so one of N concurrent redemptions wins. Unknown or expired at now: ErrNotFound.
	// Used before: ErrUsed plus the record, so the caller can revoke what it minted (SPEC §3).
	ConsumeCode(ctx context.Context, hash string, now time.Time) (Code, error)
	// RedeemCode is ConsumeCode and, in the same atomic step, the token pair of a
	// redemption, so redeeming a code costs one round trip (SPEC §3, §11). When the code
	// is an admin code, r.Matches it, its grant exists and is active and its family
	// (c.FamilyID) is not revoked, it stores that service-account family of the grant and
	// in it an access token (r.AccessHash, expiring at r.AccessExpiresAt) and a refresh
	// token (r.RefreshHash, no expiry), both issued at r.IssuedAt with the grant's client,
	// domain, scopes and the grant id as subject; issued is then true. Otherwise (a
	// per-subject code, a mismatch, a revoked or unknown grant) the code is consumed all
	// the same, nothing else is written, and issued is false: the caller decides from the
	// returned record. Errors as ConsumeCode's.
	RedeemCode(ctx context.Context, hash string, now time.Time, r CodeRedemption) (c Code, issued bool, err error)
}

// Grants keeps service-account grants (SPEC §0, §9).
type Grants interface {
	// CreateGrant stores g as the active grant of (g.ClientID, g.Domain) and, in the same
	// atomic step, revokes the grant it replaces (RevokedAt = g.ApprovedAt). It returns the
	// replaced grant's id, "" when there was none. ErrExists when g.ID is taken.
	CreateGrant(ctx context.Context, g Grant) (replaced string, err error)
	// GetGrant returns the grant in any status, or ErrNotFound.
	GetGrant(ctx context.Context, id string) (Grant, error)
	// ActiveGrant returns the active grant of (clientID, domain), or ErrNotFound.
	ActiveGrant(ctx context.Context, clientID, domain string) (Grant, error)
	// ListGrants returns one page of grants matching f, newest approval first, and the cursor
	// of the next page ("" on the last page).
	ListGrants(ctx context.Context, f GrantFilter) (grants []Grant, next string, err error)
	// RevokeGrant marks the grant revoked at now and returns it. Every token derived from it
	// is refused from then on by LookupAccessToken, LookupRefreshToken, RotateRefresh and
	// CheckDelegated, and IssueTokens issues nothing more into its families. Revoking a
	// revoked grant returns it unchanged. Unknown: ErrNotFound.
	RevokeGrant(ctx context.Context, id string, now time.Time) (Grant, error)
	// RecordGrantUse sets the grant's LastUsedAt to now and adds minted to its count of
	// delegated tokens for now's UTC day (SPEC §9 admin UI). Unknown grants are ignored.
	RecordGrantUse(ctx context.Context, id string, now time.Time, minted int) error
	// MintCounts returns the grant's delegated-token counts per UTC day ("2006-01-02") from
	// since's day on.
	MintCounts(ctx context.Context, id string, since time.Time) (map[string]int, error)
}

// Tokens keeps opaque access and refresh tokens, their families, and the revocation state of
// delegated JWTs (SPEC §3, §4, §8).
type Tokens interface {
	// IssueTokens stores the family f (created when new; an existing f.ID is reused) and, in
	// the same atomic step, the access token (may be nil) and the refresh token (may be nil).
	// A revoked family, or a family whose grant (f.GrantID) is revoked, refuses with
	// ErrNotFound and nothing is written; an unknown grant id is accepted, as the token
	// lookups accept it. The grant check lets code redemption skip a GetGrant (SPEC §3).
	IssueTokens(ctx context.Context, f Family, access *AccessToken, refresh *RefreshToken) error
	// LookupAccessToken returns the access token stored under hash. ErrNotFound when unknown,
	// expired at now, revoked, in a revoked family, or of a revoked grant.
	LookupAccessToken(ctx context.Context, hash string, now time.Time) (AccessToken, error)
	// LookupRefreshToken returns the refresh token stored under hash while it can still be
	// rotated; ErrNotFound when unknown, used, expired, in a revoked family or of a revoked
	// grant.
	LookupRefreshToken(ctx context.Context, hash string, now time.Time) (RefreshToken, error)
	// RotateRefresh rotates the refresh token under oldHash in one atomic step, so a refresh
	// costs one round trip and of N concurrent rotations exactly one wins (SPEC §3). In order:
	// unknown, expired at now, in a revoked family or of a revoked grant: ErrNotFound (a token
	// found dead because of its family or grant may be deleted). Used before: ErrUsed plus
	// the old record (Used set), so the caller can revoke the family. Not r.ClientID's:
	// ErrWrongClient plus the old record, nothing written. Otherwise it marks the old token
	// used and stores, in its family, a new refresh token under r.RefreshHash and, when
	// r.AccessHash is set and the old token is a service-account token (Kind
	// KindServiceAccount), an access token under r.AccessHash. Both copy every field of the
	// old token but the hash and times: IssuedAt = r.IssuedAt, ExpiresAt = r.RefreshExpiresAt
	// or r.AccessExpiresAt. It returns the old record (Used false).
	RotateRefresh(ctx context.Context, oldHash string, now time.Time, r RefreshRotation) (RefreshToken, error)
	// RevokeFamily revokes every access and refresh token of the family, and every
	// delegated JWT that CheckDelegated is asked about with that FamilyID. Unknown families
	// are not an error.
	RevokeFamily(ctx context.Context, familyID string) error
	// RevokeAccessToken revokes one access token. Unknown hashes are not an error.
	RevokeAccessToken(ctx context.Context, hash string) error
	// RevokeSubject revokes, for one grant and one subject, every per-subject family and
	// every delegated JWT issued at or before at (SPEC §8 revocation by acc_ id).
	RevokeSubject(ctx context.Context, grantID, subject string, at time.Time) error
	// DenyJTI refuses the delegated JWT with that jti until expiresAt (SPEC §8).
	DenyJTI(ctx context.Context, jti string, expiresAt time.Time) error
	// CheckDelegated says whether a signature-verified delegated JWT is still good: its grant
	// active, its jti not denied, its family (when named) not revoked, its subject not
	// revoked since it was issued. ErrNotFound otherwise. On success it returns the current
	// elevations of (grant, subject). One round trip.
	CheckDelegated(ctx context.Context, c DelegatedCheck) (DelegatedStatus, error)
	// UseOnce records key (a private_key_jwt jti or an assertion id) until expiresAt. It
	// returns ErrUsed when key was recorded before and has not expired at now. Atomic: of
	// N concurrent calls with one key exactly one succeeds.
	UseOnce(ctx context.Context, key string, expiresAt, now time.Time) error
}

// Accounts keeps the stable acc_/pro_ identities of subjects (SPEC §5) and their elevations
// (SPEC §7).
type Accounts interface {
	// EnsureAccount returns the account of (a.Domain, a.Subject), storing a (with its ids)
	// when there is none yet. Atomic: concurrent callers all get the same ids.
	EnsureAccount(ctx context.Context, a Account) (Account, error)
	// AccountByID returns the account with that acc_ id, or ErrNotFound.
	AccountByID(ctx context.Context, id string) (Account, error)
	// AddElevations adds calendarIDs to the unrestricted calendars of (grantID, subject).
	AddElevations(ctx context.Context, grantID, subject string, calendarIDs []string) error
	// Elevations returns, for each of subjects that has any, its elevated calendar ids
	// (sorted) under grantID. One round trip however many subjects (SPEC §4 batch mint).
	Elevations(ctx context.Context, grantID string, subjects []string) (map[string][]string, error)
}

// Permissions keeps §7 permission requests waiting for the subject's decision.
type Permissions interface {
	// PutPermissionRequest stores r until r.ExpiresAt. ErrExists when r.ID is taken.
	PutPermissionRequest(ctx context.Context, r PermissionRequest) error
	// GetPermissionRequest returns it, or ErrNotFound when unknown, consumed or expired.
	GetPermissionRequest(ctx context.Context, id string, now time.Time) (PermissionRequest, error)
	// ConsumePermissionRequest removes and returns it atomically; exactly one caller wins.
	ConsumePermissionRequest(ctx context.Context, id string, now time.Time) (PermissionRequest, error)
}

// RateLimits keeps fixed-window counters of what attackers do (SPEC §10).
type RateLimits interface {
	// Hit adds one to the counter key for the window that contains now (windows are aligned
	// to multiples of window since the Unix epoch) and returns the new count and when that
	// window ends.
	Hit(ctx context.Context, key string, window time.Duration, now time.Time) (count int64, resetAt time.Time, err error)
	// Count returns the counter's value in the window that contains now, without adding.
	Count(ctx context.Context, key string, window time.Duration, now time.Time) (int64, error)
	// ResetLimit clears the counter key in every window.
	ResetLimit(ctx context.Context, key string) error
}

// Audit keeps one hash chain of audit events per domain (SPEC §9).
type Audit interface {
	// AuditHead returns the hash of the domain's newest event, or the chain's anchor when
	// every event was trimmed, or "" for a chain that never had an event.
	AuditHead(ctx context.Context, domain string) (string, error)
	// AppendAudit appends events (all of domain, already chained by the caller) in one
	// atomic step, if and only if the domain's head (what AuditHead returns: "" for a new
	// chain) is still prevHash; otherwise ErrConflict and nothing is written. Afterwards the
	// head is the last event's Hash. The store does not recompute hashes.
	AppendAudit(ctx context.Context, domain, prevHash string, events []AuditEvent) error
	// ListAudit returns one page of events matching f, newest first, and the cursor of the
	// next page ("" on the last page). A Domain filter reads only that domain's events.
	ListAudit(ctx context.Context, f AuditFilter) (events []AuditEvent, next string, err error)
	// ExportAudit calls fn for every event matching f (Cursor and Limit ignored), oldest
	// first, streaming; it stops at fn's first error and returns it.
	ExportAudit(ctx context.Context, f AuditFilter, fn func(AuditEvent) error) error
	// AuditAnchor returns the hash of the domain's newest trimmed event ("" when none was
	// trimmed): the prev_hash its oldest kept event must carry.
	AuditAnchor(ctx context.Context, domain string) (string, error)
	// TrimAudit removes the domain's events older than before (by Time), keeping the hash
	// of the newest removed one as the anchor, and returns how many it removed.
	TrimAudit(ctx context.Context, domain string, before time.Time) (int, error)
	// AuditDomains returns every domain that has a chain, "" included when it has one.
	AuditDomains(ctx context.Context) ([]string, error)
}

// AuditPipeline is implemented by a store that can take the next append to a chain before
// the previous one has answered (Redis: one ordered command stream). SubmitAudit starts
// what AppendAudit does and returns a function that waits for its outcome; appends
// submitted one after the other (each SubmitAudit returned before the next is called)
// reach the store in that order, so an append chained on the head that an earlier, still
// unanswered one leaves succeeds when that one does, and fails with ErrConflict when it
// did not. Call wait exactly once.
type AuditPipeline interface {
	SubmitAudit(ctx context.Context, domain, prevHash string, events []AuditEvent) (wait func() error)
}

// Deliveries is the durable §5 callback queue.
type Deliveries interface {
	// EnqueueDeliveries stores ds in one atomic step. ErrExists when an id is taken.
	EnqueueDeliveries(ctx context.Context, ds []Delivery) error
	// ClaimDelivery leases the due delivery (NextAt <= now, lease not running) with the
	// earliest NextAt until now+lease and returns it; ErrNotFound when none is due. A
	// delivery whose lease runs out without Ack or Retry is claimable again. Atomic: a
	// delivery is leased to one claimer at a time.
	ClaimDelivery(ctx context.Context, now time.Time, lease time.Duration) (Delivery, error)
	// AckDelivery removes a delivered (or given-up) delivery. Unknown ids are not an error.
	AckDelivery(ctx context.Context, id string) error
	// RetryDelivery ends the lease and schedules the next attempt: Attempts = attempts,
	// NextAt = nextAt. ErrNotFound when the id is unknown.
	RetryDelivery(ctx context.Context, id string, attempts int, nextAt time.Time) error
	// PendingDeliveries counts queued deliveries (for metrics and tests).
	PendingDeliveries(ctx context.Context) (int, error)
}

// SigningKeys keeps the delegated-token signing keys shared by every replica (SPEC §4).
type SigningKeys interface {
	// InitSigningKey stores k as the current key if and only if there is no key at all, and
	// returns the current key either way (replicas starting together agree on one).
	InitSigningKey(ctx context.Context, k SigningKey) (SigningKey, error)
	// RotateSigningKey stores k as the current key and, in the same atomic step, retires the
	// previous current key at k.CreatedAt.
	RotateSigningKey(ctx context.Context, k SigningKey) error
	// ListSigningKeys returns every key, newest first; the first unretired one is current.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// DeleteSigningKey removes a retired key whose tokens have all expired. Unknown ids are
	// not an error.
	DeleteSigningKey(ctx context.Context, id string) error
}
