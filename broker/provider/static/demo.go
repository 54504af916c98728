package static

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"log/slog"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"
)

// demoPasswordLen is the length of generated demo passwords: 20 base-62 characters, about
// 119 bits.
const demoPasswordLen = 20

// DemoAccount is one generated sign-in of the demo directory. The password exists only here:
// the directory file holds its bcrypt hash. String and LogValue hide it.
type DemoAccount struct {
	Email    string
	Password string
}

// String keeps the password out of anything that prints the account.
func (a DemoAccount) String() string { return a.Email + " (password [redacted])" }

// LogValue keeps the password out of logs (STYLE §7).
func (a DemoAccount) LogValue() slog.Value {
	return slog.GroupValue(slog.String("email", a.Email), slog.String("password", "[redacted]"))
}

// Demo is a generated demo directory (SPEC §10, the embedded first start).
type Demo struct {
	// YAML is the directory file, to be written once (0600) and loaded with Load.
	YAML []byte
	// Admin is admin@<domain>, the administrator, who is not a subject (SPEC §10).
	Admin DemoAccount
	// Users are alice@<domain> and bob@<domain>, subjects who may also sign in.
	Users []DemoAccount
}

// GenerateDemo makes the demo directory for domain (e.g. "example.com") and returns the file,
// the administrator's email (admin@<domain>) and its freshly generated password, which the
// first start prints once. The users' passwords are random too and not returned; use NewDemo
// for them. Errors: an invalid domain, or crypto/rand failing.
func GenerateDemo(domain string) (yamlBytes []byte, adminEmail, adminPassword string, err error) {
	d, err := NewDemo(domain)
	if err != nil {
		return nil, "", "", err
	}
	return d.YAML, d.Admin.Email, d.Admin.Password, nil
}

// NewDemo is GenerateDemo returning every generated password. The directory has one
// administrator admin@<domain> (not a user, so not a subject), users alice@<domain> (group
// sales, calendars cal_alice_1 and cal_alice_2) and bob@<domain> (group eng, calendar
// cal_bob_1), and the resource room-1@<domain> (calendar cal_room_1): the shape the checker
// uses. Passwords are 20 base-62 characters from crypto/rand, hashed at bcrypt.DefaultCost.
func NewDemo(domain string) (Demo, error) {
	domain = foldEmail(domain)
	if !validDomain(domain) {
		return Demo{}, fmt.Errorf("static demo: %q is not a domain name", domain)
	}
	var demo Demo
	hashOf := func(email string) (string, DemoAccount, error) {
		pw, err := randomBase62(demoPasswordLen)
		if err != nil {
			return "", DemoAccount{}, fmt.Errorf("static demo: password for %s: %w", email, err)
		}
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
		if err != nil {
			return "", DemoAccount{}, fmt.Errorf("static demo: hash for %s: %w", email, err)
		}
		return string(h), DemoAccount{Email: email, Password: pw}, nil
	}
	f := demoFile{Domain: domain}
	var err error
	var adminHash string
	if adminHash, demo.Admin, err = hashOf("admin@" + domain); err != nil {
		return Demo{}, err
	}
	f.Admins = []demoAdmin{{Email: demo.Admin.Email, Name: "Demo Admin", PasswordHash: adminHash}}
	for _, u := range []demoUser{
		{Email: "alice@" + domain, Name: "Alice Example", Groups: []string{"sales"},
			Calendars: []demoCalendar{{ID: "cal_alice_1", Name: "Alice"}, {ID: "cal_alice_2", Name: "Team"}}},
		{Email: "bob@" + domain, Name: "Bob Example", Groups: []string{"eng"},
			Calendars: []demoCalendar{{ID: "cal_bob_1", Name: "Bob"}}},
	} {
		var acct DemoAccount
		if u.PasswordHash, acct, err = hashOf(u.Email); err != nil {
			return Demo{}, err
		}
		demo.Users = append(demo.Users, acct)
		f.Users = append(f.Users, u)
	}
	f.Resources = []demoResource{{Email: "room-1@" + domain, Name: "Room 1",
		Calendars: []demoCalendar{{ID: "cal_room_1", Name: "Room 1"}}}}

	var buf bytes.Buffer
	buf.WriteString("# Demo directory of the static provider, generated on first start (SPEC §10).\n" +
		"# Passwords are not stored: the broker printed the administrator's once. Edit freely;\n" +
		"# password_hash values are bcrypt hashes.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return Demo{}, fmt.Errorf("static demo: encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return Demo{}, fmt.Errorf("static demo: encode: %w", err)
	}
	demo.YAML = buf.Bytes()
	return demo, nil
}

// The demo file's shape, for encoding only (Parse reads files through decoder, strictly).
type (
	demoFile struct {
		Domain    string         `yaml:"domain"`
		Admins    []demoAdmin    `yaml:"admins"`
		Users     []demoUser     `yaml:"users"`
		Resources []demoResource `yaml:"resources"`
	}
	demoAdmin struct {
		Email        string `yaml:"email"`
		Name         string `yaml:"name"`
		PasswordHash string `yaml:"password_hash"`
	}
	demoUser struct {
		Email        string         `yaml:"email"`
		Name         string         `yaml:"name"`
		PasswordHash string         `yaml:"password_hash"`
		Groups       []string       `yaml:"groups"`
		Calendars    []demoCalendar `yaml:"calendars"`
	}
	demoResource struct {
		Email     string         `yaml:"email"`
		Name      string         `yaml:"name"`
		Calendars []demoCalendar `yaml:"calendars"`
	}
	// demoCalendar exists because provider.Calendar has JSON tags only.
	demoCalendar struct {
		ID   string `yaml:"calendar_id"`
		Name string `yaml:"name"`
	}
)

// randomBase62 returns n characters of [0-9A-Za-z] from crypto/rand, without modulo bias
// (bytes ≥ 248 are drawn again).
func randomBase62(n int) (string, error) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+8)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if b < 248 && len(out) < n {
				out = append(out, alphabet[b%62])
			}
		}
	}
	return string(out), nil
}
