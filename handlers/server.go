package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Timeouts of the HTTP server. WriteTimeout bounds a whole response; an endpoint that
// streams longer (audit export) extends its own deadline with http.ResponseController.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	shutdownTimeout   = 10 * time.Second
	maxHeaderBytes    = 64 << 10
)

// ServerOptions configures NewServer. The zero value is usable: no logging, a private
// metrics registry, always ready, SPEC §10 body limits, client IP from the TCP peer.
type ServerOptions struct {
	// Logger receives access logs, errors and lifecycle lines; nil discards them. Wrap its
	// handler with NewContextLogHandler so broker code's lines carry request_id too.
	Logger *slog.Logger
	// Registry receives the HTTP metrics and is what GET /metrics exposes; nil makes a fresh
	// one. cmd/broker adds the Go and process collectors to it if it wants them.
	Registry *prometheus.Registry
	// Ready reports whether the broker can serve (the store's Ping). It is called by GET
	// /readyz with a deadline of at most 2 s; nil means always ready.
	Ready func(ctx context.Context) error
	// BodyLimits overrides per-route body limits in bytes, keyed "METHOD /route/template"
	// (e.g. "POST /v1/delegated_tokens"); routes not listed get DefaultBodyLimit, and POST
	// /v1/delegated_tokens gets BatchMintBodyLimit unless overridden here.
	BodyLimits map[string]int64
	// IPExtractor finds the client IP for logs and per-IP throttling (c.RealIP()). nil means
	// the TCP peer address: forwarding headers are trusted only when the operator configures
	// a proxy-aware extractor (echo.ExtractIPFromXFFHeader with trust options).
	IPExtractor echo.IPExtractor
}

// Server is the broker's HTTP server: an echo instance with the middleware chain, the error
// handler and the operational routes. Endpoint files register their routes on Echo before
// Serve is called; after that Server is safe for concurrent use.
type Server struct {
	// Echo is where endpoint files add routes (s.Echo.POST("/oauth/token", h.Post)). Do not
	// replace its HTTPErrorHandler or add global middleware that writes responses.
	Echo *echo.Echo

	logger     *slog.Logger
	registry   *prometheus.Registry
	ready      func(ctx context.Context) error
	bodyLimits map[string]int64
	metrics    *httpMetrics
}

// NewServer builds a Server. Middleware order, outermost first:
//
//  1. recoverPanics: last-resort guard for panics in the middleware below;
//  2. requestIDs: X-Request-Id in, context, X-Request-Id out;
//  3. securityHeaders: nosniff and no-referrer on every response, errors included;
//  4. observe: renders any returned error, then one access-log line and the metrics;
//  5. recoverPanics again: a panicking handler becomes a 500 that observe still logs and counts;
//  6. limitBody: the route's body limit (413).
func NewServer(opts ServerOptions) *Server {
	s := &Server{
		logger:     opts.Logger,
		registry:   opts.Registry,
		ready:      opts.Ready,
		bodyLimits: defaultBodyLimits(),
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	maps.Copy(s.bodyLimits, opts.BodyLimits)
	s.metrics = newHTTPMetrics(s.registry)

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Logger.SetOutput(io.Discard) // every log line goes through slog
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = opts.IPExtractor
	if e.IPExtractor == nil {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	e.Use(recoverPanics, requestIDs, securityHeaders, s.observe, recoverPanics, s.limitBody)
	s.Echo = e
	s.registerOperational()
	return s
}

// ServeHTTP serves one request through the middleware chain; Server is an http.Handler so
// tests and embedders need no listener.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Echo.ServeHTTP(w, r)
}

// Serve accepts connections on ln until ctx is cancelled, then shuts down gracefully: it
// stops accepting, lets in-flight requests finish (at most 10 s) and returns nil. It returns
// an error when serving fails before cancellation or when requests outlive the shutdown
// timeout (their connections are then closed). Request contexts are not cancelled by ctx, so
// a request in flight completes normally during shutdown. Serve closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Echo,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.logger.InfoContext(ctx, "http server listening", slog.String("addr", ln.Addr().String()))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	s.logger.InfoContext(ctx, "http server shutting down", slog.Duration("timeout", shutdownTimeout))
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(shutdownCtx)
	if shutdownErr != nil {
		_ = srv.Close() // requests outlived the timeout: cut them off
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	if shutdownErr != nil {
		return fmt.Errorf("graceful shutdown: %w", shutdownErr)
	}
	s.logger.InfoContext(ctx, "http server stopped")
	return nil
}
