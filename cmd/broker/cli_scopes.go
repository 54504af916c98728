package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/enterprise-connect/broker/scopes"
)

// runScopesExplain prints each scope's plain-language sentence, expansion and the fewest
// Google scopes covering it (SPEC §1, §10). It needs no store.
func runScopesExplain(_ context.Context, c *cli, args []string) error {
	f := newFlags("scopes explain")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	var names []string
	for _, p := range pos {
		names = append(names, strings.Fields(p)...)
	}
	if len(names) == 0 {
		return usagef("name at least one scope, e.g. `broker scopes explain read_only`")
	}
	out := make([]scopes.Explanation, 0, len(names))
	for _, n := range names {
		x, err := scopes.Explain(n)
		if err != nil {
			return usagef("%v", err)
		}
		out = append(out, x)
	}
	if f.json {
		return printJSON(c.stdout, map[string]any{"scopes": out})
	}
	for _, x := range out {
		fmt.Fprintf(c.stdout, "%s\n  %s\n  expands to: %s\n", x.Scope, x.Description, strings.Join(x.ExpandsTo, " "))
		if len(x.Google) > 0 {
			fmt.Fprintf(c.stdout, "  google: %s\n", strings.Join(x.Google, " "))
		}
	}
	return nil
}
