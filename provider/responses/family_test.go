package responses

import (
	"testing"

	"github.com/ownkey/ownkey/provider/providertest"
)

func TestFamilyAuthorizes(t *testing.T) {
	providertest.CheckAuth(t, Family{}, "openai-responses", map[string]string{"Authorization": "Bearer " + providertest.Key("openai-responses")})
}

func TestFamilyKeyChecks(t *testing.T) {
	providertest.CheckKeys(t, Family{},
		providertest.KeyCheck{Name: "openai-responses", Provider: "openai-responses", BasePath: "/v1", Method: "GET", Path: "/v1/models",
			Headers: map[string]string{"Authorization": "Bearer " + providertest.Key("openai-responses")}},
	)
}

func TestFamilyEndpoint(t *testing.T) {
	got, guarded, err := Family{}.Endpoint(providertest.Catalog(t, "openai-responses"), nil)
	if err != nil || got != "https://api.openai.com/v1" || guarded {
		t.Fatalf("Endpoint = %q guarded=%t (%v)", got, guarded, err)
	}
}

func TestFamilyChat(t *testing.T) {
	if a := (Family{}).Chat(); a != nil {
		t.Fatalf("Chat() = %#v without an adapter, want nil (the chat service answers 501)", a)
	}
	a := &Adapter{}
	if got := (Family{Adapter: a}).Chat(); got != a {
		t.Fatalf("Chat() = %#v, want the adapter", got)
	}
}
