package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/enterprise-connect/broker/broker"
)

// mintRequest is shaped like SPEC §4's delegated-token body, with an integer to mistype.
type mintRequest struct {
	Sub      string `json:"sub"`
	Scope    string `json:"scope"`
	Exp      int64  `json:"exp"`
	Requests []struct {
		Sub   string `json:"sub"`
		Scope string `json:"scope"`
	} `json:"requests"`
	Extra any `json:"extra"`
}

func TestDecodeStrictJSON_MaliciousInputs_InvalidRequestNeverPanic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		wantDesc string // substring of the description; "" = must succeed
	}{
		{"valid", `{"sub":"alice@example.com","scope":"read_only","exp":5}`, ""},
		{"valid batch", `{"requests":[{"sub":"a"},{"sub":"b","scope":"x"}]}`, ""},
		{"unknown member ignored", `{"sub":"a","future":{"x":[1,2]}}`, ""},
		{"empty body", ``, "empty"},
		{"whitespace only", " \n\t ", "empty"},
		{"null", `null`, "null"},
		{"duplicate top level", `{"sub":"a","sub":"b"}`, `duplicate member "sub"`},
		{"duplicate escaped", `{"sub":"a","\u0073ub":"b"}`, `duplicate member "sub"`},
		{"duplicate other case", `{"scope":"read_only","SCOPE":"read_write"}`, `duplicate member "SCOPE"`},
		{"duplicate unicode fold", `{"sub":"a","ſub":"b"}`, `duplicate member`},
		{"duplicate nested in array of objects", `{"requests":[{"sub":"a"},{"sub":"b","sub":"c"}]}`, `"requests[1].sub"`},
		{"duplicate deep in unknown member", `{"extra":{"a":[[{"k":1,"k":2}]]}}`, `"extra.a[0][0].k"`},
		{"trailing garbage", `{"sub":"a"} x`, "unexpected data after"},
		{"two values", `{"sub":"a"}{"sub":"b"}`, "unexpected data after"},
		{"trailing comma", `{"sub":"a",}`, "not valid JSON"},
		{"truncated", `{"sub":`, "truncated"},
		{"string for int", `{"exp":"1"}`, `member "exp" must be an integer (got string)`},
		{"float for int", `{"exp":1.5}`, `member "exp" must be an integer`},
		{"huge number", `{"exp":1e999}`, `member "exp" must be an integer`},
		{"huge number for any", `{"extra":1e999}`, `member "extra"`},
		{"object for string", `{"sub":{"a":1}}`, `member "sub" must be a string`},
		{"array at top", `[1,2]`, "must be an object"},
		{"string at top", `"hello"`, "must be an object"},
		{"wrong type in array item", `{"requests":[{"sub":1}]}`, `must be a string`},
		{"invalid UTF-8 in value", "{\"sub\":\"\xff\xfe\"}", "UTF-8"},
		{"invalid UTF-8 in name", "{\"\xc3\":1}", "UTF-8"},
		{"deep nesting", strings.Repeat("[", 100000) + strings.Repeat("]", 100000), "deeper than"},
		{"deep nesting unclosed", `{"extra":` + strings.Repeat(`{"a":`, 5000), "deeper than"},
		{"nesting at limit", `{"extra":` + strings.Repeat("[", maxJSONDepth-1) + strings.Repeat("]", maxJSONDepth-1) + `}`, ""},
		{"lone surrogate escape", `{"sub":"\ud800"}`, ""},
		{"control character", "{\"sub\":\"a\x01\"}", "not valid JSON"},
		{"bom", "\xef\xbb\xbf{}", "not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var v mintRequest
			err := decodeStrictJSON(strings.NewReader(tc.body), &v)
			if tc.wantDesc == "" {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				return
			}
			be, ok := errors.AsType[*broker.Error](err)
			if !ok || be.Code != broker.InvalidRequest {
				t.Fatalf("err = %#v, want *broker.Error invalid_request", err)
			}
			if !strings.Contains(be.Description, tc.wantDesc) {
				t.Errorf("description %q does not contain %q", be.Description, tc.wantDesc)
			}
		})
	}
}

func TestDecodeStrictJSON_OverLimit_PropagatesMaxBytesError(t *testing.T) {
	t.Parallel()
	body := `{"sub":"` + strings.Repeat("a", 100) + `"}`
	rec := httptest.NewRecorder()
	r := http.MaxBytesReader(rec, io_nopCloser(strings.NewReader(body)), 50)
	var v mintRequest
	err := decodeStrictJSON(r, &v)
	if _, ok := errors.AsType[*http.MaxBytesError](err); !ok {
		t.Fatalf("err = %v, want *http.MaxBytesError", err)
	}
	if _, ok := errors.AsType[*broker.Error](err); ok {
		t.Error("over-limit body became a broker.Error (400) instead of a 413")
	}
}

func TestDecodeStrictJSON_NonPointerTarget_IsProgrammingError(t *testing.T) {
	t.Parallel()
	err := decodeStrictJSON(strings.NewReader(`{}`), mintRequest{})
	if err == nil {
		t.Fatal("want an error")
	}
	if _, ok := errors.AsType[*broker.Error](err); ok {
		t.Error("a programming error must be a 500, not invalid_request")
	}
}

func TestDecodeJSONBody_HTTP_DuplicateKeys400WrongContentType400(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, ServerOptions{})
	s.Echo.POST("/json", func(c echo.Context) error {
		var v mintRequest
		if err := decodeJSONBody(c.Request(), &v); err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, v.Sub)
	})
	tests := []struct {
		name, contentType, body string
		wantStatus              int
	}{
		{"ok", "application/json; charset=utf-8", `{"sub":"a"}`, 200},
		{"duplicate keys", "application/json", `{"sub":"a","sub":"b"}`, 400},
		{"wrong type", "application/json", `{"exp":"soon"}`, 400},
		{"form content type", "application/x-www-form-urlencoded", `{"sub":"a"}`, 400},
		{"no content type", "", `{"sub":"a"}`, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/json", bytes.NewBufferString(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			rec := s.do(req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tc.wantStatus, rec.Body.String())
			}
			if tc.wantStatus == 400 && decodeError(t, rec).Error != "invalid_request" {
				t.Errorf("body = %s, want invalid_request", rec.Body.String())
			}
		})
	}
}

func FuzzDecodeStrictJSON(f *testing.F) {
	for _, seed := range []string{`{"sub":"a"}`, `{"requests":[{"sub":"a","sub":"b"}]}`, `[[[`, `{"a":1} x`, "\xff", `{"exp":1e999}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v mintRequest
		err := decodeStrictJSON(strings.NewReader(body), &v)
		if err == nil {
			return
		}
		if be, ok := errors.AsType[*broker.Error](err); !ok || be.Code != broker.InvalidRequest {
			t.Fatalf("input %q: err %v is not invalid_request (would be a 500)", body, err)
		}
	})
}

// BenchmarkDecodeStrictJSON_Batch100 measures the strict decoder on a 100-item batch mint
// body, next to plain json.Unmarshal: the price of the duplicate and depth checks.
func BenchmarkDecodeStrictJSON_Batch100(b *testing.B) {
	body := []byte(`{"requests":[` + strings.Repeat(`{"sub":"alice@example.com","scope":"read_only"},`, 99) + `{"sub":"a"}]}`)
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v mintRequest
			if err := unmarshalStrict(body, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v mintRequest
			if err := json.Unmarshal(body, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
