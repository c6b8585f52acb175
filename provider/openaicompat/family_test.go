package openaicompat

import (
	"testing"

	"github.com/ownkey/ownkey/provider/providertest"
)

func TestFamilyAuthorizes(t *testing.T) {
	for _, id := range []string{"openai", "groq", "openrouter"} {
		providertest.CheckAuth(t, Family{}, id, map[string]string{"Authorization": "Bearer " + providertest.Key(id)})
	}
}

func TestFamilyKeyChecks(t *testing.T) {
	bearer := func(id string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + providertest.Key(id)}
	}
	providertest.CheckKeys(t, Family{},
		providertest.KeyCheck{Name: "openai", Provider: "openai", BasePath: "/v1", Method: "GET", Path: "/v1/models", Headers: bearer("openai")},
		providertest.KeyCheck{Name: "groq", Provider: "groq", BasePath: "/openai/v1", Method: "GET", Path: "/openai/v1/models", Headers: bearer("groq")},
		providertest.KeyCheck{Name: "openrouter uses its authenticated /key", Provider: "openrouter", BasePath: "/api/v1",
			Method: "GET", Path: "/api/v1/key", Headers: bearer("openrouter")},
	)
}

func TestFamilyEndpoint(t *testing.T) {
	got, guarded, err := Family{}.Endpoint(providertest.Catalog(t, "groq"), nil)
	if err != nil || got != "https://api.groq.com/openai/v1" || guarded {
		t.Fatalf("Endpoint = %q guarded=%t (%v)", got, guarded, err)
	}
}

func TestFamilyChat(t *testing.T) {
	if (Family{}).Chat() != nil {
		t.Fatal("a family without an adapter must have no chat (not a typed nil)")
	}
	a := &Adapter{}
	if (Family{Adapter: a}).Chat() != a {
		t.Fatal("Chat is not the family's adapter")
	}
}
