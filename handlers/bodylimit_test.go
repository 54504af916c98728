package handlers

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// readsBody is a handler that consumes the whole body the way a parser does.
func readsBody(c echo.Context) error {
	if err := drain(c.Request().Body); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func TestLimitBody(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, ServerOptions{BodyLimits: map[string]int64{"POST /small": 10}})
	s.Echo.POST("/oauth/token", readsBody)
	s.Echo.POST("/v1/delegated_tokens", readsBody)
	s.Echo.POST("/small", readsBody)
	s.Echo.POST("/json", func(c echo.Context) error {
		var v map[string]any
		if err := decodeJSONBody(c.Request(), &v); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
	s.Echo.POST("/form", func(c echo.Context) error {
		if _, err := parseForm(c.Request()); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
	jsonOver := `{"a":"` + strings.Repeat("x", int(DefaultBodyLimit)) + `"}`
	formOver := "a=" + strings.Repeat("x", int(DefaultBodyLimit))
	tests := []struct {
		name, path, contentType, body string
		chunked                       bool // unknown length: the limit bites while reading
		wantStatus                    int
	}{
		{"64 KiB accepted", "/oauth/token", "", strings.Repeat("x", int(DefaultBodyLimit)), false, 204},
		{"64 KiB + 1 refused by length", "/oauth/token", "", strings.Repeat("x", int(DefaultBodyLimit)+1), false, 413},
		{"64 KiB + 1 refused while reading", "/oauth/token", "", strings.Repeat("x", int(DefaultBodyLimit)+1), true, 413},
		{"batch route takes 1 MiB", "/v1/delegated_tokens", "", strings.Repeat("x", int(BatchMintBodyLimit)), true, 204},
		{"batch route refuses 1 MiB + 1", "/v1/delegated_tokens", "", strings.Repeat("x", int(BatchMintBodyLimit)+1), true, 413},
		{"override", "/small", "", "12345678901", true, 413},
		{"strict JSON over limit is 413 not 400", "/json", "application/json", jsonOver, true, 413},
		{"form over limit is 413 not 400", "/form", formMediaType, formOver, true, 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tc.path, bytes.NewBufferString(tc.body))
			if tc.chunked {
				req.ContentLength = -1
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			rec := s.do(req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tc.wantStatus, rec.Body.String())
			}
			if tc.wantStatus == 413 {
				got := decodeError(t, rec)
				if got != (errorResponse{"invalid_request", "request body too large"}) {
					t.Errorf("body = %+v", got)
				}
			}
		})
	}
}
