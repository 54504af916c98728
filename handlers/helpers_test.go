package handlers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a live server's logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines decodes every JSON log line written so far.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// testServer is a Server whose logs (JSON, Debug and up, request_id from context) are kept.
type testServer struct {
	*Server
	logs     *syncBuffer
	registry *prometheus.Registry
}

func newTestServer(t *testing.T, opts ServerOptions) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(NewContextLogHandler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	return &testServer{Server: NewServer(opts), logs: logs, registry: opts.Registry}
}

// do serves req and returns the recorded response.
func (s *testServer) do(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// errorResponse is the decoded {"error","error_description"} body.
type errorResponse struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) errorResponse {
	t.Helper()
	var got errorResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("body is not an error JSON: %v: %q", err, rec.Body.String())
	}
	return got
}

// drain reads a request body completely, as a handler that parses it would.
func drain(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

// io_nopCloser adapts a reader for http.MaxBytesReader.
func io_nopCloser(r io.Reader) io.ReadCloser { return io.NopCloser(r) }
