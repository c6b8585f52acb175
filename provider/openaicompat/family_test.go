package openaicompat

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
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

// TestKeyCheckWithModel: with a model named, the model list must hold it
// (OpenAI's {"data":[…]}, or Together's bare array; ignoring case and a
// provider prefix); a list without it says the model is not served; a
// body that is not a list says nothing of the model.
func TestKeyCheckWithModel(t *testing.T) {
	openaiList := `{"object":"list","data":[{"id":"gpt-4o-mini","object":"model"},{"id":"gpt-4o","object":"model"}]}`
	togetherList := `[{"id":"meta-llama/Llama-3.3-70B-Instruct-Turbo","type":"chat"}]`
	tests := []struct {
		name, provider, body, model, wantReason string
	}{
		{"listed", "openai", openaiList, "gpt-4o", ""},
		{"listed with the provider prefix", "openai", openaiList, "openai/GPT-4o-mini", ""},
		{"not listed", "openai", openaiList, "gpt-9", provider.CodeModelNotFound},
		{"bare array, listed", "together", togetherList, "meta-llama/llama-3.3-70b-instruct-turbo", ""},
		{"bare array, not listed", "together", togetherList, "meta-llama/Llama-4", provider.CodeModelNotFound},
		{"not a list", "openai", `{}`, "gpt-9", ""},
		{"no model named", "openai", openaiList, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(http.StatusOK, tt.body))
			kc := providertest.KeyCheck{Provider: tt.provider, BasePath: "/v1"}
			v, p, c := kc.Setup(t, up, Family{})
			err := v.ValidateKey(context.Background(), p, c, tt.model)
			var e *ownkey.Error
			switch {
			case tt.wantReason == "" && err != nil:
				t.Fatalf("ValidateKey: %v", err)
			case tt.wantReason != "" && (!errors.As(err, &e) || e.Reason != tt.wantReason || e.Param != "model"):
				t.Fatalf("err = %#v, want reason %s", err, tt.wantReason)
			case e != nil && !strings.Contains(e.Message, "accepted the key but does not serve model \""+tt.model+"\""):
				t.Fatalf("message = %q", e.Message)
			}
		})
	}
}
