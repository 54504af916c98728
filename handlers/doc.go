// Package handlers is the broker's HTTP edge: it owns the routes, the wire format (strict JSON
// and form parsing), status codes, response headers, HTML templates and the middleware
// (request ids, access logs, metrics, panic recovery, body limits, security headers).
//
// Every rule of SPEC.md is decided in package broker; a handler parses the request, makes one
// broker call and writes the answer (STYLE §4). Errors travel as return values: broker returns
// *broker.Error or *broker.ValidationError, and errors.go is the only place where an error
// becomes a status, headers and a body (STYLE §3).
//
// The infrastructure every endpoint file uses:
//
//   - NewServer builds the echo instance with the middleware chain and the operational routes
//     (/healthz, /readyz, /metrics); endpoint files register their routes on Server.Echo before
//     Serve is called.
//   - writeJSON / writeJSONNoStore write JSON answers; decodeJSONBody / decodeStrictJSON,
//     parseForm, parseQuery and singleQuery parse requests strictly (duplicate JSON members,
//     repeated parameters, trailing data and wrong types are invalid_request, never a 500).
//   - htmlErrors marks a route whose errors are rendered as an HTML page instead of JSON.
//
// Imports: broker, scopes, echo, prometheus and the standard library. This package must not
// import store (or a store backend): the broker turns store errors into meaning, and
// test/deps_test.go enforces the rule.
package handlers
