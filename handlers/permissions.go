package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/enterprise-connect/broker/broker"
)

// permissionsPage serves GET /permissions/:id (SPEC §7): the subject signs in, sees the
// calendars and accepts or rejects.
func (h *authorizeFlow) permissionsPage(c echo.Context) error {
	v, err := h.broker.PermissionsPage(c.Request().Context(), c.Param("id"), cookieValue(c))
	var be *broker.Error
	if errors.As(err, &be) && be.Code == broker.Unauthenticated {
		return h.signInForm(c, http.StatusOK, c.Request().URL.RequestURI(), "", "")
	}
	if err != nil {
		return err
	}
	return h.pages.render(c, http.StatusOK, "permissions", struct {
		Title string
		V     broker.PermissionsView
	}{"Calendar access", v}, "*")
}

// decidePermissions serves POST /permissions/:id.
func (h *authorizeFlow) decidePermissions(c echo.Context) error {
	form, err := parseForm(c.Request())
	if err != nil {
		return err
	}
	to, err := h.broker.DecidePermissions(c.Request().Context(), broker.PermissionDecision{
		RequestID: c.Param("id"), CSRF: form.Get("csrf"), Cookie: cookieValue(c), Decision: form.Get("decision"),
		CrossSite: crossSite(c.Request()), Meta: meta(c),
	})
	if err != nil {
		return err
	}
	setNoStore(c.Response().Header())
	return c.Redirect(http.StatusSeeOther, to)
}
