package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/store"
)

// keyView is a signing key without its private part.
type keyView struct {
	KID       string `json:"kid"`
	Alg       string `json:"alg"`
	Status    string `json:"status"` // current | retired
	CreatedAt string `json:"created_at"`
	RetiredAt string `json:"retired_at,omitempty"`
}

func (e *env) keyring() *broker.Keyring {
	maxTTL := max(e.cfg.DelegatedTokenTTL.Duration(), broker.SubjectTokenTTL)
	return broker.NewKeyring(e.store, e.sealer, e.cfg.SigningAlgorithm, maxTTL, time.Now)
}

func viewKeys(keys []store.SigningKey) []keyView {
	out := make([]keyView, 0, len(keys))
	current := true
	for _, k := range keys {
		v := keyView{KID: k.ID, Alg: k.Alg, Status: "retired", CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339)}
		if k.RetiredAt.IsZero() && current {
			v.Status, current = "current", false
		}
		if !k.RetiredAt.IsZero() {
			v.RetiredAt = k.RetiredAt.UTC().Format(time.RFC3339)
		}
		out = append(out, v)
	}
	return out
}

// runKeysList lists the delegated-token signing keys (SPEC §4).
func runKeysList(ctx context.Context, c *cli, args []string) error {
	f := newFlags("keys list")
	if err := f.parseNone(args); err != nil {
		return err
	}
	return c.withEnv(ctx, f, func(e *env) error {
		keys, err := e.keyring().Keys(ctx)
		if err != nil {
			return err
		}
		return printKeys(c, f.json, viewKeys(keys))
	})
}

// runKeysRotate adds a new current signing key; every running replica signs with it within
// seconds, and the old key stays published until every token it signed has expired.
func runKeysRotate(ctx context.Context, c *cli, args []string) error {
	f := newFlags("keys rotate")
	if err := f.parseNone(args); err != nil {
		return err
	}
	return c.withEnv(ctx, f, func(e *env) error {
		kr := e.keyring()
		if err := kr.Load(ctx); err != nil {
			return err
		}
		k, err := kr.Rotate(ctx)
		if err != nil {
			return err
		}
		keys, err := kr.Keys(ctx)
		if err != nil {
			return err
		}
		if f.json {
			return printJSON(c.stdout, map[string]any{"rotated": true, "kid": k.ID, "keys": viewKeys(keys)})
		}
		fmt.Fprintf(c.stdout, "new signing key %s (%s); running brokers sign with it within seconds\n", k.ID, k.Alg)
		return printKeys(c, false, viewKeys(keys))
	})
}

func printKeys(c *cli, asJSON bool, keys []keyView) error {
	if asJSON {
		return printJSON(c.stdout, map[string]any{"keys": keys})
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATUS\tCREATED\tRETIRED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.KID, k.Alg, k.Status, k.CreatedAt, k.RetiredAt)
	}
	return tw.Flush()
}
