package main

import (
	"context"
	"fmt"
	"log/slog"

	goredis "github.com/redis/go-redis/v9"
)

// redisLogger routes go-redis's own messages (pool dial failures) into the structured log,
// so every line on stderr stays JSON (SPEC §10).
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

// useRedisLogger installs l as go-redis's logger. go-redis keeps its logger in a package
// variable, so this is process-wide; cmd/broker is the one place that wires process-wide
// things.
func useRedisLogger(l *slog.Logger) { goredis.SetLogger(redisLogger{log: l}) }
