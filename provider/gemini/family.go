package gemini

import (
	"context"
	"net/http"
	"strings"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// Family is the Gemini wire family (ownkey.WireGemini): the key in
// x-goog-api-key, the catalog's base URL, a one-model list (or the model
// the user named) as the key check. Adapter serves chat.
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

// PathVersion is the version segment the Gemini API's paths start with
// ({base}/v1beta/models/…): an operator's base URL override ending in it
// has it removed (provider.PathVersioned).
func (Family) PathVersion() string { return "/v1beta" }

// KeyCheck lists one model (GET {base}/v1beta/models?pageSize=1), or, for
// a model the user named, gets that model (GET {base}/v1beta/models/{model},
// the chat path's own spelling of it): Google's 404 NOT_FOUND says it is
// not served. Google refuses a bad key with a 400 API_KEY_INVALID before
// looking at the model, so the 404 is only ever about the model.
func (Family) KeyCheck(p *ownkey.Provider, _ *ownkey.Credential, base string, _ bool, model string) (provider.KeyCheck, error) {
	if model == "" {
		return provider.GetCheck(base, "/v1beta/models?pageSize=1"), nil
	}
	id := strings.TrimPrefix(strings.TrimPrefix(model, p.ID+"/"), "models/")
	chk := provider.GetCheck(base, "/v1beta/models/"+provider.EscapePathSegment(id))
	chk.Model, chk.NotServed = model, provider.NotFound
	return chk, nil
}

func (f Family) Chat() ownkey.ChatAdapter {
	if f.Adapter == nil {
		return nil // not a typed nil, which would look like an adapter
	}
	return f.Adapter
}
