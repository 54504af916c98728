package handlers

import (
	"encoding/json"
	"fmt"

	"github.com/labstack/echo/v4"
)

// writeJSON writes v as the JSON body with status. v is marshalled before anything is
// written, so a marshalling failure is returned (and rendered as a 500) instead of leaving a
// half-written answer. HTML-significant characters are escaped (\u003c…), which is valid JSON.
func writeJSON(c echo.Context, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("marshal %T: %w", v, err)
	}
	return c.Blob(status, echo.MIMEApplicationJSON, b)
}

// writeJSONNoStore is writeJSON plus Cache-Control: no-store and Pragma: no-cache, for every
// answer that carries a token, a code or anything else a cache must not keep (RFC 6749 §5.1,
// SPEC §3).
func writeJSONNoStore(c echo.Context, status int, v any) error {
	setNoStore(c.Response().Header())
	return writeJSON(c, status, v)
}

// writeEncodedNoStore is writeJSONNoStore for a body its caller has already encoded (the
// delegated-token answers, written without reflection).
func writeEncodedNoStore(c echo.Context, status int, body []byte) error {
	setNoStore(c.Response().Header())
	return c.Blob(status, echo.MIMEApplicationJSON, body)
}
