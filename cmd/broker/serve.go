package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/configs"
	"github.com/enterprise-connect/broker/handlers"
)

// serveGCPercent is the GOGC the server runs with unless GOGC is set. The broker's live heap
// is small (tens of MiB, and it does not grow with stored state), while every request
// allocates a few KiB: at Go's default of 100 the collector runs many times a second and,
// on two cores, takes one of them while it marks. 400 makes it run a quarter as often for a
// few tens of MiB more memory (measured: +40 % mint throughput, SPEC §11).
const serveGCPercent = 400

// tuneGC applies serveGCPercent unless the operator set GOGC (or GOMEMLIMIT) themselves.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" && getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
}

// runServe runs the broker until SIGTERM or SIGINT, then shuts down gracefully (exit 0).
func runServe(ctx context.Context, c *cli, args []string) error {
	f := newFlags("serve")
	if err := f.parseNone(args); err != nil {
		return err
	}
	e, err := c.open(ctx, f.config)
	if err != nil {
		return err
	}
	defer e.Close()
	cfg := e.cfg
	tuneGC(c.getenv)
	logger := slog.New(handlers.NewContextLogHandler(slog.NewJSONHandler(c.stderr, &slog.HandlerOptions{Level: cfg.Level()})))
	useRedisLogger(logger)

	if len(cfg.Domains) == 0 {
		if err := ensureDemo(ctx, e, c.stdout); err != nil {
			return fmt.Errorf("demo setup: %w", err)
		}
	}
	b, err := broker.New(ctx, brokerOptions(e, logger))
	if errors.Is(err, broker.ErrWrongKEK) {
		return &configError{fmt.Errorf("%s: key_encryption_key_file: %v", sourceName(f.config), err)}
	}
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := handlers.NewServer(handlers.ServerOptions{Logger: logger, Registry: reg, Ready: b.Ready})
	handlers.Register(srv, b, handlers.RouteOptions{DemoCallback: e.demo != nil})

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	logger.InfoContext(ctx, "broker started", "issuer", cfg.Issuer, "listen", cfg.Listen, "store", storeKind(e), "domains", len(e.providers))
	go housekeeping(ctx, e, b, logger)
	go b.Run(ctx)
	if addr := c.getenv(pprofEnv); addr != "" {
		go servePprof(ctx, addr, logger)
	}
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	logger.Info("broker stopped")
	return nil
}

// brokerOptions turns the configuration into the plain values the broker takes.
func brokerOptions(e *env, logger *slog.Logger) broker.Options {
	cfg := e.cfg
	rl := func(r configs.RateLimit) broker.RateLimit {
		return broker.RateLimit{Limit: int64(r.Limit), Window: r.Window.Duration()}
	}
	return broker.Options{
		Store: e.store, Providers: e.providers, Sealer: e.sealer, Logger: logger,
		Issuer:                 cfg.Issuer,
		CodeTTL:                cfg.CodeTTL.Duration(),
		AccessTokenTTL:         cfg.AccessTokenTTL.Duration(),
		DelegatedTokenTTL:      cfg.DelegatedTokenTTL.Duration(),
		DelegatedTokenAudience: cfg.DelegatedTokenAudience,
		SigningAlgorithm:       cfg.SigningAlgorithm,
		AllowInsecureCallbacks: cfg.AllowInsecureCallbacks,
		AuditRetention:         cfg.AuditRetention.Duration(),
		RateLimits: broker.RateLimits{
			SigninPerAccount:    rl(cfg.RateLimits.SigninPerAccount),
			SigninPerIP:         rl(cfg.RateLimits.SigninPerIP),
			ClientAuthPerClient: rl(cfg.RateLimits.ClientAuthPerClient),
			ClientAuthPerIP:     rl(cfg.RateLimits.ClientAuthPerIP),
			AuthorizePerIP:      rl(cfg.RateLimits.AuthorizePerIP),
		},
	}
}

func storeKind(e *env) string {
	if e.cfg.RedisURL.Reveal() != "" {
		return "redis"
	}
	return "embedded"
}

// sweeper is implemented by stores with housekeeping of their own (the embedded store).
type sweeper interface {
	Sweep(ctx context.Context, now time.Time) error
}

// housekeeping runs until ctx ends: it picks up signing keys rotated elsewhere (so every
// replica signs with a new key within seconds) and sweeps expired rows.
func housekeeping(ctx context.Context, e *env, b *broker.Broker, logger *slog.Logger) {
	keys := time.NewTicker(2 * time.Second)
	sweep := time.NewTicker(time.Minute)
	defer keys.Stop()
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-keys.C:
			if err := b.Keys().Refresh(ctx, 0); err != nil && !errors.Is(err, context.Canceled) {
				logger.WarnContext(ctx, "reloading signing keys failed", "err", err)
			}
		case <-sweep.C:
			if s, ok := e.store.(sweeper); ok {
				if err := s.Sweep(ctx, time.Now()); err != nil && !errors.Is(err, context.Canceled) {
					logger.WarnContext(ctx, "sweeping expired records failed", "err", err)
				}
			}
		}
	}
}
