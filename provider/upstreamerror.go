package provider

import (
	"fmt"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
)

// UpstreamError builds the client's error from a provider's error answer
// in the shape OpenAI, Anthropic and Azure share ({"error":{"message",
// "type","code"}}): EUPSTREAM with the provider's status and its own
// message, so that a client sees what it would see talking to the
// provider directly, minus any echo of the key; error.type as the type and
// a string error.code as the machine code (OpenRouter's numeric code is
// the HTTP status again, and is left out). Families adjust the result for
// their own statuses (Anthropic's 529).
func UpstreamError(req *ownkey.ChatRequest, status int, body []byte) *ownkey.Error {
	p, c := req.Provider, req.Credential
	e := &ownkey.Error{Code: ownkey.EUPSTREAM, Status: status, Message: UpstreamMessage(body, c, req.MaxJSONDepth)}
	if e.Message == "" {
		e.Message = fmt.Sprintf("%s returned HTTP %d", p.Name, status)
	}
	if status < 400 {
		// A redirect or an informational status is not something to
		// relay: without its Location it means nothing to the client.
		e.Status = http.StatusBadGateway
	}
	errObj := gjson.GetBytes(body, "error")
	if t := errObj.Get("type"); t.Type == gjson.String {
		e.Type = SafeToken(t.Str, c)
	}
	if code := errObj.Get("code"); code.Type == gjson.String {
		e.Reason = SafeToken(code.Str, c)
	}
	return e
}
