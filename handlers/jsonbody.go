package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"unicode/utf8"

	"github.com/enterprise-connect/broker/broker"
)

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
// It never panics, whatever the input. On error v may be partly set and must not be used.
func decodeStrictJSON(r io.Reader, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	return unmarshalStrict(b, v)
}

// unmarshalStrict is decodeStrictJSON on bytes already read.
func unmarshalStrict(b []byte, v any) error {
	trimmed := bytes.Trim(b, " \t\r\n")
	if len(trimmed) == 0 {
		return invalidRequest("the request body is empty; a JSON object is required")
	}
	if !utf8.Valid(b) {
		return invalidRequest("the request body is not valid UTF-8")
	}
	if err := checkJSONDepth(b); err != nil {
		return err
	}
	if string(trimmed) == "null" {
		// encoding/json would accept null as "nothing to set"; a request is never null.
		return invalidRequest("the JSON body must not be null")
	}
	// Unmarshal checks the whole body's syntax before it sets anything, so a malformed body
	// (trailing data included) fails here and the duplicate scan below only sees valid JSON.
	if err := json.Unmarshal(b, v); err != nil {
		if _, ok := errors.AsType[*json.SyntaxError](err); ok {
			return describeInvalidJSON(b)
		}
		return jsonDecodeError(err)
	}
	if err := checkDuplicateNames(b); err != nil {
		return err
	}
	return nil
}

// describeInvalidJSON says why encoding/json refused b: trailing data after a complete value,
// or a syntax error at an offset. It never echoes the body.
func describeInvalidJSON(b []byte) error {
	var first json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&first); err != nil {
		return jsonSyntaxError(err)
	}
	return invalidRequest("unexpected data after the JSON value")
}

// jsonSyntaxError describes a decoder failure without echoing the body.
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
