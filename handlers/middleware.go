package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v4"
)

// RequestIDHeader carries the request id in both directions: a sane incoming value is kept
// (so a proxy's id follows the request through the logs), and every response echoes it.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an accepted incoming request id.
const maxRequestIDLen = 64

// requestIDKey is the context key of the request id.
type requestIDKey struct{}

// WithRequestID returns a copy of ctx carrying id, which RequestID and the log handler of
// NewContextLogHandler read back. The request-id middleware calls it for every request.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id stored in ctx by WithRequestID, or "" when there is none.
// Broker code passes it into audit events (SPEC §9: request_id).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// validRequestID accepts 1 to 64 characters of [A-Za-z0-9._-]: enough for UUIDs and trace
// ids, too little to smuggle anything into a log line or header.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch ch := id[i]; {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9',
			ch == '.', ch == '_', ch == '-':
		default:
			return false
		}
	}
	return true
}

// newRequestID is 16 bytes from crypto/rand, hex-encoded.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// requestIDs keeps a sane incoming X-Request-Id or makes one, stores it in the request's
// context and echoes it in the response.
func requestIDs(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.SetRequest(r.WithContext(WithRequestID(r.Context(), id)))
		c.Response().Header().Set(RequestIDHeader, id)
		return next(c)
	}
}

// securityHeaders sets the headers every response carries, errors included.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		return next(c)
	}
}

// panicError is what a recovered panic becomes: always a 500 server_error whose value and
// stack are logged by handleError, never shown. It deliberately has no Unwrap, so a panic
// with a *broker.Error value cannot turn into a 4xx.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// recoverPanics turns a panic below it into a *panicError returned like any other error.
// http.ErrAbortHandler is re-panicked: it is net/http's way to abort a response on purpose.
func recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				err = &panicError{value: p, stack: debug.Stack()}
			}
		}()
		return next(c)
	}
}

// observe writes one access-log line and updates the request metrics for every request. It
// renders a returned error itself (c.Error), so the status it records is the one sent. It
// logs the route template, never the raw URL: query strings can hold codes and tokens; nor
// headers or bodies.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		elapsed := time.Since(start)
		r := c.Request()
		method, route, status := methodLabel(r.Method), routeLabel(c), c.Response().Status
		s.metrics.observe(method, route, status, elapsed)
		ctx := r.Context()
		s.logger.LogAttrs(ctx, slog.LevelInfo, "http request",
			slog.String("method", method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.String("request_id", RequestID(ctx)),
			slog.String("remote_ip", c.RealIP()))
		return nil
	}
}
