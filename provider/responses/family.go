// Package responses is the OpenAI Responses API wire family
// (ownkey.WireOpenAIResponses): a bearer key, the catalog's base URL and a
// model list as the key check. Chat through it is not supported yet.
package responses

import (
	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// Family is the OpenAI Responses wire family.
type Family struct {
	provider.Bearer
}

var _ provider.Family = Family{}

func (Family) Wire() ownkey.WireFamily { return ownkey.WireOpenAIResponses }

func (Family) Endpoint(p *ownkey.Provider, c *ownkey.Credential) (string, bool, error) {
	return provider.DefaultEndpoint(p, c)
}

// KeyCheck lists the models: GET {base}/models.
func (Family) KeyCheck(_ *ownkey.Provider, _ *ownkey.Credential, base string, _ bool, _ string) (provider.KeyCheck, error) {
	return provider.GetCheck(base, "/models"), nil
}

// Chat is nil: no adapter yet.
func (Family) Chat() ownkey.ChatAdapter { return nil }
