package handlers

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/enterprise-connect/broker/broker"
)

// maxEchoedNameLen bounds how much of a client-chosen name (a parameter, a JSON member) is
// repeated back in an error description.
const maxEchoedNameLen = 64

// invalidRequest is the 400 invalid_request every parser returns (RFC 6749 §5.2, SPEC §10).
// The description is shown to the caller, so it names what is wrong, never a secret.
func invalidRequest(format string, a ...any) *broker.Error {
	return &broker.Error{Code: broker.InvalidRequest, Description: fmt.Sprintf(format, a...)}
}

// mediaType is the request's Content-Type without parameters, lower-cased; "" when the header
// is missing or malformed.
func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return strings.ToLower(mt)
}

// readBody reads a whole request body (nil reads as empty), which the body-limit middleware
// has already capped. A body over the limit returns an error wrapping *http.MaxBytesError,
// which errors.go turns into 413; any other read failure is invalid_request.
func readBody(body io.Reader) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(body)
	if err != nil {
		if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, fmt.Errorf("read request body: %w", tooLarge)
		}
		e := invalidRequest("could not read the request body")
		e.Cause = err
		return nil, e
	}
	return b, nil
}

// echoName quotes a client-chosen name for an error description, shortened so a request
// cannot make the broker repeat kilobytes back.
func echoName(s string) string {
	if len(s) > maxEchoedNameLen {
		cut := maxEchoedNameLen
		for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		s = s[:cut] + "…"
	}
	return fmt.Sprintf("%q", s)
}
