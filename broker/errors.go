package broker

import (
	"errors"
	"fmt"

	"github.com/enterprise-connect/broker/store"
)

// ErrorCode is one of the error codes SPEC.md names (RFC 6749 §5.2, RFC 6750 §3.1, and the
// broker's own). handlers/errors.go maps each to its HTTP status.
type ErrorCode string

// The error codes of SPEC §2–§10.
const (
	InvalidRequest          ErrorCode = "invalid_request"
	InvalidClient           ErrorCode = "invalid_client"
	InvalidGrant            ErrorCode = "invalid_grant"
	UnauthorizedClient      ErrorCode = "unauthorized_client"
	UnsupportedGrantType    ErrorCode = "unsupported_grant_type"
	UnsupportedResponseType ErrorCode = "unsupported_response_type"
	InvalidScope            ErrorCode = "invalid_scope"
	AccessDenied            ErrorCode = "access_denied"
	InvalidToken            ErrorCode = "invalid_token"
	InsufficientScope       ErrorCode = "insufficient_scope"
	InvalidSubject          ErrorCode = "invalid_subject"
	NotFound                ErrorCode = "not_found"
	Forbidden               ErrorCode = "forbidden"
	Unauthenticated         ErrorCode = "unauthenticated"
	TooManyRequests         ErrorCode = "too_many_requests"
	TemporarilyUnavailable  ErrorCode = "temporarily_unavailable"
	ServerError             ErrorCode = "server_error"
)

// ErrorCodes lists every ErrorCode, so a test can prove each one has an HTTP status.
func ErrorCodes() []ErrorCode {
	return []ErrorCode{InvalidRequest, InvalidClient, InvalidGrant, UnauthorizedClient,
		UnsupportedGrantType, UnsupportedResponseType, InvalidScope, AccessDenied, InvalidToken,
		InsufficientScope, InvalidSubject, NotFound, Forbidden, Unauthenticated, TooManyRequests,
		TemporarilyUnavailable, ServerError}
}

// Error is the broker's answer to a request it refuses. Description is safe to show to the
// caller; Cause is only logged.
type Error struct {
	Code        ErrorCode
	Description string
	Cause       error
	// NoRedirect marks authorize errors that must be shown as a page, never redirected to
	// the client (SPEC §2 step 1, RFC 6749 §4.1.2.1).
	NoRedirect bool
	// RedirectTo, for authorize errors that go back to the client (SPEC §2 step 2), is the
	// client's redirect_uri with error, error_description, state and iss.
	RedirectTo string
	// RetryAfter, for TooManyRequests, is how many seconds the caller should wait.
	RetryAfter int
	// BasicAuth, for InvalidClient, says the client authenticated with HTTP Basic, so the
	// answer carries WWW-Authenticate (RFC 6749 §5.2).
	BasicAuth bool
	// NoToken, for InvalidToken, says no token was sent at all (RFC 6750 §3.1: the
	// challenge then carries no error attribute).
	NoToken bool
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Description, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Description)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// errorf builds an *Error with a formatted description.
func errorf(code ErrorCode, format string, a ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, a...)}
}

// unavailable is the fail-closed answer when the store cannot be reached (SPEC §10).
func unavailable(cause error) *Error {
	return &Error{Code: TemporarilyUnavailable, Description: "the broker's store is unreachable; try again shortly", Cause: cause}
}

// storeErr turns an unexpected store error into an *Error: ErrUnavailable (and anything
// else unexpected) fails closed as temporarily_unavailable or server_error.
func storeErr(what string, err error) *Error {
	var be *Error
	if errors.As(err, &be) {
		return be
	}
	if errors.Is(err, store.ErrUnavailable) {
		return unavailable(fmt.Errorf("%s: %w", what, err))
	}
	return &Error{Code: ServerError, Description: "internal error", Cause: fmt.Errorf("%s: %w", what, err)}
}

// FieldError is one field's problem in a ValidationError.
type FieldError struct {
	Key         string `json:"key"` // errors.<reason>, e.g. errors.required
	Description string `json:"description"`
}

// ValidationError is SPEC §7's 422 answer: {"errors":{"<field>":[{"key","description"}]}}.
type ValidationError struct {
	Fields map[string][]FieldError
}

func (v *ValidationError) Error() string {
	return fmt.Sprintf("validation failed on %d field(s)", len(v.Fields))
}

// Add records one problem of field.
func (v *ValidationError) Add(field, reason, description string) {
	if v.Fields == nil {
		v.Fields = map[string][]FieldError{}
	}
	v.Fields[field] = append(v.Fields[field], FieldError{Key: "errors." + reason, Description: description})
}

// OrNil returns v when it holds any problem, else nil.
func (v *ValidationError) OrNil() error {
	if len(v.Fields) == 0 {
		return nil
	}
	return v
}
