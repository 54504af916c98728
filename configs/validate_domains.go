package configs

import (
	"fmt"
	"net/url"
	"strings"
)

// relHint ends the fix of a missing file: where relative paths start.
const relHint = "fix the path (relative paths start at the config file's directory)"

// domains checks each entry of `domains` (SPEC §6, §10).
func (v *validation) domains(ds []Domain) {
	seen := map[string]int{}
	for i, d := range ds {
		key := fmt.Sprintf("domains[%d]", i)
		v.domainName(key+".domain", d.Domain)
		if j, dup := seen[d.Domain]; dup && d.Domain != "" {
			v.add(key+".domain", fmt.Sprintf("%q is already configured at domains[%d]: each domain appears once", d.Domain, j))
		} else {
			seen[d.Domain] = i
		}
		switch d.Provider {
		case ProviderStatic:
			v.staticDomain(key, d)
		case ProviderGoogle:
			v.googleDomain(key, d)
		case "":
			v.add(key+".provider", "required (want static or google)")
		default:
			v.add(key+".provider", fmt.Sprintf("unknown provider %q (want static or google)", d.Provider))
		}
	}
}

// domainName wants a lower-case DNS name such as example.com.
func (v *validation) domainName(key, name string) {
	if name == "" {
		v.add(key, "required: the organisation's DNS name, such as example.com")
		return
	}
	if lower := strings.ToLower(name); lower != name {
		v.add(key, fmt.Sprintf("%q must be lower case: write %q", name, lower))
		return
	}
	if len(name) > 253 {
		v.add(key, "longer than 253 characters: not a DNS name")
		return
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			v.add(key, fmt.Sprintf("%q is not a DNS name: want labels of a-z, 0-9 and inner hyphens joined by dots, such as example.com", name))
			return
		}
	}
}

func (v *validation) staticDomain(key string, d Domain) {
	if d.DirectoryFile == "" {
		v.add(key+".directory_file", "required when provider is static: the directory YAML file (domain, admins, users, resources)")
	} else {
		v.readable(key+".directory_file", d.DirectoryFile, relHint)
	}
	if d.Google != nil {
		v.add(key+".google", "only for provider google: remove it, or set provider: google")
	}
}

func (v *validation) googleDomain(key string, d Domain) {
	if d.DirectoryFile != "" {
		v.add(key+".directory_file", "only for provider static: remove it, or set provider: static")
	}
	g := d.Google
	if g == nil {
		v.add(key+".google", "required when provider is google: credentials_file, admin_email, oauth_client_id, oauth_client_secret")
		return
	}
	key += ".google"
	const req = "required when provider is google"
	if g.CredentialsFile == "" {
		v.add(key+".credentials_file", req+": the service-account key JSON with domain-wide delegation")
	} else {
		v.readable(key+".credentials_file", g.CredentialsFile, relHint)
	}
	switch {
	case g.AdminEmail == "":
		v.add(key+".admin_email", req+": an administrator of the domain, used for directory reads")
	case !isEmail(g.AdminEmail):
		v.add(key+".admin_email", fmt.Sprintf("%q is not an email address: want admin@%s", g.AdminEmail, d.Domain))
	}
	if g.Customer == "" {
		v.add(key+".customer", "must not be empty; the default is "+DefaultGoogleCustomer)
	}
	if g.OAuthClientID == "" {
		v.add(key+".oauth_client_id", req+": the OAuth client id for Sign in with Google")
	}
	if g.OAuthClientSecret == "" {
		v.add(key+".oauth_client_secret", req+": the OAuth client secret for Sign in with Google")
	}
	e := g.Endpoints
	for _, ep := range []struct{ name, val, def string }{
		{"token", e.Token, GoogleTokenURL},
		{"auth", e.Auth, GoogleAuthURL},
		{"certs", e.Certs, GoogleCertsURL},
		{"directory", e.Directory, GoogleDirectoryURL},
		{"calendar", e.Calendar, GoogleCalendarURL},
	} {
		u, err := url.Parse(ep.val)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(key+".endpoints."+ep.name, fmt.Sprintf("invalid URL %q: want an absolute http(s) URL; leave it out for Google's %s", ep.val, ep.def))
		}
	}
}
