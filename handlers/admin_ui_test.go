package handlers_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// admBrowser is a cookie-jar client that does not follow redirects.
func (s *admSite) admBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (s *admSite) get(t *testing.T, c *http.Client, path string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(s.ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return res, admRead(t, res)
}

func (s *admSite) postForm(t *testing.T, c *http.Client, path string, form url.Values, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res, admRead(t, res)
}

// signInAdmin signs in at /admin and returns the browser and the admin page.
func (s *admSite) signInAdmin(t *testing.T, email, password string) (*http.Client, string) {
	t.Helper()
	br := s.admBrowser(t)
	res, body := s.get(t, br, "/admin")
	if res.StatusCode != 200 || !strings.Contains(body, `name="password"`) || !strings.Contains(body, `name="next" value="/admin"`) {
		t.Fatalf("GET /admin without a session: %d, want the sign-in form with next=/admin: %s", res.StatusCode, body)
	}
	res, body = s.postForm(t, br, "/enterprise_connect/signin", url.Values{"email": {email}, "password": {password}, "next": {"/admin"}}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin" {
		t.Fatalf("sign-in: %d %s: %s", res.StatusCode, res.Header.Get("Location"), body)
	}
	res, body = s.get(t, br, "/admin")
	if res.StatusCode != 200 || strings.Contains(body, `name="password"`) {
		t.Fatalf("GET /admin signed in: %d: %s", res.StatusCode, body)
	}
	return br, body
}

// revokeForm finds the row form of grant id: its action and hidden inputs.
func revokeForm(t *testing.T, page, id string) (string, url.Values) {
	t.Helper()
	action := "/admin/grants/" + id + "/revoke"
	re := regexp.MustCompile(`(?s)<form method="post" action="` + regexp.QuoteMeta(action) + `"[^>]*>(.*?)</form>`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no revoke form for %s on the page", id)
	}
	if !strings.Contains(m[1], `name="action" value="revoke"`) {
		t.Fatalf("the revoke form of %s has no button action=revoke: %s", id, m[1])
	}
	return action, admHidden(m[1])
}

func TestAdminUI_RevokeNeedsSessionAndCSRF(t *testing.T) {
	t.Parallel()
	s := admStart(t)
	id := s.grant(t, "example.com")
	ot := s.grant(t, "other.org")
	br, page := s.signInAdmin(t, "admin@example.com", admExamplePW)
	if strings.Contains(page, ot) {
		t.Errorf("example.com's admin page shows other.org's grant %s", ot)
	}
	if !strings.Contains(page, html.EscapeString("Calendar <App>")) || strings.Contains(page, "Calendar <App>") {
		t.Error("the client name is not shown escaped")
	}
	action, hidden := revokeForm(t, page, id)
	if hidden.Get("csrf") == "" {
		t.Fatalf("the revoke form has no csrf input: %v", hidden)
	}
	withAction := func(v url.Values) url.Values {
		v = admCopy(v)
		v.Set("action", "revoke")
		return v
	}
	same := map[string]string{"Origin": s.ts.URL, "Sec-Fetch-Site": "same-origin"}

	// No session: the sign-in form, nothing revoked.
	res, body := s.postForm(t, s.admBrowser(t), action, withAction(hidden), same)
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `name="password"`) {
		t.Errorf("revoke without a session: %d, want 401 and the sign-in form", res.StatusCode)
	}
	// A session but no CSRF input.
	noCSRF := withAction(hidden)
	noCSRF.Del("csrf")
	if res, _ := s.postForm(t, br, action, noCSRF, same); res.StatusCode != http.StatusForbidden {
		t.Errorf("revoke without the CSRF input: %d, want 403", res.StatusCode)
	}
	// The CSRF input, but sent from another site.
	if res, _ := s.postForm(t, br, action, withAction(hidden), map[string]string{"Origin": "http://attacker.invalid",
		"Sec-Fetch-Site": "cross-site"}); res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site revoke: %d, want 403", res.StatusCode)
	}
	// The other domain's administrator, with this form's CSRF input.
	otherBr, _ := s.signInAdmin(t, "admin@other.org", admOtherPW)
	if res, _ := s.postForm(t, otherBr, action, withAction(hidden), same); res.StatusCode != http.StatusForbidden {
		t.Errorf("another session's revoke: %d, want 403", res.StatusCode)
	}
	if !s.active(t, id) {
		t.Fatal("a refused revoke revoked the grant")
	}

	// Both: revoked, back to /admin.
	res, body = s.postForm(t, br, action, withAction(hidden), same)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/admin") {
		t.Fatalf("revoke: %d %q: %s", res.StatusCode, res.Header.Get("Location"), body)
	}
	if s.active(t, id) {
		t.Fatal("the grant is still active after Revoke")
	}
	res, page = s.get(t, br, res.Header.Get("Location"))
	if res.StatusCode != 200 || !strings.Contains(page, "Revoked") || strings.Contains(page, `action="`+action+`"`) {
		t.Errorf("the page after Revoke: %d, want a notice and no revoke form for %s", res.StatusCode, id)
	}
	if !strings.Contains(page, "grant.revoked") || !strings.Contains(page, "admin@example.com") {
		t.Error("the audit trail does not show the revocation by admin@example.com")
	}
	if res.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("page headers: %v", res.Header)
	}
}

func TestAdminUI_AuditFilter(t *testing.T) {
	t.Parallel()
	s := admStart(t)
	keep := s.grant(t, "example.com")
	gone := s.grant(t, "example.com")
	if status, _, _ := s.do(t, "DELETE", "/v1/grants/"+gone, s.keys["operator"]); status != 204 {
		t.Fatal(status)
	}
	br, _ := s.signInAdmin(t, "admin@example.com", admExamplePW)
	res, page := s.get(t, br, "/admin?type=grant.revoked&subject="+url.QueryEscape(gone))
	if res.StatusCode != 200 || !strings.Contains(page, "apikey:") {
		t.Fatalf("filtered trail: %d, want the operator key's revocation", res.StatusCode)
	}
	if res, _ := s.get(t, br, "/admin?type=grant.revoked&subject="+url.QueryEscape(keep)); res.StatusCode != 200 {
		t.Errorf("an empty trail: %d", res.StatusCode)
	}
	if res, _ := s.get(t, br, "/admin?cursor=garbage"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad cursor: %d, want 400", res.StatusCode)
	}
}

// admCopy copies form values.
func admCopy(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, x := range v {
		out[k] = append([]string(nil), x...)
	}
	return out
}

var admReHidden = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// admHidden returns the hidden inputs of an HTML fragment.
func admHidden(fragment string) url.Values {
	v := url.Values{}
	for _, m := range admReHidden.FindAllStringSubmatch(fragment, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v
}

func admRead(t *testing.T, r *http.Response) string {
	t.Helper()
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
