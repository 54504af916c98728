package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/enterprise-connect/broker/broker"
)

func runClientsCreate(ctx context.Context, c *cli, args []string) error {
	f := newFlags("clients create")
	var spec broker.ClientSpec
	var redirects multi
	var jwksFile string
	f.fs.StringVar(&spec.Name, "name", "", "display name shown on the consent page")
	f.fs.Var(&redirects, "redirect-uri", "exact redirect URI (repeatable)")
	f.fs.StringVar(&spec.Scope, "scope", "", "service-account scopes the client may ask for")
	f.fs.StringVar(&spec.DelegatedScope, "delegated-scope", "", "delegated scopes the client may ask for")
	f.fs.BoolVar(&spec.RequirePKCE, "require-pkce", false, "require PKCE (S256) on authorize")
	f.fs.StringVar(&jwksFile, "jwks-file", "", "public JWKS enabling private_key_jwt and the jwt-bearer grant")
	if err := f.parseNone(args); err != nil {
		return err
	}
	spec.RedirectURIs = redirects
	if jwksFile != "" {
		b, err := os.ReadFile(jwksFile)
		if err != nil {
			return usagef("--jwks-file: %v", err)
		}
		spec.JWKS = b
	}
	return c.withEnv(ctx, f, func(e *env) error {
		creds, err := broker.CreateClient(ctx, e.store, e.sealer, spec, time.Now)
		if err != nil {
			return asUsage(err)
		}
		if f.json {
			return printJSON(c.stdout, creds)
		}
		fmt.Fprintf(c.stdout, "client_id:       %s\nclient_secret:   %s\ncallback_secret: %s\n(the secrets are shown only now)\n",
			creds.ClientID, creds.ClientSecret, creds.CallbackSecret)
		return nil
	})
}

func runClientsList(ctx context.Context, c *cli, args []string) error {
	f := newFlags("clients list")
	if err := f.parseNone(args); err != nil {
		return err
	}
	return c.withEnv(ctx, f, func(e *env) error {
		list, err := broker.ListClients(ctx, e.store)
		if err != nil {
			return err
		}
		if f.json {
			return printJSON(c.stdout, map[string]any{"clients": list})
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT_ID\tNAME\tSCOPE\tDELEGATED_SCOPE\tCREATED")
		for _, cl := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cl.ClientID, cl.Name, cl.Scope, cl.DelegatedScope, cl.CreatedAt)
		}
		return tw.Flush()
	})
}

func runClientsDelete(ctx context.Context, c *cli, args []string) error {
	f := newFlags("clients delete")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	id, err := exactlyOne(pos, "client id")
	if err != nil {
		return err
	}
	return c.withEnv(ctx, f, func(e *env) error {
		if err := broker.DeleteClient(ctx, e.store, id, time.Now); err != nil {
			return err
		}
		if f.json {
			return printJSON(c.stdout, map[string]any{"client_id": id, "deleted": true})
		}
		fmt.Fprintf(c.stdout, "deleted client %s (its grants are revoked)\n", id)
		return nil
	})
}

// asUsage turns the broker's invalid_request (bad flags) into a usage error (exit 2).
func asUsage(err error) error {
	if be, ok := err.(*broker.Error); ok && be.Code == broker.InvalidRequest {
		return usagef("%s", be.Description)
	}
	return err
}
