package websearch

import (
	"strings"
	"testing"

	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

func TestAuthorize(t *testing.T) {
	k := providertest.Key
	providertest.CheckAuth(t, Tavily{}, "tavily", map[string]string{"Authorization": "Bearer " + k("tavily")})
	providertest.CheckAuth(t, Exa{}, "exa", map[string]string{"X-Api-Key": k("exa")})
	providertest.CheckAuth(t, Kagi{}, "kagi", map[string]string{"Authorization": "Bot " + k("kagi")})
	providertest.CheckAuth(t, Perplexity{}, "perplexity", map[string]string{"Authorization": "Bearer " + k("perplexity")})
}

func TestKeyChecks(t *testing.T) {
	k := providertest.Key
	bearer := func(id string) map[string]string { return map[string]string{"Authorization": "Bearer " + k(id)} }
	// Free: Tavily's usage of the key.
	providertest.CheckKeys(t, Tavily{}, providertest.KeyCheck{Name: "tavily", Provider: "tavily", Method: "GET", Path: "/usage",
		Headers: bearer("tavily")})
	providertest.CheckKeys(t, Exa{}, providertest.KeyCheck{Name: "exa", Provider: "exa", Method: "POST", Path: "/search",
		Headers: map[string]string{"X-Api-Key": k("exa")}, Body: `{"query":"ownkey key check","numResults":1}`})
	providertest.CheckKeys(t, Kagi{}, providertest.KeyCheck{Name: "kagi", Provider: "kagi", BasePath: "/api", Method: "GET",
		Path: "/api/v0/search", Query: "q=ownkey&limit=1", Headers: map[string]string{"Authorization": "Bot " + k("kagi")}})
	// Free: the key's list of asynchronous chat requests.
	providertest.CheckKeys(t, Perplexity{}, providertest.KeyCheck{Name: "perplexity", Provider: "perplexity", Method: "GET",
		Path: "/async/chat/completions", Query: "limit=1", Headers: bearer("perplexity")})
}

// Exa's and Kagi's checks are a search, which costs the key's owner: the
// validator says so; Tavily's and Perplexity's are free and say nothing.
func TestKeyCheckCost(t *testing.T) {
	fams := providertest.Families(t, nil, Tavily{}, Exa{}, Kagi{}, Perplexity{})
	v := &provider.Validator{Families: fams}
	for id, billed := range map[string]bool{"tavily": false, "exa": true, "kagi": true, "perplexity": false} {
		got := v.KeyCheckCost(providertest.Catalog(t, id))
		if billed != (got != "") {
			t.Errorf("%s: KeyCheckCost = %q", id, got)
		}
		if billed && !strings.Contains(got, "one one-result search") {
			t.Errorf("%s: %q does not say what the check costs", id, got)
		}
	}
}

// The catalog's base URL, and no chat.
func TestEndpointAndChat(t *testing.T) {
	for id, f := range map[string]provider.Family{
		"tavily": Tavily{}, "exa": Exa{}, "kagi": Kagi{}, "perplexity": Perplexity{},
	} {
		p := providertest.Catalog(t, id)
		got, guarded, err := f.Endpoint(p, nil)
		if err != nil || got != p.BaseURL || guarded {
			t.Errorf("%s: Endpoint = %q guarded=%t (%v), want %q", id, got, guarded, err, p.BaseURL)
		}
		if f.Chat() != nil {
			t.Errorf("%s serves chat", id)
		}
	}
	if got, _, _ := (Kagi{}).Endpoint(providertest.Catalog(t, "kagi"), nil); got != "https://kagi.com/api" {
		t.Errorf("kagi: Endpoint = %q", got)
	}
}
