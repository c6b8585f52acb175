package anthropic

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// APIVersion is the Messages API version ownkey speaks (anthropic-version).
const APIVersion = "2023-06-01"

// Family is the Anthropic Messages wire family (ownkey.WireAnthropic):
// Anthropic itself, and Azure AI Foundry's Claude endpoint, whose address
// is the user's (the catalog's UserEndpoint). Adapter serves chat.
type Family struct {
	// Adapter serves chat; nil means none (the chat service answers 501).
	Adapter *Adapter
}

var _ provider.Family = Family{}

func (Family) Wire() ownkey.WireFamily { return ownkey.WireAnthropic }

// PathVersion is the version segment the Messages API's paths start with
// ({base}/v1/messages): an operator's base URL override ending in it has
// it removed (provider.PathVersioned).
func (Family) PathVersion() string { return "/v1" }

// Authorize sends the key in x-api-key (Foundry: in api-key too) and
// anthropic-version, unless the caller chose one.
func (Family) Authorize(_ context.Context, req *http.Request, p *ownkey.Provider, c *ownkey.Credential, _ []byte) error {
	key, err := provider.APIKey(req, p, c)
	if err != nil {
		return err
	}
	req.Header.Set("X-Api-Key", key)
	if p.UserEndpoint {
		// Azure AI Foundry: the Go SDK sends x-api-key, the Python SDK
		// api-key; the service has accepted each at different times.
		req.Header.Set("Api-Key", key)
	}
	if req.Header.Get("Anthropic-Version") == "" {
		req.Header.Set("Anthropic-Version", APIVersion)
	}
	return nil
}

// Endpoint is the catalog's base URL, or Foundry's endpoint from the
// credential, which already ends in /anthropic.
func (Family) Endpoint(p *ownkey.Provider, c *ownkey.Credential) (string, bool, error) {
	return provider.DefaultEndpoint(p, c)
}

// KeyCheck lists the models (GET {base}/v1/models), or, for a model the
// user named, gets that model (GET {base}/v1/models/{model}, which also
// knows aliases such as claude-sonnet-4-5): a 404 says it is not served.
// Foundry serves no model list, so there it asks for one token of the model
// the user named (a 404: no such deployment), or of a made-up deployment:
// then only 401/403 say the key is wrong.
func (Family) KeyCheck(p *ownkey.Provider, _ *ownkey.Credential, base string, _ bool, model string) (provider.KeyCheck, error) {
	if !p.UserEndpoint {
		if model == "" {
			return provider.GetCheck(base, "/v1/models"), nil
		}
		chk := provider.GetCheck(base, "/v1/models/"+url.PathEscape(strings.TrimPrefix(model, p.ID+"/")))
		chk.Model, chk.NotServed = model, provider.NotFound
		return chk, nil
	}
	deployment, _ := json.Marshal(cmp.Or(model, "ownkey-key-check"))
	chk := provider.PostCheck(base, "/v1/messages", `{"model":`+string(deployment)+`,"max_tokens":1,"messages":[{"role":"user","content":"ping"}]}`)
	chk.AuthOnly = model == ""
	chk.Model, chk.NotServed = model, provider.NotFound
	return chk, nil
}

func (f Family) Chat() ownkey.ChatAdapter {
	if f.Adapter == nil {
		return nil // not a typed nil, which would look like an adapter
	}
	return f.Adapter
}
