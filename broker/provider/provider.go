// Package provider is the contract between the broker and a domain's directory: who the
// administrators are, which accounts and resources exist, their groups and calendars, how a
// person signs in, and (for providers that have one) how to obtain an upstream token.
// Implementations: provider/static (a YAML directory file) and provider/google.
package provider

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Sentinel errors of providers.
var (
	// ErrUnknownSubject: the email is neither an account nor a resource of the domain.
	ErrUnknownSubject = errors.New("provider: unknown subject")
	// ErrBadCredentials: sign-in refused (unknown email or wrong password). Providers must
	// take about the same time for both, so the answer does not reveal which.
	ErrBadCredentials = errors.New("provider: bad credentials")
	// ErrNoUpstream: the provider has no upstream tokens (the static provider).
	ErrNoUpstream = errors.New("provider: no upstream token service")
)

// SubjectKind says whether a subject is a person or a bookable resource.
type SubjectKind string

// Subject kinds (SPEC §0).
const (
	Account  SubjectKind = "account"
	Resource SubjectKind = "resource"
)

// Calendar is one calendar of a subject.
type Calendar struct {
	ID   string `json:"calendar_id"`
	Name string `json:"name"`
}

// Subject is an account or a resource of a domain.
type Subject struct {
	Email     string
	Name      string
	Kind      SubjectKind
	Groups    []string
	Calendars []Calendar
}

// Person is someone who signed in.
type Person struct {
	Email   string
	Name    string
	IsAdmin bool // administers the provider's domain
}

// UpstreamToken is a provider's own access token for a subject (SPEC §4 upstream_tokens).
type UpstreamToken struct {
	AccessToken string
	TokenType   string
	Scope       []string
	ExpiresAt   time.Time
}

// String keeps the token out of anything that prints it.
func (t UpstreamToken) String() string { return "[redacted]" }

// LogValue keeps the token out of logs (STYLE §7).
func (t UpstreamToken) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Provider is one domain's directory.
type Provider interface {
	// Name is "static" or "google".
	Name() string
	// Domain is the domain this provider serves, lower case.
	Domain() string
	// Subject returns the account or resource with that email (case-insensitive), or
	// ErrUnknownSubject. Administrators are subjects only when also listed as users.
	Subject(ctx context.Context, email string) (Subject, error)
	// Resources lists the domain's resources.
	Resources(ctx context.Context) ([]Subject, error)
	// SignIn checks a password (form sign-in, SPEC §6) and returns the person, or
	// ErrBadCredentials. Providers that sign in elsewhere (Google) return ErrBadCredentials.
	SignIn(ctx context.Context, email, password string) (Person, error)
	// Upstream returns the provider's access token for subject and providerScopes, or
	// ErrNoUpstream.
	Upstream(ctx context.Context, subject string, providerScopes []string) (UpstreamToken, error)
}
