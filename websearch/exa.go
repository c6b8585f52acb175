package websearch

import (
	"context"
	"net/http"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// Exa: the key in x-api-key; POST {base}/search.
type Exa struct{ searchProvider }

var _ provider.Family = Exa{}

func (Exa) Wire() ownkey.WireFamily { return ownkey.WireExa }

func (Exa) Authorize(_ context.Context, req *http.Request, p *ownkey.Provider, c *ownkey.Credential, _ []byte) error {
	return provider.SetAPIKey(req, p, c, "X-Api-Key", "")
}

func (Exa) KeyCheck(_ *ownkey.Provider, _ *ownkey.Credential, base string, _ bool, _ string) (provider.KeyCheck, error) {
	return provider.PostCheck(base, "/search", `{"query":"ownkey key check","numResults":1}`), nil
}
