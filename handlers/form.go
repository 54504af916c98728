package handlers

import (
	"net/http"
	"net/url"
	"slices"
	"unicode/utf8"
)

// formMediaType is the only body type parseForm accepts (RFC 6749 §4.1.3, Appendix B).
const formMediaType = "application/x-www-form-urlencoded"

// parseForm reads an application/x-www-form-urlencoded request body (only the body: never
// the query string, unlike http.Request.ParseForm). Errors, all invalid_request: a missing or
// different Content-Type, a malformed body, a parameter sent more than once (RFC 6749 §3.1;
// the description names it), a name or value that is not UTF-8. A body over the route's limit
// returns an error wrapping *http.MaxBytesError (413). Every returned key has exactly one
// value, so url.Values.Get is unambiguous.
func parseForm(r *http.Request) (url.Values, error) {
	if mediaType(r) != formMediaType {
		return nil, invalidRequest("Content-Type must be %s", formMediaType)
	}
	body, err := readBody(r.Body)
	if err != nil {
		return nil, err
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		e := invalidRequest("the form body is malformed")
		e.Cause = err
		return nil, e
	}
	if err := checkSingleValued(values); err != nil {
		return nil, err
	}
	return values, nil
}

// parseQuery parses the request's query string strictly: a malformed query (bad escape,
// ';' separator), which r.URL.Query silently drops, or a repeated parameter is
// invalid_request (RFC 6749 §3.1). Use it for GET endpoints such as authorize.
func parseQuery(r *http.Request) (map[string]string, error) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		e := invalidRequest("the query string is malformed")
		e.Cause = err
		return nil, e
	}
	return singleQuery(values)
}

// singleQuery flattens already-parsed parameters, refusing any that is repeated (RFC 6749
// §3.1: "Request and response parameters MUST NOT be included more than once") or not UTF-8.
func singleQuery(values url.Values) (map[string]string, error) {
	if err := checkSingleValued(values); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(values))
	for k, v := range values {
		if len(v) == 1 {
			out[k] = v[0]
		}
	}
	return out, nil
}

// checkSingleValued is the shared rule of parseForm and singleQuery. Names are checked in
// sorted order so the error is deterministic.
func checkSingleValued(values url.Values) error {
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !utf8.ValidString(k) {
			return invalidRequest("a parameter name is not valid UTF-8")
		}
		if len(values[k]) > 1 {
			return invalidRequest("parameter %s is repeated", echoName(k))
		}
		for _, v := range values[k] {
			if !utf8.ValidString(v) {
				return invalidRequest("parameter %s is not valid UTF-8", echoName(k))
			}
		}
	}
	return nil
}
