package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofEnv names the environment variable that, when set to a host:port, serves Go's
// profiler there (for finding where the time goes, issue 6). Keep it on loopback: profiles
// reveal memory contents.
const pprofEnv = "BROKER_PPROF_LISTEN"

// servePprof serves /debug/pprof/ on addr until ctx ends.
func servePprof(ctx context.Context, addr string, logger *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	logger.InfoContext(ctx, "profiler listening", "addr", addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		logger.WarnContext(ctx, "profiler stopped", "err", err)
	}
}
