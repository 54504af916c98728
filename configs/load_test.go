package configs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// env returns a getenv over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// loadYAML writes doc as broker.yaml in a fresh directory (with a readable
// dir.yaml beside it for static domains) and loads it.
func loadYAML(t *testing.T, doc string, vars map[string]string) (*Config, string, error) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "dir.yaml", "domain: example.com\n")
	writeFile(t, dir, "sa.json", "{}\n")
	writeFile(t, dir, "kek", "0123456789abcdef0123456789abcdef")
	path := writeFile(t, dir, "broker.yaml", doc)
	cfg, err := Load(path, env(vars))
	return cfg, path, err
}

// problems returns the lines of an *Error, failing the test for any other error.
func problems(t *testing.T, err error) []string {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *configs.Error", err, err)
	}
	return strings.Split(ce.Error(), "\n")
}

func TestLoad_NoFile_EveryKeyHasItsDefault(t *testing.T) {
	t.Parallel()
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatalf("Load with no file: %v", err)
	}
	for _, tc := range []struct {
		key       string
		got, want any
	}{
		{"issuer", cfg.Issuer, "http://127.0.0.1:8080"},
		{"listen", cfg.Listen, "127.0.0.1:8080"},
		{"data_dir", cfg.DataDir, "./data"},
		{"redis_url", cfg.RedisURL, Secret("")},
		{"code_ttl", cfg.CodeTTL.Duration(), 300 * time.Second},
		{"access_token_ttl", cfg.AccessTokenTTL.Duration(), 1800 * time.Second},
		{"delegated_token_ttl", cfg.DelegatedTokenTTL.Duration(), 600 * time.Second},
		{"delegated_token_audience", cfg.DelegatedTokenAudience, "http://127.0.0.1:8080"},
		{"signing_algorithm", cfg.SigningAlgorithm, "EdDSA"},
		{"allow_insecure_callbacks", cfg.AllowInsecureCallbacks, false},
		{"rate_limits.signin_per_account", cfg.RateLimits.SigninPerAccount, RateLimit{5, Duration(15 * time.Minute)}},
		{"rate_limits.signin_per_ip", cfg.RateLimits.SigninPerIP, RateLimit{50, Duration(15 * time.Minute)}},
		{"rate_limits.client_auth_per_client", cfg.RateLimits.ClientAuthPerClient, RateLimit{20, Duration(time.Minute)}},
		{"rate_limits.client_auth_per_ip", cfg.RateLimits.ClientAuthPerIP, RateLimit{100, Duration(time.Minute)}},
		{"rate_limits.authorize_per_ip", cfg.RateLimits.AuthorizePerIP, RateLimit{300, Duration(time.Minute)}},
		{"key_encryption_key_file", cfg.KeyEncryptionKeyFile, filepath.Join("data", "kek")},
		{"audit_retention", cfg.AuditRetention.Duration(), 90 * 24 * time.Hour},
		{"log_level", cfg.LogLevel, "info"},
		{"domains", len(cfg.Domains), 0},
	} {
		t.Run(tc.key, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.key, tc.got, tc.want)
			}
		})
	}
}

func TestLoad_GoogleDomain_DefaultsCustomerAndEndpoints(t *testing.T) {
	t.Parallel()
	cfg, _, err := loadYAML(t, `domains:
  - domain: acme.com
    provider: google
    google: {credentials_file: sa.json, admin_email: admin@acme.com, oauth_client_id: id, oauth_client_secret: s}
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Domains[0].Google
	want := GoogleEndpoints{
		Token:     "https://oauth2.googleapis.com/token",
		Auth:      "https://accounts.google.com/o/oauth2/v2/auth",
		Certs:     "https://www.googleapis.com/oauth2/v3/certs",
		Directory: "https://admin.googleapis.com",
		Calendar:  "https://www.googleapis.com",
	}
	if g.Endpoints != want {
		t.Errorf("endpoints = %+v, want %+v", g.Endpoints, want)
	}
	if g.Customer != "my_customer" {
		t.Errorf("customer = %q, want my_customer", g.Customer)
	}
	if g.OAuthClientSecret.Reveal() != "s" {
		t.Errorf("oauth_client_secret = %q, want s", g.OAuthClientSecret.Reveal())
	}
}

func TestLoad_YAML_SetsKeysAndDurationForms(t *testing.T) {
	t.Parallel()
	cfg, _, err := loadYAML(t, `issuer: https://broker.example.com
listen: 0.0.0.0:9000
code_ttl: 2s
access_token_ttl: 900
delegated_token_ttl: 5m
delegated_token_audience: https://calendar-api.checker.example
signing_algorithm: ES256
allow_insecure_callbacks: true
audit_retention: 30d
log_level: debug
rate_limits:
  signin_per_account: {limit: 10}
  authorize_per_ip: {limit: 0}
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key       string
		got, want any
	}{
		{"issuer", cfg.Issuer, "https://broker.example.com"},
		{"code_ttl (Go syntax)", cfg.CodeTTL.Duration(), 2 * time.Second},
		{"access_token_ttl (integer)", cfg.AccessTokenTTL.Duration(), 900 * time.Second},
		{"delegated_token_ttl (Go syntax)", cfg.DelegatedTokenTTL.Duration(), 5 * time.Minute},
		{"delegated_token_audience", cfg.DelegatedTokenAudience, "https://calendar-api.checker.example"},
		{"signing_algorithm", cfg.SigningAlgorithm, "ES256"},
		{"allow_insecure_callbacks", cfg.AllowInsecureCallbacks, true},
		{"audit_retention (days)", cfg.AuditRetention.Duration(), 30 * 24 * time.Hour},
		{"log_level", cfg.Level().String(), "DEBUG"},
		{"rate limit set, window kept", cfg.RateLimits.SigninPerAccount, RateLimit{10, Duration(15 * time.Minute)}},
		{"rate limit 0 disables", cfg.RateLimits.AuthorizePerIP.Enabled(), false},
		{"other rate limits kept", cfg.RateLimits.SigninPerIP, RateLimit{50, Duration(15 * time.Minute)}},
	} {
		t.Run(tc.key, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.key, tc.got, tc.want)
			}
		})
	}
}

func TestLoad_Environment_WinsOverYAML(t *testing.T) {
	t.Parallel()
	doc := `issuer: https://file.example.com
listen: 127.0.0.1:1111
data_dir: /file/data
redis_url: redis://file:6379
key_encryption_key_file: kek
code_ttl: 100
access_token_ttl: 100
delegated_token_ttl: 100
delegated_token_audience: file-aud
signing_algorithm: EdDSA
allow_insecure_callbacks: false
audit_retention: 10d
log_level: info
`
	dir := t.TempDir()
	kek := writeFile(t, dir, "env-kek", "0123456789abcdef0123456789abcdef")
	cfg, _, err := loadYAML(t, doc, map[string]string{
		"BROKER_ISSUER":                   "https://env.example.com",
		"BROKER_LISTEN":                   "127.0.0.1:2222",
		"BROKER_DATA_DIR":                 "/env/data",
		"REDIS_URL":                       "redis://plain-env:6379",
		"BROKER_REDIS_URL":                "rediss://broker-env:6380",
		"BROKER_KEY_ENCRYPTION_KEY_FILE":  kek,
		"BROKER_CODE_TTL":                 "2s",
		"BROKER_ACCESS_TOKEN_TTL":         "900",
		"BROKER_DELEGATED_TOKEN_TTL":      "5m",
		"BROKER_DELEGATED_TOKEN_AUDIENCE": "env-aud",
		"BROKER_SIGNING_ALGORITHM":        "ES256",
		"BROKER_ALLOW_INSECURE_CALLBACKS": "true",
		"BROKER_AUDIT_RETENTION":          "7d",
		"BROKER_LOG_LEVEL":                "warn",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key       string
		got, want any
	}{
		{"issuer", cfg.Issuer, "https://env.example.com"},
		{"listen", cfg.Listen, "127.0.0.1:2222"},
		{"data_dir", cfg.DataDir, "/env/data"},
		{"redis_url (BROKER_REDIS_URL beats REDIS_URL)", cfg.RedisURL.Reveal(), "rediss://broker-env:6380"},
		{"key_encryption_key_file", cfg.KeyEncryptionKeyFile, kek},
		{"code_ttl", cfg.CodeTTL.Duration(), 2 * time.Second},
		{"access_token_ttl", cfg.AccessTokenTTL.Duration(), 900 * time.Second},
		{"delegated_token_ttl", cfg.DelegatedTokenTTL.Duration(), 5 * time.Minute},
		{"delegated_token_audience", cfg.DelegatedTokenAudience, "env-aud"},
		{"signing_algorithm", cfg.SigningAlgorithm, "ES256"},
		{"allow_insecure_callbacks", cfg.AllowInsecureCallbacks, true},
		{"audit_retention", cfg.AuditRetention.Duration(), 7 * 24 * time.Hour},
		{"log_level", cfg.LogLevel, "warn"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.key, tc.got, tc.want)
			}
		})
	}
}

func TestLoad_Environment_DerivedDefaultsFollowOverrides(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                string
		vars                map[string]string
		wantIssuer, wantAud string
		wantKEK, wantRedis  string
	}{
		{name: "listen sets issuer and audience", vars: map[string]string{"BROKER_LISTEN": "127.0.0.1:9090"},
			wantIssuer: "http://127.0.0.1:9090", wantAud: "http://127.0.0.1:9090", wantKEK: filepath.Join("data", "kek")},
		{name: "unspecified host becomes loopback", vars: map[string]string{"BROKER_LISTEN": ":9090"},
			wantIssuer: "http://127.0.0.1:9090", wantAud: "http://127.0.0.1:9090", wantKEK: filepath.Join("data", "kek")},
		{name: "issuer sets audience", vars: map[string]string{"BROKER_ISSUER": "https://b.example.com"},
			wantIssuer: "https://b.example.com", wantAud: "https://b.example.com", wantKEK: filepath.Join("data", "kek")},
		{name: "data_dir sets kek", vars: map[string]string{"BROKER_DATA_DIR": "/var/lib/broker"},
			wantIssuer: "http://127.0.0.1:8080", wantAud: "http://127.0.0.1:8080", wantKEK: "/var/lib/broker/kek"},
		{name: "REDIS_URL alone selects redis", vars: map[string]string{"REDIS_URL": "redis://r:6379", "BROKER_KEY_ENCRYPTION_KEY_FILE": "broker.yaml"},
			wantIssuer: "http://127.0.0.1:8080", wantAud: "http://127.0.0.1:8080", wantKEK: "broker.yaml", wantRedis: "redis://r:6379"},
		{name: "empty variable ignored", vars: map[string]string{"BROKER_LISTEN": ""},
			wantIssuer: "http://127.0.0.1:8080", wantAud: "http://127.0.0.1:8080", wantKEK: filepath.Join("data", "kek")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.vars["BROKER_KEY_ENCRYPTION_KEY_FILE"] != "" {
				tc.vars["BROKER_KEY_ENCRYPTION_KEY_FILE"] = writeFile(t, t.TempDir(), "kek", "k")
				tc.wantKEK = tc.vars["BROKER_KEY_ENCRYPTION_KEY_FILE"]
			}
			cfg, err := Load("", env(tc.vars))
			if err != nil {
				t.Fatal(err)
			}
			got := []string{cfg.Issuer, cfg.DelegatedTokenAudience, cfg.KeyEncryptionKeyFile, cfg.RedisURL.Reveal()}
			want := []string{tc.wantIssuer, tc.wantAud, tc.wantKEK, tc.wantRedis}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("issuer, audience, kek, redis = %q, want %q", got, want)
			}
		})
	}
}

func TestLoad_RelativePaths_ResolvedFromConfigFileDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sub := filepath.Join(dir, "conf")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, sub, "example.com.yaml", "domain: example.com\n")
	writeFile(t, sub, "sa.json", "{}\n")
	abs := writeFile(t, dir, "other.yaml", "domain: other.org\n")
	path := writeFile(t, sub, "broker.yaml", `data_dir: ./data
key_encryption_key_file: secrets/kek
domains:
  - {domain: example.com, provider: static, directory_file: example.com.yaml}
  - {domain: other.org, provider: static, directory_file: `+abs+`}
  - domain: acme.com
    provider: google
    google: {credentials_file: sa.json, admin_email: a@acme.com, oauth_client_id: i, oauth_client_secret: s}
`)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ key, got, want string }{
		{"domains[0].directory_file", cfg.Domains[0].DirectoryFile, filepath.Join(sub, "example.com.yaml")},
		{"domains[1].directory_file (absolute kept)", cfg.Domains[1].DirectoryFile, abs},
		{"domains[2].google.credentials_file", cfg.Domains[2].Google.CredentialsFile, filepath.Join(sub, "sa.json")},
		{"key_encryption_key_file", cfg.KeyEncryptionKeyFile, filepath.Join(sub, "secrets", "kek")},
		{"data_dir (working directory)", cfg.DataDir, "./data"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.key, tc.got, tc.want)
		}
	}
}

func TestLoad_EmptyFile_IsAllDefaults(t *testing.T) {
	t.Parallel()
	cfg, _, err := loadYAML(t, "# nothing here\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != DefaultListen || cfg.CodeTTL.Duration() != DefaultCodeTTL {
		t.Errorf("empty file: listen %q code_ttl %v, want the defaults", cfg.Listen, cfg.CodeTTL)
	}
}

func TestLoad_MissingFile_NamesIt(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path, nil)
	ps := problems(t, err)
	if len(ps) != 1 || !strings.HasPrefix(ps[0], path+": cannot read the config file") {
		t.Fatalf("problems = %q, want one naming %s", ps, path)
	}
}
