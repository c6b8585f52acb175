package ownkey

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes. Each has one HTTP status (CodeStatus); the client dialect's
// encoder adds its own error type.
const (
	EINVALID      = "invalid"      // bad input: 400
	EUNAUTHORIZED = "unauthorized" // no or bad credentials: 401
	EFORBIDDEN    = "forbidden"    // authenticated but not allowed: 403
	ENOTFOUND     = "not_found"    // 404
	ECONFLICT     = "conflict"     // 409
	ETOOLARGE     = "too_large"    // 413
	EUNAVAILABLE  = "unavailable"  // a dependency is down or disabled: 503
	EUPSTREAM     = "upstream"     // a provider failed; Status carries its status
	EINTERNAL     = "internal"     // 500
	EPAYMENT      = "payment"      // insufficient balance: 402
	ERATELIMIT    = "rate_limited" // 429
	ETIMEOUT      = "timeout"      // 504
)

// Error is the domain error. Message is safe to show to the client: it must
// never contain a secret. Param names the offending request field, if any.
type Error struct {
	Code    string
	Message string
	Param   string
	// Type overrides the OpenAI error type derived from Code (e.g. an upstream
	// provider's own error type that we pass through).
	Type string
	// Status overrides the HTTP status derived from Code (upstream errors keep
	// the provider's status).
	Status int
	// Reason is an OpenAI-style machine code such as "invalid_api_key".
	Reason string
	// RetryAfter is an upstream's Retry-After header as provider.RetryAfter
	// accepts it (a delay in seconds or an HTTP date, nothing else).
	RetryAfter string
}

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("ownkey %s: %s (param %s)", e.Code, e.Message, e.Param)
	}
	return fmt.Sprintf("ownkey %s: %s", e.Code, e.Message)
}

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError is an EINVALID error naming the field at fault.
func FieldError(param, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Param: param, Message: fmt.Sprintf(format, args...)}
}

// CodeStatus is the one table from error code to HTTP status: what the
// client is sent (httpapi.Error) and what the usage record says it was sent
// (ChatResult.Status) both come from here.
func CodeStatus(code string) int {
	switch code {
	case EINVALID:
		return http.StatusBadRequest
	case EUNAUTHORIZED:
		return http.StatusUnauthorized
	case EPAYMENT:
		return http.StatusPaymentRequired
	case EFORBIDDEN:
		return http.StatusForbidden
	case ENOTFOUND:
		return http.StatusNotFound
	case ECONFLICT:
		return http.StatusConflict
	case ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case ERATELIMIT:
		return http.StatusTooManyRequests
	case EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case ETIMEOUT:
		return http.StatusGatewayTimeout
	case EUPSTREAM:
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// StatusOf is the HTTP status err is answered with: the *Error's own Status
// when set (an upstream's status passed on), else its code's, else 500.
func StatusOf(err error) int {
	var e *Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError
	}
	if e.Status != 0 {
		return e.Status
	}
	return CodeStatus(e.Code)
}

// ErrorCode returns the code of err, or EINTERNAL when err is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err. Errors that are not
// *Error are internal and their text is not shown.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
