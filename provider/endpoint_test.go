package provider

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/ownkey/ownkey"
)

func mustProvider(t *testing.T, id string) *ownkey.Provider {
	t.Helper()
	p, ok := ownkey.LookupProvider(id)
	if !ok {
		t.Fatalf("no provider %q in the catalog", id)
	}
	return p
}

// mustCredential parses raw as a user would paste it, so tests use the same
// credentials production does. Private endpoints are allowed for local fakes.
func mustCredential(t *testing.T, id string, raw any) *ownkey.Credential {
	t.Helper()
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ownkey.ParseCredential(mustProvider(t, id), b, true)
	if err != nil {
		t.Fatalf("credential for %s: %v", id, err)
	}
	return c
}

func TestEndpoint(t *testing.T) {
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
		{"bedrock region", "aws", awsCred, nil, "https://bedrock-runtime.eu-central-1.amazonaws.com", false},
		{"bedrock override", "aws", awsCred, ownkey.BaseURLs{"aws": "http://127.0.0.1:9"}, "http://127.0.0.1:9", false},
		{"azure user endpoint is guarded", "azure", azureCred, nil, "https://res.openai.azure.com", true},
		{"foundry keeps its /anthropic path", "azure-anthropic-foundry", foundryCred, nil, "https://res.services.ai.azure.com/anthropic", true},
		{"azure operator override is trusted", "azure", azureCred, ownkey.BaseURLs{"azure": "http://127.0.0.1:9/"}, "http://127.0.0.1:9", false},
		{"gemini", "google", nil, nil, "https://generativelanguage.googleapis.com", false},
		{"kagi", "kagi", nil, nil, "https://kagi.com/api", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, guarded, err := Endpoint(mustProvider(t, tt.provider), tt.cred, tt.base)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || guarded != tt.wantGuarded {
				t.Fatalf("Endpoint = %q guarded=%t, want %q guarded=%t", got, guarded, tt.want, tt.wantGuarded)
			}
		})
	}
}

func TestEndpointRejectsBadCredentials(t *testing.T) {
	tests := []struct {
		name     string
		provider string
		cred     *ownkey.Credential
		param    string
	}{
		// A region is spliced into a host name: this one would send the
		// signed request to evil.example.
		{"region that moves the host", "aws", &ownkey.Credential{Region: "evil.example/#"}, "key.region"},
		{"no region", "aws", &ownkey.Credential{}, "key.region"},
		{"no azure endpoint", "azure", &ownkey.Credential{}, "key.endpoint"},
		{"non-http endpoint", "azure-responses", &ownkey.Credential{Endpoint: "file:///etc/passwd"}, "key.endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Endpoint(mustProvider(t, tt.provider), tt.cred, nil)
			e, ok := err.(*ownkey.Error)
			if !ok || e.Code != ownkey.EINVALID || e.Param != tt.param {
				t.Fatalf("err = %v, want EINVALID on %s", err, tt.param)
			}
		})
	}
}

func TestEscapePathSegment(t *testing.T) {
	tests := map[string]string{
		"anthropic.claude-3-haiku-20240307-v1:0":                            "anthropic.claude-3-haiku-20240307-v1%3A0",
		"arn:aws:bedrock:us-east-1:123:application-inference-profile/ab c~": "arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Aapplication-inference-profile%2Fab%20c~",
		"gpt-4o_mini.x": "gpt-4o_mini.x",
		"é?#%":          "%C3%A9%3F%23%25",
	}
	for in, want := range tests {
		got := EscapePathSegment(in)
		if got != want {
			t.Errorf("EscapePathSegment(%q) = %q, want %q", in, got, want)
		}
		if back, err := url.PathUnescape(got); err != nil || back != in {
			t.Errorf("%q does not round-trip: %q %v", got, back, err)
		}
	}
	// Go keeps the encoded form in RawPath, which the transport sends and
	// the signer signs.
	u, err := url.Parse("https://h/model/" + EscapePathSegment("a.b-v1:0") + "/converse")
	if err != nil || u.EscapedPath() != "/model/a.b-v1%3A0/converse" {
		t.Fatalf("EscapedPath = %q (%v)", u.EscapedPath(), err)
	}
}
