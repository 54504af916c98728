// Command broker is the Enterprise Connect broker: `serve` (the default) runs the HTTP
// service; the other subcommands administer the same store, also while a server runs
// (SPEC §10). Exit status: 0 success, 1 failure, 2 usage or configuration error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// usageError is a command-line mistake: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// command is one subcommand: its words, a one-line summary, and what it runs.
type command struct {
	words   []string
	summary string
	run     func(ctx context.Context, cli *cli, args []string) error
}

// commands lists every subcommand; each is listed only once it works.
func commands() []command {
	return []command{
		{[]string{"serve"}, "run the broker (the default)", runServe},
		{[]string{"clients", "create"}, "register a client: --name N --redirect-uri U… --scope S --delegated-scope D [--require-pkce] [--jwks-file F]", runClientsCreate},
		{[]string{"clients", "list"}, "list registered clients", runClientsList},
		{[]string{"clients", "delete"}, "delete a client and revoke its grants: clients delete ID", runClientsDelete},
		{[]string{"apikeys", "create"}, "create an API key: --role auditor|operator|introspect [--domain D]", runAPIKeysCreate},
		{[]string{"apikeys", "list"}, "list API keys", runAPIKeysList},
		{[]string{"apikeys", "delete"}, "delete an API key: apikeys delete ID", runAPIKeysDelete},
		{[]string{"grants", "list"}, "list grants: [--domain D] [--client C] [--status active|revoked]", runGrantsList},
		{[]string{"grants", "revoke"}, "revoke a grant and every token minted from it: grants revoke ID", runGrantsRevoke},
		{[]string{"audit", "tail"}, "print the newest audit events: [--domain D] [--limit N] [--type T] [--client C] [--subject S]", runAuditTail},
		{[]string{"audit", "export"}, "write audit events as NDJSON, oldest first: [--domain D] [--type T] [--client C] [--subject S] [--since T] [--until T]", runAuditExport},
		{[]string{"audit", "verify"}, "recompute the audit hash chain: --domain D | --file export.ndjson", runAuditVerify},
		{[]string{"keys", "list"}, "list the delegated-token signing keys", runKeysList},
		{[]string{"keys", "rotate"}, "add a new signing key; the old one stays published until its tokens expire", runKeysRotate},
		{[]string{"scopes", "explain"}, "explain scopes in plain language: scopes explain S…", runScopesExplain},
	}
}

// cli is what every subcommand shares: its output streams and environment.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], &cli{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}))
}

// run dispatches args to a subcommand and returns the exit status.
func run(ctx context.Context, args []string, c *cli) int {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		c.usage()
		return 0
	}
	cmd, rest := pick(args)
	if cmd == nil {
		fmt.Fprintf(c.stderr, "broker: unknown command %q\n\n", joinWords(args))
		c.usage()
		return 2
	}
	err := cmd.run(ctx, c, rest)
	var ue *usageError
	var ce *configError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "broker %s: %v\n", joinWords(cmd.words), err)
		return 2
	case errors.As(err, &ce):
		fmt.Fprintf(c.stderr, "broker: invalid configuration:\n%v\n", ce.err)
		return 2
	default:
		fmt.Fprintf(c.stderr, "broker %s: %v\n", joinWords(cmd.words), err)
		return 1
	}
}

// pick finds the subcommand named by the leading words of args; none (or a flag first)
// means serve.
func pick(args []string) (*command, []string) {
	cmds := commands()
	if len(args) == 0 || len(args[0]) > 0 && args[0][0] == '-' {
		return &cmds[0], args
	}
	for i := range cmds {
		w := cmds[i].words
		if len(args) >= len(w) && equalWords(args[:len(w)], w) {
			return &cmds[i], args[len(w):]
		}
	}
	return nil, nil
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func joinWords(w []string) string {
	s := ""
	for i, x := range w {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s
}

func (c *cli) usage() {
	fmt.Fprintln(c.stderr, "usage: broker [command] [--config FILE] [--json] [flags]")
	fmt.Fprintln(c.stderr, "\ncommands:")
	for _, cmd := range commands() {
		fmt.Fprintf(c.stderr, "  %-18s %s\n", joinWords(cmd.words), cmd.summary)
	}
}
