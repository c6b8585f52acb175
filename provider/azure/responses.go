package azure

import (
	"context"
	"net/url"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/responses"
)

// Responses is the Azure OpenAI Responses wire family: Azure's address,
// api-key header, api-version and key check (service), and for chat the
// Responses API adapter of provider/responses at Azure's path
// (ResponsesPath).
type Responses struct {
	service
	// Adapter serves chat; nil means none (the chat service answers 501).
	Adapter *responses.Adapter
}

func (Responses) Wire() ownkey.WireFamily { return ownkey.WireAzureResponses }

// Chat is Adapter at Azure's path; nil without an adapter.
func (f Responses) Chat() ownkey.ChatAdapter {
	if f.Adapter == nil {
		return nil // not a typed nil, which would look like an adapter
	}
	return responsesChat{f.Adapter} // pointer-shaped: no allocation
}

// Passthrough is the relaying adapter for Responses clients (provider.Passthrougher):
// the same adapter at the same path, which relays when the client speaks
// the Responses API; nil for another dialect.
func (f Responses) Passthrough(d ownkey.Dialect) ownkey.ChatAdapter {
	if d != ownkey.DialectOpenAIResponses {
		return nil
	}
	return f.Chat()
}

var _ provider.Passthrougher = Responses{}

// responsesChat sends a chat request to the path of its credential.
type responsesChat struct{ a *responses.Adapter }

func (r responsesChat) Chat(ctx context.Context, req *ownkey.ChatRequest, sink ownkey.ChatSink) (*ownkey.ChatResult, error) {
	path, err := ResponsesPath(req)
	if err != nil {
		return provider.Failed(&ownkey.ChatResult{}, "", err)
	}
	return r.a.ChatAt(ctx, req, sink, path)
}

// ResponsesPath is where a request of the credential goes below the
// resource endpoint: the versionless v1 API's /openai/v1/responses for
// api-version v1, latest or preview, else the dated API's
// /openai/responses. The api-version goes in the query as the user gave
// it, as for the key check (the v1 API takes v1, and preview for its
// preview features).
func ResponsesPath(req *ownkey.ChatRequest) (string, error) {
	c := req.Credential
	if c == nil || c.APIVersion == "" {
		return "", ownkey.FieldError("key.apiVersion", "%s credential has no apiVersion", req.Provider.Name)
	}
	q := "?api-version=" + url.QueryEscape(c.APIVersion)
	switch c.APIVersion {
	case "v1", "latest", "preview":
		return "/openai/v1/responses" + q, nil
	}
	return "/openai/responses" + q, nil
}
