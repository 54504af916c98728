package handlers

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed templates/*.html templates/*.css
var templateFS embed.FS

// pageTemplates holds every page, each parsed with the shared layout. html/template escapes
// everything a page echoes (SPEC §2).
type pageTemplates map[string]*template.Template

func loadPages() pageTemplates {
	pages := pageTemplates{}
	for _, name := range []string{"signin", "consent", "demo", "admin", "permissions"} {
		if _, err := templateFS.Open("templates/" + name + ".html"); err != nil {
			continue
		}
		pages[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}

// pageHeaders are set on every HTML page: no framing, no caching, a CSP that allows only our
// stylesheet and forms posting to formTargets (the broker itself, plus the client's
// redirect origin where a form's answer redirects there).
func pageHeaders(h http.Header, formTargets ...string) {
	setNoStore(h)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"+
		strings.Join(append([]string{""}, formTargets...), " "))
}

// render writes page name with data and status.
func (p pageTemplates) render(c echo.Context, status int, name string, data any, formTargets ...string) error {
	t, ok := p[name]
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name+".html", data); err != nil {
		return err
	}
	pageHeaders(c.Response().Header(), formTargets...)
	return c.HTMLBlob(status, buf.Bytes())
}

// origin returns scheme://host of a URL, for CSP form-action; "" when it has none.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// stylesheet serves GET /assets/broker.css.
func stylesheet(c echo.Context) error {
	b, err := templateFS.ReadFile("templates/broker.css")
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", b)
}
