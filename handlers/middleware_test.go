package handlers

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestRequestID_EchoedAndLogged(t *testing.T) {
	t.Parallel()
	generated := regexp.MustCompile(`^[0-9a-f]{32}$`)
	tests := []struct {
		name, incoming string
		wantKept       bool
	}{
		{"sane incoming kept", "abc-123_X.y", true},
		{"64 chars kept", strings.Repeat("a", 64), true},
		{"none generated", "", false},
		{"65 chars replaced", strings.Repeat("a", 65), false},
		{"bad characters replaced", "id with spaces", false},
		{"injection replaced", `x","level":"ERROR`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, ServerOptions{})
			var seen string
			s.Echo.GET("/grants/:id", func(c echo.Context) error {
				seen = RequestID(c.Request().Context())
				return c.NoContent(http.StatusNoContent)
			})
			req := httptest.NewRequest(http.MethodGet, "/grants/ser_1?code=SECRETCODE", nil)
			if tc.incoming != "" {
				req.Header.Set(RequestIDHeader, tc.incoming)
			}
			req.Header.Set("Authorization", "Bearer SECRETTOKEN")
			rec := s.do(req)
			id := rec.Header().Get(RequestIDHeader)
			if tc.wantKept && id != tc.incoming {
				t.Errorf("X-Request-Id = %q, want the incoming %q", id, tc.incoming)
			}
			if !tc.wantKept && !generated.MatchString(id) {
				t.Errorf("X-Request-Id = %q, want 32 hex characters", id)
			}
			if seen != id {
				t.Errorf("RequestID(ctx) = %q, header %q", seen, id)
			}
			lines := s.logs.lines(t)
			var access map[string]any
			for _, l := range lines {
				if l["msg"] == "http request" {
					access = l
				}
			}
			if access == nil {
				t.Fatalf("no access-log line in %s", s.logs.String())
			}
			want := map[string]any{"method": "GET", "route": "/grants/:id", "status": float64(204), "request_id": id, "remote_ip": "192.0.2.1", "level": "INFO"}
			for k, v := range want {
				if access[k] != v {
					t.Errorf("access log %s = %v, want %v", k, access[k], v)
				}
			}
			if _, ok := access["duration_ms"].(float64); !ok {
				t.Errorf("access log without duration_ms: %v", access)
			}
			if strings.Count(s.logs.String(), `"request_id"`) != len(lines) {
				t.Errorf("request_id missing or repeated in a line: %s", s.logs.String())
			}
			for _, secret := range []string{"SECRETCODE", "SECRETTOKEN", "ser_1"} {
				if strings.Contains(s.logs.String(), secret) {
					t.Errorf("log contains %q (raw URL or header): %s", secret, s.logs.String())
				}
			}
		})
	}
}

func TestRecoverPanics_500WithoutPanicText(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, ServerOptions{})
	s.Echo.GET("/panic", func(echo.Context) error { panic("boom: db password hunter2") })
	req := httptest.NewRequest(http.MethodGet, "/panic", nil)
	req.Header.Set(RequestIDHeader, "req-panic")
	rec := s.do(req)
	if rec.Code != 500 {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	if got := decodeError(t, rec); got != (errorResponse{"server_error", "internal error"}) {
		t.Errorf("body = %+v", got)
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Error("panic text shown to the caller")
	}
	var logged, accessLogged bool
	for _, l := range s.logs.lines(t) {
		if l["level"] == "ERROR" && l["request_id"] == "req-panic" && strings.Contains(fmt.Sprint(l["err"]), "boom") && l["stack"] != nil {
			logged = true
		}
		if l["msg"] == "http request" && l["status"] == float64(500) {
			accessLogged = true
		}
	}
	if !logged || !accessLogged {
		t.Errorf("panic logged %v, access-logged as 500 %v:\n%s", logged, accessLogged, s.logs.String())
	}
}

func TestSecurityHeaders_OnEveryResponse(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, ServerOptions{})
	s.Echo.GET("/panic", func(echo.Context) error { panic("x") })
	for _, path := range []string{"/healthz", "/nope", "/panic", "/metrics"} {
		rec := s.do(httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, rec.Header())
		}
	}
}

func TestMetrics_ExposesRequestCounter(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, ServerOptions{})
	s.Echo.GET("/v1/grants/:id", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	for _, path := range []string{"/v1/grants/ser_a", "/v1/grants/ser_b", "/no/such/path/1", "/no/such/path/2"} {
		s.do(httptest.NewRequest(http.MethodGet, path, nil))
	}
	s.do(httptest.NewRequest("BREW", "/v1/grants/ser_a", nil))
	rec := s.do(httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("status = %d", rec.Code)
	}
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		"# TYPE broker_http_requests_total counter",
		"# TYPE broker_http_request_duration_seconds histogram",
		`broker_http_requests_total{method="GET",route="/v1/grants/:id",status="204"} 2`,
		`broker_http_requests_total{method="GET",route="unmatched",status="404"} 2`,
		`broker_http_requests_total{method="OTHER",route="/v1/grants/:id",status="405"} 1`,
		`broker_http_request_duration_seconds_count{method="GET",route="/v1/grants/:id"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "ser_a") || strings.Contains(text, "/no/such") {
		t.Error("raw paths became label values")
	}
}

func TestNewServer_SharedRegistry_ReusesCollectors(t *testing.T) {
	t.Parallel()
	a := newTestServer(t, ServerOptions{})
	b := newTestServer(t, ServerOptions{Registry: a.registry})
	a.do(httptest.NewRequest(http.MethodGet, "/healthz", nil))
	b.do(httptest.NewRequest(http.MethodGet, "/healthz", nil))
	text := b.do(httptest.NewRequest(http.MethodGet, "/metrics", nil)).Body.String()
	if !strings.Contains(text, `broker_http_requests_total{method="GET",route="/healthz",status="200"} 2`) {
		t.Errorf("shared registry did not count both servers:\n%s", text)
	}
}
