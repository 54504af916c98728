package configs

import (
	"strings"
	"testing"
)

// staticDomains is a valid domains block for loadYAML's directory.
const staticDomains = `domains:
  - domain: example.com
    provider: static
    directory_file: dir.yaml
`

func TestLoad_InvalidValue_ProblemNamesFileKeyAndFix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, doc string
		vars      map[string]string
		// wantSource is "file" for the config file, else a variable name.
		wantSource string
		wantKey    string
		wantMsg    string
	}{
		{name: "signing_algorithm HS256", doc: staticDomains + "signing_algorithm: HS256\n",
			wantSource: "file", wantKey: "signing_algorithm", wantMsg: `unsupported signing algorithm "HS256" (want EdDSA or ES256)`},
		{name: "provider ldap", doc: strings.Replace(staticDomains, "provider: static", "provider: ldap", 1),
			wantSource: "file", wantKey: "domains[0].provider", wantMsg: `unknown provider "ldap" (want static or google)`},
		{name: "provider missing", doc: "domains:\n  - domain: example.com\n",
			wantSource: "file", wantKey: "domains[0].provider", wantMsg: "required (want static or google)"},
		{name: "code_ttl 601", doc: "code_ttl: 601\n",
			wantSource: "file", wantKey: "code_ttl", wantMsg: "too long: at most 10m0s (600)"},
		{name: "code_ttl 0", doc: "code_ttl: 0\n",
			wantSource: "file", wantKey: "code_ttl", wantMsg: "at least 1s"},
		{name: "code_ttl fractional", doc: "code_ttl: 1500ms\n",
			wantSource: "file", wantKey: "code_ttl", wantMsg: "not a whole number of seconds"},
		{name: "code_ttl from env", doc: "", vars: map[string]string{"BROKER_CODE_TTL": "11m"},
			wantSource: "BROKER_CODE_TTL", wantKey: "code_ttl", wantMsg: "too long"},
		{name: "env duration does not parse", doc: "", vars: map[string]string{"BROKER_ACCESS_TOKEN_TTL": "soon"},
			wantSource: "BROKER_ACCESS_TOKEN_TTL", wantKey: "access_token_ttl", wantMsg: `invalid duration "soon"`},
		{name: "env bool does not parse", doc: "", vars: map[string]string{"BROKER_ALLOW_INSECURE_CALLBACKS": "maybe"},
			wantSource: "BROKER_ALLOW_INSECURE_CALLBACKS", wantKey: "allow_insecure_callbacks", wantMsg: `invalid boolean "maybe"`},
		{name: "access_token_ttl negative", doc: "access_token_ttl: -5\n",
			wantSource: "file", wantKey: "access_token_ttl", wantMsg: "at least 1s"},
		{name: "delegated_token_ttl zero", doc: "delegated_token_ttl: 0s\n",
			wantSource: "file", wantKey: "delegated_token_ttl", wantMsg: "at least 1s"},
		{name: "redis without kek", doc: "redis_url: redis://localhost:6379\n",
			wantSource: "file", wantKey: "key_encryption_key_file", wantMsg: "required when redis_url is set"},
		{name: "REDIS_URL without kek", doc: "", vars: map[string]string{"REDIS_URL": "redis://localhost:6379"},
			wantSource: "file", wantKey: "key_encryption_key_file", wantMsg: "required when redis_url is set"},
		{name: "redis kek missing file", doc: "redis_url: redis://localhost:6379\nkey_encryption_key_file: nope\n",
			wantSource: "file", wantKey: "key_encryption_key_file", wantMsg: "no such file"},
		{name: "redis scheme", doc: "redis_url: http://:hunter2@localhost:6379\nkey_encryption_key_file: kek\n",
			wantSource: "file", wantKey: "redis_url", wantMsg: `unsupported scheme "http"`},
		{name: "redis scheme from env", doc: "key_encryption_key_file: kek\n", vars: map[string]string{"BROKER_REDIS_URL": "tcp://:hunter2@h:1"},
			wantSource: "BROKER_REDIS_URL", wantKey: "redis_url", wantMsg: `unsupported scheme "tcp"`},
		{name: "redis without host", doc: "redis_url: 'redis:///0'\nkey_encryption_key_file: kek\n",
			wantSource: "file", wantKey: "redis_url", wantMsg: "has no host"},
		{name: "issuer relative", doc: "issuer: broker.example.com\n",
			wantSource: "file", wantKey: "issuer", wantMsg: "want an absolute http(s) URL"},
		{name: "issuer ftp", doc: "issuer: ftp://broker.example.com\n",
			wantSource: "file", wantKey: "issuer", wantMsg: "want an absolute http(s) URL"},
		{name: "issuer query", doc: "issuer: https://b.example.com?x=1\n",
			wantSource: "file", wantKey: "issuer", wantMsg: "query or fragment"},
		{name: "issuer fragment", doc: "issuer: https://b.example.com#x\n",
			wantSource: "file", wantKey: "issuer", wantMsg: "query or fragment"},
		{name: "issuer trailing slash", doc: "issuer: https://b.example.com/\n",
			wantSource: "file", wantKey: "issuer", wantMsg: "trailing slash"},
		{name: "issuer from env", doc: "", vars: map[string]string{"BROKER_ISSUER": "nope"},
			wantSource: "BROKER_ISSUER", wantKey: "issuer", wantMsg: "invalid issuer"},
		{name: "listen without port", doc: "listen: localhost\n",
			wantSource: "file", wantKey: "listen", wantMsg: "want host:port"},
		{name: "listen bad port", doc: "listen: localhost:http\n",
			wantSource: "file", wantKey: "listen", wantMsg: "invalid port"},
		{name: "data_dir empty", doc: "data_dir: ''\nkey_encryption_key_file: kek\n",
			wantSource: "file", wantKey: "data_dir", wantMsg: "must not be empty"},
		{name: "audience with space", doc: "delegated_token_audience: a b\n",
			wantSource: "file", wantKey: "delegated_token_audience", wantMsg: "without spaces"},
		{name: "rate limit negative", doc: "rate_limits: {signin_per_ip: {limit: -1}}\n",
			wantSource: "file", wantKey: "rate_limits.signin_per_ip.limit", wantMsg: "or 0 to disable"},
		{name: "rate limit without window", doc: "rate_limits: {authorize_per_ip: {limit: 5, window: 0}}\n",
			wantSource: "file", wantKey: "rate_limits.authorize_per_ip.window", wantMsg: "at least 1s"},
		{name: "audit_retention in seconds by mistake", doc: "audit_retention: 90\n",
			wantSource: "file", wantKey: "audit_retention", wantMsg: "for 90 days write 90d"},
		{name: "log_level", doc: "log_level: chatty\n",
			wantSource: "file", wantKey: "log_level", wantMsg: `unknown log level "chatty"`},
		{name: "domain upper case", doc: strings.Replace(staticDomains, "domain: example.com", "domain: Example.COM", 1),
			wantSource: "file", wantKey: "domains[0].domain", wantMsg: `write "example.com"`},
		{name: "domain not DNS", doc: strings.Replace(staticDomains, "domain: example.com", "domain: 'ex ample.com'", 1),
			wantSource: "file", wantKey: "domains[0].domain", wantMsg: "not a DNS name"},
		{name: "domain missing", doc: "domains:\n  - provider: static\n    directory_file: dir.yaml\n",
			wantSource: "file", wantKey: "domains[0].domain", wantMsg: "required"},
		{name: "domain twice", doc: staticDomains + "  - {domain: example.com, provider: static, directory_file: dir.yaml}\n",
			wantSource: "file", wantKey: "domains[1].domain", wantMsg: "already configured at domains[0]"},
		{name: "static without directory_file", doc: "domains:\n  - domain: example.com\n    provider: static\n",
			wantSource: "file", wantKey: "domains[0].directory_file", wantMsg: "required when provider is static"},
		{name: "static directory_file missing", doc: strings.Replace(staticDomains, "dir.yaml", "missing.yaml", 1),
			wantSource: "file", wantKey: "domains[0].directory_file", wantMsg: "no such file or directory"},
		{name: "static directory_file is a directory", doc: strings.Replace(staticDomains, "dir.yaml", ".", 1),
			wantSource: "file", wantKey: "domains[0].directory_file", wantMsg: "is a directory"},
		{name: "static with google block", doc: staticDomains + "    google: {admin_email: a@example.com}\n",
			wantSource: "file", wantKey: "domains[0].google", wantMsg: "only for provider google"},
		{name: "google without block", doc: "domains:\n  - {domain: acme.com, provider: google}\n",
			wantSource: "file", wantKey: "domains[0].google", wantMsg: "required when provider is google"},
		{name: "google with directory_file", doc: googleDomain("") + "    directory_file: dir.yaml\n",
			wantSource: "file", wantKey: "domains[0].directory_file", wantMsg: "only for provider static"},
		{name: "google admin_email missing", doc: googleDomain("admin_email"),
			wantSource: "file", wantKey: "domains[0].google.admin_email", wantMsg: "required when provider is google"},
		{name: "google admin_email malformed", doc: strings.Replace(googleDomain(""), "admin@acme.com", "admin", 1),
			wantSource: "file", wantKey: "domains[0].google.admin_email", wantMsg: "not an email address"},
		{name: "google credentials_file missing", doc: googleDomain("credentials_file"),
			wantSource: "file", wantKey: "domains[0].google.credentials_file", wantMsg: "required when provider is google"},
		{name: "google credentials_file unreadable", doc: strings.Replace(googleDomain(""), "sa.json", "nope.json", 1),
			wantSource: "file", wantKey: "domains[0].google.credentials_file", wantMsg: "no such file"},
		{name: "google oauth_client_id missing", doc: googleDomain("oauth_client_id"),
			wantSource: "file", wantKey: "domains[0].google.oauth_client_id", wantMsg: "required when provider is google"},
		{name: "google oauth_client_secret missing", doc: googleDomain("oauth_client_secret"),
			wantSource: "file", wantKey: "domains[0].google.oauth_client_secret", wantMsg: "required when provider is google"},
		{name: "google endpoint relative", doc: googleDomain("") + "      endpoints: {token: /token}\n",
			wantSource: "file", wantKey: "domains[0].google.endpoints.token", wantMsg: "want an absolute http(s) URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, path, err := loadYAML(t, tc.doc, tc.vars)
			ps := problems(t, err)
			if len(ps) != 1 {
				t.Fatalf("got %d problems, want 1:\n%s", len(ps), strings.Join(ps, "\n"))
			}
			src := tc.wantSource
			if src == "file" {
				src = path
			}
			if !strings.HasPrefix(ps[0], src+":") {
				t.Errorf("problem %q does not start with its source %q", ps[0], src)
			}
			if !strings.Contains(ps[0], ": "+tc.wantKey+": ") {
				t.Errorf("problem %q does not name the key %q", ps[0], tc.wantKey)
			}
			if !strings.Contains(ps[0], tc.wantMsg) {
				t.Errorf("problem %q does not say %q", ps[0], tc.wantMsg)
			}
			if strings.Contains(ps[0], "hunter2") {
				t.Errorf("problem %q reveals the Redis password", ps[0])
			}
		})
	}
}

// googleDomain is a valid google domain for loadYAML's directory, without
// the google key named by omit.
func googleDomain(omit string) string {
	doc := "domains:\n  - domain: acme.com\n    provider: google\n    google:\n"
	for _, kv := range [][2]string{
		{"credentials_file", "sa.json"},
		{"admin_email", "admin@acme.com"},
		{"oauth_client_id", "1234-abc.apps.googleusercontent.com"},
		{"oauth_client_secret", "GOCSPX-x"},
	} {
		if kv[0] != omit {
			doc += "      " + kv[0] + ": " + kv[1] + "\n"
		}
	}
	return doc
}

func TestLoad_ValidGoogleAndStaticDomains_Load(t *testing.T) {
	t.Parallel()
	doc := googleDomain("") + `      customer: C0123
      endpoints:
        token: http://127.0.0.1:9999/token
        directory: http://127.0.0.1:9999
  - domain: example.com
    provider: static
    directory_file: dir.yaml
`
	cfg, _, err := loadYAML(t, doc, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Domains[0].Google
	if g.Customer != "C0123" || g.Endpoints.Token != "http://127.0.0.1:9999/token" || g.Endpoints.Auth != GoogleAuthURL {
		t.Errorf("google = %+v, want customer C0123, fake token URL, default auth URL", g)
	}
	if cfg.Domains[1].Provider != ProviderStatic {
		t.Errorf("domains[1].provider = %q, want static", cfg.Domains[1].Provider)
	}
}

func TestLoad_SeveralProblems_AllReportedTogether(t *testing.T) {
	t.Parallel()
	doc := `signing_algorithm: HS256
code_ttl: 601
colour: blue
access_token_ttl: nope
redis_url: redis://localhost:6379
domains:
  - domain: example.com
    provider: ldap
  - domain: acme.com
    provider: google
    google: {admin_email: admin@acme.com}
`
	_, path, err := loadYAML(t, doc, map[string]string{"BROKER_LOG_LEVEL": "loud"})
	ps := problems(t, err)
	want := []string{
		path + ":3: colour: unknown key",
		path + ":4: access_token_ttl: invalid duration",
		path + ":2: code_ttl: 10m1s is too long",
		path + ":1: signing_algorithm: unsupported",
		path + ": key_encryption_key_file: required when redis_url is set",
		"BROKER_LOG_LEVEL: log_level: unknown log level",
		path + ":8: domains[0].provider: unknown provider \"ldap\"",
		path + ":11: domains[1].google.credentials_file: required",
		path + ":11: domains[1].google.oauth_client_id: required",
		path + ":11: domains[1].google.oauth_client_secret: required",
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(ps), len(want), strings.Join(ps, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(ps[i], w) {
			t.Errorf("problem %d = %q, want it to start with %q", i, ps[i], w)
		}
	}
}

func TestValidate_HandBuiltConfig_NamesSourceConfig(t *testing.T) {
	t.Parallel()
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate after Load: %v", err)
	}
	cfg.SigningAlgorithm = "RS256"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "signing_algorithm") {
		t.Fatalf("Validate after setting RS256: %v, want a signing_algorithm problem", err)
	}
	bare := &Config{}
	err = bare.Validate()
	ps := problems(t, err)
	for _, w := range []string{"config: listen: ", "config: issuer: ", "config: signing_algorithm: "} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("problems of a zero Config do not include %q:\n%v", w, err)
		}
	}
	if len(ps) < 3 {
		t.Errorf("a zero Config has %d problems, want every one reported", len(ps))
	}
}
