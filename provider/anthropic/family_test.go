package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

func TestFamilyAuthorizes(t *testing.T) {
	k := providertest.Key
	providertest.CheckAuth(t, Family{}, "anthropic", map[string]string{
		"X-Api-Key": k("anthropic"), "Anthropic-Version": "2023-06-01"})
	providertest.CheckAuth(t, Family{}, "azure-anthropic-foundry", map[string]string{
		"X-Api-Key": k("azure-anthropic-foundry"), "Api-Key": k("azure-anthropic-foundry"), "Anthropic-Version": "2023-06-01"})
}

func TestFamilyKeepsChosenAnthropicVersion(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages", nil)
	req.Header.Set("Anthropic-Version", "2099-01-01")
	c := &ownkey.Credential{APIKey: ownkey.NewSecret(testKey)}
	if err := (Family{}).Authorize(context.Background(), req, providertest.Catalog(t, "anthropic"), c, nil); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Anthropic-Version"); got != "2099-01-01" {
		t.Fatalf("anthropic-version = %q", got)
	}
}

// foundryCheck is a Foundry key check: its endpoint, under /anthropic, is
// the fake.
var foundryCheck = providertest.KeyCheck{Provider: "azure-anthropic-foundry", BasePath: "/anthropic/",
	Credential: map[string]string{"apiKey": providertest.Key("azure-anthropic-foundry")}}

func TestFamilyKeyChecks(t *testing.T) {
	k := providertest.Key
	version := func(t testing.TB, r providertest.Received) {
		if got := r.Header.Get("Anthropic-Version"); got != APIVersion {
			t.Errorf("anthropic-version = %q", got)
		}
	}
	withModel := foundryCheck
	withModel.Name, withModel.Model = "foundry with model", "claude-sonnet-4-5"
	withModel.Method, withModel.Path = "POST", "/anthropic/v1/messages"
	withModel.Headers = map[string]string{"X-Api-Key": k("azure-anthropic-foundry"), "Api-Key": k("azure-anthropic-foundry")}
	withModel.Body = `{"model":"claude-sonnet-4-5","max_tokens":1,"messages":[{"role":"user","content":"ping"}]}`
	withModel.Verify = version
	providertest.CheckKeys(t, Family{},
		providertest.KeyCheck{Name: "anthropic", Provider: "anthropic", Method: "GET", Path: "/v1/models",
			Headers: map[string]string{"X-Api-Key": k("anthropic")}, Verify: version},
		// A model named: that model's own entry, which knows aliases.
		providertest.KeyCheck{Name: "anthropic with model", Provider: "anthropic", Model: "anthropic/claude-sonnet-4-5", Method: "GET",
			Path: "/v1/models/claude-sonnet-4-5", Headers: map[string]string{"X-Api-Key": k("anthropic")}, Verify: version},
		withModel,
	)
}

func TestFamilyKeyCheckFoundryWithoutModel(t *testing.T) {
	tests := []struct {
		status   int
		wantCode string
	}{
		{http.StatusOK, ""},
		{http.StatusNotFound, ""},   // unknown deployment: the key got past auth
		{http.StatusBadRequest, ""}, // likewise
		{http.StatusUnauthorized, ownkey.EUPSTREAM},
		{http.StatusForbidden, ownkey.EUPSTREAM},
		{http.StatusInternalServerError, ownkey.EUPSTREAM}, // says nothing about the key
	}
	for _, tt := range tests {
		up := providertest.NewUpstream(t, providertest.JSONReply(tt.status, `{"error":{"code":"DeploymentNotFound","message":"nope"}}`))
		v, p, c := foundryCheck.Setup(t, up, Family{})
		err := v.ValidateKey(context.Background(), p, c, "")
		if got := ownkey.ErrorCode(err); got != tt.wantCode {
			t.Errorf("status %d: code %q (%v), want %q", tt.status, got, err, tt.wantCode)
		}
		var body struct{ Model string }
		_ = json.Unmarshal(up.Only(t).Body, &body)
		if body.Model == "" {
			t.Errorf("status %d: no model in the check request", tt.status)
		}
	}

	// With a model the user named, a 404 is a real answer.
	up := providertest.NewUpstream(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) })
	v, p, c := foundryCheck.Setup(t, up, Family{})
	var e *ownkey.Error
	if err := v.ValidateKey(context.Background(), p, c, "claude-typo"); !errors.As(err, &e) || e.Status != http.StatusNotFound {
		t.Fatalf("err = %v, want EUPSTREAM 404", err)
	}
	if e.Message != `Azure Anthropic accepted the key but does not serve model "claude-typo"` || e.Reason != provider.CodeModelNotFound {
		t.Errorf("message = %q, reason %q", e.Message, e.Reason)
	}
}

func TestFamilyEndpoint(t *testing.T) {
	foundry := &ownkey.Credential{Provider: "azure-anthropic-foundry", Endpoint: "https://res.services.ai.azure.com/anthropic/"}
	tests := []struct {
		provider    string
		cred        *ownkey.Credential
		want        string
		wantGuarded bool
	}{
		{"anthropic", nil, "https://api.anthropic.com", false},
		{"azure-anthropic-foundry", foundry, "https://res.services.ai.azure.com/anthropic", true},
	}
	for _, tt := range tests {
		got, guarded, err := Family{}.Endpoint(providertest.Catalog(t, tt.provider), tt.cred)
		if err != nil || got != tt.want || guarded != tt.wantGuarded {
			t.Errorf("%s: Endpoint = %q guarded=%t (%v), want %q guarded=%t", tt.provider, got, guarded, err, tt.want, tt.wantGuarded)
		}
	}
}

// An override ending in the Messages API's /v1 has it dropped: the adapter
// appends /v1/messages.
func TestOverrideDropsTheVersion(t *testing.T) {
	for _, id := range []string{"anthropic", "azure-anthropic-foundry"} {
		p := providertest.Catalog(t, id)
		for raw, want := range map[string]string{
			"https://proxy.example/v1":                       "https://proxy.example",
			"https://proxy.example/v1/":                      "https://proxy.example",
			"https://proxy.example":                          "https://proxy.example",
			"https://res.services.ai.azure.com/anthropic/v1": "https://res.services.ai.azure.com/anthropic",
			"https://proxy.example/v1beta":                   "https://proxy.example/v1beta",
		} {
			if got, err := provider.OverrideURL(p, Family{}, raw); err != nil || got != want {
				t.Errorf("%s: OverrideURL(%q) = %q, %v; want %q", id, raw, got, err, want)
			}
		}
	}
}
