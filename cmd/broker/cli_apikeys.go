package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/enterprise-connect/broker/broker"
)

func runAPIKeysCreate(ctx context.Context, c *cli, args []string) error {
	f := newFlags("apikeys create")
	var role, domain string
	f.fs.StringVar(&role, "role", "", "auditor | operator | introspect")
	f.fs.StringVar(&domain, "domain", "", "limit the key to one domain")
	if err := f.parseNone(args); err != nil {
		return err
	}
	return c.withEnv(ctx, f, func(e *env) error {
		k, err := broker.CreateAPIKey(ctx, e.store, role, domain, e.knownDomain, time.Now())
		if err != nil {
			return asUsage(err)
		}
		if f.json {
			return printJSON(c.stdout, k)
		}
		fmt.Fprintf(c.stdout, "id:  %s\nkey: %s\n(the key is shown only now)\n", k.ID, k.Key)
		return nil
	})
}

func runAPIKeysList(ctx context.Context, c *cli, args []string) error {
	f := newFlags("apikeys list")
	if err := f.parseNone(args); err != nil {
		return err
	}
	return c.withEnv(ctx, f, func(e *env) error {
		list, err := broker.ListAPIKeys(ctx, e.store)
		if err != nil {
			return err
		}
		if f.json {
			return printJSON(c.stdout, map[string]any{"apikeys": list})
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tROLE\tDOMAIN\tCREATED")
		for _, k := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Role, k.Domain, k.CreatedAt)
		}
		return tw.Flush()
	})
}

func runAPIKeysDelete(ctx context.Context, c *cli, args []string) error {
	f := newFlags("apikeys delete")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	id, err := exactlyOne(pos, "API key id")
	if err != nil {
		return err
	}
	return c.withEnv(ctx, f, func(e *env) error {
		if err := broker.DeleteAPIKey(ctx, e.store, id); err != nil {
			return err
		}
		if f.json {
			return printJSON(c.stdout, map[string]any{"id": id, "deleted": true})
		}
		fmt.Fprintf(c.stdout, "deleted API key %s\n", id)
		return nil
	})
}
