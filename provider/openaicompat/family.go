package openaicompat

import (
	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// Family is the OpenAI Chat Completions wire family (ownkey.WireOpenAI): a
// bearer key, the catalog's base URL, and Adapter for chat.
type Family struct {
	provider.Bearer
	// Adapter serves chat; nil means none (the chat service answers 501).
	Adapter *Adapter
}

var _ provider.Family = Family{}

func (Family) Wire() ownkey.WireFamily { return ownkey.WireOpenAI }

func (Family) Endpoint(p *ownkey.Provider, c *ownkey.Credential) (string, bool, error) {
	return provider.DefaultEndpoint(p, c)
}

// keyCheckPath overrides the check (GET {base}/models) for providers that
// serve their model list without authentication, where it would accept any
// key.
var keyCheckPath = map[string]string{
	"openrouter": "/key", // GET /api/v1/key: the calling key's own details
}

// KeyCheck lists the models (GET {base}/models), which must hold the model
// the user named, if any; or asks for the key's own details where the model
// list is public (and so says nothing of the model).
func (Family) KeyCheck(p *ownkey.Provider, _ *ownkey.Credential, base string, _ bool, model string) (provider.KeyCheck, error) {
	if path, ok := keyCheckPath[p.ID]; ok {
		return provider.GetCheck(base, path), nil
	}
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
