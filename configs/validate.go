package configs

import (
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Validate checks every rule of the configuration and returns nil or an
// *Error with all problems found, each naming its source, key path and fix
// (STYLE §6). It reads the files that must exist (directory_file,
// credentials_file, and key_encryption_key_file with Redis) but changes
// nothing. Load calls it; call it again after changing a Config by hand. A
// Config not built by Load names its source "config".
func (c *Config) Validate() error {
	v := validation{o: &c.origin}
	listenOK := v.listen(c.Listen)
	if listenOK || !c.origin.derived["issuer"] {
		v.issuer(c) // a derived issuer is only as good as listen
	}
	if c.DataDir == "" {
		v.add("data_dir", "must not be empty; the default is "+DefaultDataDir)
	}
	v.redis(c)
	v.ttl("code_ttl", c.CodeTTL, MaxCodeTTL)
	v.ttl("access_token_ttl", c.AccessTokenTTL, 0)
	v.ttl("delegated_token_ttl", c.DelegatedTokenTTL, 0)
	if a := c.DelegatedTokenAudience; a == "" || strings.ContainsAny(a, " \t\r\n") {
		v.add("delegated_token_audience", fmt.Sprintf("invalid audience %q: want a non-empty value without spaces, such as the issuer URL", a))
	}
	if a := c.SigningAlgorithm; a != AlgorithmEdDSA && a != AlgorithmES256 {
		v.add("signing_algorithm", fmt.Sprintf("unsupported signing algorithm %q (want %s or %s)", a, AlgorithmEdDSA, AlgorithmES256))
	}
	v.rateLimits(c.RateLimits)
	v.keyEncryptionKey(c)
	// Spec is silent: 0 keeps the audit trail forever (the safe reading of
	// "no retention"), and anything under a day is refused, because a bare
	// `audit_retention: 90` is 90 seconds and would erase the trail.
	if r := c.AuditRetention; r < 0 || (r > 0 && r.Duration() < 24*time.Hour) {
		v.add("audit_retention", fmt.Sprintf("%s is too short: use 0 to keep events forever or at least 1d (an integer is seconds: for 90 days write 90d)", r))
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		v.add("log_level", fmt.Sprintf("unknown log level %q (want debug, info, warn or error)", c.LogLevel))
	}
	v.domains(c.Domains)
	return errOrNil(v.ps)
}

// validation collects problems, each attributed through the Config's origin.
type validation struct {
	o  *origin
	ps []Problem
}

func (v *validation) add(key, msg string) { v.ps = append(v.ps, v.o.problem(key, msg)) }

// issuer checks RFC 8414 §2's rules. Spec is silent on a trailing slash:
// it is refused, not trimmed, since the issuer is compared byte for byte
// (the `iss` parameter, JWT `iss`) and endpoint URLs are issuer + path.
func (v *validation) issuer(c *Config) {
	const fix = "want an absolute http(s) URL without query, fragment or trailing slash, such as https://broker.example.com"
	u, err := url.Parse(c.Issuer)
	switch {
	case c.Issuer == "":
		v.add("issuer", "must not be empty; "+fix)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil:
		v.add("issuer", fmt.Sprintf("invalid issuer %q: %s", c.Issuer, fix))
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(c.Issuer, "#"):
		v.add("issuer", fmt.Sprintf("issuer %q has a query or fragment (RFC 8414 §2): remove it", c.Issuer))
	case strings.HasSuffix(c.Issuer, "/"):
		v.add("issuer", fmt.Sprintf("issuer %q ends with /: remove the trailing slash", c.Issuer))
	}
}

// listen checks the bind address and reports whether it is usable.
func (v *validation) listen(listen string) bool {
	const fix = "want host:port, such as 127.0.0.1:8080 or :8080"
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		v.add("listen", fmt.Sprintf("invalid address %q: %s", listen, fix))
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.add("listen", fmt.Sprintf("invalid port in %q: %s", listen, fix))
		return false
	}
	return true
}

// redis checks redis_url without ever echoing it (it may hold a password).
func (v *validation) redis(c *Config) {
	if c.RedisURL == "" {
		return
	}
	u, err := url.Parse(c.RedisURL.Reveal())
	switch {
	case err != nil:
		v.add("redis_url", "does not parse as a URL (value not shown: it may hold a password); want redis://host:6379/0, rediss://…, redis-sentinel://… or redis-cluster://…")
	case u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "redis-sentinel" && u.Scheme != "redis-cluster":
		v.add("redis_url", fmt.Sprintf("unsupported scheme %q (want redis, rediss, redis-sentinel or redis-cluster)", u.Scheme))
	case u.Host == "":
		v.add("redis_url", "has no host; want redis://host:6379/0 (or a comma-separated host list for redis-sentinel and redis-cluster)")
	}
}

// keyEncryptionKey checks the key file Redis requires (the embedded store
// generates a missing one, so nothing is checked without Redis).
func (v *validation) keyEncryptionKey(c *Config) {
	if c.RedisURL == "" {
		return
	}
	switch k := c.KeyEncryptionKeyFile; {
	case k == "":
		v.add("key_encryption_key_file", "required when redis_url is set: every replica must share one key; create it with `head -c 32 /dev/urandom > kek` and set key_encryption_key_file (or "+EnvName("key_encryption_key_file")+")")
	default:
		v.readable("key_encryption_key_file", k, "with Redis it is not generated: create it with `head -c 32 /dev/urandom > FILE` and share it among replicas")
	}
}

// ttl checks a token lifetime: at least 1s, whole seconds, at most max
// (when max > 0). Spec is silent on fractions and upper bounds other than
// code_ttl's; expires_in is whole seconds, so fractions are refused.
func (v *validation) ttl(key string, d Duration, max time.Duration) {
	switch {
	case d.Duration() < time.Second:
		v.add(key, fmt.Sprintf("%s is too short: want at least 1s (an integer is seconds)", d))
	case d.Duration()%time.Second != 0:
		v.add(key, fmt.Sprintf("%s is not a whole number of seconds (expires_in is in seconds)", d))
	case max > 0 && d.Duration() > max:
		v.add(key, fmt.Sprintf("%s is too long: at most %s (%d)", d, max, int64(max/time.Second)))
	}
}

func (v *validation) rateLimits(r RateLimits) {
	for _, l := range []struct {
		key string
		rl  RateLimit
	}{
		{"signin_per_account", r.SigninPerAccount},
		{"signin_per_ip", r.SigninPerIP},
		{"client_auth_per_client", r.ClientAuthPerClient},
		{"client_auth_per_ip", r.ClientAuthPerIP},
		{"authorize_per_ip", r.AuthorizePerIP},
	} {
		key := "rate_limits." + l.key
		if l.rl.Limit < 0 {
			v.add(key+".limit", fmt.Sprintf("%d is negative: want a positive limit, or 0 to disable", l.rl.Limit))
		}
		if l.rl.Limit > 0 && l.rl.Window.Duration() < time.Second {
			v.add(key+".window", fmt.Sprintf("%s is too short: want at least 1s, such as 15m", l.rl.Window))
		}
	}
}

// readable reports key when path cannot be opened for reading.
func (v *validation) readable(key, path, fix string) {
	f, err := os.Open(path)
	if err != nil {
		v.add(key, fmt.Sprintf("cannot read %q: %v; %s", path, unwrapPath(err), fix))
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		v.add(key, fmt.Sprintf("%q is a directory, not a file; %s", path, fix))
	}
}

// isEmail reports whether s is a bare address such as admin@example.com.
func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}
