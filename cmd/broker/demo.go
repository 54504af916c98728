package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/broker/provider/static"
	"github.com/enterprise-connect/broker/scopes"
)

// demoState is the embedded demo of SPEC §10: a static directory for example.com and a demo
// client, made on the first start without a config and reused afterwards.
type demoState struct {
	dirFile string
}

const (
	demoDomain     = "example.com"
	demoNotesFile  = "demo-credentials.txt"
	demoClientName = "Demo App"
)

// demoCallbackPath is the demo client's redirect URI on the broker itself: a page that shows
// the code it received and how to redeem it.
const demoCallbackPath = "/demo/callback"

// ensureDemo runs on `serve` without domains configured: on the first start it writes the
// demo directory, registers the demo client and prints the credentials once (also kept in
// data_dir/demo-credentials.txt, mode 0600, for later starts); later starts say where they
// are.
func ensureDemo(ctx context.Context, e *env, w io.Writer) error {
	notes := filepath.Join(e.cfg.DataDir, demoNotesFile)
	if e.demo != nil {
		fmt.Fprintf(w, "Enterprise Connect broker (demo on embedded defaults)\n  data:        %s\n  credentials: printed on the first start, kept in %s\n  issuer:      %s\n\n",
			e.cfg.DataDir, notes, e.cfg.Issuer)
		if b, err := os.ReadFile(notes); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(line, "authorize_url: ") {
					fmt.Fprintf(w, "Open this URL to approve the demo client as the demo administrator:\n  %s\n\n", strings.TrimPrefix(line, "authorize_url: "))
				}
			}
		}
		return nil
	}
	demo, err := static.NewDemo(demoDomain)
	if err != nil {
		return err
	}
	path := filepath.Join(e.cfg.DataDir, demoDirFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, demo.YAML, 0o600); err != nil {
		return err
	}
	dir, err := static.Load(path)
	if err != nil {
		return err
	}
	e.providers = append(e.providers, dir)
	e.demo = &demoState{dirFile: path}

	redirect := strings.TrimRight(e.cfg.Issuer, "/") + demoCallbackPath
	creds, err := broker.CreateClient(ctx, e.store, e.sealer, broker.ClientSpec{
		Name:           demoClientName,
		RedirectURIs:   []string{redirect},
		Scope:          strings.Join(scopes.ServiceAccountScopes(), " "),
		DelegatedScope: "read_write read_contacts read_directory",
	}, time.Now)
	if err != nil {
		return err
	}
	q := url.Values{
		"response_type":   {"code"},
		"client_id":       {creds.ClientID},
		"redirect_uri":    {redirect},
		"scope":           {scopes.AccountsManage + " " + scopes.ResourcesManage},
		"delegated_scope": {"read_only"},
		"state":           {"demo"},
	}
	authorize := strings.TrimRight(e.cfg.Issuer, "/") + "/enterprise_connect/oauth/authorize?" + q.Encode()
	text := fmt.Sprintf(`Enterprise Connect broker demo (embedded store under %s)
admin_email: %s
admin_password: %s
client_id: %s
client_secret: %s
callback_secret: %s
redirect_uri: %s
authorize_url: %s
`, e.cfg.DataDir, demo.Admin.Email, demo.Admin.Password, creds.ClientID, creds.ClientSecret, creds.CallbackSecret, redirect, authorize)
	if err := os.WriteFile(notes, []byte(text), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(w, `Enterprise Connect broker: first start on embedded defaults.

  Demo administrator  %s
  password            %s
  Demo client         %s
  client_secret       %s
  callback_secret     %s

These secrets are shown once (also kept in %s, mode 0600).

Open this URL, sign in as the demo administrator and approve:
  %s

`, demo.Admin.Email, demo.Admin.Password, creds.ClientID, creds.ClientSecret, creds.CallbackSecret, notes, authorize)
	return nil
}
