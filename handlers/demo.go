package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// demoCallback is the demo client's redirect URI: it shows the code (or error) it received
// and the curl command that redeems it, so the quick start needs no application of its own.
func demoCallback(pages pageTemplates, issuer string) echo.HandlerFunc {
	return func(c echo.Context) error {
		q := c.Request().URL.Query()
		return pages.render(c, http.StatusOK, "demo", struct {
			Title, Code, State, Error, ErrorDescription, Issuer string
		}{"Demo callback", q.Get("code"), q.Get("state"), q.Get("error"), q.Get("error_description"), issuer})
	}
}
