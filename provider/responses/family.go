package responses

import (
	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// Family is the OpenAI Responses wire family (ownkey.WireOpenAIResponses):
// a bearer key, the catalog's base URL (ending in /v1) and a model list as
// the key check. Adapter serves chat.
type Family struct {
	provider.Bearer
	// Adapter serves chat; nil means none (the chat service answers 501).
	Adapter *Adapter
}

var _ provider.Family = Family{}

func (Family) Wire() ownkey.WireFamily { return ownkey.WireOpenAIResponses }

func (Family) Endpoint(p *ownkey.Provider, c *ownkey.Credential) (string, bool, error) {
	return provider.DefaultEndpoint(p, c)
}

// KeyCheck lists the models: GET {base}/models, which must hold the model
// the user named, if any.
func (Family) KeyCheck(_ *ownkey.Provider, _ *ownkey.Credential, base string, _ bool, model string) (provider.KeyCheck, error) {
	chk := provider.GetCheck(base, "/models")
	chk.Model = model
	return chk, nil
}

func (f Family) Chat() ownkey.ChatAdapter {
	if f.Adapter == nil {
		return nil // not a typed nil, which would look like an adapter
	}
	return f.Adapter
}
