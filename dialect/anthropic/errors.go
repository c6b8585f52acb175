package anthropic

import (
	"net/http"

	"github.com/tidwall/gjson"
)

// StatusOverloaded is Anthropic's own status for overloaded_error. Clients
// of the Messages API know it (the SDKs retry it), so an Anthropic client
// gets it where an OpenAI client gets 503.
const StatusOverloaded = 529

// Error types of the Messages API.
const (
	TypeInvalidRequest  = "invalid_request_error" // 400
	TypeAuthentication  = "authentication_error"  // 401
	TypeBilling         = "billing_error"         // 402
	TypePermission      = "permission_error"      // 403
	TypeNotFound        = "not_found_error"       // 404
	TypeRequestTooLarge = "request_too_large"     // 413
	TypeRateLimit       = "rate_limit_error"      // 429
	TypeAPI             = "api_error"             // 500
	TypeTimeout         = "timeout_error"         // 504
	TypeOverloaded      = "overloaded_error"      // 529
)

// ErrorFor is the Anthropic error type, and the status, of an error that
// ownkey sends with status and, if it has one, type typ (an upstream's
// own, such as overloaded_error, or ownkey's): the type follows from the
// status, as Anthropic's do, except among server errors, where an overload
// (503, or typ overloaded_error: Anthropic's 529, which ownkey's OpenAI side
// sends as 503) is 529 overloaded_error and a timeout is timeout_error.
func ErrorFor(status int, typ string) (string, int) {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return TypeInvalidRequest, status
	case http.StatusUnauthorized:
		return TypeAuthentication, status
	case http.StatusPaymentRequired:
		return TypeBilling, status
	case http.StatusForbidden:
		return TypePermission, status
	case http.StatusNotFound:
		return TypeNotFound, status
	case http.StatusRequestEntityTooLarge:
		return TypeRequestTooLarge, status
	case http.StatusTooManyRequests:
		return TypeRateLimit, status
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return TypeTimeout, status
	case http.StatusServiceUnavailable, StatusOverloaded:
		return TypeOverloaded, StatusOverloaded
	}
	switch {
	case status >= 500 && typ == TypeOverloaded:
		return TypeOverloaded, StatusOverloaded
	case status >= 500 && typ == TypeTimeout:
		return TypeTimeout, status
	case status >= 500:
		return TypeAPI, status
	}
	return TypeInvalidRequest, status
}

// streamErrorType is the type of a stream's error event: the upstream's
// when it is one of Anthropic's, timeout_error for a provider gone silent,
// else api_error.
func streamErrorType(code, typ string) string {
	switch typ {
	case TypeInvalidRequest, TypeAuthentication, TypeBilling, TypePermission, TypeNotFound,
		TypeRequestTooLarge, TypeRateLimit, TypeAPI, TypeTimeout, TypeOverloaded:
		return typ
	}
	if code == "upstream_timeout" {
		return TypeTimeout
	}
	return TypeAPI
}

// AppendError appends Anthropic's error envelope,
// {"type":"error","error":{"type":typ,"message":message}}.
func AppendError(b []byte, typ, message string) []byte {
	b = append(b, `{"type":"error","error":{"type":`...)
	b = gjson.AppendJSONString(b, typ)
	b = append(b, `,"message":`...)
	b = gjson.AppendJSONString(b, message)
	return append(b, `}}`...)
}
