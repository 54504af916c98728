package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decodeFile decodes one YAML document from data into cfg (which holds the
// defaults, so absent keys keep them). It returns every problem: unknown keys
// (with their path, line and the known keys), wrong types, bad durations,
// duplicate keys. A syntax error ends decoding and is the only problem. lines
// receives the line of every key path present in the file.
//
// Strictness comes from two passes over the same bytes: yaml.v3's Decoder
// with KnownFields(true) does the typing, and a walk of the node tree
// against Config's yaml tags names unknown keys by path, which yaml.v3 can
// only name by line and Go type.
func decodeFile(file string, data []byte, cfg *Config, lines map[string]int) []Problem {
	fileProblem := func(line int, key, msg string) Problem {
		return Problem{Source: file, Line: line, Key: key, Message: msg}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file: all defaults
		}
		return []Problem{syntaxProblem(file, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return []Problem{syntaxProblem(file, err)}
		}
		return []Problem{fileProblem(extra.Line, "", "a second YAML document (---): put every key in one document")}
	}

	var ps []Problem
	unknownAt := map[int]bool{}
	w := walker{lines: lines, at: map[int][]string{}, values: map[[2]int]string{}, report: func(line int, key, msg string) {
		unknownAt[line] = true
		ps = append(ps, fileProblem(line, key, msg))
	}}
	w.walk(&doc, reflect.TypeFor[Config](), "")

	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	err := strict.Decode(cfg)
	var te *yaml.TypeError
	switch {
	case err == nil:
	case errors.As(err, &te):
		for _, msg := range te.Errors {
			line, text := splitLine(msg)
			if notFound.MatchString(text) && unknownAt[line] {
				continue // the walk reported it, with its path
			}
			key := keyAtLine(w.at[line])
			if m := columnRE.FindStringSubmatch(text); m != nil {
				col, _ := strconv.Atoi(m[1])
				text = text[len(m[0]):]
				if k, ok := w.values[[2]int{line, col}]; ok {
					key = k
				}
			}
			ps = append(ps, fileProblem(line, key, typeMessage(text)))
		}
	default:
		ps = append(ps, syntaxProblem(file, err))
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	return ps
}

// notFound matches yaml.v3's unknown-field message.
var notFound = regexp.MustCompile(`^field \S+ not found in type `)

// lineRE matches yaml.v3's "line N: " / "yaml: line N: " prefixes.
var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// cannotRE matches yaml.v3's type-mismatch message.
var cannotRE = regexp.MustCompile("^cannot unmarshal !!(\\w+) (?:`(.*)` )?into (.+)$")

// typeMessage rewrites yaml.v3's "cannot unmarshal !!map into
// []configs.Domain" as what was found and what is wanted; other messages
// are kept.
func typeMessage(text string) string {
	m := cannotRE.FindStringSubmatch(text)
	if m == nil {
		return text
	}
	kinds := map[string]string{"map": "a mapping", "seq": "a list", "str": "a string", "int": "an integer",
		"float": "a number", "bool": "a boolean", "timestamp": "a timestamp", "binary": "binary data"}
	got := kinds[m[1]]
	if got == "" {
		got = "!!" + m[1]
	}
	if m[2] != "" {
		got += fmt.Sprintf(" (%s)", m[2])
	}
	want := "a mapping of keys"
	switch t := m[3]; {
	case strings.HasPrefix(t, "[]"):
		want = "a list"
	case t == "bool":
		want = "true or false"
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint"):
		want = "an integer"
	case t == "string" || t == "configs.Secret" || t == "configs.Provider":
		want = "a string"
	}
	return fmt.Sprintf("wrong type: got %s, want %s", got, want)
}

// columnRE matches the "column N: " that Duration.UnmarshalYAML puts after
// the line, so a bad duration is named exactly even in flow style.
var columnRE = regexp.MustCompile(`^column (\d+): `)

// splitLine separates yaml.v3's "line N: " prefix from the message.
func splitLine(msg string) (int, string) {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, strings.TrimPrefix(msg, "yaml: ")
	}
	n, _ := strconv.Atoi(m[1])
	return n, msg[len(m[0]):]
}

// syntaxProblem turns a yaml.v3 parse error into a Problem naming the file
// and line.
func syntaxProblem(file string, err error) Problem {
	line, text := splitLine(err.Error())
	return Problem{Source: file, Line: line, Message: "invalid YAML: " + text}
}

// keyAtLine returns the deepest of the key paths on one line (ties: the
// first in sort order), or "" if there are none. yaml.v3's type errors carry
// only a line; this names the key. It can pick the wrong key only when
// several keys of one depth share the line (flow style `{a: 1, b: x}`).
func keyAtLine(keys []string) string {
	best := ""
	for _, k := range keys {
		d, bd := strings.Count(k, ".")+strings.Count(k, "["), strings.Count(best, ".")+strings.Count(best, "[")
		if best == "" || d > bd || (d == bd && k < best) {
			best = k
		}
	}
	return best
}

// walker checks a YAML node tree against a Go type's yaml tags.
type walker struct {
	lines  map[string]int    // key path → line of its first occurrence
	at     map[int][]string  // line → key paths occurring on it
	values map[[2]int]string // {line, column} of a value → its key path
	report func(line int, key, msg string)
}

// walk records the line of every key under path and reports keys that t
// has no field for. Values of the wrong kind are left to the decoder.
func (w walker) walk(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			w.walk(n.Content[0], t, path)
		}
	case yaml.AliasNode:
		if n.Alias != nil {
			w.walk(n.Alias, t, path)
		}
	case yaml.SequenceNode:
		if t.Kind() != reflect.Slice {
			return
		}
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			w.lines[p] = item.Line
			w.at[item.Line] = append(w.at[item.Line], p)
			w.walk(item, t.Elem(), p)
		}
	case yaml.MappingNode:
		if t.Kind() != reflect.Struct {
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.ShortTag() == "!!merge" {
				w.walkMerge(v, t, path)
				continue
			}
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if _, seen := w.lines[p]; !seen {
				w.lines[p] = k.Line
			}
			w.at[k.Line] = append(w.at[k.Line], p)
			w.values[[2]int{v.Line, v.Column}] = p
			ft, ok := fields[k.Value]
			if !ok {
				w.report(k.Line, p, unknownKeyMessage(k.Value, fields))
				continue
			}
			w.walk(v, ft, p)
		}
	}
}

// walkMerge checks the mapping(s) merged in by a `<<` key against t.
func (w walker) walkMerge(v *yaml.Node, t reflect.Type, path string) {
	if v.Kind == yaml.SequenceNode {
		for _, m := range v.Content {
			w.walk(m, t, path)
		}
		return
	}
	w.walk(v, t, path)
}

// yamlFields maps the yaml names of t's fields to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// unknownKeyMessage says a key is unknown, suggests the closest known key
// and lists them all.
func unknownKeyMessage(key string, fields map[string]reflect.Type) string {
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	sort.Strings(known)
	msg := "unknown key"
	if s := closest(key, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg + "; known keys here: " + strings.Join(known, ", ")
}

// closest returns the candidate nearest to s by case-insensitive edit
// distance, if at most 2, or "".
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := editDistance(ls, c)
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
