package configs

import "log/slog"

// redacted is what a Secret prints instead of its value.
const redacted = "[redacted]"

// Secret holds a configuration value that must never reach a log line, an
// error message or a JSON dump (SPEC §10, STYLE §7): an OAuth client secret,
// a Redis URL that may carry a password. Printing it with fmt (%v, %s, %q,
// %#v), slog, encoding/json, yaml or any encoding.TextMarshaler user shows
// "[redacted]"; an empty Secret shows "" so a missing value stays visible.
// Reveal returns the value to the one place that needs it.
type Secret string

// Reveal returns the secret value itself. Call it only where the value is
// used (an HTTP request to the provider, a Redis dial), never to log it.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]" (or "" when s is empty).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString makes %#v redact too.
func (s Secret) GoString() string { return "configs.Secret(" + quote(s.String()) + ")" }

// LogValue implements slog.LogValuer, so slog prints "[redacted]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText implements encoding.TextMarshaler (used by yaml and others).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON writes "[redacted]" as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(quote(s.String())), nil }

// quote is strconv.Quote for the two fixed strings String can return.
func quote(s string) string { return `"` + s + `"` }
