package static

import (
	"context"
	"crypto/rand"

	"golang.org/x/crypto/bcrypt"

	"github.com/enterprise-connect/broker/broker/provider"
)

// dummyHash is a bcrypt hash (cost bcrypt.DefaultCost) of a random password nobody kept. SignIn
// compares unknown emails against it so that they cost one bcrypt comparison, like known ones.
const dummyHash = "$2a$10$l4NeiW73cwbzDKunrEDjcOjbQUKrbsdhaaquRWYEiV9reKega8jQm"

// maxPasswordBytes is bcrypt's input limit: later bytes are ignored by the algorithm, and
// bcrypt.GenerateFromPassword refuses longer passwords.
const maxPasswordBytes = 72

// SignIn checks a form sign-in (SPEC §6) and returns the person, or provider.ErrBadCredentials
// for an unknown email, a wrong or empty password, a password longer than bcrypt's 72 bytes, a
// resource, or a user without a password_hash. The email is compared case-insensitively, as in
// Subject. If ctx is already done, SignIn returns ctx.Err() without comparing.
//
// Every refusal costs one bcrypt comparison at the directory's highest cost, so the time taken
// does not reveal whether the email exists (provider.ErrBadCredentials). Throttling failures
// is the caller's job (SPEC §10 rate_limits).
//
// Administrators sign in with IsAdmin true. Users who are not administrators sign in too, with
// IsAdmin false (a subject approving permissions for itself, SPEC §5). Spec is silent: when an
// email is listed under both admins and users with different password_hash values, the admins
// entry wins (its hash and its name); the users entry's hash is ignored for sign-in, so an
// administrator's password is never weakened by a user entry.
func (d *Directory) SignIn(ctx context.Context, email, password string) (provider.Person, error) {
	if err := ctx.Err(); err != nil {
		return provider.Person{}, err
	}
	a, known := lookup(d.accounts, email)
	hash := a.hash
	if !known {
		hash = d.dummy()
	}
	pw := []byte(password)
	tooLong := len(pw) > maxPasswordBytes
	if tooLong {
		pw = pw[:maxPasswordBytes] // same work as any other attempt; refused below
	}
	err := bcrypt.CompareHashAndPassword(hash, pw)
	if !known || err != nil || tooLong || password == "" {
		return provider.Person{}, provider.ErrBadCredentials
	}
	return a.person, nil
}

// dummy returns the hash unknown emails are compared against: the constant when the directory
// uses bcrypt.DefaultCost (the usual case), otherwise one made once, on first use, at the
// directory's highest cost. Making it lazily keeps Load fast for subcommands that never sign
// anyone in.
func (d *Directory) dummy() []byte {
	if d.maxCost == 0 || d.maxCost == bcrypt.DefaultCost {
		return []byte(dummyHash)
	}
	d.dummyOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), d.maxCost)
		if err != nil { // cannot happen for a cost parsed from a valid hash
			h = []byte(dummyHash)
		}
		d.dummyBytes = h
	})
	return d.dummyBytes
}
