package gemini

import (
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
)

// Complete translates a non-streaming answer, one GenerateContentResponse,
// into the client's answer (see the package comment): the same reading as
// a stream's chunk, then the end. A 200 holding an error, or something
// other than a response, is an error before anything is written.
func (x *exchange) Complete(body []byte, out *provider.Answer) error {
	req := x.req
	p := req.Provider
	switch jsonvalid.Check(body, req.MaxJSONDepth) {
	case jsonvalid.ErrTooDeep:
		return ownkey.Errorf(ownkey.EUPSTREAM, "the %s response is nested deeper than %d levels", p.Name, jsonvalid.Depth(req.MaxJSONDepth))
	case jsonvalid.ErrSyntax:
		return ownkey.Errorf(ownkey.EUPSTREAM, "%s answered with something other than a response", p.Name)
	}
	root := gjson.Parse(view(body))
	if e := errorObject(root); e.Exists() {
		return upstreamError(req, http.StatusBadGateway, body)
	}
	if !isResponse(root) {
		return ownkey.Errorf(ownkey.EUPSTREAM, "%s answered with something other than a response", p.Name)
	}
	x.out = out
	if err := x.chunk(root); err != nil {
		return err
	}
	return x.end()
}

// isResponse reports whether root looks like a GenerateContentResponse:
// an object with candidates (an array), promptFeedback or usageMetadata.
func isResponse(root gjson.Result) bool {
	if !root.IsObject() {
		return false
	}
	c := root.Get("candidates")
	return c.IsArray() || (!c.Exists() && (root.Get("promptFeedback").IsObject() || root.Get("usageMetadata").IsObject()))
}
