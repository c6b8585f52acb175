package ownkey

import (
	"strings"
	"testing"
)

func TestRouteModel(t *testing.T) {
	has := func(ids ...string) func(string) bool {
		return func(id string) bool {
			for _, x := range ids {
				if x == id {
					return true
				}
			}
			return false
		}
	}
	cases := []struct {
		model, forced string
		keys          []string
		provider      string
		upstream      string
		how           string
		errReason     string
	}{
		{"gpt-4o-mini", "", []string{"openai", "openrouter"}, "openai", "gpt-4o-mini", "maker", ""},
		{"gpt-4o-mini", "groq", []string{"openai", "groq"}, "groq", "gpt-4o-mini", "forced", ""},
		{"gpt-4o-mini", "groq", []string{"openai"}, "", "", "", "byok_no_key_for_provider"},
		{"gpt-4o-mini", "tavily", []string{"tavily"}, "", "", "", "byok_unknown_provider"},
		{"gpt-4o-mini", "nope", nil, "", "", "", "byok_unknown_provider"},
		{"groq/llama-3.3-70b-versatile", "", []string{"groq", "openai"}, "groq", "llama-3.3-70b-versatile", "prefix", ""},
		{"openai/gpt-oss-120b", "", []string{"groq"}, "groq", "openai/gpt-oss-120b", "catalog", ""},
		{"openai/gpt-oss-120b", "", []string{"openai", "groq"}, "openai", "gpt-oss-120b", "prefix", ""},
		{"o3-mini", "", []string{"openai"}, "openai", "o3-mini", "maker", ""},
		{"o3x", "", []string{"openai"}, "", "", "", "byok_no_provider_for_model"},
		{"claude-sonnet-4-5", "", []string{"anthropic"}, "anthropic", "claude-sonnet-4-5", "maker", ""},
		{"gemini-2.5-flash", "", []string{"google"}, "google", "gemini-2.5-flash", "maker", ""},
		{"models/gemini-2.5-flash", "", []string{"openrouter", "google"}, "google", "models/gemini-2.5-flash", "maker", ""},
		{"models/gemini-2.5-flash", "", []string{"openrouter"}, "openrouter", "models/gemini-2.5-flash", "aggregator", ""},
		{"models/gpt-4o", "", []string{"openai"}, "", "", "", "byok_no_provider_for_model"},
		{"glm-4.6", "", []string{"chutes", "zai"}, "zai", "glm-4.6", "maker", ""},
		{"llama-3.3-70b", "", []string{"cerebras", "groq"}, "cerebras", "llama-3.3-70b", "catalog", ""},
		{"deepseek-ai/DeepSeek-V3", "", []string{"together", "deepinfra"}, "deepinfra", "deepseek-ai/DeepSeek-V3", "catalog", ""},
		// Listed by both aggregators: the catalog rule, in catalog order.
		{"anthropic/claude-sonnet-4.5", "", []string{"vercel", "openrouter"}, "openrouter", "anthropic/claude-sonnet-4.5", "catalog", ""},
		{"anthropic/claude-sonnet-4.5", "", []string{"vercel"}, "vercel", "anthropic/claude-sonnet-4.5", "catalog", ""},
		{"mistralai/mistral-large-2411", "", []string{"vercel", "openrouter"}, "openrouter", "mistralai/mistral-large-2411", "aggregator", ""},
		{"mistral-large", "", []string{"openrouter"}, "", "", "", "byok_no_provider_for_model"},
		// A provider prefix without its key, that nothing else serves: the
		// missing key is the prefix's, as for a forced provider.
		{"groq/llama-3.3-70b-versatile", "", []string{"openai"}, "", "", "", "byok_no_key_for_provider"},
		{"groq/llama-3.3-70b-versatile", "", nil, "", "", "", "byok_no_key_for_provider"},
		// … but an aggregator that serves the id still does.
		{"openai/gpt-4o-mini", "", []string{"openrouter"}, "openrouter", "openai/gpt-4o-mini", "catalog", ""},
	}
	for _, c := range cases {
		r, err := RouteModel(c.model, c.forced, has(c.keys...))
		if c.errReason != "" {
			e, ok := err.(*Error)
			if !ok || e.Reason != c.errReason || e.Code != EINVALID {
				t.Errorf("%s/%s: err %v, want %s", c.model, c.forced, err, c.errReason)
			}
			continue
		}
		if err != nil || r.Provider.ID != c.provider || r.Model != c.upstream || r.How != c.how {
			t.Errorf("%s/%s: got %+v %v, want %s %s %s", c.model, c.forced, r, err, c.provider, c.upstream, c.how)
		}
	}
	// A prefix's missing key is named like a forced provider's, the model
	// being the field at fault.
	_, err := RouteModel("groq/llama-3.3-70b-versatile", "", has("openai"))
	if e := err.(*Error); e.Param != "model" || !strings.HasPrefix(e.Message, "no Groq key is stored for this account.") {
		t.Fatalf("prefix without a key: %s (param %s)", e.Message, e.Param)
	}
	_, err = RouteModel("gpt-4o", "groq", has("openai"))
	if e := err.(*Error); e.Param != "x-byok-provider" || !strings.HasPrefix(e.Message, "no Groq key is stored for this account.") {
		t.Fatalf("forced without a key: %s (param %s)", e.Message, e.Param)
	}
	for _, c := range []struct {
		choice KeyChoice
		reason string
	}{{KeyAuto, "no_key_for_provider"}, {KeyPlatform, "platform_no_key_for_provider"}, {KeyOwn, "byok_no_key_for_provider"}} {
		_, _, err := RouteKeys("groq/llama-3.3-70b-versatile", "", c.choice, has("openai"), has("anthropic"))
		if e, ok := err.(*Error); !ok || e.Reason != c.reason || e.Param != "model" || !strings.Contains(e.Message, "Groq") {
			t.Fatalf("RouteKeys %v: %v", c.choice, err)
		}
	}
	// The error names the model and what was tried.
	_, err = RouteModel("claude-opus-4-5", "", has("groq"))
	if e := err.(*Error); e.Param != "model" || !strings.Contains(e.Message, "claude-opus-4-5") || !strings.Contains(e.Message, "anthropic") || !strings.Contains(e.Message, "x-byok-provider") {
		t.Fatalf("message: %s", e.Message)
	}
}
