package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

const (
	// DefaultBodyLimit is the largest request body any route accepts unless configured
	// otherwise: 64 KiB (SPEC §10).
	DefaultBodyLimit int64 = 64 << 10
	// BatchMintBodyLimit is the limit of POST /v1/delegated_tokens, whose batch form carries
	// up to 1000 requests: 1 MiB (SPEC §4, §10).
	BatchMintBodyLimit int64 = 1 << 20
)

// defaultBodyLimits are the per-route exceptions to DefaultBodyLimit, keyed "METHOD /route"
// with the route template exactly as registered.
func defaultBodyLimits() map[string]int64 {
	return map[string]int64{
		http.MethodPost + " /v1/delegated_tokens": BatchMintBodyLimit,
	}
}

// bodyLimit returns the limit for a request to the route template path.
func (s *Server) bodyLimit(method, path string) int64 {
	if n, ok := s.bodyLimits[method+" "+path]; ok {
		return n
	}
	return DefaultBodyLimit
}

// limitBody caps the request body at the route's limit. A declared Content-Length over it is
// refused at once; otherwise reading past the limit fails with *http.MaxBytesError (which the
// strict parsers pass through) and net/http closes the connection after the answer. Either
// way errors.go answers 413.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		limit := s.bodyLimit(r.Method, c.Path())
		if r.ContentLength > limit {
			return &http.MaxBytesError{Limit: limit}
		}
		if r.Body != nil && r.Body != http.NoBody {
			// The unwrapped writer, so MaxBytesReader can tell net/http to close the connection.
			r.Body = http.MaxBytesReader(c.Response().Writer, r.Body, limit)
		}
		return next(c)
	}
}
