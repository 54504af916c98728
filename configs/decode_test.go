package configs

import (
	"strings"
	"testing"
	"time"
)

func TestLoad_BadFile_ErrorNamesFileKeyAndLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, doc string
		vars      map[string]string
		want      []string // substrings of the one problem, after the file path
	}{
		{name: "unknown top-level key", doc: "listen: 127.0.0.1:1\ncolde_ttl: 5\n",
			want: []string{":2: colde_ttl: unknown key", `did you mean "code_ttl"`}},
		{name: "unknown nested key", doc: "domains:\n  - domain: example.com\n    provider: static\n    directory_file: dir.yaml\n    google_admin: x\n",
			want: []string{":5: domains[0].google_admin: unknown key", "known keys here: directory_file, domain, google, provider"}},
		{name: "unknown rate limit", doc: "rate_limits:\n  signin: {limit: 1}\n",
			want: []string{":2: rate_limits.signin: unknown key"}},
		{name: "syntax error", doc: "listen: [\n",
			want: []string{"invalid YAML"}},
		{name: "tab indentation", doc: "rate_limits:\n\tsignin_per_ip: {limit: 1}\n",
			want: []string{":2: invalid YAML"}},
		{name: "wrong type", doc: "allow_insecure_callbacks: sometimes\n",
			want: []string{":1: allow_insecure_callbacks: wrong type: got a string (sometimes), want true or false"}},
		{name: "bad duration in flow style", doc: "rate_limits:\n  signin_per_ip: {limit: 1, window: 5 minutes}\n",
			want: []string{`:2: rate_limits.signin_per_ip.window: invalid duration "5 minutes"`}},
		{name: "bad duration", doc: "code_ttl: 5 minutes\n",
			want: []string{`:1: code_ttl: invalid duration "5 minutes"`}},
		{name: "duplicate key", doc: "listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n",
			want: []string{`:2: listen: mapping key "listen" already defined at line 1`}},
		{name: "second document", doc: "listen: 127.0.0.1:1\n---\nlisten: 127.0.0.1:2\n",
			want: []string{"a second YAML document"}},
		{name: "domains not a list", doc: "domains: {domain: example.com}\n",
			want: []string{":1: domains: wrong type: got a mapping, want a list"}},
		{name: "limit not an integer", doc: "rate_limits:\n  signin_per_ip:\n    limit: many\n",
			want: []string{":3: rate_limits.signin_per_ip.limit: wrong type: got a string (many), want an integer"}},
		{name: "rate_limits a list", doc: "rate_limits: [1]\n",
			want: []string{":1: rate_limits: wrong type: got a list, want a mapping of keys"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, path, err := loadYAML(t, tc.doc, tc.vars)
			ps := problems(t, err)
			if len(ps) != 1 {
				t.Fatalf("got %d problems, want 1:\n%s", len(ps), strings.Join(ps, "\n"))
			}
			if !strings.HasPrefix(ps[0], path) {
				t.Errorf("problem %q does not start with the file %s", ps[0], path)
			}
			for _, w := range tc.want {
				if !strings.Contains(ps[0], w) {
					t.Errorf("problem %q does not contain %q", ps[0], w)
				}
			}
		})
	}
}

func TestLoad_YAMLAnchorsAndMerge_AreChecked(t *testing.T) {
	t.Parallel()
	cfg, _, err := loadYAML(t, `x-limit: &lim {limit: 9, window: 2m}
rate_limits:
  signin_per_ip: *lim
  client_auth_per_ip:
    <<: *lim
    limit: 3
`, nil)
	ps := problems(t, err)
	if len(ps) != 1 || !strings.Contains(ps[0], ":1: x-limit: unknown key") {
		t.Fatalf("problems = %q, want only x-limit unknown", ps)
	}
	_ = cfg
	cfg, _, err = loadYAML(t, `rate_limits:
  signin_per_ip: &lim {limit: 9, window: 2m}
  client_auth_per_ip:
    <<: *lim
    limit: 3
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.RateLimits.ClientAuthPerIP, (RateLimit{3, Duration(2 * time.Minute)}); got != want {
		t.Errorf("merged limit = %+v, want %+v", got, want)
	}
}
