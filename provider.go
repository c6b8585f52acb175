package ownkey

import (
	"os"
	"strings"
)

// ProviderKind separates chat model providers from web-search providers.
type ProviderKind string

const (
	KindModel     ProviderKind = "model"
	KindWebSearch ProviderKind = "web_search"
)

// CredentialFormat says what a user pastes: a bare API key or a JSON object.
type CredentialFormat string

const (
	FormatAPIKey CredentialFormat = "api_key"
	FormatJSON   CredentialFormat = "json"
)

// WireFamily names the upstream protocol an adapter must speak. Providers of
// one family share one adapter package.
type WireFamily string

const (
	WireOpenAI          WireFamily = "openai"           // OpenAI Chat Completions and compatibles
	WireOpenAIResponses WireFamily = "openai-responses" // OpenAI Responses API
	WireAnthropic       WireFamily = "anthropic"        // Anthropic Messages
	WireBedrock         WireFamily = "bedrock"          // AWS Bedrock Converse
	WireAzure           WireFamily = "azure"            // Azure OpenAI chat (deployments)
	WireAzureResponses  WireFamily = "azure-responses"  // Azure OpenAI Responses
	WireGemini          WireFamily = "gemini"           // Google AI Studio generateContent
	WireTavily          WireFamily = "tavily"
	WireExa             WireFamily = "exa"
	WireKagi            WireFamily = "kagi"
	WirePerplexity      WireFamily = "perplexity"
)

// Provider is one entry of the catalog.
type Provider struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Kind    ProviderKind      `json:"kind"`
	Format  CredentialFormat  `json:"credential_format"`
	Fields  []CredentialField `json:"credential_fields,omitempty"`
	Wire    WireFamily        `json:"wire"`
	BaseURL string            `json:"-"` // default; provider.Families.Endpoint resolves the one used
	// KeyHint is what a key of this provider usually starts with, for the UI.
	KeyHint string `json:"key_hint,omitempty"`
	// UserEndpoint is true when the upstream address comes from the user's
	// credential (Azure): such addresses are checked against private ranges.
	UserEndpoint bool `json:"-"`
}

// CredentialField is one field of a JSON credential.
type CredentialField struct {
	Name     string `json:"name"`
	Required bool   `json:"required"`
	Secret   bool   `json:"secret"`
	Example  string `json:"example,omitempty"`
	// Origin marks an endpoint that must be the resource's address alone
	// (scheme, host, port): ownkey appends the API's paths to it (Azure
	// OpenAI). Example is quoted to say what is expected.
	Origin bool `json:"-"`
}

var (
	awsFields = []CredentialField{
		{Name: "accessKeyId", Required: true, Example: "AKIA..."},
		{Name: "secretAccessKey", Required: true, Secret: true},
		{Name: "region", Required: true, Example: "us-east-1"},
		{Name: "sessionToken", Secret: true},
	}
	azureFields = []CredentialField{
		{Name: "endpoint", Required: true, Example: "https://<resource>.openai.azure.com", Origin: true},
		{Name: "apiKey", Required: true, Secret: true},
		{Name: "deploymentName", Required: true, Example: "<deployment>"},
		{Name: "apiVersion", Required: true, Example: "2024-10-21-preview"},
	}
	azureResponsesFields = []CredentialField{
		{Name: "endpoint", Required: true, Example: "https://<endpoint>", Origin: true},
		{Name: "apiKey", Required: true, Secret: true},
		{Name: "apiVersion", Required: true, Example: "2024-10-21-preview"},
	}
	azureFoundryFields = []CredentialField{
		{Name: "endpoint", Required: true, Example: "https://<resource>.services.ai.azure.com/anthropic/"},
		{Name: "apiKey", Required: true, Secret: true},
	}
)

func compat(id, name, base, hint string) Provider {
	return Provider{ID: id, Name: name, Kind: KindModel, Format: FormatAPIKey, Wire: WireOpenAI, BaseURL: base, KeyHint: hint}
}

// Catalog lists every provider, in the order the BYOK page shows them. The ids
// are the public product's, exactly.
var Catalog = []Provider{
	compat("openai", "OpenAI", "https://api.openai.com/v1", "sk-"),
	{ID: "openai-responses", Name: "OpenAI Responses", Kind: KindModel, Format: FormatAPIKey, Wire: WireOpenAIResponses, BaseURL: "https://api.openai.com/v1", KeyHint: "sk-"},
	{ID: "anthropic", Name: "Anthropic", Kind: KindModel, Format: FormatAPIKey, Wire: WireAnthropic, BaseURL: "https://api.anthropic.com", KeyHint: "sk-ant-"},
	compat("openrouter", "Openrouter", "https://openrouter.ai/api/v1", "sk-or-"),
	compat("chutes", "Chutes", "https://llm.chutes.ai/v1", ""),
	{ID: "aws", Name: "AWS Bedrock", Kind: KindModel, Format: FormatJSON, Fields: awsFields, Wire: WireBedrock, BaseURL: "https://bedrock-runtime.{region}.amazonaws.com"},
	{ID: "azure", Name: "Azure", Kind: KindModel, Format: FormatJSON, Fields: azureFields, Wire: WireAzure, UserEndpoint: true},
	{ID: "azure-responses", Name: "Azure Responses", Kind: KindModel, Format: FormatJSON, Fields: azureResponsesFields, Wire: WireAzureResponses, UserEndpoint: true},
	{ID: "azure-anthropic-foundry", Name: "Azure Anthropic", Kind: KindModel, Format: FormatJSON, Fields: azureFoundryFields, Wire: WireAnthropic, UserEndpoint: true},
	compat("groq", "Groq", "https://api.groq.com/openai/v1", "gsk_"),
	compat("sambanova", "SambaNova", "https://api.sambanova.ai/v1", ""),
	compat("vercel", "Vercel", "https://ai-gateway.vercel.sh/v1", ""),
	compat("novita", "Novita", "https://api.novita.ai/v3/openai", ""),
	compat("meganova", "MegaNova", "https://api.meganova.ai/v1", ""),
	compat("siliconflow", "SiliconFlow", "https://api.siliconflow.com/v1", "sk-"),
	compat("akash", "Akash", "https://api.akashml.com/v1", "sk-"),
	compat("nvidia", "NVIDIA", "https://integrate.api.nvidia.com/v1", "nvapi-"),
	{ID: "google", Name: "Google AI Studio", Kind: KindModel, Format: FormatAPIKey, Wire: WireGemini, BaseURL: "https://generativelanguage.googleapis.com", KeyHint: "AIza"},
	compat("zai", "Z.AI (GLM)", "https://api.z.ai/api/paas/v4", ""),
	compat("gmicloud", "GMICloud", "https://api.gmi-serving.com/v1", ""),
	compat("cerebras", "Cerebras", "https://api.cerebras.ai/v1", "csk-"),
	compat("deepinfra", "DeepInfra", "https://api.deepinfra.com/v1/openai", ""),
	compat("hyperbolic", "Hyperbolic", "https://api.hyperbolic.xyz/v1", ""),
	compat("morpheus", "Morpheus", "https://api.mor.org/api/v1", ""),
	compat("fireworks", "Fireworks", "https://api.fireworks.ai/inference/v1", "fw_"),
	compat("together", "Together", "https://api.together.xyz/v1", ""),
	{ID: "tavily", Name: "Tavily (Web Search)", Kind: KindWebSearch, Format: FormatAPIKey, Wire: WireTavily, BaseURL: "https://api.tavily.com", KeyHint: "tvly-"},
	{ID: "exa", Name: "Exa (Web Search)", Kind: KindWebSearch, Format: FormatAPIKey, Wire: WireExa, BaseURL: "https://api.exa.ai"},
	{ID: "kagi", Name: "Kagi (Web Search)", Kind: KindWebSearch, Format: FormatAPIKey, Wire: WireKagi, BaseURL: "https://kagi.com/api"},
	{ID: "perplexity", Name: "Perplexity (Web Search)", Kind: KindWebSearch, Format: FormatAPIKey, Wire: WirePerplexity, BaseURL: "https://api.perplexity.ai", KeyHint: "pplx-"},
}

var catalogByID = func() map[string]*Provider {
	m := make(map[string]*Provider, len(Catalog))
	for i := range Catalog {
		m[Catalog[i].ID] = &Catalog[i]
	}
	return m
}()

// LookupProvider returns the catalog entry for id.
func LookupProvider(id string) (*Provider, bool) {
	p, ok := catalogByID[id]
	return p, ok
}

// FindProvider looks up a provider id as a client sends it: in any case
// ("OpenAI"), with spaces around, as the chat headers accept it. An id
// that is not in the catalog is a 400 naming field and listing the valid
// ids; the id itself is quoted only when it looks like one (anything else
// might be a key pasted into the wrong field).
func FindProvider(field, id string) (*Provider, error) {
	norm := strings.ToLower(strings.TrimSpace(id))
	if p, ok := LookupProvider(norm); ok {
		return p, nil
	}
	if norm == "" {
		return nil, FieldError(field, "%s is required", field)
	}
	ids := make([]string, len(Catalog))
	for i := range Catalog {
		ids[i] = Catalog[i].ID
	}
	what := "unknown provider"
	if safeID(norm) == norm {
		what += " \"" + norm + "\""
	}
	return nil, FieldError(field, "%s; %s is one of: %s", what, field, strings.Join(ids, ", "))
}

// BaseURLEnv is the environment variable that overrides p's base URL:
// OWNKEY_<ID>_BASE_URL with the id upper-cased and '-' turned into '_'.
func (p *Provider) BaseURLEnv() string {
	return "OWNKEY_" + strings.ToUpper(strings.ReplaceAll(p.ID, "-", "_")) + "_BASE_URL"
}

// BaseURLs maps provider id to the operator's base URL override.
type BaseURLs map[string]string

// BaseURLsFromEnv reads every OWNKEY_<ID>_BASE_URL that is set.
func BaseURLsFromEnv(getenv func(string) string) BaseURLs {
	if getenv == nil {
		getenv = os.Getenv
	}
	m := BaseURLs{}
	for i := range Catalog {
		if v := strings.TrimRight(strings.TrimSpace(getenv(Catalog[i].BaseURLEnv())), "/"); v != "" {
			m[Catalog[i].ID] = v
		}
	}
	return m
}

// For returns the base URL to use for p: the operator's override if any,
// else the catalog default (empty for providers whose endpoint comes from the
// credential). Overrides are trusted operator configuration.
func (b BaseURLs) For(p *Provider) (url string, overridden bool) {
	if v, ok := b[p.ID]; ok {
		return v, true
	}
	return p.BaseURL, false
}
