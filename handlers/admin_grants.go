package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/enterprise-connect/broker/broker"
)

// grantsAPI serves the grants API for security tooling (SPEC §9), authenticated with API
// keys sent as "Authorization: Bearer <key>".
type grantsAPI struct {
	broker *broker.Broker
}

// apiKeyCaller authenticates the request's API key: none or unknown is a 401.
func apiKeyCaller(c echo.Context, b *broker.Broker) (broker.APIKeyCaller, error) {
	return b.AuthenticateAPIKey(c.Request().Context(), bearerToken(c.Request()))
}

// list serves GET /v1/grants → {"grants":[…],"next_cursor"}.
func (h *grantsAPI) list(c echo.Context) error {
	caller, err := apiKeyCaller(c, h.broker)
	if err != nil {
		return err
	}
	params, err := parseQuery(c.Request())
	if err != nil {
		return err
	}
	q, err := broker.ParseGrantQuery(params)
	if err != nil {
		return err
	}
	page, err := h.broker.ListGrants(c.Request().Context(), caller, q)
	if err != nil {
		return err
	}
	return writeJSONNoStore(c, http.StatusOK, page)
}

// get serves GET /v1/grants/:id.
func (h *grantsAPI) get(c echo.Context) error {
	caller, err := apiKeyCaller(c, h.broker)
	if err != nil {
		return err
	}
	g, err := h.broker.GetGrant(c.Request().Context(), caller, c.Param("id"))
	if err != nil {
		return err
	}
	return writeJSONNoStore(c, http.StatusOK, g)
}

// revoke serves DELETE /v1/grants/:id (operator keys): 204, also for a revoked grant.
func (h *grantsAPI) revoke(c echo.Context) error {
	caller, err := apiKeyCaller(c, h.broker)
	if err != nil {
		return err
	}
	if err := h.broker.RevokeGrantByKey(c.Request().Context(), caller, c.Param("id"), meta(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
