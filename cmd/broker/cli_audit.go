package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/store"
)

// auditFlags are the filters `audit tail` and `audit export` share with GET /v1/audit
// (SPEC §9).
type auditFlags struct {
	*flags
	domain, typ, client, subject, since, until string
}

func newAuditFlags(name string) *auditFlags {
	f := &auditFlags{flags: newFlags(name)}
	f.fs.StringVar(&f.domain, "domain", "", `only this domain's chain (--domain "" for events without a domain); default every domain`)
	f.fs.StringVar(&f.typ, "type", "", "only events of this type, e.g. grant.revoked")
	f.fs.StringVar(&f.client, "client", "", "only events of this client id")
	f.fs.StringVar(&f.subject, "subject", "", "only events about this subject")
	f.fs.StringVar(&f.since, "since", "", "only events at or after this RFC 3339 time")
	f.fs.StringVar(&f.until, "until", "", "only events before this RFC 3339 time")
	return f
}

// query turns the flags into a broker.AuditQuery; limit is "" for the default.
func (f *auditFlags) query(limit string) (broker.AuditQuery, error) {
	p := map[string]string{"type": f.typ, "client_id": f.client, "subject": f.subject,
		"since": f.since, "until": f.until, "limit": limit}
	if f.isSet("domain") {
		p["domain"] = f.domain
	}
	q, err := broker.ParseAuditQuery(p)
	if err != nil {
		return q, asUsage(flagNamed(err, "since", "--since", "until", "--until", "limit", "--limit"))
	}
	return q, nil
}

// isSet reports whether the flag was given on the command line.
func (f *flags) isSet(name string) bool {
	set := false
	f.fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}

// runAuditTail prints the newest events (SPEC §10 `audit tail`): --json prints
// {"events":[…]} newest first, as GET /v1/audit does; the table puts the newest last, as
// tail(1) does.
func runAuditTail(ctx context.Context, c *cli, args []string) error {
	f := newAuditFlags("audit tail")
	var limit string
	f.fs.StringVar(&limit, "limit", "20", "how many events (1 to 1000)")
	if err := f.parseNone(args); err != nil {
		return err
	}
	q, err := f.query(limit)
	if err != nil {
		return err
	}
	return c.withEnv(ctx, f.flags, func(e *env) error {
		events, err := broker.TailAudit(ctx, e.store, q)
		if err != nil {
			return err
		}
		if f.json {
			return printJSON(c.stdout, map[string]any{"events": events})
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tTYPE\tRESULT\tDOMAIN\tCLIENT\tACTOR\tSUBJECT\tERROR")
		for _, ev := range slices.Backward(events) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Time, ev.Type, ev.Result, orDash(ev.Domain),
				orDash(ev.ClientID), orDash(ev.Actor), orDash(ev.Subject), orDash(ev.Error))
		}
		return tw.Flush()
	})
}

// runAuditExport writes every matching event to stdout as NDJSON, oldest first (SPEC §9):
// the one command whose output is a stream of JSON objects, one per line, with or without
// --json, so that `audit verify --file` and a few lines of anyone's code can check it.
func runAuditExport(ctx context.Context, c *cli, args []string) error {
	f := newAuditFlags("audit export")
	if err := f.parseNone(args); err != nil {
		return err
	}
	q, err := f.query("")
	if err != nil {
		return err
	}
	return c.withEnv(ctx, f.flags, func(e *env) error {
		w := bufio.NewWriterSize(c.stdout, 64<<10)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		if err := broker.ExportAuditAll(ctx, e.store, q, func(ev store.AuditEvent) error { return enc.Encode(ev) }); err != nil {
			return err
		}
		return w.Flush()
	})
}

// verifyResult is `audit verify --json`: ok, how many events were checked, and the first
// break (error "" and event_id "" when intact).
type verifyResult struct {
	OK      bool   `json:"ok"`
	Events  int    `json:"events"`
	Error   string `json:"error"`
	EventID string `json:"event_id"`
}

// errVerifyFailed ends `audit verify` with exit status 1 once the break was reported.
var errVerifyFailed = errors.New("the audit chain is broken")

// runAuditVerify recomputes hash chains (SPEC §9): --domain D checks the stored chain of
// D, --file F an NDJSON export, neither every stored chain. Intact: exit 0 and the count;
// otherwise exit 1 naming the first bad event.
func runAuditVerify(ctx context.Context, c *cli, args []string) error {
	f := newFlags("audit verify")
	var domain, file string
	f.fs.StringVar(&domain, "domain", "", "verify this domain's stored chain")
	f.fs.StringVar(&file, "file", "", "verify an NDJSON export (from GET /v1/audit/export or `audit export`)")
	if err := f.parseNone(args); err != nil {
		return err
	}
	if f.isSet("domain") && file != "" {
		return usagef("give --domain or --file, not both")
	}
	return c.withEnv(ctx, f, func(e *env) error {
		var (
			n    int
			what string
			err  error
		)
		switch {
		case file != "":
			what = file
			n, err = verifyFile(ctx, e.store, file)
		case f.isSet("domain"):
			what = fmt.Sprintf("domain %q", strings.ToLower(domain))
			n, err = broker.VerifyDomain(ctx, e.store, strings.ToLower(domain))
		default:
			what = "every domain"
			n, err = verifyAll(ctx, e.store)
		}
		var br *broker.ChainBreak
		if err != nil && !errors.As(err, &br) {
			return err // could not verify at all (store unreachable, unreadable file)
		}
		res := verifyResult{OK: err == nil, Events: n}
		if br != nil {
			res.Error, res.EventID = br.Error(), br.Event
		}
		if f.json {
			if err := printJSON(c.stdout, res); err != nil {
				return err
			}
		} else if res.OK {
			fmt.Fprintf(c.stdout, "ok: %d events verified (%s)\n", n, what)
		}
		if !res.OK {
			return fmt.Errorf("%w (%s, after %d events): %s", errVerifyFailed, what, n, res.Error)
		}
		return nil
	})
}

// verifyFile checks an export file; a domain's first event may follow the stored chain's
// retention anchor, so that an export of a trimmed chain still verifies.
func verifyFile(ctx context.Context, s store.Store, path string) (int, error) {
	fh, err := os.Open(path)
	if err != nil {
		return 0, usagef("--file: %v", err)
	}
	defer fh.Close()
	var anchorErr error
	n, err := broker.VerifyExport(fh, func(domain string) string {
		a, err := s.AuditAnchor(ctx, domain)
		if err != nil && anchorErr == nil {
			anchorErr = fmt.Errorf("reading the retention anchor of domain %q: %w", domain, err)
		}
		return a
	})
	if anchorErr != nil {
		return n, anchorErr
	}
	return n, err
}

// verifyAll checks every stored chain, the domain-less one included.
func verifyAll(ctx context.Context, s store.Store) (int, error) {
	domains, err := s.AuditDomains(ctx)
	if err != nil {
		return 0, fmt.Errorf("listing audit chains: %w", err)
	}
	slices.Sort(domains)
	total := 0
	for _, d := range domains {
		n, err := broker.VerifyDomain(ctx, s, d)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
