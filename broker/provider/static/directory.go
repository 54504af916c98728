package static

import (
	"context"
	"sync"

	"github.com/enterprise-connect/broker/broker/provider"
)

var _ provider.Provider = (*Directory)(nil)

// Directory is one domain's directory file, parsed and checked by Load or Parse. It implements
// provider.Provider. It never changes after parsing, so every method is safe for concurrent use;
// to pick up an edited file, Load it again and swap the pointer.
//
// The zero value is an empty directory with no domain: every Subject is unknown and every
// SignIn fails. Use Load or Parse.
type Directory struct {
	source    string                      // file name, for messages
	domain    string                      // lower case
	subjects  map[string]provider.Subject // users and resources by lower-case email
	accounts  map[string]account          // who may sign in, by lower-case email
	resources []provider.Subject          // file order
	admins    []provider.Person           // file order

	// maxCost is the highest bcrypt cost among the file's hashes; the dummy hash that unknown
	// emails are compared against has this cost, so both take the same time (see SignIn).
	maxCost    int
	dummyOnce  sync.Once
	dummyBytes []byte
}

// account is someone who may sign in: an administrator, or a user with a password_hash.
type account struct {
	person provider.Person
	hash   []byte
}

// Name is "static".
func (d *Directory) Name() string { return "static" }

// Domain is the domain the file names, lower case.
func (d *Directory) Domain() string { return d.domain }

// Source is the file name the directory was parsed from (what Load or Parse was given), for
// messages such as "example.com.yaml: …".
func (d *Directory) Source() string { return d.source }

// Subject returns the user or resource with that email, compared case-insensitively (ASCII
// letters only, so look-alike Unicode never folds onto an existing account), or exactly
// provider.ErrUnknownSubject (not wrapped: this is the delegated-minting hot path and must not
// allocate). An administrator not also listed under users is not a subject (SPEC §10). ctx is
// unused: the lookup is a map read.
//
// The returned Groups and Calendars are shared with the directory and must be treated as
// read-only; their capacity is clipped, so an append by the caller copies instead of writing
// into the directory. Both are non-nil (empty, not null, when encoded as JSON).
func (d *Directory) Subject(_ context.Context, email string) (provider.Subject, error) {
	s, ok := lookup(d.subjects, email)
	if !ok {
		return provider.Subject{}, provider.ErrUnknownSubject
	}
	return s, nil
}

// Resources lists the domain's resources in file order. The slice is the caller's; the
// Groups and Calendars inside are shared and read-only, as for Subject. Never nil.
func (d *Directory) Resources(context.Context) ([]provider.Subject, error) {
	out := make([]provider.Subject, len(d.resources))
	copy(out, d.resources)
	return out, nil
}

// Admins lists the domain's administrators in file order, each with IsAdmin true, for the
// admin UI. The slice is the caller's. Never nil.
func (d *Directory) Admins() []provider.Person {
	out := make([]provider.Person, len(d.admins))
	copy(out, d.admins)
	return out
}

// Upstream always returns provider.ErrNoUpstream: a directory file has no token service.
func (d *Directory) Upstream(context.Context, string, []string) (provider.UpstreamToken, error) {
	return provider.UpstreamToken{}, provider.ErrNoUpstream
}

// lookup reads m at email folded to ASCII lower case without allocating: emails already in
// lower case are used as they are, others are folded into a stack buffer (the compiler does
// not copy for m[string(bytes)]).
func lookup[V any](m map[string]V, email string) (V, bool) {
	i := firstUpper(email)
	if i < 0 {
		v, ok := m[email]
		return v, ok
	}
	var buf [128]byte
	var b []byte
	if len(email) <= len(buf) {
		b = buf[:len(email)]
	} else {
		b = make([]byte, len(email)) // longer than any real email; allowed to allocate
	}
	copy(b, email)
	lowerASCII(b[i:])
	v, ok := m[string(b)]
	return v, ok
}

// foldEmail returns s with ASCII letters in lower case (allocating only when it changes).
func foldEmail(s string) string {
	i := firstUpper(s)
	if i < 0 {
		return s
	}
	b := []byte(s)
	lowerASCII(b[i:])
	return string(b)
}

func firstUpper(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return i
		}
	}
	return -1
}

func lowerASCII(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
}
