package scopes

import (
	"fmt"
	"math/bits"
	"strings"
)

// Set is a parsed scope list in its stored form (SPEC §1): shorthands expanded, implications
// added (read_events brings read_free_busy), duplicates collapsed, sorted. It is a small value:
// copy it freely, compare two Sets with ==, use it as a map key. The zero value is the empty
// set. Its methods never allocate except String and Scopes, which build their result.
type Set struct {
	bits uint32
}

// UnknownError is returned by ParseServiceAccount and ParseDelegated for a token that is not a
// scope of the kind asked for. Callers turn it into invalid_scope (SPEC §2, §4) and may name
// Token in the error_description.
type UnknownError struct {
	// Token is the offending token exactly as it appeared in the input.
	Token string
}

// maxTokenInMessage bounds how much of a token Error repeats, so a hostile megabyte-long token
// does not end up whole in an error_description or a log line.
const maxTokenInMessage = 64

// Error names the unknown token, quoted (and cut to 64 bytes when longer).
func (e *UnknownError) Error() string {
	tok := e.Token
	if len(tok) > maxTokenInMessage {
		return fmt.Sprintf("scopes: unknown scope %q…", tok[:maxTokenInMessage])
	}
	return fmt.Sprintf("scopes: unknown scope %q", tok)
}

// ParseServiceAccount parses a space-separated list of service-account scopes (the authorize
// parameter scope, SPEC §1). Parsing is strict: a token that is not one of the four
// service-account scopes, delegated ones included, fails with *UnknownError and no Set. Empty
// tokens from repeated, leading or trailing spaces are ignored and duplicates collapse. An
// input without any token yields the empty Set and no error: whether empty is allowed is the
// caller's rule (SPEC §2 wants at least one).
//
// Spec is silent: only U+0020 separates tokens, as in RFC 6749 §3.3; a tab or newline is part
// of a token and so makes it unknown. Names are case-sensitive (RFC 6749 §3.3).
func ParseServiceAccount(s string) (Set, error) {
	return parse(s, serviceAccountMask)
}

// ParseDelegated parses a space-separated list of delegated scopes, granular or shorthand (the
// authorize parameter delegated_scope, a delegated token request's scope; SPEC §1, §4), and
// returns it expanded. It follows ParseServiceAccount's rules: strict (a service-account scope
// is unknown here), empty tokens ignored, duplicates collapsed, empty input → empty Set and no
// error, only U+0020 separates tokens. It allocates only to report an error.
func ParseDelegated(s string) (Set, error) {
	return parse(s, delegatedMask)
}

// parse accepts the tokens of s whose expansion lies within allowed.
func parse(s string, allowed uint32) (Set, error) {
	var set uint32
	for tok := range strings.SplitSeq(s, " ") {
		if tok == "" {
			continue
		}
		e, ok := lookup(tok)
		if !ok || e.bits&^allowed != 0 {
			return Set{}, &UnknownError{Token: tok}
		}
		set |= e.bits
	}
	return Set{bits: set}, nil
}

// String returns the stored and reported form: the scopes space-separated, sorted, each once
// (SPEC §1). The empty Set gives "". Parsing the result gives back the same Set.
func (s Set) String() string {
	if s.bits == 0 {
		return ""
	}
	n := -1
	for b := s.bits; b != 0; b &= b - 1 {
		n += len(names[bits.TrailingZeros32(b)]) + 1
	}
	var sb strings.Builder
	sb.Grow(n)
	for b := s.bits; b != 0; b &= b - 1 {
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(names[bits.TrailingZeros32(b)])
	}
	return sb.String()
}

// Scopes returns the scopes of s, sorted, each once: String's tokens as a slice (JSON arrays,
// `scopes explain` expands_to). The empty Set gives an empty, non-nil slice. The slice is the
// caller's to keep.
func (s Set) Scopes() []string {
	out := make([]string, 0, s.Len())
	for b := s.bits; b != 0; b &= b - 1 {
		out = append(out, names[bits.TrailingZeros32(b)])
	}
	return out
}

// Len returns how many scopes s holds in its expanded form.
func (s Set) Len() int {
	return bits.OnesCount32(s.bits)
}

// IsEmpty reports whether s holds no scope.
func (s Set) IsEmpty() bool {
	return s.bits == 0
}

// Has reports whether s allows scope: a known name (granular, shorthand or service-account)
// whose whole expansion is in s. Has(AccountsManage) is the §4 check for minting an account's
// token; Has("read_only") holds for any Set containing read_only's four scopes. An unknown name
// is never held.
func (s Set) Has(scope string) bool {
	e, ok := lookup(scope)
	return ok && e.bits&^s.bits == 0
}

// Within reports whether every scope of s is also in other: "A within B" on expanded sets
// (SPEC §1), the ceiling check of SPEC §4 and §5. The empty Set is within every Set.
func (s Set) Within(other Set) bool {
	return s.bits&^other.bits == 0
}

// Union returns the scopes in s or in other.
func (s Set) Union(other Set) Set {
	return Set{bits: s.bits | other.bits}
}

// Minus returns the scopes of s that are not in other, for instance what a request asks beyond
// its ceiling. The result is not re-closed under implications: read_events minus
// read_free_busy is read_events alone.
func (s Set) Minus(other Set) Set {
	return Set{bits: s.bits &^ other.bits}
}
