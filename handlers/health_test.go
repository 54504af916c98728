package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestHealthz_OK(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, ServerOptions{Ready: func(context.Context) error { return errors.New("down") }})
	rec := s.do(httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != 200 || rec.Body.String() != `{"status":"ok"}` {
		t.Errorf("status %d body %s, want 200 {\"status\":\"ok\"} even when not ready", rec.Code, rec.Body.String())
	}
}

func TestReadyz_FollowsReady_WithoutRestart(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	s := newTestServer(t, ServerOptions{Ready: func(context.Context) error {
		if down.Load() {
			return errors.New("dial tcp 127.0.0.1:6379: connection refused")
		}
		return nil
	}})
	steps := []struct {
		down       bool
		wantStatus int
		wantBody   string
	}{
		{false, 200, `{"status":"ready"}`},
		{true, 503, `{"error":"temporarily_unavailable","error_description":"store unreachable"}`},
		{false, 200, `{"status":"ready"}`},
	}
	for i, st := range steps {
		down.Store(st.down)
		rec := s.do(httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != st.wantStatus || rec.Body.String() != st.wantBody {
			t.Errorf("step %d: status %d body %s, want %d %s", i, rec.Code, rec.Body.String(), st.wantStatus, st.wantBody)
		}
	}
}

func TestReadyz_HungStore_503WithinTimeout(t *testing.T) {
	t.Parallel()
	var deadline time.Duration
	s := newTestServer(t, ServerOptions{Ready: func(ctx context.Context) error {
		d, ok := ctx.Deadline()
		if !ok {
			return errors.New("no deadline")
		}
		deadline = time.Until(d)
		<-ctx.Done()
		return ctx.Err()
	}})
	rec := s.do(httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", rec.Code)
	}
	if deadline <= 0 || deadline > readyTimeout {
		t.Errorf("Ready got a deadline %v away, want at most %v", deadline, readyTimeout)
	}
}

func TestReadyz_NilReady_AlwaysReady(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, ServerOptions{})
	if rec := s.do(httptest.NewRequest(http.MethodGet, "/readyz", nil)); rec.Code != 200 {
		t.Errorf("status = %d, want 200", rec.Code)
	}
}
