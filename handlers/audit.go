package handlers

import (
	"bufio"
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/enterprise-connect/broker/broker"
)

const (
	// ndjsonMediaType is the media type of the audit export (one JSON event per line).
	ndjsonMediaType = "application/x-ndjson"
	// exportFlushEvery is how many events the export writes between flushes; each flush
	// also moves the write deadline, so a long export is bounded by progress, not length.
	exportFlushEvery = 256
	// exportWriteWindow is how long the client may take to take one flush's worth of events.
	exportWriteWindow = writeTimeout
)

// auditAPI serves the audit trail for security tooling (SPEC §9), authenticated with API keys.
type auditAPI struct {
	broker *broker.Broker
}

// auditQuery authenticates the API key and parses the shared filters of both endpoints.
func (h *auditAPI) auditQuery(c echo.Context) (broker.APIKeyCaller, broker.AuditQuery, error) {
	caller, err := apiKeyCaller(c, h.broker)
	if err != nil {
		return caller, broker.AuditQuery{}, err
	}
	params, err := parseQuery(c.Request())
	if err != nil {
		return caller, broker.AuditQuery{}, err
	}
	q, err := broker.ParseAuditQuery(params)
	return caller, q, err
}

// list serves GET /v1/audit → {"events":[…],"next_cursor"}, newest first.
func (h *auditAPI) list(c echo.Context) error {
	caller, q, err := h.auditQuery(c)
	if err != nil {
		return err
	}
	page, err := h.broker.ListAudit(c.Request().Context(), caller, q)
	if err != nil {
		return err
	}
	return writeJSONNoStore(c, http.StatusOK, page)
}

// export serves GET /v1/audit/export: NDJSON, oldest first, streamed. Nothing is written
// until the first event (or the end of an empty export), so an error found before then is
// still a proper error answer; one found later can only cut the stream short, which the
// reader notices because the chain then stops before its head.
func (h *auditAPI) export(c echo.Context) error {
	caller, q, err := h.auditQuery(c)
	if err != nil {
		return err
	}
	res := c.Response()
	rc := http.NewResponseController(res)
	w := bufio.NewWriterSize(res, 32<<10)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	started := false
	start := func() {
		setNoStore(res.Header())
		res.Header().Set(echo.HeaderContentType, ndjsonMediaType)
		_ = rc.SetWriteDeadline(time.Now().Add(exportWriteWindow))
		res.WriteHeader(http.StatusOK)
		started = true
	}
	n := 0
	err = h.broker.ExportAudit(c.Request().Context(), caller, q, func(e broker.Event) error {
		if !started {
			start()
		}
		if err := enc.Encode(e); err != nil {
			return err
		}
		if n++; n%exportFlushEvery == 0 {
			return flushExport(w, rc)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !started {
		start()
	}
	return flushExport(w, rc)
}

// flushExport extends the write deadline (the server's WriteTimeout bounds a whole
// response otherwise) and pushes the buffered events to the client.
func flushExport(w *bufio.Writer, rc *http.ResponseController) error {
	// A writer without deadlines (a test recorder) is fine: nothing to extend.
	_ = rc.SetWriteDeadline(time.Now().Add(exportWriteWindow))
	if err := w.Flush(); err != nil {
		return err
	}
	_ = rc.Flush()
	return nil
}
