package handlers

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/enterprise-connect/broker/broker"
)

// parseParams reads an OAuth endpoint's body parameters: a form (each parameter once) or,
// since the Cronofy SDKs send JSON, a JSON object whose members are all strings (SPEC §3).
// Any other Content-Type, a repeated parameter, a duplicate member, trailing data or a
// non-string member is invalid_request.
func parseParams(r *http.Request) (map[string]string, error) {
	switch mediaType(r) {
	case formMediaType:
		v, err := parseForm(r)
		if err != nil {
			return nil, err
		}
		return singleQuery(v)
	case "application/json":
		var raw map[string]any
		if err := decodeStrictJSON(r.Body, &raw); err != nil {
			return nil, err
		}
		out := make(map[string]string, len(raw))
		for k, v := range raw {
			s, ok := v.(string)
			if !ok {
				return nil, invalidRequest("the member %s must be a string", echoName(k))
			}
			out[k] = s
		}
		return out, nil
	}
	return nil, invalidRequest("Content-Type must be %s or application/json", formMediaType)
}

// clientCredentials collects the client authentication a request carries (RFC 6749 §2.3).
// An Authorization header that is not Basic is ignored (the Cronofy Node SDK sends
// "Bearer undefined" on token calls, SPEC §3). Basic credentials are form-urlencoded before
// base64 (RFC 6749 §2.3.1) and are decoded here.
func clientCredentials(r *http.Request, params map[string]string) (broker.ClientCredentialsIn, error) {
	in := broker.ClientCredentialsIn{ClientID: params["client_id"]}
	in.ClientSecret, in.HasClientSecret = params["client_secret"]
	in.AssertionType, in.HasAssertionType = params["client_assertion_type"]
	in.Assertion, in.HasAssn = params["client_assertion"]
	auth := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(auth, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return in, nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return in, &broker.Error{Code: broker.InvalidClient, BasicAuth: true, Description: "malformed Basic credentials"}
	}
	id, secret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return in, &broker.Error{Code: broker.InvalidClient, BasicAuth: true, Description: "malformed Basic credentials"}
	}
	if in.BasicID, err = url.QueryUnescape(id); err != nil {
		return in, &broker.Error{Code: broker.InvalidClient, BasicAuth: true, Description: "malformed Basic credentials"}
	}
	if in.BasicSecret, err = url.QueryUnescape(secret); err != nil {
		return in, &broker.Error{Code: broker.InvalidClient, BasicAuth: true, Description: "malformed Basic credentials"}
	}
	in.HasBasic = true
	return in, nil
}

// bearerToken returns the token of an "Authorization: Bearer" header, "" when there is none.
func bearerToken(r *http.Request) string {
	scheme, rest, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(rest)
}

// meta is who asked, for the audit trail and per-IP limits.
func meta(c interface {
	RealIP() string
	Request() *http.Request
}) broker.Meta {
	return broker.Meta{IP: c.RealIP(), RequestID: RequestID(c.Request().Context())}
}
