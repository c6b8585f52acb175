package provider_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// catalogFamilies is one test family per wire the catalog uses.
func catalogFamilies() []provider.Family {
	var fams []provider.Family
	seen := map[ownkey.WireFamily]bool{}
	for i := range ownkey.Catalog {
		if w := ownkey.Catalog[i].Wire; !seen[w] {
			seen[w] = true
			fams = append(fams, &providertest.Family{Speaks: w})
		}
	}
	return fams
}

func TestNewFamilies(t *testing.T) {
	fams := catalogFamilies()
	r, err := provider.NewFamilies(nil, fams...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ownkey.Catalog {
		p := &ownkey.Catalog[i]
		f, err := r.Family(p)
		if err != nil || f.Wire() != p.Wire {
			t.Errorf("%s: family %v (%v), want one of wire %q", p.ID, f, err, p.Wire)
		}
	}
	if _, err := r.Family(&ownkey.Provider{ID: "x", Wire: "carrier-pigeon"}); ownkey.ErrorCode(err) != ownkey.EINTERNAL {
		t.Errorf("unknown wire: err = %v, want EINTERNAL", err)
	}

	refused := []struct {
		name string
		fams []provider.Family
		want string
	}{
		{"duplicate wire", append(fams[:len(fams):len(fams)], &providertest.Family{Speaks: ownkey.WireOpenAI}), `two families for wire "openai"`},
		{"catalog wire without a family", fams[1:], `no family for wire "` + string(fams[0].Wire()) + `"`},
		{"wire no provider speaks", append(fams[:len(fams):len(fams)], &providertest.Family{Speaks: "carrier-pigeon"}), `no catalog provider speaks wire "carrier-pigeon"`},
		{"nil family", append(fams[:len(fams):len(fams)], nil), "nil family"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := provider.NewFamilies(nil, tt.fams...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// The operator's override comes first, trimmed and trusted (not guarded),
// even for a provider whose address is otherwise the user's; else the
// family says: here the test kit's, which answers with DefaultEndpoint (the
// catalog's base, or the user's endpoint, guarded).
func TestFamiliesEndpoint(t *testing.T) {
	awsCred := &ownkey.Credential{Provider: "aws", Region: "eu-central-1"}
	azureCred := &ownkey.Credential{Provider: "azure", Endpoint: "https://res.openai.azure.com/"}
	foundryCred := &ownkey.Credential{Provider: "azure-anthropic-foundry", Endpoint: "https://res.services.ai.azure.com/anthropic/"}
	tests := []struct {
		name        string
		provider    string
		cred        *ownkey.Credential
		base        ownkey.BaseURLs
		want        string
		wantGuarded bool
	}{
		{"catalog default", "groq", nil, nil, "https://api.groq.com/openai/v1", false},
		{"override wins and is trimmed", "groq", nil, ownkey.BaseURLs{"groq": "http://127.0.0.1:9/openai/v1/"}, "http://127.0.0.1:9/openai/v1", false},
		{"bedrock override", "aws", awsCred, ownkey.BaseURLs{"aws": "http://127.0.0.1:9"}, "http://127.0.0.1:9", false},
		{"azure user endpoint is guarded", "azure", azureCred, nil, "https://res.openai.azure.com", true},
		{"azure operator override is trusted", "azure", azureCred, ownkey.BaseURLs{"azure": "http://127.0.0.1:9/"}, "http://127.0.0.1:9", false},
		{"foundry keeps its /anthropic path", "azure-anthropic-foundry", foundryCred, nil, "https://res.services.ai.azure.com/anthropic", true},
		{"gemini", "google", nil, nil, "https://generativelanguage.googleapis.com", false},
		{"kagi", "kagi", nil, nil, "https://kagi.com/api", false},
		{"a blank override is none", "groq", nil, ownkey.BaseURLs{"groq": " "}, "https://api.groq.com/openai/v1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, guarded, err := providertest.Families(t, tt.base).Endpoint(providertest.Catalog(t, tt.provider), tt.cred)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || guarded != tt.wantGuarded {
				t.Fatalf("Endpoint = %q guarded=%t, want %q guarded=%t", got, guarded, tt.want, tt.wantGuarded)
			}
		})
	}
}

func TestSetAPIKey(t *testing.T) {
	p := providertest.Catalog(t, "groq")
	req, _ := http.NewRequest(http.MethodGet, "https://api.groq.com/openai/v1/models", nil)
	// A client's own ownkey key must never travel on.
	for _, h := range providertest.CredentialHeaders {
		req.Header.Set(h, "ownkey-client-key")
	}
	c := &ownkey.Credential{APIKey: ownkey.NewSecret("gsk_0123456789abcdef")}
	if err := provider.SetAPIKey(req, p, c, "X-Api-Key", "Token "); err != nil {
		t.Fatal(err)
	}
	for _, h := range providertest.CredentialHeaders {
		want := ""
		if h == "X-Api-Key" {
			want = "Token gsk_0123456789abcdef"
		}
		if got := req.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
}

func TestAuthorizeNeedsAKey(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://api.groq.com/openai/v1/models", nil)
	err := provider.Bearer{}.Authorize(context.Background(), req, providertest.Catalog(t, "groq"), &ownkey.Credential{}, nil)
	if ownkey.ErrorCode(err) != ownkey.EINVALID {
		t.Fatalf("err = %v, want EINVALID", err)
	}
	if req.Header.Get("Authorization") != "" {
		t.Fatal("an empty key was sent")
	}
	if err := provider.StripCredentials(req, providertest.Catalog(t, "groq"), nil); ownkey.ErrorCode(err) != ownkey.EINTERNAL {
		t.Fatalf("no credential: err = %v, want EINTERNAL", err)
	}
}

// An operator's override is checked, and accepted with or without the
// version segment the catalog's base URL ends in.
func TestOverrideURL(t *testing.T) {
	for _, c := range []struct{ provider, raw, want string }{
		{"openai", "https://proxy.example/v1", "https://proxy.example/v1"},
		{"openai", "https://proxy.example/v1/", "https://proxy.example/v1"},
		{"openai", "https://api.openai.com", "https://api.openai.com/v1"},
		{"openai", "https://api.openai.com/", "https://api.openai.com/v1"},
		// Another server's layout is its own: used as written.
		{"openai", "https://proxy.example", "https://proxy.example"},
		{"openai", "http://127.0.0.1:8000/", "http://127.0.0.1:8000"},
		{"groq", "https://api.groq.com/openai", "https://api.groq.com/openai/v1"},
		{"groq", "https://api.groq.com/openai/v1", "https://api.groq.com/openai/v1"},
		// A path of its own is a gateway's layout: taken as it is.
		{"openai", "https://gateway.ai.cloudflare.com/v1/acct/gw/openai", "https://gateway.ai.cloudflare.com/v1/acct/gw/openai"},
		{"zai", "https://api.z.ai/api/paas", "https://api.z.ai/api/paas/v4"},
		{"novita", "https://proxy.example", "https://proxy.example"},
		{"tavily", "https://proxy.example/", "https://proxy.example"},
		{"aws", "http://127.0.0.1:9", "http://127.0.0.1:9"},
		{"azure", "http://127.0.0.1:9/", "http://127.0.0.1:9"},
	} {
		got, err := provider.OverrideURL(providertest.Catalog(t, c.provider), nil, c.raw)
		if err != nil || got != c.want {
			t.Errorf("OverrideURL(%s, %q) = %q, %v; want %q", c.provider, c.raw, got, err, c.want)
		}
	}
	for _, raw := range []string{"api.groq.com/openai/v1", "/v1", "ftp://x.example", "https://", "https://u:p@x.example", "https://x.example/v1?a=1", "https://x.example/v1#f", "https://x.example/?", "x.example/v1?a=1", "%zz"} {
		_, err := provider.OverrideURL(providertest.Catalog(t, "groq"), nil, raw)
		if err == nil || !strings.Contains(err.Error(), "OWNKEY_GROQ_BASE_URL") {
			t.Errorf("OverrideURL(groq, %q) = %v, want a refusal naming OWNKEY_GROQ_BASE_URL", raw, err)
		}
		if err != nil && (strings.Contains(err.Error(), ":p@") || strings.Contains(err.Error(), "a=1") || strings.Contains(err.Error(), "#f")) {
			t.Errorf("the refusal shows the password, query or fragment: %v", err)
		}
		var fams []provider.Family
		seen := map[ownkey.WireFamily]bool{}
		for i := range ownkey.Catalog {
			if w := ownkey.Catalog[i].Wire; !seen[w] {
				seen[w] = true
				fams = append(fams, &providertest.Family{Speaks: w})
			}
		}
		if _, err := provider.NewFamilies(ownkey.BaseURLs{"groq": raw}, fams...); err == nil {
			t.Errorf("NewFamilies took the override %q", raw)
		}
	}
}
