package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/enterprise-connect/broker/broker"
)

// maxJSONDepth bounds object/array nesting in a request body. The deepest body SPEC.md
// defines nests four levels; anything far deeper is an attack, refused before decoding.
const maxJSONDepth = 32

// decodeJSONBody checks that the request says Content-Type: application/json and decodes its
// body with decodeStrictJSON. A missing or different Content-Type is invalid_request.
func decodeJSONBody(r *http.Request, v any) error {
	if mt := mediaType(r); mt != "application/json" {
		return invalidRequest("Content-Type must be application/json")
	}
	return decodeStrictJSON(r.Body, v)
}

// decodeStrictJSON reads one JSON value from r into v, strictly (SPEC §10):
//   - an empty body, a bare null, invalid UTF-8, malformed JSON, nesting deeper than maxJSONDepth,
//     trailing data after the value, a member name repeated in any object at any depth, or
//     a value of the wrong type for v → *broker.Error invalid_request naming the problem;
//   - a body over the route's limit → an error wrapping *http.MaxBytesError (413).
//
// Duplicate names are compared the way encoding/json matches struct fields, i.e. without
// regard to case, so {"scope":…,"SCOPE":…} cannot smuggle a second value past the check.
// Spec is silent: unknown members are ignored, as RFC 6749 §3.2 asks of unknown parameters.
// Only a programming error (v not a non-nil pointer) returns a plain error, i.e. a 500.
// It never panics, whatever the input.
func decodeStrictJSON(r io.Reader, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	return unmarshalStrict(b, v)
}

// unmarshalStrict is decodeStrictJSON on bytes already read.
func unmarshalStrict(b []byte, v any) error {
	if len(bytes.Trim(b, " \t\r\n")) == 0 {
		return invalidRequest("the request body is empty; a JSON object is required")
	}
	if !utf8.Valid(b) {
		return invalidRequest("the request body is not valid UTF-8")
	}
	if err := checkJSONStructure(b); err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return jsonDecodeError(err)
	}
	return nil
}

// jsonFrame is one open object or array while checkJSONStructure walks the tokens.
type jsonFrame struct {
	object  bool
	wantKey bool                // object: the next token is a member name or '}'
	names   map[string]struct{} // object: folded member names seen so far
	name    string              // object: the current member's name, for error paths
	index   int                 // array: the current element's index, for error paths
}

// checkJSONStructure walks b token by token (no recursion, so depth cannot exhaust the
// stack) and rejects duplicate member names, excessive nesting and trailing data.
func checkJSONStructure(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // numbers stay text: 1e999 is a type problem for Unmarshal, not a crash here
	var stack []*jsonFrame
	for first := true; ; first = false {
		tok, err := dec.Token()
		if err != nil {
			return jsonSyntaxError(err)
		}
		if first && tok == nil {
			// encoding/json would accept null as "nothing to set"; a request is never null.
			return invalidRequest("the JSON body must not be null")
		}
		var top *jsonFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if len(stack) >= maxJSONDepth {
					return invalidRequest("the JSON body nests deeper than %d levels", maxJSONDepth)
				}
				stack = append(stack, &jsonFrame{object: d == '{', wantKey: d == '{'})
				continue
			default: // '}' or ']': the container is a complete value
				stack = stack[:len(stack)-1]
			}
		} else if top != nil && top.object && top.wantKey {
			name, _ := tok.(string) // the decoder only yields strings in name position
			folded := foldName(name)
			top.name = name
			if _, dup := top.names[folded]; dup {
				return invalidRequest("duplicate member %s in the JSON body", echoName(jsonPath(stack)))
			}
			if top.names == nil {
				top.names = map[string]struct{}{}
			}
			top.names[folded] = struct{}{}
			top.wantKey = false
			continue
		}
		// A value is complete.
		if len(stack) == 0 {
			break
		}
		if top = stack[len(stack)-1]; top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidRequest("unexpected data after the JSON value")
	}
	return nil
}

// jsonPath renders the position of the innermost open frame, e.g. requests[2].sub.
func jsonPath(stack []*jsonFrame) string {
	var b strings.Builder
	for _, f := range stack {
		if f.object {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.name)
		} else {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	return b.String()
}

// foldName maps name to a canonical form under Unicode simple case folding (each rune
// becomes the smallest rune of its folding orbit), so two names fold equal exactly when
// strings.EqualFold says they are equal: the rule encoding/json uses to match fields.
func foldName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// jsonSyntaxError describes a tokenizer failure without echoing the body.
func jsonSyntaxError(err error) error {
	var e *broker.Error
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		e = invalidRequest("the request body is not valid JSON (at byte %d)", se.Offset)
	} else if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		e = invalidRequest("the request body is truncated JSON")
	} else {
		e = invalidRequest("the request body is not valid JSON")
	}
	e.Cause = err
	return e
}

// jsonDecodeError turns an encoding/json decoding error into invalid_request naming the
// member and the expected type. *json.InvalidUnmarshalError is the caller's bug: a 500.
func jsonDecodeError(err error) error {
	if _, ok := errors.AsType[*json.InvalidUnmarshalError](err); ok {
		return fmt.Errorf("decode JSON: %w", err)
	}
	if be, ok := errors.AsType[*broker.Error](err); ok { // from a custom UnmarshalJSON
		return be
	}
	var e *broker.Error
	if ute, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		want := describeType(ute.Type)
		if ute.Field == "" {
			e = invalidRequest("the JSON body must be %s (got %s)", want, ute.Value)
		} else {
			e = invalidRequest("member %s must be %s (got %s)", echoName(ute.Field), want, ute.Value)
		}
	} else if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		e = invalidRequest("the request body is not valid JSON (at byte %d)", se.Offset)
	} else {
		e = invalidRequest("the JSON body does not have the expected shape")
	}
	e.Cause = err
	return e
}

// describeType names a Go type the way a JSON client thinks of it.
func describeType(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	default:
		return "a different type"
	}
}
