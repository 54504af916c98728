package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// unmatchedRoute labels requests that matched no route, so scanners cannot create one
// time series per URL they try.
const unmatchedRoute = "unmatched"

// httpMetrics are the per-request series: broker_http_requests_total{method,route,status}
// and broker_http_request_duration_seconds{method,route}.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newHTTPMetrics registers the series on reg. Registering twice on one registry (two
// Servers sharing it) reuses the first collectors; a conflicting definition panics, as
// prometheus.MustRegister does, because it is a programming error.
func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "broker_http_requests_total",
		Help: "HTTP requests served, by method, route template and status code.",
	}, []string{"method", "route", "status"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "broker_http_request_duration_seconds",
		Help: "Time from the request reaching the router to the response being written, by method and route template.",
		// Fine at the low end: SPEC §11 asks for p99 ≤ 10 ms.
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"method", "route"})
	return &httpMetrics{
		requests: registerOrReuse(reg, requests),
		duration: registerOrReuse(reg, duration),
	}
}

// registerOrReuse registers c, or returns the identical collector already registered.
func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(err)
}

// observe records one finished request.
func (m *httpMetrics) observe(method, route string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(elapsed.Seconds())
}

// routeLabel is the matched route's template (/v1/grants/:id), never the raw path, or
// "unmatched".
func routeLabel(c echo.Context) string {
	if p := c.Path(); p != "" {
		return p
	}
	return unmatchedRoute
}

// methodLabel keeps the label set bounded: standard methods as sent, anything else "OTHER".
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	default:
		return "OTHER"
	}
}
