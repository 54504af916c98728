package handlers

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/enterprise-connect/broker/broker"
)

// pathAdmin is the admin UI (SPEC §9). The sign-in handler treats a next under it as an
// administrator's sign-in.
const pathAdmin = "/admin"

// adminPage serves GET /admin: the sign-in form without an administrator's session, else
// the domain's grants and audit trail, narrowed by the query's type, subject, client_id and
// cursor.
func (h *authorizeFlow) adminPage(c echo.Context) error {
	params, err := parseQuery(c.Request())
	if err != nil {
		return err
	}
	f := broker.AdminFilter{Type: params["type"], Subject: params["subject"], ClientID: params["client_id"], Cursor: params["cursor"]}
	v, err := h.broker.AdminView(c.Request().Context(), cookieValue(c), f)
	if isUnauthenticated(err) {
		return h.signInForm(c, http.StatusOK, c.Request().URL.RequestURI(), "", "")
	}
	if err != nil {
		return err
	}
	return h.pages.render(c, http.StatusOK, "admin", struct {
		Title  string
		V      broker.AdminView
		Notice string
		Older  string
	}{"Administration", v, revokedNotice(v, params["revoked"]), olderEventsURL(f, v.NextCursor)})
}

// adminRevoke serves POST /admin/grants/:id/revoke, a grant row's Revoke button: back to
// /admin (303) once the grant is revoked. Without an administrator's session it shows the
// sign-in form (401) and revokes nothing.
func (h *authorizeFlow) adminRevoke(c echo.Context) error {
	form, err := parseForm(c.Request())
	if err != nil {
		return err
	}
	id := c.Param("id")
	err = h.broker.AdminRevoke(c.Request().Context(), broker.AdminRevokeRequest{
		Cookie: cookieValue(c), GrantID: id, CSRF: form.Get("csrf"), CrossSite: crossSite(c.Request()), Meta: meta(c),
	})
	if isUnauthenticated(err) {
		return h.signInForm(c, http.StatusUnauthorized, pathAdmin, "", "Sign in as an administrator to revoke grants.")
	}
	if err != nil {
		return err
	}
	setNoStore(c.Response().Header())
	return c.Redirect(http.StatusSeeOther, pathAdmin+"?revoked="+url.QueryEscape(id))
}

func isUnauthenticated(err error) bool {
	var be *broker.Error
	return errors.As(err, &be) && be.Code == broker.Unauthenticated
}

// revokedNotice confirms a revocation after the redirect, naming only a grant the page
// itself shows as revoked (the query parameter is not trusted text).
func revokedNotice(v broker.AdminView, id string) string {
	if id == "" {
		return ""
	}
	for _, g := range v.Grants {
		if g.ID == id && !g.Active {
			name := g.ClientName
			if name == "" {
				name = "the application"
			}
			return "Revoked " + name + "'s grant " + g.ID + "."
		}
	}
	return ""
}

// olderEventsURL links to the next page of the audit trail with the same filters; "" when
// there is none.
func olderEventsURL(f broker.AdminFilter, cursor string) string {
	if cursor == "" {
		return ""
	}
	q := url.Values{"cursor": {cursor}}
	for k, v := range map[string]string{"type": f.Type, "subject": f.Subject, "client_id": f.ClientID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return pathAdmin + "?" + q.Encode()
}

// adminStylesheet serves GET /assets/admin.css, the admin UI's table styles.
func adminStylesheet(c echo.Context) error {
	b, err := templateFS.ReadFile("templates/admin.css")
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", b)
}
