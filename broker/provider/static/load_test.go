package static_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/enterprise-connect/broker/broker/provider"
	"github.com/enterprise-connect/broker/broker/provider/static"
)

func TestLoad_CheckerFile_ReadsEverySection(t *testing.T) {
	t.Parallel()
	d := loadChecker(t)
	if got, want := d.Name(), "static"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	if got, want := d.Domain(), "example.com"; got != want {
		t.Errorf("Domain() = %q, want %q", got, want)
	}
	if got, want := filepath.Base(d.Source()), "example.com.yaml"; got != want {
		t.Errorf("Source() = %q, want %q", got, want)
	}
	wantAdmins := []provider.Person{
		{Email: "admin@example.com", Name: "Example Admin", IsAdmin: true},
		{Email: "boss@example.com", Name: "Boss Admin", IsAdmin: true},
	}
	if diff := cmp.Diff(wantAdmins, d.Admins()); diff != "" {
		t.Errorf("Admins() (-want +got):\n%s", diff)
	}
	rs, err := d.Resources(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wantRes := []provider.Subject{{Email: "room-1@example.com", Name: "Room 1", Kind: provider.Resource,
		Groups: []string{}, Calendars: []provider.Calendar{{ID: "cal_room_1", Name: "Room 1"}}}}
	if diff := cmp.Diff(wantRes, rs); diff != "" {
		t.Errorf("Resources() (-want +got):\n%s", diff)
	}
	if _, err := d.Upstream(t.Context(), "alice@example.com", []string{"x"}); err != provider.ErrNoUpstream {
		t.Errorf("Upstream() error = %v, want ErrNoUpstream", err)
	}
}

func TestLoad_MissingFile_NamesFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := static.Load(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Load(missing) error = %v, want it to name %s", err, path)
	}
}

func TestParse_InvalidFile_NamesFileKeyAndProblem(t *testing.T) {
	t.Parallel()
	h := hash(t, "pw")
	admin := "admins:\n  - {email: admin@example.com, name: A, password_hash: " + q(h) + "}\n"
	head := "domain: example.com\n" + admin
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error, besides the file name
	}{
		{"empty file", "", []string{"empty directory file"}},
		{"two documents", head + "---\ndomain: x.org\n", []string{"second YAML document"}},
		{"syntax error", "domain: [example.com\n", []string{"yaml:"}},
		{"top level is a list", "- a\n", []string{"top level", "want a mapping"}},
		{"unknown top-level key", head + "user: []\n", []string{"line 4", "user: unknown key"}},
		{"unknown user key", head + "users:\n  - email: a@example.com\n    pasword_hash: x\n",
			[]string{"line 6", "users[0].pasword_hash: unknown key", "password_hash"}},
		{"unknown calendar key", head + "resources:\n  - email: r@example.com\n    calendars: [{id: c1}]\n",
			[]string{"resources[0].calendars[0].id: unknown key", "resources[0].calendars[0].calendar_id: required"}},
		{"resource with password", head + "resources:\n  - email: r@example.com\n    password_hash: " + q(h) + "\n",
			[]string{"resources[0].password_hash: unknown key"}},
		{"admin with groups", "domain: example.com\nadmins:\n  - {email: a@example.com, password_hash: " + q(h) + ", groups: [x]}\n",
			[]string{"admins[0].groups: unknown key"}},
		{"repeated key", head + "users: []\nusers: []\n", []string{"users: key repeated (first at line 4)"}},
		{"missing domain", admin, []string{"domain: required"}},
		{"bad domain", "domain: 'exa mple'\n" + admin, []string{"domain:", "not a domain name"}},
		{"no admins", "domain: example.com\nadmins: []\n", []string{"admins: at least one administrator"}},
		{"admin without hash", "domain: example.com\nadmins:\n  - email: a@example.com\n",
			[]string{"admins[0].password_hash: required", "htpasswd"}},
		{"plain-text password", "domain: example.com\nadmins:\n  - {email: a@example.com, password_hash: hunter2}\n",
			[]string{"admins[0].password_hash: not a bcrypt hash"}},
		{"md5 crypt hash", head + "users:\n  - {email: u@example.com, password_hash: '$1$" + h[4:] + "'}\n",
			[]string{"users[0].password_hash: not a bcrypt hash"}},
		{"bcrypt cost too low", head + "users:\n  - {email: u@example.com, password_hash: '" + h[:4] + "03" + h[6:] + "'}\n",
			[]string{"users[0].password_hash: not a bcrypt hash", "cost 3"}},
		{"truncated hash", head + "users:\n  - {email: u@example.com, password_hash: '" + h[:59] + "'}\n",
			[]string{"users[0].password_hash: not a bcrypt hash"}},
		{"duplicate user, other case", head + "users:\n  - email: u@example.com\n  - email: U@EXAMPLE.com\n",
			[]string{"users[1].email:", `"u@example.com" is already listed at users[0]`}},
		{"user and resource share an email", head + "users:\n  - email: u@example.com\nresources:\n  - email: u@example.com\n",
			[]string{"resources[0].email:", "already listed at users[0]"}},
		{"duplicate admin", head + "  - {email: Admin@example.com, password_hash: " + q(h) + "}\n",
			[]string{"admins[1].email:", "already listed at admins[0]"}},
		{"email outside domain", head + "users:\n  - email: u@other.org\n", []string{"users[0].email:", "not in domain example.com"}},
		{"not an email", head + "users:\n  - email: nobody\n", []string{"users[0].email:", "not an email address"}},
		{"missing email", head + "users:\n  - name: Nobody\n", []string{"users[0].email: required"}},
		{"groups not a list", head + "users:\n  - {email: u@example.com, groups: sales}\n",
			[]string{"users[0].groups: want a list"}},
		{"duplicate group", head + "users:\n  - {email: u@example.com, groups: [a, a]}\n", []string{"users[0].groups[1]:", "listed twice"}},
		{"duplicate calendar", head + "users:\n  - {email: u@example.com, calendars: [{calendar_id: c}, {calendar_id: c}]}\n",
			[]string{"users[0].calendars[1].calendar_id:", "listed twice"}},
		{"name is a mapping", head + "users:\n  - {email: u@example.com, name: {first: U}}\n", []string{"users[0].name: want a string"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := static.Parse("dir/example.com.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("Parse() = %v, want an error", d)
			}
			msg := err.Error()
			for _, line := range strings.Split(msg, "\n") {
				if !strings.HasPrefix(line, "dir/example.com.yaml: ") {
					t.Errorf("error line %q does not start with the file name", line)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestParse_ReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := static.Parse("x.yaml", []byte("domain: example.com\nadmins:\n  - {email: a@other.org, password_hash: nope}\nfoo: 1\n"))
	if err == nil {
		t.Fatal("Parse() succeeded, want errors")
	}
	if got := strings.Count(err.Error(), "\n") + 1; got != 3 {
		t.Errorf("got %d problems, want 3 (domain, hash, unknown key):\n%s", got, err)
	}
}

func TestParse_Lenient_WhereSpecAllows(t *testing.T) {
	t.Parallel()
	h := hash(t, "pw")
	tests := []struct {
		name string
		yaml string
	}{
		{"2b and 2y hashes", "domain: Example.COM\nadmins:\n  - {email: a@example.com, password_hash: '$2b$" + h[4:] + "'}\n" +
			"users:\n  - {email: b@example.com, password_hash: '$2y$" + h[4:] + "'}\n"},
		{"user without password, null sections", "domain: example.com\nadmins:\n  - {email: a@example.com, password_hash: " + q(h) + "}\n" +
			"users:\n  - email: u@example.com\nresources:\n"},
		{"anchors and aliases", "domain: example.com\nadmins:\n  - &a {email: a@example.com, password_hash: " + q(h) + "}\n" +
			"users:\n  - {email: u@example.com, calendars: &c [{calendar_id: c1}]}\nresources:\n  - {email: r@example.com, calendars: *c}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := static.Parse("x.yaml", []byte(tc.yaml)); err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
		})
	}
}
