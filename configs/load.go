package configs

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// Load builds the configuration (STYLE §6, SPEC §10) in this order:
//
//  1. defaults;
//  2. the YAML file at path, when path != "": one document, decoded
//     strictly (an unknown key is an error naming its path and line);
//     relative directory_file, credentials_file and key_encryption_key_file
//     values are resolved from the file's directory;
//  3. environment overrides: REDIS_URL, then BROKER_<KEY> for every scalar
//     top-level key (BROKER_ISSUER, BROKER_LISTEN, BROKER_DATA_DIR,
//     BROKER_REDIS_URL, BROKER_CODE_TTL, BROKER_ACCESS_TOKEN_TTL,
//     BROKER_DELEGATED_TOKEN_TTL, BROKER_DELEGATED_TOKEN_AUDIENCE,
//     BROKER_SIGNING_ALGORITHM, BROKER_ALLOW_INSECURE_CALLBACKS,
//     BROKER_KEY_ENCRYPTION_KEY_FILE, BROKER_AUDIT_RETENTION,
//     BROKER_LOG_LEVEL); a variable set to "" is ignored; relative paths
//     in variables are relative to the working directory;
//  4. derived defaults: issuer from listen, delegated_token_audience from
//     issuer, key_encryption_key_file = <data_dir>/kek without Redis;
//  5. Validate.
//
// getenv is usually os.Getenv; nil means no environment. On any problem
// Load returns nil and an *Error listing all of them, each naming its
// source (the file path or the variable), key path and fix. An unreadable
// file is also an *Error. Zero domains are fine: the demo bootstrap
// (static demo domain and client) belongs to cmd/broker.
func Load(path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	cfg := defaults()
	cfg.origin = origin{file: path, lines: map[string]int{}, env: map[string]string{}, derived: map[string]bool{}}
	var ps []Problem
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, &Error{Problems: []Problem{{Source: path, Message: fmt.Sprintf("cannot read the config file: %v", unwrapPath(err))}}}
		}
		ps = decodeFile(path, data, cfg, cfg.origin.lines)
		cfg.resolvePaths(filepath.Dir(path))
	}
	ps = append(ps, cfg.applyEnv(getenv)...)
	cfg.derive()
	if err := cfg.Validate(); err != nil {
		ps = append(ps, err.(*Error).Problems...)
	}
	if err := errOrNil(ps); err != nil {
		return nil, err
	}
	return cfg, nil
}

// resolvePaths makes the file paths given in the config file relative to
// its directory dir (absolute ones are kept).
func (c *Config) resolvePaths(dir string) {
	rel := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	rel(&c.KeyEncryptionKeyFile)
	for i := range c.Domains {
		rel(&c.Domains[i].DirectoryFile)
		if g := c.Domains[i].Google; g != nil {
			rel(&g.CredentialsFile)
		}
	}
}

// envVar is one BROKER_* override: the top-level key it sets and how.
type envVar struct {
	key string
	set func(c *Config, v string) error
}

// envVars lists the overrides in the order they apply. REDIS_URL comes
// before BROKER_REDIS_URL so the broker-specific name wins.
func envVars() []envVar {
	str := func(f func(*Config) *string) func(*Config, string) error {
		return func(c *Config, v string) error { *f(c) = v; return nil }
	}
	dur := func(f func(*Config) *Duration) func(*Config, string) error {
		return func(c *Config, v string) error {
			d, err := ParseDuration(v)
			if err != nil {
				return err
			}
			*f(c) = Duration(d)
			return nil
		}
	}
	redis := func(c *Config, v string) error { c.RedisURL = Secret(v); return nil }
	return []envVar{
		{"issuer", str(func(c *Config) *string { return &c.Issuer })},
		{"listen", str(func(c *Config) *string { return &c.Listen })},
		{"data_dir", str(func(c *Config) *string { return &c.DataDir })},
		{"redis_url", redis},
		{"code_ttl", dur(func(c *Config) *Duration { return &c.CodeTTL })},
		{"access_token_ttl", dur(func(c *Config) *Duration { return &c.AccessTokenTTL })},
		{"delegated_token_ttl", dur(func(c *Config) *Duration { return &c.DelegatedTokenTTL })},
		{"delegated_token_audience", str(func(c *Config) *string { return &c.DelegatedTokenAudience })},
		{"signing_algorithm", str(func(c *Config) *string { return &c.SigningAlgorithm })},
		{"allow_insecure_callbacks", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("invalid boolean %q: want true or false", v)
			}
			c.AllowInsecureCallbacks = b
			return nil
		}},
		{"key_encryption_key_file", str(func(c *Config) *string { return &c.KeyEncryptionKeyFile })},
		{"audit_retention", dur(func(c *Config) *Duration { return &c.AuditRetention })},
		{"log_level", str(func(c *Config) *string { return &c.LogLevel })},
	}
}

// EnvName returns the variable that overrides a top-level key:
// "code_ttl" → "BROKER_CODE_TTL".
func EnvName(key string) string {
	b := []byte("BROKER_" + key)
	for i, ch := range b {
		if 'a' <= ch && ch <= 'z' {
			b[i] = ch - 'a' + 'A'
		}
	}
	return string(b)
}

// applyEnv applies REDIS_URL and the BROKER_* variables, recording which
// variable set which key.
func (c *Config) applyEnv(getenv func(string) string) []Problem {
	var ps []Problem
	if v := getenv("REDIS_URL"); v != "" {
		c.RedisURL = Secret(v)
		c.origin.env["redis_url"] = "REDIS_URL"
	}
	for _, ev := range envVars() {
		name := EnvName(ev.key)
		v := getenv(name)
		if v == "" {
			continue
		}
		c.origin.env[ev.key] = name
		if err := ev.set(c, v); err != nil {
			ps = append(ps, Problem{Source: name, Key: ev.key, Message: err.Error()})
		}
	}
	return ps
}

// derive fills the defaults that depend on other keys, after every
// override, and records the source of the key they came from.
func (c *Config) derive() {
	o := &c.origin
	from := func(key, src string) {
		o.derived[key] = true
		if name := o.env[src]; name != "" {
			o.env[key] = name
		}
		if l, ok := o.lines[src]; ok {
			o.lines[key] = l
		}
	}
	if c.Issuer == "" {
		c.Issuer = issuerFromListen(c.Listen)
		from("issuer", "listen")
	}
	if c.DelegatedTokenAudience == "" {
		c.DelegatedTokenAudience = c.Issuer
		from("delegated_token_audience", "issuer")
	}
	if c.KeyEncryptionKeyFile == "" && c.RedisURL == "" && c.DataDir != "" {
		c.KeyEncryptionKeyFile = filepath.Join(c.DataDir, kekFileName)
		from("key_encryption_key_file", "data_dir")
	}
	for i := range c.Domains {
		g := c.Domains[i].Google
		if g == nil {
			continue
		}
		if g.Customer == "" {
			g.Customer = DefaultGoogleCustomer
		}
		e := &g.Endpoints
		for _, d := range []struct {
			p   *string
			def string
		}{{&e.Token, GoogleTokenURL}, {&e.Auth, GoogleAuthURL}, {&e.Certs, GoogleCertsURL},
			{&e.Directory, GoogleDirectoryURL}, {&e.Calendar, GoogleCalendarURL}} {
			if *d.p == "" {
				*d.p = d.def
			}
		}
	}
}

// issuerFromListen is "http://" + listen, with an unspecified host (empty,
// 0.0.0.0, ::) replaced by the matching loopback address, since a URL needs
// a host clients can reach. A listen value that does not parse is returned
// as is; Validate reports it under listen.
func issuerFromListen(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// unwrapPath drops the *os.PathError wrapper, whose text repeats the path
// the caller already names.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
