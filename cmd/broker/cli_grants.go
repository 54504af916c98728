package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/enterprise-connect/broker/broker"
)

// runGrantsList lists grants, newest approval first (SPEC §10 `grants list`); --json prints
// {"grants":[…]} with the objects of GET /v1/grants (SPEC §9).
func runGrantsList(ctx context.Context, c *cli, args []string) error {
	f := newFlags("grants list")
	var domain, client, status string
	f.fs.StringVar(&domain, "domain", "", "only this domain's grants")
	f.fs.StringVar(&client, "client", "", "only this client's grants (client id)")
	f.fs.StringVar(&status, "status", "", "active | revoked")
	if err := f.parseNone(args); err != nil {
		return err
	}
	q, err := broker.ParseGrantQuery(map[string]string{"domain": domain, "client_id": client, "status": status})
	if err != nil {
		return asUsage(flagNamed(err, "status", "--status"))
	}
	return c.withEnv(ctx, f, func(e *env) error {
		list, err := broker.ListAllGrants(ctx, e.store, q)
		if err != nil {
			return err
		}
		if f.json {
			return printJSON(c.stdout, map[string]any{"grants": list})
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCLIENT\tDOMAIN\tSTATUS\tAPPROVED_BY\tAPPROVED_AT\tLAST_USED_AT\tDELEGATED_SCOPE")
		for _, g := range list {
			client := g.ClientID
			if g.ClientName != "" {
				client += " (" + g.ClientName + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.ID, client, g.Domain, g.Status, g.ApprovedBy,
				g.ApprovedAt, orDash(g.LastUsedAt), g.DelegatedScope)
		}
		return tw.Flush()
	})
}

// runGrantsRevoke revokes one grant and everything minted from it (SPEC §10 `grants
// revoke ID`), audited as grant.revoked with actor "cli".
func runGrantsRevoke(ctx context.Context, c *cli, args []string) error {
	f := newFlags("grants revoke")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	id, err := exactlyOne(pos, "grant id")
	if err != nil {
		return err
	}
	return c.withEnv(ctx, f, func(e *env) error {
		if err := broker.RevokeGrantID(ctx, e.store, id, time.Now); err != nil {
			return err
		}
		if f.json {
			return printJSON(c.stdout, map[string]any{"id": id, "revoked": true})
		}
		fmt.Fprintf(c.stdout, "revoked grant %s (its tokens stop working at once)\n", id)
		return nil
	})
}

// flagNamed rewrites a broker invalid_request about a query parameter so that it names the
// flag instead: pairs are parameter, flag, parameter, flag…
func flagNamed(err error, pairs ...string) error {
	be, ok := err.(*broker.Error)
	if !ok || be.Code != broker.InvalidRequest {
		return err
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if param, flag := pairs[i], pairs[i+1]; strings.HasPrefix(be.Description, param+" ") {
			return &broker.Error{Code: be.Code, Description: flag + be.Description[len(param):]}
		}
	}
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
