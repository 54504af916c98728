package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/enterprise-connect/broker/broker"
)

// Paths of the admin authorization flow (SPEC §2).
const (
	pathAuthorize = "/enterprise_connect/oauth/authorize"
	pathConsent   = "/enterprise_connect/oauth/consent"
	pathSignIn    = "/enterprise_connect/signin"
	sessionCookie = "ecb_session"
)

// authorizeFlow serves the authorize request, sign-in and consent pages.
type authorizeFlow struct {
	broker       *broker.Broker
	pages        pageTemplates
	secureCookie bool
}

// authorize serves GET /enterprise_connect/oauth/authorize: validated, the request waits in
// the store and the browser goes on to the consent page (which asks for sign-in first).
func (h *authorizeFlow) authorize(c echo.Context) error {
	q, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return &broker.Error{Code: broker.InvalidRequest, NoRedirect: true, Description: "the query string is malformed"}
	}
	p, err := h.broker.Authorize(c.Request().Context(), q, meta(c))
	if err != nil {
		var be *broker.Error
		if errors.As(err, &be) && be.RedirectTo != "" {
			setNoStore(c.Response().Header())
			return c.Redirect(http.StatusFound, be.RedirectTo)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, pathConsent+"?request="+url.QueryEscape(p.ID))
}

// consentPage serves GET /enterprise_connect/oauth/consent: the sign-in form when the
// browser has no administrator session, else the consent page.
func (h *authorizeFlow) consentPage(c echo.Context) error {
	id := c.QueryParam("request")
	v, err := h.broker.Consent(c.Request().Context(), id, cookieValue(c))
	var be *broker.Error
	if errors.As(err, &be) && be.Code == broker.Unauthenticated {
		hint := ""
		if p, err := h.broker.Pending(c.Request().Context(), id); err == nil && strings.Contains(p.LoginHint, "@") {
			hint = p.LoginHint
		}
		return h.signInForm(c, http.StatusOK, c.Request().URL.RequestURI(), hint, "")
	}
	if err != nil {
		return err
	}
	return h.pages.render(c, http.StatusOK, "consent", struct {
		Title string
		V     broker.ConsentView
	}{"Approve access", v}, origin(v.RedirectURI))
}

// signInForm renders the sign-in page (SPEC §2: inputs email and password).
func (h *authorizeFlow) signInForm(c echo.Context, status int, next, email, message string) error {
	purpose := "Sign in as an administrator of your organisation to review this request."
	if !strings.HasPrefix(next, pathConsent) {
		purpose = "Sign in with your organisation account."
	}
	return h.pages.render(c, status, "signin", struct {
		Title, Purpose, Message, Next, Email string
	}{"Sign in", purpose, message, next, email})
}

// signIn serves POST /enterprise_connect/signin: a session cookie and back to where the
// browser was going; a refused sign-in shows the form again (401, 403 for someone who
// administers nothing when an administrator is needed, 429 when throttled).
func (h *authorizeFlow) signIn(c echo.Context) error {
	form, err := parseForm(c.Request())
	if err != nil {
		return err
	}
	next := safeNext(form.Get("next"))
	res, err := h.broker.SignIn(c.Request().Context(), broker.SignInRequest{
		Email: form.Get("email"), Password: form.Get("password"),
		AdminOnly: strings.HasPrefix(next, pathConsent) || strings.HasPrefix(next, "/admin"), Meta: meta(c),
	})
	if err != nil {
		var be *broker.Error
		if !errors.As(err, &be) {
			return err
		}
		switch be.Code {
		case broker.Unauthenticated:
			return h.signInForm(c, http.StatusUnauthorized, next, form.Get("email"), "Wrong email or password.")
		case broker.Forbidden:
			return h.signInForm(c, http.StatusForbidden, next, "", be.Description+". Sign in as an administrator instead.")
		case broker.TooManyRequests:
			c.Response().Header().Set("Retry-After", strconv.Itoa(be.RetryAfter))
			return h.signInForm(c, http.StatusTooManyRequests, next, form.Get("email"), "Too many failed sign-ins. Wait a few minutes and try again.")
		}
		return err
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: res.Cookie, Path: "/", HttpOnly: true,
		Secure: h.secureCookie, SameSite: http.SameSiteLaxMode, Expires: res.Session.ExpiresAt})
	return c.Redirect(http.StatusSeeOther, next)
}

// decide serves POST /enterprise_connect/oauth/consent.
func (h *authorizeFlow) decide(c echo.Context) error {
	form, err := parseForm(c.Request())
	if err != nil {
		return err
	}
	to, err := h.broker.Decide(c.Request().Context(), broker.Decision{
		RequestID: form.Get("request"), CSRF: form.Get("csrf"), Cookie: cookieValue(c),
		Decision: form.Get("decision"), PolicyGroups: form.Get("policy_groups"), PolicyEmails: form.Get("policy_emails"),
		ResourcesOnly: form.Get("policy_resources_only") == "1", CrossSite: crossSite(c.Request()), Meta: meta(c),
	})
	if err != nil {
		return err
	}
	setNoStore(c.Response().Header())
	return c.Redirect(http.StatusSeeOther, to)
}

func cookieValue(c echo.Context) string {
	ck, err := c.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	return ck.Value
}

// crossSite reports the signs of a forged form post: a foreign Origin, or the browser
// saying so in Sec-Fetch-Site.
func crossSite(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return true
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == "null"
	}
	u, err := url.Parse(o)
	return err != nil || u.Host != r.Host
}

// safeNext keeps a post-sign-in destination on this site: a path, never a URL elsewhere.
func safeNext(next string) string {
	bad := !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x21 || r == 0x7f || r == '\\' })
	if u, err := url.Parse(next); bad || err != nil || u.Scheme != "" || u.Host != "" {
		return "/admin"
	}
	return next
}
