package websearch

import (
	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// Tavily: a bearer key; POST {base}/search.
type Tavily struct {
	provider.Bearer
	searchProvider
}

var _ provider.Family = Tavily{}

func (Tavily) Wire() ownkey.WireFamily { return ownkey.WireTavily }

func (Tavily) KeyCheck(_ *ownkey.Provider, _ *ownkey.Credential, base string, _ bool, _ string) (provider.KeyCheck, error) {
	return provider.PostCheck(base, "/search", `{"query":"ownkey key check","max_results":1}`), nil
}
