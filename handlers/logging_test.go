package handlers

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestContextLogHandler_AddsRequestID(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(NewContextLogHandler(slog.NewJSONHandler(&buf, nil)))
	ctx := WithRequestID(t.Context(), "rid-1")

	logger.InfoContext(ctx, "with id", slog.String("client_id", "c1"))
	logger.InfoContext(t.Context(), "without id")
	logger.InfoContext(ctx, "explicit id", slog.String("request_id", "rid-1"))
	logger.With(slog.String("grant_id", "ser_x")).InfoContext(ctx, "with attrs")
	logger.WithGroup("g").InfoContext(ctx, "grouped", slog.Int("n", 1))

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("got %d lines: %s", len(lines), buf.String())
	}
	wantCount := []int{1, 0, 1, 1, 1}
	for i, line := range lines {
		if got := strings.Count(line, `"request_id":"rid-1"`); got != wantCount[i] {
			t.Errorf("line %d has request_id %d times, want %d: %s", i, got, wantCount[i], line)
		}
	}
	if !strings.Contains(lines[3], `"grant_id":"ser_x"`) {
		t.Errorf("WithAttrs lost: %s", lines[3])
	}
}

func TestRequestID_EmptyContext(t *testing.T) {
	t.Parallel()
	if got := RequestID(context.Background()); got != "" {
		t.Errorf("RequestID = %q, want empty", got)
	}
}
