package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
)

// errorBody is OpenAI's error envelope. Param and Code are null when unset,
// as OpenAI sends them.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// openAIType is OpenAI's error type for a domain error code. The status is
// not decided here: ownkey.StatusOf is the one table for it.
func openAIType(code string) string {
	switch code {
	case ownkey.EINVALID, ownkey.EUNAUTHORIZED, ownkey.ENOTFOUND, ownkey.ECONFLICT, ownkey.ETOOLARGE:
		return "invalid_request_error"
	case ownkey.EPAYMENT:
		return "insufficient_quota"
	case ownkey.EFORBIDDEN:
		return "permission_error"
	case ownkey.ERATELIMIT:
		return "rate_limit_error"
	case ownkey.EUNAVAILABLE:
		return "service_unavailable"
	case ownkey.ETIMEOUT:
		return "timeout_error"
	case ownkey.EUPSTREAM:
		return "upstream_error"
	}
	return "server_error"
}

// Error writes err in OpenAI's envelope, or, on the Messages API's paths,
// in Anthropic's (anthropicError). Internal errors are logged with their
// cause and shown to the client only as "internal error" plus the request id.
//
// What it would log goes to the request's access log line instead (its
// error_code and error fields), so that a request logs one line; only
// without an access log does it log a line of its own.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	var e *ownkey.Error
	st := stateOf(r)
	logged := st != nil && st.logged
	if !errors.As(err, &e) {
		if logged {
			st.errMsg = err.Error()
		} else {
			logger(r).Error("internal error", "err", err.Error())
		}
		e = &ownkey.Error{Code: ownkey.EINTERNAL, Message: "internal error (request id " + w.Header().Get("X-Request-ID") + ")"}
	}
	status, typ := ownkey.StatusOf(e), openAIType(e.Code)
	if e.Type != "" {
		typ = e.Type
	}
	if e.RetryAfter != "" {
		w.Header().Set("Retry-After", e.RetryAfter)
	}
	code := e.Reason
	if code == "" && e.Code != ownkey.EINTERNAL && e.Code != ownkey.EUPSTREAM {
		code = e.Code
	}
	switch {
	case logged:
		st.errCode, st.errKind = code, e.Code
		if status >= 500 && st.errMsg == "" {
			st.errMsg = e.Message
		}
	case status >= 500:
		logger(r).Warn("request failed", "status", status, "code", e.Code, "msg", e.Message)
	}
	if isMessagesPath(r.URL.Path) {
		anthropicError(w, e)
		return
	}
	body := errorBody{Error: errorDetail{Message: e.Message, Type: typ}}
	if e.Param != "" {
		body.Error.Param = &e.Param
	}
	if code != "" {
		body.Error.Code = &code
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		slog.Error("encoding response failed", "err", err.Error())
		http.Error(w, `{"error":{"message":"internal error","type":"server_error","param":null,"code":null}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// decodeJSON reads a JSON request body into v, rejecting unknown fields,
// trailing data and nesting deeper than the server's limit, and turning
// body-size overruns into a clear 413. encoding/json has a nesting limit of
// its own (10000); the server's is applied too, so that every client body
// has the same documented one.
func (s *Server) decodeJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return jsonError(err)
	}
	if jsonvalid.Check(body, s.cfg.MaxJSONDepth) == jsonvalid.ErrTooDeep {
		return bodyJSONError(jsonvalid.ErrTooDeep, s.cfg.MaxJSONDepth)
	}
	// Syntax errors are left to the decoder, whose message says where.
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return ownkey.Errorf(ownkey.EINVALID, "request body must be a single JSON object")
	}
	return nil
}

// bodyJSONError is the client's error for a body jsonvalid.Check refused.
func bodyJSONError(err error, maxDepth int) error {
	if err == jsonvalid.ErrTooDeep {
		return &ownkey.Error{Code: ownkey.EINVALID, Reason: "json_too_deep",
			Message: "request body is nested deeper than " + strconv.Itoa(jsonvalid.Depth(maxDepth)) + " levels"}
	}
	return ownkey.Errorf(ownkey.EINVALID, "request body is not valid JSON")
}

func jsonError(err error) error {
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var synErr *json.SyntaxError
	var domainErr *ownkey.Error
	switch {
	case errors.As(err, &domainErr): // a field's own UnmarshalJSON said what is wrong
		return domainErr
	case isTimeout(err):
		return bodyTimeout
	case errors.As(err, &maxErr):
		return &ownkey.Error{Code: ownkey.ETOOLARGE, Reason: "request_too_large",
			Message: "request body is larger than the limit of " + byteCount(maxErr.Limit)}
	case errors.As(err, &typeErr):
		return ownkey.FieldError(typeErr.Field, "field %q has the wrong type: expected %s", typeErr.Field, typeErr.Type.String())
	case errors.As(err, &synErr):
		return ownkey.Errorf(ownkey.EINVALID, "request body is not valid JSON (at byte %d)", synErr.Offset)
	case err.Error() == "EOF":
		return ownkey.Errorf(ownkey.EINVALID, "request body is empty; a JSON object is required")
	}
	if f, ok := unknownField(err); ok {
		return ownkey.FieldError(f, "unknown field %q", f)
	}
	return ownkey.Errorf(ownkey.EINVALID, "request body is not valid JSON")
}

// unknownField extracts the name from encoding/json's "unknown field" error,
// which has no exported type.
func unknownField(err error) (string, bool) {
	const p = `json: unknown field "`
	s := err.Error()
	if len(s) > len(p) && s[:len(p)] == p && s[len(s)-1] == '"' {
		return s[len(p) : len(s)-1], true
	}
	return "", false
}
