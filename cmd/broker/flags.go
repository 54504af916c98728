package main

import (
	"encoding/json"
	"flag"
	"io"
	"strings"
)

// flags wraps a flag.FlagSet with the flags every subcommand takes (--config, --json) and
// parsing that allows flags after positional arguments (`scopes explain read_only --json`).
type flags struct {
	fs     *flag.FlagSet
	config string
	json   bool
}

func newFlags(name string) *flags {
	f := &flags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.fs.SetOutput(io.Discard)
	f.fs.StringVar(&f.config, "config", "", "config file (YAML)")
	f.fs.BoolVar(&f.json, "json", false, "print one JSON object")
	return f
}

// parse parses args, collecting positional arguments wherever they stand.
func (f *flags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.fs.Parse(args); err != nil {
			return nil, usagef("%v", err)
		}
		args = f.fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// printJSON writes v as one JSON object and a newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// noPositional refuses stray arguments.
func noPositional(pos []string) error {
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	return nil
}

func exactlyOne(pos []string, what string) (string, error) {
	if len(pos) != 1 {
		return "", usagef("want exactly one %s, got %d argument(s)", what, len(pos))
	}
	return pos[0], nil
}

// parseNone parses the args of a subcommand that takes no positional argument.
func (f *flags) parseNone(args []string) error {
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	return noPositional(pos)
}
