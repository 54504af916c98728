package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/enterprise-connect/broker/broker"
)

// tokenEndpoints serves the OAuth endpoints clients call with their credentials (SPEC §3, §8).
type tokenEndpoints struct {
	broker *broker.Broker
}

// token serves POST /oauth/token.
func (h *tokenEndpoints) token(c echo.Context) error {
	params, err := parseParams(c.Request())
	if err != nil {
		return err
	}
	creds, err := clientCredentials(c.Request(), params)
	if err != nil {
		return err
	}
	res, err := h.broker.Token(c.Request().Context(), broker.TokenRequest{Params: params, Client: creds, Meta: meta(c)})
	if err != nil {
		return err
	}
	return writeJSONNoStore(c, http.StatusOK, res)
}

// revoke serves POST /oauth/token/revoke (RFC 7009): 200 with an empty body.
func (h *tokenEndpoints) revoke(c echo.Context) error {
	params, err := parseParams(c.Request())
	if err != nil {
		return err
	}
	creds, err := clientCredentials(c.Request(), params)
	if err != nil {
		return err
	}
	if err := h.broker.Revoke(c.Request().Context(), broker.RevokeRequest{Params: params, Client: creds, Meta: meta(c)}); err != nil {
		return err
	}
	setNoStore(c.Response().Header())
	return c.NoContent(http.StatusOK)
}

// introspect serves POST /oauth/introspect (RFC 7662): client credentials, or an API key
// with role introspect as a Bearer token.
func (h *tokenEndpoints) introspect(c echo.Context) error {
	params, err := parseParams(c.Request())
	if err != nil {
		return err
	}
	req := broker.IntrospectRequest{Params: params, Meta: meta(c), APIKey: bearerToken(c.Request())}
	if req.APIKey == "" {
		if req.Client, err = clientCredentials(c.Request(), params); err != nil {
			return err
		}
	}
	res, err := h.broker.Introspect(c.Request().Context(), req)
	if err != nil {
		return err
	}
	return writeJSONNoStore(c, http.StatusOK, res)
}

// metadata serves GET /.well-known/oauth-authorization-server (RFC 8414).
func (h *tokenEndpoints) metadata(c echo.Context) error {
	return writeJSON(c, http.StatusOK, h.broker.Metadata())
}

// jwks serves GET /.well-known/jwks.json: public keys only.
func (h *tokenEndpoints) jwks(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=60")
	return c.JSONBlob(http.StatusOK, h.broker.Keys().JWKS())
}
