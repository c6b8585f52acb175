// Package websearch holds the web-search providers (the catalog's
// KindWebSearch entries), one file each: how a request is authorized, where
// the API lives (the catalog's base URL) and the key check, a one-result
// search (which may cost the key's owner a credit). Each is a
// provider.Family of its own wire; none serves chat.
package websearch

import (
	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// searchProvider is what every web-search family shares: the catalog's
// base URL and no chat.
type searchProvider struct{}

func (searchProvider) Endpoint(p *ownkey.Provider, c *ownkey.Credential) (string, bool, error) {
	return provider.DefaultEndpoint(p, c)
}

// Chat is nil: a search provider serves no chat.
func (searchProvider) Chat() ownkey.ChatAdapter { return nil }
