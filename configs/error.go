package configs

import (
	"strconv"
	"strings"
)

// Error is what Load and Validate return for a configuration that cannot be
// used: every problem found, not just the first (STYLE §6). cmd/broker
// prints Error() and exits 2 (SPEC §10). Test for it with errors.As.
type Error struct {
	// Problems are in the order found: YAML decoding first (file order),
	// then overrides, then validation (key order of Config).
	Problems []Problem
}

// Problem is one thing wrong with the configuration.
type Problem struct {
	// Source is where the value came from: the config file's path, a
	// variable name such as "BROKER_CODE_TTL", or "environment" / "config"
	// when no single source applies.
	Source string
	// Line is the line in Source (a file) the problem is on; 0 if unknown.
	Line int
	// Key is the key path, e.g. "domains[1].google.admin_email"; empty for
	// problems with the whole file (a YAML syntax error).
	Key string
	// Message says what is wrong and how to fix it.
	Message string
}

// String formats p as "<source>[:<line>]: <key>: <message>", e.g.
// `broker.yaml:7: domains[0].provider: unknown provider "ldap" (want static or google)`.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Source)
	if p.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error joins the problems, one per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// errOrNil returns nil for no problems, so callers can return it directly.
func errOrNil(ps []Problem) error {
	if len(ps) == 0 {
		return nil
	}
	return &Error{Problems: ps}
}

// origin records where the values of a Config came from, so a problem found
// after merging file, environment and defaults still names its source.
type origin struct {
	// file is the config file's path ("" when none was loaded).
	file string
	// lines maps key paths present in the file ("domains[0].provider") to
	// their line.
	lines map[string]int
	// env maps top-level keys set by a variable to that variable's name.
	env map[string]string
	// derived marks top-level keys filled in from another key.
	derived map[string]bool
}

// problem builds a Problem for key, naming the source its value came from.
func (o *origin) problem(key, msg string) Problem {
	top := key
	if i := strings.IndexAny(top, ".["); i >= 0 {
		top = top[:i]
	}
	if name := o.env[top]; name != "" {
		return Problem{Source: name, Key: key, Message: msg}
	}
	if o.file != "" {
		return Problem{Source: o.file, Line: o.line(key), Key: key, Message: msg}
	}
	if o.env != nil {
		return Problem{Source: "environment", Key: key, Message: msg}
	}
	return Problem{Source: "config", Key: key, Message: msg}
}

// line returns the line of key in the file, or of its nearest ancestor
// present there (a missing key is reported at its parent).
func (o *origin) line(key string) int {
	for key != "" {
		if l, ok := o.lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
	return 0
}
