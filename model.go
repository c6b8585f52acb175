package ownkey

import "strings"

// ModelCatalog lists, per provider, the model ids it is known to serve under
// those exact ids. Auto-mapping uses it to find a provider the account holds
// a key for; /v1/models lists it. It is deliberately a short list of
// widely-used models: any model can still be reached by forcing a provider
// or by prefixing the model with a provider id. Billing will attach prices
// to the same table.
var ModelCatalog = map[string][]string{
	"openai": {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-5", "gpt-5-mini", "gpt-5-nano",
		"o3", "o3-mini", "o4-mini", "gpt-oss-120b"},
	"openai-responses": {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-5", "gpt-5-mini", "o3", "o4-mini"},
	"anthropic": {"claude-opus-4-1", "claude-opus-4-5", "claude-sonnet-4-5", "claude-sonnet-4-0", "claude-haiku-4-5",
		"claude-3-7-sonnet-latest", "claude-3-5-haiku-latest"},
	"google": {"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.0-flash", "gemini-3-pro-preview"},
	"groq": {"llama-3.3-70b-versatile", "llama-3.1-8b-instant", "openai/gpt-oss-120b", "openai/gpt-oss-20b",
		"moonshotai/kimi-k2-instruct", "qwen/qwen3-32b", "meta-llama/llama-4-scout-17b-16e-instruct"},
	"cerebras":    {"llama-3.3-70b", "llama3.1-8b", "gpt-oss-120b", "qwen-3-32b", "qwen-3-235b-a22b-instruct-2507"},
	"sambanova":   {"Meta-Llama-3.3-70B-Instruct", "Meta-Llama-3.1-8B-Instruct", "DeepSeek-V3.1", "DeepSeek-R1", "gpt-oss-120b"},
	"zai":         {"glm-4.6", "glm-4.7", "glm-4.5", "glm-4.5-air"},
	"nvidia":      {"meta/llama-3.3-70b-instruct", "nvidia/llama-3.1-nemotron-70b-instruct", "deepseek-ai/deepseek-r1"},
	"deepinfra":   {"meta-llama/Llama-3.3-70B-Instruct", "deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-32B"},
	"together":    {"meta-llama/Llama-3.3-70B-Instruct-Turbo", "deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-235B-A22B-Instruct-2507-tput"},
	"fireworks":   {"accounts/fireworks/models/llama-v3p3-70b-instruct", "accounts/fireworks/models/gpt-oss-120b", "accounts/fireworks/models/deepseek-v3"},
	"hyperbolic":  {"meta-llama/Meta-Llama-3.1-70B-Instruct", "deepseek-ai/DeepSeek-V3"},
	"siliconflow": {"deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-32B", "Pro/deepseek-ai/DeepSeek-R1"},
	"chutes":      {"deepseek-ai/DeepSeek-V3-0324", "Qwen/Qwen3-32B", "zai-org/GLM-4.6"},
	"novita":      {"deepseek/deepseek-v3-0324", "meta-llama/llama-3.3-70b-instruct"},
	"gmicloud":    {"deepseek-ai/DeepSeek-V3-0324", "zai-org/GLM-4.6"},
	"meganova":    {"Qwen/Qwen3-235B-A22B-Instruct-2507", "zai-org/GLM-4.7-Flash"},
	"akash":       {"meta-llama/Llama-3.3-70B-Instruct", "MiniMaxAI/MiniMax-M2.5"},
	"morpheus":    {"kimi-k2.5", "glm-5", "gpt-oss-120b"},
}

// ProvidersServing lists the providers whose catalog entry has model, in
// provider catalog order. Matching ignores case, as providers do.
func ProvidersServing(model string) []string {
	var out []string
	for _, p := range Catalog {
		for _, m := range ModelCatalog[p.ID] {
			if strings.EqualFold(m, model) {
				out = append(out, p.ID)
				break
			}
		}
	}
	return out
}
