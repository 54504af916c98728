package handlers

import (
	"context"
	"log/slog"
)

// requestIDAttr is the log key of the request id (STYLE §7).
const requestIDAttr = "request_id"

// NewContextLogHandler wraps h so every record logged with a context that carries a request
// id (WithRequestID, set by the request-id middleware) gets a request_id attribute; broker
// code then only has to log with InfoContext(ctx, …) (STYLE §7). A record that already has a
// top-level request_id attribute is left alone, so no line carries the key twice. cmd/broker
// wraps slog.NewJSONHandler with it. Safe for concurrent use when h is.
//
// Trade-off: after WithGroup the id is added inside the group, like any other attribute of a
// grouped logger.
func NewContextLogHandler(h slog.Handler) slog.Handler {
	return &contextLogHandler{next: h}
}

// contextLogHandler is the slog.Handler returned by NewContextLogHandler.
type contextLogHandler struct {
	next slog.Handler
}

// Enabled defers to the wrapped handler.
func (h *contextLogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle adds request_id from ctx, unless absent or already present, then passes r on.
func (h *contextLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" && !hasAttr(r, requestIDAttr) {
		r = r.Clone()
		r.AddAttrs(slog.String(requestIDAttr, id))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs returns a wrapped handler with attrs added.
func (h *contextLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &contextLogHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup returns a wrapped handler whose later attributes go in group name.
func (h *contextLogHandler) WithGroup(name string) slog.Handler {
	return &contextLogHandler{next: h.next.WithGroup(name)}
}

// hasAttr reports whether r has a top-level attribute named key.
func hasAttr(r slog.Record, key string) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == key
		return !found
	})
	return found
}
