package handlers

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
)

// maxJSONDepth bounds object/array nesting in a request body. The deepest body SPEC.md
// defines nests four levels; anything far deeper is an attack, refused before decoding.
const maxJSONDepth = 32

// smallObjectNames is how many member names an object keeps in a slice (compared pairwise
// with bytes.EqualFold, no allocation) before switching to a map of folded names.
const smallObjectNames = 16

// checkJSONDepth refuses nesting deeper than maxJSONDepth. It runs before any parser, needs
// no valid input, allocates nothing and only tracks whether it is inside a string.
func checkJSONDepth(b []byte) error {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString && c == '\\':
			i++ // skip the escaped byte, which may be a quote
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			if depth++; depth > maxJSONDepth {
				return invalidRequest("the JSON body nests deeper than %d levels", maxJSONDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// nameFrame is one open object or array while checkDuplicateNames scans.
type nameFrame struct {
	object    bool
	expectKey bool                // object: the next string is a member name
	index     int                 // array: the current element's index, for error paths
	name      []byte              // object: the current member's name, for error paths
	names     [][]byte            // object: names seen, while there are few
	folded    map[string]struct{} // object: folded names seen, once there are many
}

// checkDuplicateNames refuses an object, at any depth, that repeats a member name. Names
// are compared after unescaping and without regard to case (Unicode simple folding, the way
// encoding/json matches struct fields), so neither "\u0073ub" nor "SUB" can smuggle a second
// "sub". b must already be valid JSON no deeper than maxJSONDepth: the scan then only has to
// find strings and structural characters. Frames and name buffers are reused across sibling
// objects, so a batch of a thousand small objects costs a handful of allocations.
func checkDuplicateNames(b []byte) error {
	var stack []nameFrame
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			n := len(stack)
			if n == cap(stack) {
				stack = append(stack, nameFrame{})
			} else {
				stack = stack[:n+1]
			}
			f := &stack[n]
			*f = nameFrame{object: b[i] == '{', expectKey: b[i] == '{', names: f.names[:0]}
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if len(stack) > 0 {
				if f := &stack[len(stack)-1]; f.object {
					f.expectKey = true
				} else {
					f.index++
				}
			}
		case '"':
			end, escaped := stringEnd(b, i+1)
			if len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].expectKey {
				f := &stack[len(stack)-1]
				name := b[i+1 : end]
				if escaped {
					var s string
					if err := json.Unmarshal(b[i:end+1], &s); err == nil {
						name = []byte(s)
					}
				}
				f.name, f.expectKey = name, false
				if !f.addName(name) {
					return invalidRequest("duplicate member %s in the JSON body", echoName(namePath(stack)))
				}
			}
			i = end
		}
	}
	return nil
}

// stringEnd returns the index of the quote closing the string whose content starts at i,
// and whether the string contains an escape.
func stringEnd(b []byte, i int) (end int, escaped bool) {
	for ; i < len(b); i++ {
		switch b[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			return i, escaped
		}
	}
	return len(b) - 1, escaped
}

// addName records name in the object, reporting false when an equal name was seen before.
func (f *nameFrame) addName(name []byte) bool {
	if f.folded == nil {
		for _, seen := range f.names {
			if bytes.EqualFold(seen, name) {
				return false
			}
		}
		if len(f.names) < smallObjectNames {
			f.names = append(f.names, name)
			return true
		}
		f.folded = make(map[string]struct{}, 2*smallObjectNames)
		for _, seen := range f.names {
			f.folded[foldName(seen)] = struct{}{}
		}
	}
	key := foldName(name)
	if _, dup := f.folded[key]; dup {
		return false
	}
	f.folded[key] = struct{}{}
	return true
}

// namePath renders the position of the innermost open frame, e.g. requests[2].sub.
func namePath(stack []nameFrame) string {
	var b strings.Builder
	for _, f := range stack {
		if f.object {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.Write(f.name)
		} else {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	return b.String()
}

// foldName maps name to a canonical form under Unicode simple case folding (each rune
// becomes the smallest rune of its folding orbit), so two names fold equal exactly when
// bytes.EqualFold says they are equal.
func foldName(name []byte) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range string(name) {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}
