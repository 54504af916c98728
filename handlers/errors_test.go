package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/enterprise-connect/broker/broker"
)

func TestStatusOf_CoversEveryErrorCode(t *testing.T) {
	t.Parallel()
	known := map[broker.ErrorCode]bool{}
	for _, code := range broker.ErrorCodes() {
		known[code] = true
		if _, ok := statusOf[code]; !ok {
			t.Errorf("broker.%s (%q) has no HTTP status in statusOf", code, string(code))
		}
	}
	for code := range statusOf {
		if !known[code] {
			t.Errorf("statusOf maps %q, which broker.ErrorCodes() does not list", code)
		}
	}
}

// serveError answers one request whose handler returns err.
func serveError(t *testing.T, err error) *httptest.ResponseRecorder {
	t.Helper()
	s := newTestServer(t, ServerOptions{})
	s.Echo.GET("/fail", func(echo.Context) error { return err })
	return s.do(httptest.NewRequest(http.MethodGet, "/fail", nil))
}

func TestHandleError_BrokerErrors_StatusHeadersBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		err            *broker.Error
		wantStatus     int
		wantChallenge  string
		wantRetryAfter string
	}{
		{"invalid_request", &broker.Error{Code: broker.InvalidRequest, Description: "d"}, 400, "", ""},
		{"invalid_client", &broker.Error{Code: broker.InvalidClient, Description: "d"}, 401, "", ""},
		{"invalid_client basic", &broker.Error{Code: broker.InvalidClient, Description: "d", BasicAuth: true}, 401, `Basic realm="broker"`, ""},
		{"invalid_grant", &broker.Error{Code: broker.InvalidGrant, Description: "d"}, 400, "", ""},
		{"unauthorized_client", &broker.Error{Code: broker.UnauthorizedClient, Description: "d"}, 400, "", ""},
		{"unsupported_grant_type", &broker.Error{Code: broker.UnsupportedGrantType, Description: "d"}, 400, "", ""},
		{"unsupported_response_type", &broker.Error{Code: broker.UnsupportedResponseType, Description: "d"}, 400, "", ""},
		{"invalid_scope", &broker.Error{Code: broker.InvalidScope, Description: "d"}, 400, "", ""},
		{"access_denied", &broker.Error{Code: broker.AccessDenied, Description: "d"}, 403, "", ""},
		{"invalid_token", &broker.Error{Code: broker.InvalidToken, Description: "token expired"}, 401, `Bearer error="invalid_token", error_description="token expired"`, ""},
		{"invalid_token no token", &broker.Error{Code: broker.InvalidToken, Description: "d", NoToken: true}, 401, `Bearer realm="broker"`, ""},
		{"insufficient_scope", &broker.Error{Code: broker.InsufficientScope, Description: "needs manage"}, 403, `Bearer error="insufficient_scope", error_description="needs manage"`, ""},
		{"invalid_subject", &broker.Error{Code: broker.InvalidSubject, Description: "d"}, 400, "", ""},
		{"not_found", &broker.Error{Code: broker.NotFound, Description: "d"}, 404, "", ""},
		{"forbidden", &broker.Error{Code: broker.Forbidden, Description: "d"}, 403, "", ""},
		{"unauthenticated", &broker.Error{Code: broker.Unauthenticated, Description: "d"}, 401, `Bearer realm="broker"`, ""},
		{"too_many_requests", &broker.Error{Code: broker.TooManyRequests, Description: "d", RetryAfter: 30}, 429, "", "30"},
		{"too_many_requests without hint", &broker.Error{Code: broker.TooManyRequests, Description: "d"}, 429, "", "1"},
		{"temporarily_unavailable", &broker.Error{Code: broker.TemporarilyUnavailable, Description: "d", Cause: errors.New("redis down")}, 503, "", ""},
		{"server_error", &broker.Error{Code: broker.ServerError, Description: "d"}, 500, "", ""},
		{"wrapped", &broker.Error{Code: broker.InvalidGrant, Description: "d"}, 400, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var err error = tc.err
			if tc.name == "wrapped" {
				err = fmt.Errorf("exchange: %w", tc.err)
			}
			rec := serveError(t, err)
			if rec.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tc.wantStatus)
			}
			got := decodeError(t, rec)
			if got.Error != string(tc.err.Code) || got.Description != tc.err.Description {
				t.Errorf("body = %+v, want error %q description %q", got, tc.err.Code, tc.err.Description)
			}
			h := rec.Header()
			if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
				t.Errorf("Cache-Control %q Pragma %q, want no-store / no-cache", h.Get("Cache-Control"), h.Get("Pragma"))
			}
			if got := h.Get("WWW-Authenticate"); got != tc.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.wantChallenge)
			}
			if got := h.Get("Retry-After"); got != tc.wantRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tc.wantRetryAfter)
			}
			if ct := h.Get("Content-Type"); ct != echo.MIMEApplicationJSON {
				t.Errorf("Content-Type = %q", ct)
			}
			if strings.Contains(rec.Body.String(), "redis down") {
				t.Errorf("cause leaked into body: %s", rec.Body.String())
			}
		})
	}
}

func TestHandleError_ChallengeDescription_CannotBreakHeader(t *testing.T) {
	t.Parallel()
	rec := serveError(t, &broker.Error{Code: broker.InvalidToken, Description: "bad \"token\"\\\r\nX-Evil: 1 é"})
	want := `Bearer error="invalid_token", error_description="bad 'token'/??X-Evil: 1 ?"`
	if got := rec.Header().Get("WWW-Authenticate"); got != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}
	if rec.Header().Get("X-Evil") != "" {
		t.Error("header injected")
	}
}

func TestHandleError_ValidationError_422Shape(t *testing.T) {
	t.Parallel()
	var v broker.ValidationError
	v.Add("calendar_id", "unknown", "no such calendar")
	v.Add("redirect_uri", "required", "redirect_uri is required")
	rec := serveError(t, fmt.Errorf("permissions: %w", v.OrNil()))
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status = %d, want 422", rec.Code)
	}
	want := `{"errors":{"calendar_id":[{"key":"errors.unknown","description":"no such calendar"}],"redirect_uri":[{"key":"errors.required","description":"redirect_uri is required"}]}}`
	if got := rec.Body.String(); got != want {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Error("422 without Cache-Control: no-store")
	}
}

func TestHandleError_EchoErrors_KeepStatus(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, ServerOptions{})
	s.Echo.GET("/only-get", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	s.Echo.GET("/teapot", func(echo.Context) error { return echo.NewHTTPError(http.StatusTeapot, "short and stout") })
	s.Echo.GET("/too-large", func(echo.Context) error { return echo.ErrStatusRequestEntityTooLarge })
	s.Echo.GET("/bad-gateway", func(echo.Context) error { return echo.ErrBadGateway })
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantBody           errorResponse
	}{
		{"unknown route", http.MethodGet, "/nope?code=secret", 404, errorResponse{"not_found", "not found"}},
		{"wrong method", http.MethodPost, "/only-get", 405, errorResponse{"invalid_request", "method not allowed"}},
		{"other 4xx", http.MethodGet, "/teapot", 418, errorResponse{"invalid_request", "short and stout"}},
		{"413", http.MethodGet, "/too-large", 413, errorResponse{"invalid_request", "request body too large"}},
		{"5xx", http.MethodGet, "/bad-gateway", 500, errorResponse{"server_error", "internal error"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := s.do(httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tc.wantStatus)
			}
			if got := decodeError(t, rec); got != tc.wantBody {
				t.Errorf("body = %+v, want %+v", got, tc.wantBody)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Error("missing Cache-Control: no-store")
			}
		})
	}
	rec := s.do(httptest.NewRequest(http.MethodPost, "/only-get", nil))
	if allow := rec.Header().Get("Allow"); !strings.Contains(allow, http.MethodGet) {
		t.Errorf("405 Allow = %q, want it to list GET", allow)
	}
}

func TestHandleError_UnexpectedError_500CauseLoggedNotShown(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, ServerOptions{})
	s.Echo.GET("/fail", func(echo.Context) error { return errors.New("dial tcp 10.0.0.7:6379: connection refused") })
	s.Echo.GET("/unknown-code", func(echo.Context) error {
		return &broker.Error{Code: "made_up", Description: "should not show"}
	})
	req := httptest.NewRequest(http.MethodGet, "/fail", nil)
	req.Header.Set(RequestIDHeader, "req-500")
	rec := s.do(req)
	if rec.Code != 500 {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	if got := decodeError(t, rec); got != (errorResponse{"server_error", "internal error"}) {
		t.Errorf("body = %+v", got)
	}
	if strings.Contains(rec.Body.String(), "10.0.0.7") {
		t.Error("cause shown to the caller")
	}
	found := false
	for _, line := range s.logs.lines(t) {
		if line["level"] == "ERROR" && line["request_id"] == "req-500" && strings.Contains(fmt.Sprint(line["err"]), "10.0.0.7") {
			found = true
		}
	}
	if !found {
		t.Errorf("no ERROR line with request_id and cause in logs:\n%s", s.logs.String())
	}

	rec = s.do(httptest.NewRequest(http.MethodGet, "/unknown-code", nil))
	if got := decodeError(t, rec); rec.Code != 500 || got.Error != "server_error" {
		t.Errorf("unknown code: status %d body %+v, want 500 server_error", rec.Code, got)
	}
}

func TestHandleError_MaxBytesErrorWrappedInBrokerError_Is413(t *testing.T) {
	t.Parallel()
	rec := serveError(t, &broker.Error{Code: broker.InvalidRequest, Description: "x", Cause: &http.MaxBytesError{Limit: 10}})
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", rec.Code)
	}
}

func TestHandleError_HTMLRoute_RendersEscapedPage(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, ServerOptions{})
	s.Echo.GET("/page", func(echo.Context) error {
		return &broker.Error{Code: broker.InvalidRequest, Description: `unknown client <script>alert("x")</script>`, NoRedirect: true}
	}, htmlErrors)
	s.Echo.GET("/page422", func(echo.Context) error {
		var v broker.ValidationError
		v.Add("redirect_uri", "required", "<b>required</b>")
		return &v
	}, htmlErrors)
	rec := s.do(httptest.NewRequest(http.MethodGet, "/page", nil))
	if rec.Code != 400 {
		t.Errorf("status = %d, want 400", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want text/html", ct)
	}
	body := rec.Body.String()
	if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("description not escaped: %s", body)
	}
	for _, h := range []string{"Cache-Control", "X-Frame-Options", "Content-Security-Policy"} {
		if rec.Header().Get(h) == "" {
			t.Errorf("page without %s", h)
		}
	}
	rec = s.do(httptest.NewRequest(http.MethodGet, "/page422", nil))
	if rec.Code != 422 || strings.Contains(rec.Body.String(), "<b>") || !strings.Contains(rec.Body.String(), "redirect_uri") {
		t.Errorf("422 page: status %d body %s", rec.Code, rec.Body.String())
	}
}

func TestHandleError_AfterResponseCommitted_KeepsStatus(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, ServerOptions{})
	s.Echo.GET("/half", func(c echo.Context) error {
		if err := c.String(http.StatusOK, "partial"); err != nil {
			return err
		}
		return errors.New("late failure")
	})
	rec := s.do(httptest.NewRequest(http.MethodGet, "/half", nil))
	if rec.Code != 200 || rec.Body.String() != "partial" {
		t.Errorf("status %d body %q, want the handler's own answer untouched", rec.Code, rec.Body.String())
	}
}

func TestWriteJSON_NoStoreHeadersAndBody(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, ServerOptions{})
	s.Echo.GET("/tok", func(c echo.Context) error {
		return writeJSONNoStore(c, http.StatusOK, map[string]string{"access_token": "a<b"})
	})
	s.Echo.GET("/bad", func(c echo.Context) error { return writeJSON(c, http.StatusOK, func() {}) })
	rec := s.do(httptest.NewRequest(http.MethodGet, "/tok", nil))
	var got map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got["access_token"] != "a<b" {
		t.Errorf("body %q (%v)", rec.Body.String(), err)
	}
	if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("Pragma") != "no-cache" {
		t.Error("writeJSONNoStore without no-store headers")
	}
	if rec := s.do(httptest.NewRequest(http.MethodGet, "/bad", nil)); rec.Code != 500 {
		t.Errorf("unmarshalable value: status %d, want 500", rec.Code)
	}
}
