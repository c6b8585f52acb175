package websearch

import (
	"context"
	"net/http"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// Kagi: Authorization: Bot <key>; GET {base}/v0/search.
type Kagi struct{ searchProvider }

var _ provider.Family = Kagi{}

func (Kagi) Wire() ownkey.WireFamily { return ownkey.WireKagi }

func (Kagi) Authorize(_ context.Context, req *http.Request, p *ownkey.Provider, c *ownkey.Credential, _ []byte) error {
	return provider.SetAPIKey(req, p, c, "Authorization", "Bot ")
}

func (Kagi) KeyCheck(_ *ownkey.Provider, _ *ownkey.Credential, base string, _ bool, _ string) (provider.KeyCheck, error) {
	return provider.GetCheck(base, "/v0/search?q=ownkey&limit=1"), nil
}
