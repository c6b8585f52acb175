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
	if !root.IsObject() {
		return ownkey.Errorf(ownkey.EUPSTREAM, "%s answered with something other than a response", p.Name)
	}
	r := readResponse(root)
	if !r.isResponse() {
		return ownkey.Errorf(ownkey.EUPSTREAM, "%s answered with something other than a response", p.Name)
	}
	x.out = out
	if err := x.chunk(&r); err != nil {
		return err
	}
	return x.end()
}

// isResponse reports whether r looks like a GenerateContentResponse: it has
// candidates (an array), or else promptFeedback or usageMetadata.
func (r *response) isResponse() bool {
	c := r.candidates
	return c.IsArray() || (!c.Exists() && (r.feedback.IsObject() || r.usage.IsObject()))
}
