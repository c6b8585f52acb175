package gemini

import (
	"context"
	"net/http"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// Family is the Gemini wire family (ownkey.WireGemini): the key in
// x-goog-api-key, the catalog's base URL, a one-model list as the key
// check. Adapter serves chat.
type Family struct {
	// Adapter serves chat; nil means none (the chat service answers 501).
	Adapter *Adapter
}

var _ provider.Family = Family{}

func (Family) Wire() ownkey.WireFamily { return ownkey.WireGemini }

// Authorize sends the key in x-goog-api-key, never as ?key=, which ends up
// in logs.
func (Family) Authorize(_ context.Context, req *http.Request, p *ownkey.Provider, c *ownkey.Credential, _ []byte) error {
	return provider.SetAPIKey(req, p, c, "X-Goog-Api-Key", "")
}

func (Family) Endpoint(p *ownkey.Provider, c *ownkey.Credential) (string, bool, error) {
	return provider.DefaultEndpoint(p, c)
}

// KeyCheck lists one model: GET {base}/v1beta/models?pageSize=1.
func (Family) KeyCheck(_ *ownkey.Provider, _ *ownkey.Credential, base string, _ bool, _ string) (provider.KeyCheck, error) {
	return provider.GetCheck(base, "/v1beta/models?pageSize=1"), nil
}

func (f Family) Chat() ownkey.ChatAdapter {
	if f.Adapter == nil {
		return nil // not a typed nil, which would look like an adapter
	}
	return f.Adapter
}
