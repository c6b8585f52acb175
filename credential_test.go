package ownkey

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
)

func TestParseCredentialAPIKey(t *testing.T) {
	p, _ := LookupProvider("groq")
	c, err := ParseCredential(p, json.RawMessage(`"gsk_abcdefgh1234"`), false)
	if err != nil || c.APIKey.Reveal() != "gsk_abcdefgh1234" || c.Suffix() != "1234" {
		t.Fatalf("got %v %v", c, err)
	}
	if string(c.Plaintext()) != "gsk_abcdefgh1234" {
		t.Fatalf("plaintext %q", c.Plaintext())
	}
	for in, param := range map[string]string{`""`: "key", `"short"`: "key", `" gsk_abcdefgh1234"`: "key", `{"a":1}`: "key", `null`: "key", `"gsk abc defgh"`: "key"} {
		_, err := ParseCredential(p, json.RawMessage(in), false)
		var e *Error
		if !asErr(err, &e) || e.Code != EINVALID || e.Param != param {
			t.Errorf("%s: %v", in, err)
		}
	}
}

func TestParseCredentialJSONRoundTrip(t *testing.T) {
	p, _ := LookupProvider("aws")
	raw := `{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"wJalrXUtnFEMI/K7MDENG","region":"eu-central-1","sessionToken":"tok-123456789"}`
	c, err := ParseCredential(p, json.RawMessage(raw), false)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseStoredCredential("aws", c.Plaintext())
	if err != nil || back.SecretAccessKey.Reveal() != "wJalrXUtnFEMI/K7MDENG" || back.Region != "eu-central-1" ||
		back.SessionToken.Reveal() != "tok-123456789" || back.AccessKeyID.Reveal() != "AKIAIOSFODNN7EXAMPLE" {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	if c.Suffix() != "DENG" {
		t.Fatalf("suffix %q", c.Suffix())
	}
	// A JSON string holding the object is the same credential.
	quoted, _ := json.Marshal(raw)
	c2, err := ParseCredential(p, quoted, false)
	if err != nil || string(c2.Plaintext()) != string(c.Plaintext()) {
		t.Fatalf("quoted form: %v", err)
	}
}

func TestCheckEndpoint(t *testing.T) {
	cases := []struct {
		in           string
		allowPrivate bool
		ok           bool
	}{
		{"https://res.openai.azure.com/", false, true},
		{"https://res.services.ai.azure.com/anthropic/", false, true},
		{"http://res.openai.azure.com", false, false},
		{"https://127.0.0.1", false, false},
		{"http://127.0.0.1:8080", true, true},
		{"http://example.com", true, false}, // http only for internal hosts
		{"https://localhost", false, false},
		{"https://169.254.169.254/latest", false, false},
		{"https://[::1]/", false, false},
		{"https://10.1.2.3", false, false},
		{"https://100.64.0.1", false, false},
		{"https://metadata.google.internal", false, false},
		{"https://user:pw@res.openai.azure.com", false, false},
		{"https://res.openai.azure.com?x=1", false, false},
		{"ftp://res.openai.azure.com", false, false},
		{"res.openai.azure.com", false, false},
		// A bare ? or # parses as none, but would stay in the URL.
		{"https://res.openai.azure.com?", false, false},
		{"https://res.openai.azure.com/#", false, false},
		// Hosts and ports that could never be dialled.
		{"https://res.openai.azure.com;x", false, false},
		{"https://res..openai.azure.com", false, false},
		{"https://.openai.azure.com", false, false},
		{"https://res.openai.azure.com:", false, false},
		{"https://res.openai.azure.com:0", false, false},
		{"https://res.openai.azure.com:65536", false, false},
		{"https://res.openai.azure.com:443/", false, true},
		{"https://my_res.openai.azure.com./", false, true},
		{"https://rés.openai.azure.com", false, false},
		{"https://" + strings.Repeat("a", 64) + ".com", false, false},
		{"https://[2001:db8::1]", false, false}, // documentation range: internal
		{"https://[2606:4700::1111]:8443", false, true},
	}
	for _, c := range cases {
		got, err := CheckEndpoint(c.in, c.allowPrivate)
		if (err == nil) != c.ok {
			t.Errorf("%s (private=%v): err %v", c.in, c.allowPrivate, err)
		}
		if err == nil && strings.HasSuffix(got, "/") {
			t.Errorf("%s: trailing slash kept: %s", c.in, got)
		}
	}
	if !IsInternalAddr(netip.MustParseAddr("::ffff:127.0.0.1")) || IsInternalAddr(netip.MustParseAddr("8.8.8.8")) {
		t.Fatal("IsInternalAddr")
	}
}

// Azure OpenAI credentials: the endpoint is the resource's address alone
// (ownkey appends /openai/…), the deployment a name Azure allows; a bad one
// is refused naming its field, without quoting the value.
func TestParseCredentialAzure(t *testing.T) {
	p, _ := LookupProvider("azure")
	cred := func(endpoint, deployment string) json.RawMessage {
		b, _ := json.Marshal(map[string]string{"endpoint": endpoint, "apiKey": "azkey-0123456789abcdef", "deploymentName": deployment, "apiVersion": "2024-10-21"})
		return b
	}
	for _, tc := range []struct {
		endpoint, deployment string
		field                string // "" when accepted
	}{
		{"https://res.openai.azure.com", "gpt-4o", ""},
		{"https://res.openai.azure.com/", "gpt4o.prod_2", ""},
		{"https://res.cognitiveservices.azure.com//", "G" + strings.Repeat("x", 63), ""},
		{"https://res.openai.azure.com/openai", "gpt-4o", "key.endpoint"},
		{"https://res.openai.azure.com/openai/deployments/gpt-4o", "gpt-4o", "key.endpoint"},
		{"https://res.openai.azure.com/%2e", "gpt-4o", "key.endpoint"},
		{"https://res.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", "gpt-4o", "key.endpoint"},
		{"https://res.openai.azure.com", "", "key.deploymentName"},
		{"https://res.openai.azure.com", "gpt 4o", "key.deploymentName"},
		{"https://res.openai.azure.com", "gpt/4o", "key.deploymentName"},
		{"https://res.openai.azure.com", "..", "key.deploymentName"},
		{"https://res.openai.azure.com", ".hidden", "key.deploymentName"},
		{"https://res.openai.azure.com", "-x", "key.deploymentName"},
		{"https://res.openai.azure.com", "gpt%2F4o", "key.deploymentName"},
		{"https://res.openai.azure.com", "déploiement", "key.deploymentName"},
		{"https://res.openai.azure.com", "G" + strings.Repeat("x", 64), "key.deploymentName"},
	} {
		c, err := ParseCredential(p, cred(tc.endpoint, tc.deployment), false)
		if tc.field == "" {
			if err != nil || c.Deployment != tc.deployment || strings.Contains(strings.TrimPrefix(c.Endpoint, "https://"), "/") {
				t.Errorf("%s %q: %v (endpoint %q)", tc.endpoint, tc.deployment, err, c.Endpoint)
			}
			continue
		}
		e, ok := err.(*Error)
		if !ok || e.Code != EINVALID || e.Param != tc.field {
			t.Errorf("%s %q: err = %v, want EINVALID on %s", tc.endpoint, tc.deployment, err, tc.field)
			continue
		}
		if tc.deployment != "" && strings.Contains(e.Message, tc.deployment) {
			t.Errorf("%s %q: the error quotes the value: %q", tc.endpoint, tc.deployment, e.Message)
		}
	}
	// Foundry's endpoint carries a path (/anthropic/): the rule is Azure
	// OpenAI's, not every endpoint's.
	foundry, _ := LookupProvider("azure-anthropic-foundry")
	if _, err := ParseCredential(foundry, json.RawMessage(`{"endpoint":"https://res.services.ai.azure.com/anthropic/","apiKey":"azkey-0123456789abcdef"}`), false); err != nil {
		t.Fatalf("foundry: %v", err)
	}
	// azure-responses builds its URLs under the endpoint the same way
	// (/openai/v1/responses), so its endpoint is the resource alone too.
	responses, _ := LookupProvider("azure-responses")
	if _, err := ParseCredential(responses, json.RawMessage(`{"endpoint":"https://res.openai.azure.com/","apiKey":"azkey-0123456789abcdef","apiVersion":"v1"}`), false); err != nil {
		t.Fatalf("azure-responses: %v", err)
	}
	_, err := ParseCredential(responses, json.RawMessage(`{"endpoint":"https://res.openai.azure.com/openai/v1","apiKey":"azkey-0123456789abcdef","apiVersion":"v1"}`), false)
	if e, ok := err.(*Error); !ok || e.Param != "key.endpoint" {
		t.Fatalf("azure-responses with a path: err = %v, want EINVALID on key.endpoint", err)
	}
}

func TestSecretRedactsEverywhere(t *testing.T) {
	const canary = "sk-canary-Zq8Xw3Rt6Yv1"
	s := NewSecret(canary)
	c := &Credential{Provider: "openai", APIKey: s}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "secret", s, "cred", c)
	j, _ := json.Marshal(c)
	out := fmt.Sprintf("%v %+v %#v %s %q %x %d", s, c, c, s, s, s, s) + b.String() + string(j)
	if strings.Contains(out, canary) || strings.Contains(out, "Zq8Xw3") {
		t.Fatalf("secret leaked: %s", out)
	}
	if s.Reveal() != canary || s.Last4() != "6Yv1" {
		t.Fatalf("reveal/last4: %q", s.Last4())
	}
}

func TestAPIKeyGeneration(t *testing.T) {
	plain, k, err := GenerateAPIKey(1, "x")
	if err != nil {
		t.Fatal(err)
	}
	p := plain.Reveal()
	if !WellFormedAPIKey(p) || !strings.HasPrefix(p, APIKeyPrefix) || k.Last4 != p[len(p)-4:] {
		t.Fatalf("key %q last4 %q", p, k.Last4)
	}
	if string(k.Hash) != string(HashAPIKey(p)) || strings.Contains(string(k.Hash), p) {
		t.Fatal("hash")
	}
	plain2, _, _ := GenerateAPIKey(1, "x")
	if plain2.Reveal() == p {
		t.Fatal("keys repeat")
	}
	if WellFormedAPIKey(p[:len(p)-1]) || WellFormedAPIKey(p+"!") || WellFormedAPIKey("sk-other-"+p[10:]) {
		t.Fatal("malformed keys accepted")
	}
}

func TestCatalog(t *testing.T) {
	if len(Catalog) != 30 {
		t.Fatalf("%d providers", len(Catalog))
	}
	models, search := 0, 0
	for _, p := range Catalog {
		switch p.Kind {
		case KindModel:
			models++
		case KindWebSearch:
			search++
		}
		if p.BaseURL == "" && !p.UserEndpoint {
			t.Errorf("%s has no base URL", p.ID)
		}
	}
	if models != 26 || search != 4 {
		t.Fatalf("%d model, %d search providers", models, search)
	}
	p, _ := LookupProvider("azure-anthropic-foundry")
	if p.BaseURLEnv() != "OWNKEY_AZURE_ANTHROPIC_FOUNDRY_BASE_URL" {
		t.Fatal(p.BaseURLEnv())
	}
	b := BaseURLsFromEnv(func(k string) string {
		if k == "OWNKEY_GROQ_BASE_URL" {
			return "http://127.0.0.1:9/openai/v1/"
		}
		return ""
	})
	g, _ := LookupProvider("groq")
	if u, over := b.For(g); u != "http://127.0.0.1:9/openai/v1" || !over {
		t.Fatalf("override %q %v", u, over)
	}
}

func asErr(err error, e **Error) bool {
	if err == nil {
		return false
	}
	x, ok := err.(*Error)
	*e = x
	return ok
}

// TestKeyShapeWarning: a key whose prefix only another provider's keys
// have is warned about, naming that provider and the prefix but never the
// key; a key like the provider's own, or like nobody's, is not.
func TestKeyShapeWarning(t *testing.T) {
	const secret = "sk-ant-api03-SECRETSECRETSECRET"
	for _, c := range []struct {
		provider, key, want string
	}{
		{"groq", secret, "as keys of Anthropic (anthropic) do, not like a Groq key"},
		{"openai", "gsk_0123456789abcdef", "as keys of Groq (groq) do"},
		{"siliconflow", "sk-proj-0123456789abcdef", "as keys of OpenAI (openai) do"},
		{"anthropic", secret, ""},
		{"openai-responses", "sk-proj-0123456789abcdef", ""},
		{"openai", "sk-0123456789abcdef", ""},
		{"chutes", "cpk_0123456789abcdef", ""},
	} {
		p, _ := LookupProvider(c.provider)
		cred, err := ParseCredential(p, []byte(`"`+c.key+`"`), false)
		if err != nil {
			t.Fatal(err)
		}
		got := KeyShapeWarning(p, cred)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%s with %.8s…: %q, want %q", c.provider, c.key, got, c.want)
		}
		if strings.Contains(got, "SECRET") {
			t.Errorf("the warning quotes the key: %q", got)
		}
	}
}

// TestFindProvider: an id in any case is found, as the chat headers
// accept it; an unknown one lists the valid ids, quoting the id only when
// it looks like one.
func TestFindProvider(t *testing.T) {
	for _, id := range []string{"OpenAI", " groq ", "AZURE-Responses"} {
		if p, err := FindProvider("provider", id); err != nil || p.ID != strings.ToLower(strings.TrimSpace(id)) {
			t.Errorf("FindProvider(%q) = %v, %v", id, p, err)
		}
	}
	_, err := FindProvider("provider", "grok")
	e, ok := err.(*Error)
	if !ok || e.Param != "provider" || !strings.Contains(e.Message, `unknown provider "grok"; provider is one of: openai, openai-responses, anthropic,`) ||
		!strings.Contains(e.Message, "tavily") {
		t.Fatalf("unknown provider: %v", err)
	}
	_, err = FindProvider("provider", "sk-proj-SECRET0123456789")
	if e, _ := err.(*Error); e == nil || strings.Contains(e.Message, "SECRET") || !strings.Contains(e.Message, "one of: openai") {
		t.Fatalf("a pasted key: %v", err)
	}
	if _, err := FindProvider("provider", ""); err == nil || !strings.Contains(err.Error(), "provider is required") {
		t.Fatalf("empty: %v", err)
	}
}
