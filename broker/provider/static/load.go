package static

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"

	"github.com/enterprise-connect/broker/broker/provider"
)

// hashHint tells an operator how to make a valid password_hash.
const hashHint = `make one with: htpasswd -nbBC 10 "" 'PASSWORD' | tr -d ':\n'`

// Load reads the directory file at path and parses it with Parse; errors name the file.
func Load(path string) (*Directory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("static directory: %w", err) // *PathError names the file
	}
	return Parse(path, data)
}

// Parse parses a directory file (SPEC §10) read from source, strictly:
//
//   - exactly one YAML document, a mapping with keys domain, admins, users, resources; an
//     unknown or repeated key anywhere is an error naming its path (users[1].pasword_hash);
//   - domain is required, a DNS name, stored in lower case;
//   - emails are required, stored with ASCII letters in lower case, and must be in domain;
//     an email appears at most once under admins and at most once under users and resources
//     together (an administrator may also be listed under users: only then is it a subject);
//   - at least one administrator, each with a password_hash; a password_hash is a bcrypt hash
//     ($2a$, $2b$ or $2y$, cost 4–31, 60 characters). Resources have no password_hash.
//     Spec is silent: a user without password_hash is allowed; it is a subject that cannot
//     sign in;
//   - group names and calendar ids are non-empty and unique within their subject.
//
// Every problem is reported, one per line in file order, each starting with source and (where
// there is one) the line number.
func Parse(source string, data []byte) (*Directory, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty directory file: want a mapping with keys %s", source, strings.Join(fileKeys, ", "))
		}
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, fmt.Errorf("%s: line %d: a second YAML document; a directory file holds exactly one", source, extra.Line)
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	d := &decoder{source: source}
	raw := d.file(doc)
	dir := d.build(raw)
	if err := d.err(); err != nil {
		return nil, err
	}
	return dir, nil
}

// build checks raw and turns it into a Directory; problems go to d.errs.
func (d *decoder) build(raw rawFile) *Directory {
	dir := &Directory{
		source:    d.source,
		subjects:  make(map[string]provider.Subject, len(raw.users)+len(raw.resources)),
		accounts:  make(map[string]account, len(raw.admins)+len(raw.users)),
		resources: make([]provider.Subject, 0, len(raw.resources)),
		admins:    make([]provider.Person, 0, len(raw.admins)),
	}
	switch domain := foldEmail(raw.domain); {
	case raw.domainNode == nil || raw.domain == "":
		d.fail(raw.domainNode, "domain", "required (the domain this file describes, e.g. example.com)")
	case !validDomain(domain):
		d.fail(raw.domainNode, "domain", "%q is not a domain name", raw.domain)
	default:
		dir.domain = domain
	}

	subjectAt := map[string]string{} // email → path of its first users/resources entry
	for _, e := range raw.users {
		email, ok := d.email(e, dir.domain, subjectAt)
		hash, cost, hasHash := d.hash(e, false)
		s := provider.Subject{Email: email, Name: e.name, Kind: provider.Account,
			Groups: d.groups(e), Calendars: d.calendarList(e)}
		if !ok {
			continue
		}
		dir.subjects[email] = s
		if hasHash {
			dir.accounts[email] = account{person: provider.Person{Email: email, Name: e.name}, hash: hash}
			dir.maxCost = max(dir.maxCost, cost)
		}
	}
	for _, e := range raw.resources {
		email, ok := d.email(e, dir.domain, subjectAt)
		s := provider.Subject{Email: email, Name: e.name, Kind: provider.Resource,
			Groups: []string{}, Calendars: d.calendarList(e)}
		if ok {
			dir.subjects[email] = s
			dir.resources = append(dir.resources, s)
		}
	}

	if len(raw.admins) == 0 {
		d.fail(raw.domainNode, "admins", "at least one administrator is required to approve clients")
	}
	adminAt := map[string]string{}
	for _, e := range raw.admins {
		email, ok := d.email(e, dir.domain, adminAt)
		hash, cost, hasHash := d.hash(e, true)
		if !ok || !hasHash {
			continue
		}
		p := provider.Person{Email: email, Name: e.name, IsAdmin: true}
		dir.admins = append(dir.admins, p)
		dir.accounts[email] = account{person: p, hash: hash} // the admins entry wins (SignIn)
		dir.maxCost = max(dir.maxCost, cost)
	}
	return dir
}

// email checks e's email and records it in seen; ok is false when e must be skipped.
func (d *decoder) email(e rawEntry, domain string, seen map[string]string) (email string, ok bool) {
	at := e.emailNode
	if at == nil {
		at = e.node
	}
	p := e.path + ".email"
	email = foldEmail(e.email)
	if problem := checkEmail(email, domain); problem != "" {
		d.fail(at, p, "%s", problem)
		return "", false
	}
	if first, dup := seen[email]; dup {
		d.fail(at, p, "%q is already listed at %s", email, first)
		return "", false
	}
	seen[email] = e.path
	return email, true
}

// hash checks e's password_hash; has is false when it is absent or invalid.
func (d *decoder) hash(e rawEntry, required bool) (hash []byte, cost int, has bool) {
	p := e.path + ".password_hash"
	if e.hashNode == nil {
		if required {
			d.fail(e.node, p, "required (a bcrypt hash; %s)", hashHint)
		}
		return nil, 0, false
	}
	cost, problem := checkHash(e.hash)
	if problem != "" {
		d.fail(e.hashNode, p, "%s (%s)", problem, hashHint)
		return nil, 0, false
	}
	return []byte(e.hash), cost, true
}

// groups checks e's group names and returns them (never nil, capacity clipped).
func (d *decoder) groups(e rawEntry) []string {
	out := make([]string, 0, len(e.groups))
	for i, g := range e.groups {
		switch {
		case strings.TrimSpace(g) == "":
			d.fail(e.node, fmt.Sprintf("%s.groups[%d]", e.path, i), "empty group name")
		case slices.Contains(out, g):
			d.fail(e.node, fmt.Sprintf("%s.groups[%d]", e.path, i), "group %q listed twice", g)
		default:
			out = append(out, g)
		}
	}
	return out[:len(out):len(out)]
}

// calendarList checks e's calendar ids are unique and returns them (never nil, clipped).
func (d *decoder) calendarList(e rawEntry) []provider.Calendar {
	out := make([]provider.Calendar, 0, len(e.calendars))
	for i, c := range e.calendars {
		if c.ID == "" {
			continue // reported while decoding
		}
		dup := false
		for _, o := range out {
			dup = dup || o.ID == c.ID
		}
		if dup {
			d.fail(e.node, fmt.Sprintf("%s.calendars[%d].calendar_id", e.path, i), "calendar %q listed twice", c.ID)
			continue
		}
		out = append(out, c)
	}
	return out[:len(out):len(out)]
}

// checkEmail returns what is wrong with a lower-cased email, or "". domain "" (itself
// invalid) skips the domain check.
func checkEmail(email, domain string) string {
	if email == "" {
		return "required"
	}
	if len(email) > 254 {
		return "longer than 254 bytes"
	}
	for _, r := range email {
		if r <= ' ' || r == 0x7f {
			return fmt.Sprintf("%q contains spaces or control characters", email)
		}
	}
	local, host, found := strings.Cut(email, "@")
	if !found || local == "" || strings.Contains(host, "@") {
		return fmt.Sprintf("%q is not an email address (want name@%s)", email, domain)
	}
	if domain != "" && host != domain {
		return fmt.Sprintf("%q is not in domain %s", email, domain)
	}
	return ""
}

// validDomain reports whether s is a lower-case DNS name: dot-separated labels of a–z, 0–9
// and '-', not starting or ending with '-', 1–63 bytes each, 253 at most in all.
func validDomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// checkHash returns a bcrypt hash's cost, or what is wrong with it. bcrypt.Cost alone accepts
// too much (any "$1…" prefix, any length ≥ 59), so the shape is checked first.
func checkHash(h string) (cost int, problem string) {
	const shape = "not a bcrypt hash: want $2a$, $2b$ or $2y$, a two-digit cost, '$' and 53 characters of [./A-Za-z0-9]"
	if h == "" {
		return 0, "empty"
	}
	if len(h) != 60 || h[0] != '$' || h[1] != '2' || !strings.ContainsRune("aby", rune(h[2])) ||
		h[3] != '$' || h[6] != '$' {
		return 0, shape
	}
	for i := 7; i < len(h); i++ {
		c := h[i]
		if !(c == '.' || c == '/' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return 0, shape
		}
	}
	cost, err := bcrypt.Cost([]byte(h))
	if err != nil {
		return 0, "not a bcrypt hash: " + strings.TrimPrefix(err.Error(), "crypto/bcrypt: ")
	}
	return cost, ""
}
