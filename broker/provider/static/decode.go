package static

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/enterprise-connect/broker/broker/provider"
)

// The keys a directory file may hold (SPEC §10). Anything else is an error naming the key.
var (
	fileKeys     = []string{"domain", "admins", "users", "resources"}
	adminKeys    = []string{"email", "name", "password_hash"}
	userKeys     = []string{"email", "name", "password_hash", "groups", "calendars"}
	resourceKeys = []string{"email", "name", "calendars"}
	calendarKeys = []string{"calendar_id", "name"}
)

// rawFile is a directory file as written, before normalisation and checks.
type rawFile struct {
	domain     string
	domainNode *yaml.Node // nil when the key is absent
	admins     []rawEntry
	users      []rawEntry
	resources  []rawEntry
}

// rawEntry is one item of admins, users or resources, with where it was written.
type rawEntry struct {
	path      string // "users[1]"
	node      *yaml.Node
	email     string
	emailNode *yaml.Node
	name      string
	hash      string
	hashNode  *yaml.Node // nil when password_hash is absent or null
	groups    []string
	calendars []provider.Calendar
}

// decoder walks the YAML tree by hand instead of yaml.Unmarshal so that every problem names
// its key path ("users[1].calendars[0].calendar_id") and line, and all problems are reported
// at once (STYLE §6).
type decoder struct {
	source string
	errs   []problem
}

// problem is one error with the line it was found on (0: none), for sorting.
type problem struct {
	line int
	err  error
}

// err returns every problem in line order, joined, or nil.
func (d *decoder) err() error {
	slices.SortStableFunc(d.errs, func(a, b problem) int { return a.line - b.line })
	errs := make([]error, len(d.errs))
	for i, p := range d.errs {
		errs[i] = p.err
	}
	return errors.Join(errs...)
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	if path == "" {
		path = "top level"
	}
	msg := fmt.Sprintf(format, args...)
	if n == nil || n.Line == 0 {
		d.errs = append(d.errs, problem{0, fmt.Errorf("%s: %s: %s", d.source, path, msg)})
		return
	}
	d.errs = append(d.errs, problem{n.Line, fmt.Errorf("%s: line %d: %s: %s", d.source, n.Line, path, msg)})
}

// file decodes the document's root mapping.
func (d *decoder) file(root *yaml.Node) rawFile {
	var f rawFile
	d.mapping(root, "", fileKeys, func(key string, v *yaml.Node) {
		switch key {
		case "domain":
			f.domain, _ = d.str(v, key)
			f.domainNode = v
		case "admins":
			f.admins = d.entries(v, key, adminKeys)
		case "users":
			f.users = d.entries(v, key, userKeys)
		case "resources":
			f.resources = d.entries(v, key, resourceKeys)
		}
	})
	return f
}

// entries decodes a list of admins, users or resources.
func (d *decoder) entries(n *yaml.Node, path string, keys []string) []rawEntry {
	var out []rawEntry
	d.sequence(n, path, func(p string, item *yaml.Node) {
		e := rawEntry{path: p, node: deref(item)}
		d.mapping(item, p, keys, func(key string, v *yaml.Node) {
			kp := p + "." + key
			switch key {
			case "email":
				e.email, _ = d.str(v, kp)
				e.emailNode = v
			case "name":
				e.name, _ = d.str(v, kp)
			case "password_hash":
				var ok bool
				if e.hash, ok = d.str(v, kp); ok {
					e.hashNode = v
				}
			case "groups":
				e.groups = d.strs(v, kp)
			case "calendars":
				e.calendars = d.calendars(v, kp)
			}
		})
		out = append(out, e)
	})
	return out
}

func (d *decoder) calendars(n *yaml.Node, path string) []provider.Calendar {
	var out []provider.Calendar
	d.sequence(n, path, func(p string, item *yaml.Node) {
		var c provider.Calendar
		d.mapping(item, p, calendarKeys, func(key string, v *yaml.Node) {
			switch key {
			case "calendar_id":
				c.ID, _ = d.str(v, p+"."+key)
			case "name":
				c.Name, _ = d.str(v, p+"."+key)
			}
		})
		if c.ID == "" {
			d.fail(deref(item), p+".calendar_id", "required")
		}
		out = append(out, c)
	})
	return out
}

// mapping calls f for each key of the mapping n, in order. A null n is an empty mapping.
// Non-mappings, non-scalar keys, unknown keys and repeated keys are reported and skipped.
func (d *decoder) mapping(n *yaml.Node, path string, known []string, f func(key string, v *yaml.Node)) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping with keys %s, got %s", strings.Join(known, ", "), kindOf(n))
		return
	}
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "keys must be plain strings, got %s", kindOf(k))
			continue
		}
		kp := k.Value
		if path != "" {
			kp = path + "." + k.Value
		}
		if !slices.Contains(known, k.Value) {
			d.fail(k, kp, "unknown key (known keys here: %s)", strings.Join(known, ", "))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.fail(k, kp, "key repeated (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		f(k.Value, v)
	}
}

// sequence calls f for each item of the sequence n with its path ("users[2]"). A null n is empty.
func (d *decoder) sequence(n *yaml.Node, path string, f func(path string, item *yaml.Node)) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "want a list, got %s", kindOf(n))
		return
	}
	for i, item := range n.Content {
		f(path+"["+strconv.Itoa(i)+"]", item)
	}
}

// str returns a scalar's text; ok is false for null or a non-scalar (reported).
func (d *decoder) str(n *yaml.Node, path string) (s string, ok bool) {
	n = deref(n)
	if isNull(n) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "want a string, got %s", kindOf(n))
		return "", false
	}
	return n.Value, true
}

// strs returns a list of strings; null items and non-scalars are reported.
func (d *decoder) strs(n *yaml.Node, path string) []string {
	var out []string
	d.sequence(n, path, func(p string, item *yaml.Node) {
		if s, ok := d.str(item, p); ok {
			out = append(out, s)
		} else if isNull(deref(item)) {
			d.fail(deref(item), p, "want a string, got null")
		}
	})
	return out
}

// deref follows YAML aliases (*name) to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	default:
		return "something else"
	}
}
