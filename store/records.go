package store

import "time"

// Client is a SaaS application registered with the broker (SPEC §0, §10). Its secret is kept
// only as SecretHash; CallbackSecret is encrypted by the broker before it reaches the store
// (the store never sees it in clear), because signing callbacks needs the secret itself.
type Client struct {
	ID             string
	Name           string
	SecretHash     string   // hex SHA-256 of the client secret
	CallbackSecret []byte   // sealed by the broker's key-encryption key
	RedirectURIs   []string // exact-match redirect URIs
	Scope          string   // service-account scopes the client may ask for, expanded and sorted
	DelegatedScope string   // the widest delegated ceiling the client may ask for, expanded and sorted
	RequirePKCE    bool
	JWKS           []byte // the client's public JWKS (JSON); nil when it has none
	CreatedAt      time.Time
}

// APIKeyRole is what an API key may do (SPEC §9).
type APIKeyRole string

// The API key roles of SPEC §9.
const (
	RoleAuditor    APIKeyRole = "auditor"
	RoleOperator   APIKeyRole = "operator"
	RoleIntrospect APIKeyRole = "introspect"
)

// APIKey authenticates security tooling (SPEC §9). Only the key's hash is stored.
type APIKey struct {
	ID        string
	Hash      string // hex SHA-256 of the key
	Role      APIKeyRole
	Domain    string // "" = every domain
	CreatedAt time.Time
}

// PendingAuthorization is a validated authorize request waiting for the administrator's
// sign-in and decision (SPEC §2 step 3). It lives until ExpiresAt (10 minutes) and is
// consumed exactly once by the decision.
type PendingAuthorization struct {
	ID               string
	ClientID         string
	RedirectURI      string
	RedirectURIGiven bool // the request carried redirect_uri (RFC 6749 §4.1.3)
	Scope            string
	DelegatedScope   string
	State            string
	CodeChallenge    string // S256 challenge, "" without PKCE
	LoginHint        string
	CreatedAt        time.Time
	ExpiresAt        time.Time
}

// SessionKind says who a browser session belongs to.
type SessionKind string

// Session kinds: a domain administrator (consent, /admin) or a subject (§7 permissions page).
const (
	SessionAdmin   SessionKind = "admin"
	SessionSubject SessionKind = "subject"
)

// Session is a signed-in browser (SPEC §6). Stored under the hash of the cookie value.
type Session struct {
	Hash      string
	Kind      SessionKind
	Email     string
	Name      string
	Domain    string // the administrated domain, or the subject's domain
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Code is an authorization code (SPEC §2) or a per-subject code (SPEC §5), stored under the
// hex SHA-256 of its value. A consumed code stays (Used) until ExpiresAt so that a second
// redemption is recognised and the family minted from the first is revoked.
type Code struct {
	Hash             string
	ClientID         string
	RedirectURI      string
	RedirectURIGiven bool
	CodeChallenge    string
	GrantID          string
	Domain           string
	FamilyID         string // tokens redeemed from this code belong to this family
	Subject          string // per-subject codes: the account or resource email; "" for admin codes
	SubjectKind      TokenKind
	Scope            string // per-subject codes: the delegated scope
	ExpiresAt        time.Time
	Used             bool
}

// SubjectPolicy limits which subjects a grant may mint for (SPEC §2 consent form). The zero
// value allows every subject of the domain.
type SubjectPolicy struct {
	Groups        []string
	Emails        []string
	ResourcesOnly bool
}

// GrantStatus is a grant's lifecycle state.
type GrantStatus string

// Grant states.
const (
	GrantActive  GrantStatus = "active"
	GrantRevoked GrantStatus = "revoked"
)

// Grant is what one administrator approved for one client and one domain (SPEC §0).
type Grant struct {
	ID             string // ser_ + 24 base-62 chars
	ClientID       string
	Domain         string
	Scope          string // service-account scopes, expanded and sorted
	DelegatedScope string // the ceiling, expanded and sorted
	Policy         SubjectPolicy
	ApprovedBy     string
	ApprovedAt     time.Time
	LastUsedAt     time.Time // zero until first use
	Status         GrantStatus
	RevokedAt      time.Time
}

// GrantFilter selects grants for ListGrants. Zero fields do not filter.
type GrantFilter struct {
	Domain   string
	ClientID string
	Status   GrantStatus
	Cursor   string // opaque, from a previous page
	Limit    int    // <= 0: the backend's default (100)
}

// TokenKind says whom a token acts for (SPEC §8 introspection `kind`).
type TokenKind string

// Token kinds.
const (
	KindServiceAccount TokenKind = "service_account"
	KindAccount        TokenKind = "account"
	KindResource       TokenKind = "resource"
)

// Family groups the tokens that descend from one code redemption, so that reuse of the code
// or of a rotated refresh token revokes all of them at once (SPEC §3).
type Family struct {
	ID       string
	GrantID  string
	ClientID string
	Domain   string
	Kind     TokenKind
	Subject  string // ser_… for service-account families, the email for per-subject ones
	Revoked  bool
}

// AccessToken is an opaque service-account access token, stored under its hex SHA-256.
type AccessToken struct {
	Hash           string
	FamilyID       string
	GrantID        string
	ClientID       string
	Domain         string
	Kind           TokenKind
	Subject        string
	Scope          string
	DelegatedScope string
	IssuedAt       time.Time
	ExpiresAt      time.Time
}

// RefreshToken is an opaque refresh token, stored under its hex SHA-256. Rotation marks it
// Used; it stays until ExpiresAt (or the family's end) so a replay is recognised.
type RefreshToken struct {
	Hash           string
	FamilyID       string
	GrantID        string
	ClientID       string
	Domain         string
	Kind           TokenKind
	Subject        string
	Scope          string
	DelegatedScope string
	IssuedAt       time.Time
	ExpiresAt      time.Time // zero: no expiry of its own (dies with family or grant)
	Used           bool
}

// RefreshRotation names the successors of a refresh token for RotateRefresh. The store copies
// every other field (family, grant, client, domain, kind, subject, scopes) from the old token,
// so a refresh costs the broker one round trip and cannot move a token to another family.
type RefreshRotation struct {
	ClientID         string    // the presenting client: the old token must be its own
	IssuedAt         time.Time // of both new tokens
	RefreshHash      string    // the new refresh token's hash
	RefreshExpiresAt time.Time // zero: no expiry of its own
	AccessHash       string    // a new access token, stored only when the old token is a service-account token ("" = none)
	AccessExpiresAt  time.Time
}

// CodeRedemption is what a token request presents for an authorization code, and the token
// pair to store when it matches the code (Codes.RedeemCode, SPEC §3).
type CodeRedemption struct {
	ClientID         string // the authenticated client
	RedirectURIGiven bool   // the request carried redirect_uri
	RedirectURI      string
	CodeChallenge    string    // the S256 challenge of the code_verifier sent; "" when none was sent
	IssuedAt         time.Time // of both new tokens
	AccessHash       string
	AccessExpiresAt  time.Time
	RefreshHash      string // the refresh token has no expiry of its own (it dies with its family or grant)
}

// Matches reports whether r presents exactly what admin code c is bound to: c's client, c's
// challenge (none when c has none), and c's redirect_uri when r carries one or c required
// one. A false answer does not say which differs: the broker's own checks name it.
// store/redis/redeem_code.lua applies the same rule: keep the two in step.
func (r CodeRedemption) Matches(c Code) bool {
	if c.Subject != "" || r.ClientID != c.ClientID || r.CodeChallenge != c.CodeChallenge {
		return false
	}
	if r.RedirectURIGiven {
		return r.RedirectURI == c.RedirectURI
	}
	return !c.RedirectURIGiven
}

// DelegatedCheck names one delegated JWT for CheckDelegated.
type DelegatedCheck struct {
	GrantID  string
	Subject  string
	JTI      string
	FamilyID string // "" for tokens minted outside a per-subject family
	IssuedAt time.Time
}

// DelegatedStatus is what the store knows of a live delegated JWT.
type DelegatedStatus struct {
	Elevations []string // calendar ids elevated to unrestricted for (grant, subject), sorted
}

// Account is the stable Cronofy-style identity of a subject within a domain (SPEC §5).
type Account struct {
	ID        string // acc_ + 24 base-62 chars
	ProfileID string // pro_ + 24 base-62 chars
	Domain    string
	Subject   string
}

// PermissionRequest is a pending §7 elevation the subject has to accept on a page.
type PermissionRequest struct {
	ID          string
	GrantID     string
	ClientID    string
	Domain      string
	Subject     string
	CalendarIDs []string
	RedirectURI string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// AuditEvent is one entry of a domain's hash chain (SPEC §9). Every field is a string, ""
// where none applies. Hash covers every other field; PrevHash links the chain.
type AuditEvent struct {
	ID        string `json:"id"`
	Time      string `json:"time"`
	Type      string `json:"type"`
	Domain    string `json:"domain"`
	ClientID  string `json:"client_id"`
	GrantID   string `json:"grant_id"`
	Actor     string `json:"actor"`
	Subject   string `json:"subject"`
	Scope     string `json:"scope"`
	Result    string `json:"result"`
	Error     string `json:"error"`
	IP        string `json:"ip"`
	RequestID string `json:"request_id"`
	PrevHash  string `json:"prev_hash"`
	Hash      string `json:"hash"`
}

// AuditFilter selects audit events. Domain is always applied when AllDomains is false
// ("" then means the chain of events without a domain).
type AuditFilter struct {
	Domain     string
	AllDomains bool
	Type       string
	ClientID   string
	Subject    string
	Since      time.Time // inclusive; zero = unbounded
	Until      time.Time // exclusive; zero = unbounded
	Cursor     string    // opaque, from a previous ListAudit page
	Limit      int       // <= 0: 100
}

// Delivery is one queued §5 callback POST. The queue is durable: a crash between claim and
// ack only delays it until the lease runs out.
type Delivery struct {
	ID         string
	ClientID   string
	GrantID    string
	Domain     string
	Subject    string
	URL        string
	Body       []byte
	Attempts   int
	CreatedAt  time.Time
	NextAt     time.Time // not claimable before
	GiveUpAt   time.Time // the sender audits callback.failed and drops it after this
	LeaseUntil time.Time // set by ClaimDelivery
}

// SigningKey is a delegated-token signing key (SPEC §4). Private is sealed by the broker's
// key-encryption key before it reaches the store; Public is the JWK (JSON) to publish.
type SigningKey struct {
	ID        string // kid
	Alg       string // EdDSA | ES256
	Private   []byte
	Public    []byte
	CreatedAt time.Time
	RetiredAt time.Time // zero while it is the current key
}
