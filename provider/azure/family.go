// Package azure is Azure OpenAI, two wire families in one package:
// ownkey.WireAzure (chat completions on a deployment) and
// ownkey.WireAzureResponses (the Responses API). They are one service to
// the user: the same resource endpoint from the credential, the same api-key
// header and the same api-version query, so they share this code; only
// their chat adapters differ. The Chat family's adapter is openaicompat's
// pass-through (chat.go); the Responses family's is the Responses API
// adapter of provider/responses at Azure's path (responses.go).
package azure

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/openaicompat"
)

// Chat is the Azure OpenAI chat completions wire family; NewChat gives it
// its adapter.
type Chat struct {
	service
	adapter *openaicompat.Adapter
}

var (
	_ provider.Family = Chat{}
	_ provider.Family = Responses{}
)

func (Chat) Wire() ownkey.WireFamily { return ownkey.WireAzure }

// service is what both families share.
type service struct{}

// Authorize sends the key in api-key.
func (service) Authorize(_ context.Context, req *http.Request, p *ownkey.Provider, c *ownkey.Credential, _ []byte) error {
	return provider.SetAPIKey(req, p, c, "Api-Key", "")
}

// Endpoint is the resource endpoint from the credential, guarded.
func (service) Endpoint(p *ownkey.Provider, c *ownkey.Credential) (string, bool, error) {
	return provider.DefaultEndpoint(p, c)
}

// KeyCheck lists the models at the credential's api-version.
func (service) KeyCheck(p *ownkey.Provider, c *ownkey.Credential, base string, _ bool, _ string) (provider.KeyCheck, error) {
	if c.APIVersion == "" {
		return provider.KeyCheck{}, ownkey.FieldError("key.apiVersion", "%s credential has no apiVersion", p.Name)
	}
	q := "?api-version=" + url.QueryEscape(c.APIVersion)
	if v1API(c.APIVersion) {
		return provider.GetCheck(base, "/openai/v1/models"+q), nil
	}
	return provider.GetCheck(base, "/openai/models"+q), nil
}

// Chat is nil: no adapter yet.
func (service) Chat() ownkey.ChatAdapter { return nil }
