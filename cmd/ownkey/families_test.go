package main

import (
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
)

// The one registration list serves every provider of the catalog with the
// family of its wire (provider.NewFamilies refuses a duplicate or a missing
// family, so newApp would not start), and chat where an adapter exists.
func TestEveryCatalogProviderHasItsFamily(t *testing.T) {
	families, err := newFamilies(&config{}, egress.New(egress.Options{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	chats := map[string]bool{"openai": true, "groq": true, "openrouter": true, "anthropic": true, "azure-anthropic-foundry": true, "azure": true,
		"openai-responses": true, "azure-responses": true, "aws": true, "google": true}
	for i := range ownkey.Catalog {
		p := &ownkey.Catalog[i]
		f, err := families.Family(p)
		if err != nil {
			t.Errorf("%s: %v", p.ID, err)
			continue
		}
		if f.Wire() != p.Wire {
			t.Errorf("%s (wire %q) is served by the %q family", p.ID, p.Wire, f.Wire())
		}
		if chats[p.ID] && f.Chat() == nil {
			t.Errorf("%s: no chat adapter", p.ID)
		}
	}
	for _, id := range []string{"tavily", "exa", "kagi", "perplexity"} {
		p, _ := ownkey.LookupProvider(id)
		if f, _ := families.Family(p); f.Chat() != nil {
			t.Errorf("%s: a chat adapter, but chat through it is not supported yet", id)
		}
	}
}
