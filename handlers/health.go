package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/enterprise-connect/broker/broker"
)

// readyTimeout bounds one readiness check, so a hung store makes /readyz answer 503 quickly
// instead of hanging the orchestrator's probe.
const readyTimeout = 2 * time.Second

// statusBody is the body of /healthz and /readyz.
type statusBody struct {
	Status string `json:"status"`
}

// registerOperational adds GET /healthz, /readyz and /metrics (SPEC §10).
func (s *Server) registerOperational() {
	s.Echo.GET("/healthz", s.healthz)
	s.Echo.GET("/readyz", s.readyz)
	metrics := promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
	s.Echo.GET("/metrics", echo.WrapHandler(metrics))
}

// healthz answers 200 while the process serves HTTP; it checks nothing else, so a store
// outage never gets a healthy replica restarted.
func (s *Server) healthz(c echo.Context) error {
	return writeJSONNoStore(c, http.StatusOK, statusBody{Status: "ok"})
}

// readyz asks Ready (the store's Ping, through the broker) with a readyTimeout deadline:
// 200 {"status":"ready"}, or 503 temporarily_unavailable "store unreachable". It is asked
// anew on every call, so readiness comes back without a restart (SPEC §10).
func (s *Server) readyz(c echo.Context) error {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			return &broker.Error{Code: broker.TemporarilyUnavailable, Description: "store unreachable", Cause: err}
		}
	}
	return writeJSONNoStore(c, http.StatusOK, statusBody{Status: "ready"})
}
