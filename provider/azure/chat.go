package azure

import (
	"net/url"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/openaicompat"
)

// Azure OpenAI chat is OpenAI's Chat Completions at another address with
// another key header, so its adapter is openaicompat's pass-through, the
// same bytes relayed the same way; this file adds only what is Azure's:
//
//   - the URL: the deployment named by the credential, at its api-version
//     ({endpoint}/openai/deployments/{deploymentName}/chat/completions?api-version=…),
//     or, for the versionless v1 API (api-version v1, latest or preview),
//     {endpoint}/openai/v1/chat/completions?api-version=…, which takes the
//     deployment as the body's model (UpstreamModel);
//   - the first chunk of every stream, choices [] with
//     prompt_filter_results and an empty id and model, which is dropped
//     (openaicompat.Adapter.DropEmptyChunks): OpenAI clients expect every
//     chunk to have a choice, bar the usage chunk they asked for. The
//     content_filter_results in choices and the content_filter finish
//     reason are OpenAI-shaped and pass through as they are;
//   - Azure's errors ({"error":{"code","message",…}}, the content filter's
//     400 with code content_filter and innererror) are relayed with their
//     status, message and code by openaicompat, minus any echo of the key.
//
// The endpoint is the user's: provider.DefaultEndpoint marks it guarded, so
// chat dials it through egress.Clients.Guarded like the key check does.

// NewChat is the Azure chat family with its adapter: an openaicompat
// adapter carrying requests as base says (clients, user agent, idle
// timeout), sent to the deployment's URL. Chat{} has no adapter (the chat
// service answers 501).
func NewChat(base openaicompat.Adapter) Chat {
	base.Path = chatPath
	base.DropEmptyChunks = true
	return Chat{adapter: &base}
}

// Chat is the family's adapter; nil when the family was built without one.
func (c Chat) Chat() ownkey.ChatAdapter {
	if c.adapter == nil {
		return nil // not a typed nil, which would look like an adapter
	}
	return c.adapter
}

// UpstreamModel is the deployment: the v1 API finds it by the body's model,
// and the deployment URL ignores the model, so it is the one name that
// is right for both (see provider.UpstreamModeler).
func (Chat) UpstreamModel(c *ownkey.Credential, model string) string {
	if c != nil && c.Deployment != "" {
		return c.Deployment
	}
	return model
}

// v1API reports whether apiVersion selects Azure's versionless v1 API,
// whose routes live under /openai/v1, rather than a dated version.
func v1API(apiVersion string) bool {
	switch apiVersion {
	case "v1", "latest", "preview":
		return true
	}
	return false
}

// chatPath is where a chat request goes under the endpoint (see the top of
// this file). The credential was checked when it was saved; a stored one
// lacking a field is refused here, naming it, before anything is sent.
func chatPath(req *ownkey.ChatRequest) (string, error) {
	c, name := req.Credential, req.Provider.Name
	switch {
	case c == nil:
		return "", ownkey.Errorf(ownkey.EINTERNAL, "no credential for %s", req.Provider.ID)
	case c.APIVersion == "":
		return "", ownkey.FieldError("key.apiVersion", "%s credential has no apiVersion", name)
	case v1API(c.APIVersion):
		return "/openai/v1/chat/completions?api-version=" + url.QueryEscape(c.APIVersion), nil
	case c.Deployment == "":
		return "", ownkey.FieldError("key.deploymentName", "%s credential has no deploymentName", name)
	}
	return "/openai/deployments/" + provider.EscapePathSegment(c.Deployment) +
		"/chat/completions?api-version=" + url.QueryEscape(c.APIVersion), nil
}
