package websearch

import (
	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// Perplexity: a bearer key; POST {base}/search.
type Perplexity struct {
	provider.Bearer
	searchProvider
}

var _ provider.Family = Perplexity{}

func (Perplexity) Wire() ownkey.WireFamily { return ownkey.WirePerplexity }

func (Perplexity) KeyCheck(_ *ownkey.Provider, _ *ownkey.Credential, base string, _ bool, _ string) (provider.KeyCheck, error) {
	return provider.PostCheck(base, "/search", `{"query":"ownkey key check","max_results":1}`), nil
}
