package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/enterprise-connect/broker/broker"
)

// statusOf is the HTTP status of every broker.ErrorCode (RFC 6749 §5.2, RFC 6750 §3.1,
// SPEC §2–§10). TestStatusOf_CoversEveryErrorCode keeps it complete; a code missing here is
// answered as a 500 server_error.
var statusOf = map[broker.ErrorCode]int{
	broker.InvalidRequest:          http.StatusBadRequest,
	broker.InvalidClient:           http.StatusUnauthorized,
	broker.InvalidGrant:            http.StatusBadRequest,
	broker.UnauthorizedClient:      http.StatusBadRequest,
	broker.UnsupportedGrantType:    http.StatusBadRequest,
	broker.UnsupportedResponseType: http.StatusBadRequest,
	broker.InvalidScope:            http.StatusBadRequest,
	broker.AccessDenied:            http.StatusForbidden,
	broker.InvalidToken:            http.StatusUnauthorized,
	broker.InsufficientScope:       http.StatusForbidden,
	broker.InvalidSubject:          http.StatusBadRequest,
	broker.NotFound:                http.StatusNotFound,
	broker.Forbidden:               http.StatusForbidden,
	broker.Unauthenticated:         http.StatusUnauthorized,
	broker.TooManyRequests:         http.StatusTooManyRequests,
	broker.TemporarilyUnavailable:  http.StatusServiceUnavailable,
	broker.ServerError:             http.StatusInternalServerError,
}

const (
	// realm names the protection space in WWW-Authenticate challenges (RFC 9110 §11.5).
	realm = "broker"
	// internalErrorDescription is all a caller learns about an unexpected failure.
	internalErrorDescription = "internal error"
	// htmlErrorsKey marks, in the echo.Context, a route whose errors are rendered as a page.
	htmlErrorsKey = "handlers.html_errors"
)

// errorBody is the JSON shape of every OAuth error answer (RFC 6749 §5.2, SPEC §3).
type errorBody struct {
	Error       broker.ErrorCode `json:"error"`
	Description string           `json:"error_description,omitempty"`
}

// validationBody is SPEC §7's 422 shape.
type validationBody struct {
	Errors map[string][]broker.FieldError `json:"errors"`
}

// resolved is an error turned into what the caller sees, plus what the log line needs.
type resolved struct {
	status      int
	code        broker.ErrorCode
	description string
	challenge   string                         // WWW-Authenticate value, "" for none
	retryAfter  int                            // seconds, 0 for no Retry-After
	fields      map[string][]broker.FieldError // non-nil only for a 422
	level       slog.Level                     // how loudly to log the cause
}

// handleError is the echo HTTPErrorHandler and the only place where an error becomes a
// status, headers and a body (STYLE §3). The full error (with its Cause) is logged with the
// request id; the caller sees only the code and the safe description. Routes marked with
// htmlErrors get an HTML page instead of JSON. Errors that must redirect (authorize, SPEC §2
// step 2) are handled by the endpoint itself and never reach here.
func (s *Server) handleError(err error, c echo.Context) {
	if err == nil {
		return
	}
	res := resolveError(err)
	s.logError(c, err, res)
	if c.Response().Committed {
		return // the handler already wrote a status; nothing more can be said
	}
	var werr error
	if isHTMLRoute(c) {
		werr = writeErrorPage(c, res)
	} else {
		werr = writeErrorJSON(c, res)
	}
	if werr != nil {
		s.logger.LogAttrs(c.Request().Context(), slog.LevelDebug, "writing error response",
			slog.String("request_id", RequestID(c.Request().Context())), slog.Any("err", werr))
	}
}

// resolveError classifies err. Order matters: a body over the limit is a 413 however it was
// wrapped, so a decoder that wraps *http.MaxBytesError in invalid_request still yields 413.
func resolveError(err error) resolved {
	var (
		tooLarge   *http.MaxBytesError
		validation *broker.ValidationError
		be         *broker.Error
		he         *echo.HTTPError
	)
	switch {
	case errors.As(err, &tooLarge):
		return resolved{status: http.StatusRequestEntityTooLarge, code: broker.InvalidRequest,
			description: "request body too large", level: slog.LevelDebug}
	case errors.As(err, &validation):
		fields := validation.Fields
		if fields == nil {
			fields = map[string][]broker.FieldError{}
		}
		return resolved{status: http.StatusUnprocessableEntity, code: broker.InvalidRequest,
			fields: fields, level: slog.LevelDebug}
	case errors.As(err, &be):
		return resolveBrokerError(be)
	case errors.As(err, &he):
		return resolveHTTPError(he)
	default:
		return resolved{status: http.StatusInternalServerError, code: broker.ServerError,
			description: internalErrorDescription, level: slog.LevelError}
	}
}

// resolveBrokerError maps a *broker.Error, adding the challenges RFC 6749 §5.2 and
// RFC 6750 §3 require.
func resolveBrokerError(be *broker.Error) resolved {
	status, ok := statusOf[be.Code]
	if !ok {
		return resolved{status: http.StatusInternalServerError, code: broker.ServerError,
			description: internalErrorDescription, level: slog.LevelError}
	}
	res := resolved{status: status, code: be.Code, description: be.Description, level: slog.LevelDebug}
	if status >= http.StatusInternalServerError {
		res.level = slog.LevelError
		if res.description == "" {
			res.description = internalErrorDescription
		}
	}
	switch be.Code {
	case broker.InvalidClient:
		if be.BasicAuth {
			res.challenge = `Basic realm="` + realm + `"`
		}
	case broker.InvalidToken:
		if be.NoToken {
			// RFC 6750 §3.1: no credentials at all → a challenge without an error attribute.
			res.challenge = `Bearer realm="` + realm + `"`
		} else {
			res.challenge = bearerChallenge(be.Code, be.Description)
		}
	case broker.InsufficientScope:
		res.challenge = bearerChallenge(be.Code, be.Description)
	case broker.Unauthenticated:
		// RFC 9110 §15.5.2: a 401 carries a challenge; API keys are Bearer credentials (SPEC §9).
		res.challenge = `Bearer realm="` + realm + `"`
	case broker.TooManyRequests:
		res.retryAfter = max(be.RetryAfter, 1)
	}
	return res
}

// resolveHTTPError maps echo's own errors (unknown route, wrong method, body too large…),
// keeping their status but speaking the broker's error vocabulary.
func resolveHTTPError(he *echo.HTTPError) resolved {
	status := he.Code
	res := resolved{status: status, code: broker.InvalidRequest, level: slog.LevelDebug}
	switch {
	case status == http.StatusNotFound:
		res.code, res.description = broker.NotFound, "not found"
	case status == http.StatusMethodNotAllowed:
		res.description = "method not allowed"
	case status == http.StatusRequestEntityTooLarge:
		res.description = "request body too large"
	case status == http.StatusUnauthorized:
		res.code, res.description = broker.Unauthenticated, "authentication required"
		res.challenge = `Bearer realm="` + realm + `"`
	case status == http.StatusForbidden:
		res.code, res.description = broker.Forbidden, "forbidden"
	case status == http.StatusTooManyRequests:
		res.code, res.description, res.retryAfter = broker.TooManyRequests, "too many requests", 1
	case status == http.StatusServiceUnavailable:
		res.code, res.description = broker.TemporarilyUnavailable, "temporarily unavailable"
		res.level = slog.LevelError
	case status >= 400 && status < 500:
		res.description = strings.ToLower(http.StatusText(status))
		if msg, ok := he.Message.(string); ok && msg != "" {
			res.description = msg
		}
	default: // 5xx, or a nonsensical status
		res.status, res.code, res.description = http.StatusInternalServerError, broker.ServerError, internalErrorDescription
		res.level = slog.LevelError
	}
	return res
}

// bearerChallenge builds `Bearer error="…", error_description="…"` (RFC 6750 §3).
func bearerChallenge(code broker.ErrorCode, description string) string {
	v := `Bearer error="` + string(code) + `"`
	if description != "" {
		v += `, error_description="` + authParam(description) + `"`
	}
	return v
}

// authParam keeps only the characters RFC 6750 §3 allows in error_description
// (%x20-21 / %x23-5B / %x5D-7E), so a description can never break the header.
func authParam(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteByte('\'')
		case r == '\\':
			b.WriteByte('/')
		case r >= 0x20 && r <= 0x7e:
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// logError logs the full error: at Error for 5xx (an operator must act, STYLE §7), at Debug
// otherwise (the access log already records the status).
func (s *Server) logError(c echo.Context, err error, res resolved) {
	ctx := c.Request().Context()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		res.level = slog.LevelDebug // the client went away; nobody needs to act
	}
	if !s.logger.Enabled(ctx, res.level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", RequestID(ctx)),
		slog.String("method", methodLabel(c.Request().Method)),
		slog.String("route", routeLabel(c)),
		slog.Int("status", res.status),
		slog.String("error_code", string(res.code)),
		slog.Any("err", err),
	}
	if p, ok := errors.AsType[*panicError](err); ok {
		attrs = append(attrs, slog.String("stack", string(p.stack)))
	}
	s.logger.LogAttrs(ctx, res.level, "request failed", attrs...)
}

// setNoStore forbids caching of an answer that carries tokens or errors (RFC 6749 §5.1).
func setNoStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// writeErrorJSON writes res as {"error","error_description"} or, for a 422, SPEC §7's shape.
func writeErrorJSON(c echo.Context, res resolved) error {
	h := c.Response().Header()
	setNoStore(h)
	if res.challenge != "" {
		h.Set("WWW-Authenticate", res.challenge)
	}
	if res.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(res.retryAfter))
	}
	var body any = errorBody{Error: res.code, Description: res.description}
	if res.fields != nil {
		body = validationBody{Errors: res.fields}
	}
	b, err := json.Marshal(body)
	if err != nil { // cannot happen: strings and maps of strings only
		return err
	}
	return c.Blob(res.status, echo.MIMEApplicationJSON, b)
}

// htmlErrors is route middleware for pages (sign-in, consent, /admin): their errors are
// rendered as a small HTML page instead of JSON. Usage: e.GET("/admin", h.Get, htmlErrors).
func htmlErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		markHTML(c)
		return next(c)
	}
}

// markHTML marks the current request's errors as HTML pages (see htmlErrors).
func markHTML(c echo.Context) { c.Set(htmlErrorsKey, true) }

// isHTMLRoute reports whether markHTML was called for this request.
func isHTMLRoute(c echo.Context) bool {
	v, _ := c.Get(htmlErrorsKey).(bool)
	return v
}

// errorPage is the generic HTML error page; html/template escapes everything it echoes.
var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title></head>
<body><main>
<h1>{{.Title}}</h1>
{{if .Description}}<p>{{.Description}}</p>{{end}}
{{if .Fields}}<ul>{{range .Fields}}<li>{{.Field}}: {{.Description}}</li>{{end}}</ul>{{end}}
<p><small>error: {{.Code}}{{if .RequestID}} · request id: {{.RequestID}}{{end}}</small></p>
</main></body></html>
`))

// pageField is one line of a 422 rendered as a page.
type pageField struct{ Field, Description string }

// writeErrorPage renders res as HTML with the headers SPEC §2 asks of every page.
func writeErrorPage(c echo.Context, res resolved) error {
	data := struct {
		Title, Description, RequestID string
		Code                          broker.ErrorCode
		Fields                        []pageField
	}{
		Title:       http.StatusText(res.status),
		Description: res.description,
		RequestID:   RequestID(c.Request().Context()),
		Code:        res.code,
	}
	for field, errs := range res.fields {
		for _, fe := range errs {
			data.Fields = append(data.Fields, pageField{Field: field, Description: fe.Description})
		}
	}
	// Map order is random; a stable sort by field keeps each field's problems in order.
	slices.SortStableFunc(data.Fields, func(a, b pageField) int { return strings.Compare(a.Field, b.Field) })
	var buf bytes.Buffer
	if err := errorPage.Execute(&buf, data); err != nil {
		return err
	}
	h := c.Response().Header()
	setNoStore(h)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	if res.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(res.retryAfter))
	}
	return c.HTMLBlob(res.status, buf.Bytes())
}
