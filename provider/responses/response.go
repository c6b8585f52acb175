package responses

import (
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
)

// Complete translates a non-streaming answer, a response object, into the
// client's answer (see the package comment): its output items in order,
// then the end with the finish reason and usage. A body that is the
// provider's error, or a response that failed or is not finished, is an
// error before anything is written.
func (x *exchange) Complete(body []byte, out *provider.Answer) error {
	req := x.req
	name := req.Provider.Name
	switch jsonvalid.Check(body, req.MaxJSONDepth) {
	case jsonvalid.ErrTooDeep:
		return ownkey.Errorf(ownkey.EUPSTREAM, "the %s response is nested deeper than %d levels", name, jsonvalid.Depth(req.MaxJSONDepth))
	case jsonvalid.ErrSyntax:
		return ownkey.Errorf(ownkey.EUPSTREAM, "%s answered with something other than a response", name)
	}
	if x.relay {
		return x.relayComplete(body, out)
	}
	root := gjson.Parse(view(body))
	output := root.Get("output")
	if root.Get("object").Str != "response" && !output.IsArray() {
		if root.Get("error").IsObject() {
			return upstreamError(req, http.StatusBadGateway, body)
		}
		return ownkey.Errorf(ownkey.EUPSTREAM, "%s answered with something other than a response", name)
	}
	usage := usageOf(root.Get("usage"))
	x.res.Usage = usage
	status := root.Get("status").Str
	switch status {
	case "":
		status = "completed" // servers that leave it out answer only when done
	case "completed", "incomplete":
	default:
		return failedError(req, status, root)
	}
	x.out = out
	if err := x.open(root); err != nil {
		return err
	}
	var err error
	output.ForEach(func(_, item gjson.Result) bool {
		err = x.whole(item)
		return err == nil
	})
	if err != nil {
		return err
	}
	return out.End(finishReason(status, root.Get("incomplete_details.reason").Str, x.tools > 0, x.refused), usage)
}
