package configs

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a configuration duration (SPEC §10). It reads, from YAML and
// from BROKER_* variables alike:
//
//   - an integer: seconds (`code_ttl: 300`),
//   - Go syntax (`5m`, `2s`, `1h30m`, `1500ms`; see time.ParseDuration),
//   - a whole number of days with a `d` suffix (`audit_retention: 90d`).
//
// Spec is silent on days; Go durations have no unit larger than hours, and
// retention periods read naturally in days, so `Nd` (N a non-negative
// integer, nothing else in the string) means N×24h. Fractional seconds
// (`1.5`) are refused: use Go syntax (`1500ms`). The zero value is zero.
type Duration time.Duration

// Duration returns d as a time.Duration, the form components receive
// (STYLE §6).
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// Seconds returns d in whole seconds (truncated), the unit of `expires_in`.
func (d Duration) Seconds() int64 { return int64(time.Duration(d) / time.Second) }

// String formats d in Go syntax (`5m0s`).
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML writes d in Go syntax, which UnmarshalYAML reads back.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads an integer number of seconds or a string ParseDuration
// accepts. Problems are returned as *yaml.TypeError carrying the line and
// column ("line 3: column 12: invalid duration …"), so the decoder keeps
// going and Load reports every problem with its key path.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	fail := func(msg string) error {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: column %d: %s", n.Line, n.Column, msg)}}
	}
	if n.Kind != yaml.ScalarNode {
		return fail("want a duration: seconds (300), Go syntax (5m) or days (90d)")
	}
	switch n.ShortTag() {
	case "!!int":
		var secs int64
		if err := n.Decode(&secs); err != nil {
			return fail(fmt.Sprintf("invalid duration %q: want whole seconds (300), Go syntax (5m) or days (90d)", n.Value))
		}
		v, err := fromSeconds(secs)
		if err != nil {
			return fail(err.Error())
		}
		*d = Duration(v)
		return nil
	case "!!float":
		return fail(fmt.Sprintf("invalid duration %s: an integer is whole seconds; for fractions use Go syntax such as 1500ms", n.Value))
	case "!!str":
		v, err := ParseDuration(n.Value)
		if err != nil {
			return fail(err.Error())
		}
		*d = Duration(v)
		return nil
	}
	return fail(fmt.Sprintf("invalid duration %q: want whole seconds (300), Go syntax (5m) or days (90d)", n.Value))
}

// ParseDuration parses the Duration syntax: integer seconds, Go syntax, or
// `Nd` days. It is what BROKER_* duration variables go through. Its errors
// quote the input and say which forms are accepted.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := func() error {
		return fmt.Errorf("invalid duration %q: want whole seconds (300), Go syntax (5m, 1h30m) or days (90d)", s)
	}
	if s == "" {
		return 0, bad()
	}
	if isInteger(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, bad()
		}
		return fromSeconds(n)
	}
	if days, ok := strings.CutSuffix(s, "d"); ok && isInteger(days) && !strings.HasPrefix(days, "-") {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n > math.MaxInt64/int64(24*time.Hour) {
			return 0, fmt.Errorf("invalid duration %q: too long", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, bad()
	}
	return v, nil
}

// isInteger reports whether s is an optionally signed run of ASCII digits.
func isInteger(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func fromSeconds(n int64) (time.Duration, error) {
	const limit = math.MaxInt64 / int64(time.Second)
	if n > limit || n < -limit {
		return 0, fmt.Errorf("invalid duration %d: too long", n)
	}
	return time.Duration(n) * time.Second, nil
}
