package handlers

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/enterprise-connect/broker/broker"
)

func TestParseForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, contentType, body string
		want                    url.Values
		wantDesc                string // substring of the invalid_request description
	}{
		{"ok", formMediaType, "grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp%2Fcb", url.Values{"grant_type": {"authorization_code"}, "code": {"abc"}, "redirect_uri": {"https://app/cb"}}, ""},
		{"charset parameter", formMediaType + "; charset=UTF-8", "a=1", url.Values{"a": {"1"}}, ""},
		{"upper-case type", "Application/X-WWW-Form-Urlencoded", "a=1", url.Values{"a": {"1"}}, ""},
		{"empty body", formMediaType, "", url.Values{}, ""},
		{"repeated parameter", formMediaType, "code=a&grant_type=x&code=b", nil, `parameter "code" is repeated`},
		{"repeated empty value", formMediaType, "scope=&scope=", nil, `"scope" is repeated`},
		{"json content type", "application/json", "a=1", nil, "Content-Type must be"},
		{"no content type", "", "a=1", nil, "Content-Type must be"},
		{"multipart", "multipart/form-data; boundary=x", "a=1", nil, "Content-Type must be"},
		{"bad escape", formMediaType, "a=%zz", nil, "malformed"},
		{"semicolon separator", formMediaType, "a=1;b=2", nil, "malformed"},
		{"invalid UTF-8 value", formMediaType, "a=%ff%fe", nil, `parameter "a" is not valid UTF-8`},
		{"invalid UTF-8 name", formMediaType, "%ff=1", nil, "name is not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			got, err := parseForm(req)
			if tc.wantDesc == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if got.Encode() != tc.want.Encode() {
					t.Errorf("values = %v, want %v", got, tc.want)
				}
				return
			}
			be, ok := errors.AsType[*broker.Error](err)
			if !ok || be.Code != broker.InvalidRequest || !strings.Contains(be.Description, tc.wantDesc) {
				t.Errorf("err = %v, want invalid_request containing %q", err, tc.wantDesc)
			}
		})
	}
}

func TestParseQuery_And_SingleQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, rawQuery string
		want           map[string]string
		wantDesc       string
	}{
		{"ok", "response_type=code&client_id=c1&state=x%20y", map[string]string{"response_type": "code", "client_id": "c1", "state": "x y"}, ""},
		{"empty", "", map[string]string{}, ""},
		{"repeated", "client_id=a&client_id=b", nil, `parameter "client_id" is repeated`},
		{"malformed", "state=%zz", nil, "malformed"},
		{"long repeated name is shortened", strings.Repeat("n", 500) + "=1&" + strings.Repeat("n", 500) + "=2", nil, "…\" is repeated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/enterprise_connect/oauth/authorize?"+tc.rawQuery, nil)
			got, err := parseQuery(req)
			if tc.wantDesc == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if len(got) != len(tc.want) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
				for k, v := range tc.want {
					if got[k] != v {
						t.Errorf("%s = %q, want %q", k, got[k], v)
					}
				}
				return
			}
			be, ok := errors.AsType[*broker.Error](err)
			if !ok || be.Code != broker.InvalidRequest || !strings.Contains(be.Description, tc.wantDesc) {
				t.Errorf("err = %v, want invalid_request containing %q", err, tc.wantDesc)
			}
		})
	}
	if _, err := singleQuery(url.Values{"a": {"1", "2"}}); err == nil {
		t.Error("singleQuery accepted a repeated parameter")
	}
}

func TestParseForm_HTTP_RepeatedParameter400(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, ServerOptions{})
	s.Echo.POST("/form", func(c echo.Context) error {
		v, err := parseForm(c.Request())
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, v.Get("code"))
	})
	req := httptest.NewRequest(http.MethodPost, "/form", strings.NewReader("code=a&code=b"))
	req.Header.Set("Content-Type", formMediaType)
	rec := s.do(req)
	if rec.Code != 400 {
		t.Fatalf("status = %d, want 400", rec.Code)
	}
	if got := decodeError(t, rec); got.Error != "invalid_request" || !strings.Contains(got.Description, `"code"`) {
		t.Errorf("body = %+v, want invalid_request naming code", got)
	}
}
