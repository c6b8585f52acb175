package ownkey

// The built-in prices: the providers' public list prices of the built-in
// models (Models), written by hand in US dollars per million tokens, as the
// providers publish them, per provider with the date they were taken and
// where. They are a starting point: `ownkey prices import` (LiteLLM's or
// OpenRouter's table) and the operator's own prices take precedence over
// them (package prices).
//
// Conventions:
//   - A kind a provider does not price apart is left empty: unknown, so
//     billing charges it at the input (cache) or output (reasoning) rate.
//     Unknown is not free: a model whose input or output price is unknown
//     is billed at the documented fallback and flagged.
//   - "0" is a price of zero: the model is free at that provider, and the
//     markup is taken on the lowest paid rate of the same model elsewhere.
//   - Tiered prices (Gemini 2.5 Pro and others above 200K prompt tokens,
//     batch, flex, priority) are not modelled: the standard tier is given.
//   - A provider without a public per-token list price that could be
//     checked (chutes, siliconflow, meganova, akash, morpheus, and single
//     models noted below) has its models listed without prices: requests
//     to them are billed at the fallback and flagged until the operator
//     imports or sets a price.
//
// Each provider's list was checked against LiteLLM's price table as
// mirrored on 2026-07-24 (../shared/data), where LiteLLM lists the model;
// where they disagree the provider's own list price is used.

// builtinPrice is one model's prices, in USD per million tokens, as decimal
// text: input, cached input (cache read), cache write, output, reasoning.
type builtinPrice struct {
	model                                             string
	input, cachedInput, cacheWrite, output, reasoning string
}

// builtinPriceList is one provider's built-in prices.
type builtinPriceList struct {
	provider string
	taken    string // YYYY-MM-DD: the date the prices were taken
	source   string
	prices   []builtinPrice
}

// openAIPrices are OpenAI's list prices, which Azure's global deployments
// match, model for model.
var openAIPrices = map[string]builtinPrice{
	"gpt-4o":       {"gpt-4o", "2.50", "1.25", "", "10.00", ""},
	"gpt-4o-mini":  {"gpt-4o-mini", "0.15", "0.075", "", "0.60", ""},
	"gpt-4.1":      {"gpt-4.1", "2.00", "0.50", "", "8.00", ""},
	"gpt-4.1-mini": {"gpt-4.1-mini", "0.40", "0.10", "", "1.60", ""},
	"gpt-4.1-nano": {"gpt-4.1-nano", "0.10", "0.025", "", "0.40", ""},
	"gpt-5":        {"gpt-5", "1.25", "0.125", "", "10.00", ""},
	"gpt-5-mini":   {"gpt-5-mini", "0.25", "0.025", "", "2.00", ""},
	"gpt-5-nano":   {"gpt-5-nano", "0.05", "0.005", "", "0.40", ""},
	"o3":           {"o3", "2.00", "0.50", "", "8.00", ""},
	"o3-mini":      {"o3-mini", "1.10", "0.55", "", "4.40", ""},
	"o4-mini":      {"o4-mini", "1.10", "0.275", "", "4.40", ""},
}

func openAI(models ...string) []builtinPrice {
	out := make([]builtinPrice, len(models))
	for i, m := range models {
		out[i] = openAIPrices[m]
	}
	return out
}

// Anthropic's list prices: cache writes are the 5-minute writes (1.25×
// input), cache reads 0.1× input.
var (
	claudeOpus41  = builtinPrice{"claude-opus-4-1", "15.00", "1.50", "18.75", "75.00", ""}
	claudeOpus45  = builtinPrice{"claude-opus-4-5", "5.00", "0.50", "6.25", "25.00", ""}
	claudeSonnet  = builtinPrice{"claude-sonnet-4-5", "3.00", "0.30", "3.75", "15.00", ""}
	claudeHaiku45 = builtinPrice{"claude-haiku-4-5", "1.00", "0.10", "1.25", "5.00", ""}
)

// as is p under another model id (the same model at another provider).
func (p builtinPrice) as(model string) builtinPrice { p.model = model; return p }

var builtinPriceLists = []builtinPriceList{
	{"openai", "2026-07-24", "https://openai.com/api/pricing",
		// gpt-oss-120b is an open-weight model OpenAI does not sell by
		// the token: no price.
		openAI("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-5", "gpt-5-mini", "gpt-5-nano",
			"o3", "o3-mini", "o4-mini")},
	{"openai-responses", "2026-07-24", "https://openai.com/api/pricing",
		openAI("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-5", "gpt-5-mini", "o3", "o4-mini")},
	{"anthropic", "2026-07-24", "https://www.anthropic.com/pricing#api", []builtinPrice{
		claudeOpus41, claudeOpus45, claudeSonnet, claudeSonnet.as("claude-sonnet-4-0"), claudeHaiku45,
		claudeSonnet.as("claude-3-7-sonnet-latest"),
		{"claude-3-5-haiku-latest", "0.80", "0.08", "1.00", "4.00", ""},
	}},
	{"openrouter", "2026-07-24", "https://openrouter.ai/models (pass-through of the makers' list prices)", []builtinPrice{
		openAIPrices["gpt-4o"].as("openai/gpt-4o"), openAIPrices["gpt-4o-mini"].as("openai/gpt-4o-mini"),
		openAIPrices["gpt-5"].as("openai/gpt-5"),
		claudeSonnet.as("anthropic/claude-sonnet-4.5"), claudeOpus45.as("anthropic/claude-opus-4.5"),
		claudeHaiku45.as("anthropic/claude-haiku-4.5"),
		// Google's cache prices through OpenRouter differ from Google's
		// own: left unknown (billed at the input rate).
		{"google/gemini-2.5-pro", "1.25", "", "", "10.00", ""},
		{"google/gemini-2.5-flash", "0.30", "", "", "2.50", ""},
		{"deepseek/deepseek-chat-v3-0324:free", "0", "", "", "0", ""},
		{"meta-llama/llama-3.3-70b-instruct:free", "0", "", "", "0", ""},
	}},
	{"aws", "2026-07-24", "https://aws.amazon.com/bedrock/pricing (on-demand, us-east-1)", []builtinPrice{
		claudeSonnet.as("global.anthropic.claude-sonnet-4-5-20250929-v1:0"),
		{"us.anthropic.claude-sonnet-4-5-20250929-v1:0", "3.30", "0.33", "4.125", "16.50", ""},
		claudeHaiku45.as("global.anthropic.claude-haiku-4-5-20251001-v1:0"),
		{"us.anthropic.claude-haiku-4-5-20251001-v1:0", "1.10", "0.11", "1.375", "5.50", ""},
		claudeOpus45.as("global.anthropic.claude-opus-4-5-20251101-v1:0"),
		claudeSonnet.as("us.anthropic.claude-3-7-sonnet-20250219-v1:0"),
		{"amazon.nova-pro-v1:0", "0.80", "", "", "3.20", ""},
		{"amazon.nova-lite-v1:0", "0.06", "", "", "0.24", ""},
		{"amazon.nova-micro-v1:0", "0.035", "", "", "0.14", ""},
		{"us.meta.llama3-3-70b-instruct-v1:0", "0.72", "", "", "0.72", ""},
		{"openai.gpt-oss-120b-1:0", "0.15", "", "", "0.60", ""},
	}},
	{"azure", "2026-07-24", "https://azure.microsoft.com/pricing/details/cognitive-services/openai-service (global)", append(
		// Azure's gpt-4o-mini is a little dearer than OpenAI's.
		[]builtinPrice{{"gpt-4o-mini", "0.165", "0.075", "", "0.66", ""}},
		openAI("gpt-4o", "gpt-4.1", "gpt-4.1-mini", "gpt-5", "gpt-5-mini", "o3", "o4-mini")...)},
	{"azure-responses", "2026-07-24", "https://azure.microsoft.com/pricing/details/cognitive-services/openai-service (global)",
		openAI("gpt-4o", "gpt-4.1", "gpt-5", "gpt-5-mini", "o3", "o4-mini")},
	{"azure-anthropic-foundry", "2026-07-24", "https://azure.microsoft.com/pricing/details/ai-foundry-models/anthropic",
		[]builtinPrice{claudeOpus41, claudeOpus45, claudeSonnet, claudeHaiku45}},
	{"vercel", "2026-07-24", "https://vercel.com/ai-gateway/models (the upstream providers' list prices)", []builtinPrice{
		openAIPrices["gpt-4o"].as("openai/gpt-4o"), openAIPrices["gpt-4o-mini"].as("openai/gpt-4o-mini"),
		openAIPrices["gpt-5"].as("openai/gpt-5"),
		claudeSonnet.as("anthropic/claude-sonnet-4.5"), claudeSonnet.as("anthropic/claude-sonnet-4"),
		{"google/gemini-2.5-pro", "1.25", "", "", "10.00", ""},
		{"google/gemini-2.5-flash", "0.30", "", "", "2.50", ""},
		{"meta/llama-3.3-70b", "0.72", "", "", "0.72", ""},
		{"deepseek/deepseek-v3", "0.90", "", "", "0.90", ""},
	}},
	{"google", "2026-07-24", "https://ai.google.dev/gemini-api/docs/pricing (paid tier, prompts up to 200K tokens)", []builtinPrice{
		{"gemini-2.5-pro", "1.25", "0.125", "", "10.00", ""},
		{"gemini-2.5-flash", "0.30", "0.03", "", "2.50", ""},
		{"gemini-2.5-flash-lite", "0.10", "0.01", "", "0.40", ""},
		{"gemini-2.0-flash", "0.10", "0.025", "", "0.40", ""},
		{"gemini-3-pro-preview", "2.00", "0.20", "", "12.00", ""},
	}},
	{"groq", "2026-07-24", "https://groq.com/pricing", []builtinPrice{
		{"llama-3.3-70b-versatile", "0.59", "", "", "0.79", ""},
		{"llama-3.1-8b-instant", "0.05", "", "", "0.08", ""},
		{"openai/gpt-oss-120b", "0.15", "0.075", "", "0.60", ""},
		{"openai/gpt-oss-20b", "0.075", "0.0375", "", "0.30", ""},
		{"moonshotai/kimi-k2-instruct", "1.00", "", "", "3.00", ""},
		{"qwen/qwen3-32b", "0.29", "", "", "0.59", ""},
		{"meta-llama/llama-4-scout-17b-16e-instruct", "0.11", "", "", "0.34", ""},
	}},
	{"cerebras", "2026-07-24", "https://www.cerebras.ai/pricing", []builtinPrice{
		{"llama-3.3-70b", "0.85", "", "", "1.20", ""},
		{"llama3.1-8b", "0.10", "", "", "0.10", ""},
		{"gpt-oss-120b", "0.35", "", "", "0.75", ""},
		{"qwen-3-32b", "0.40", "", "", "0.80", ""},
		{"qwen-3-235b-a22b-instruct-2507", "0.60", "", "", "1.20", ""},
	}},
	{"sambanova", "2026-07-24", "https://cloud.sambanova.ai/plans/pricing", []builtinPrice{
		{"Meta-Llama-3.3-70B-Instruct", "0.60", "", "", "1.20", ""},
		{"Meta-Llama-3.1-8B-Instruct", "0.10", "", "", "0.20", ""},
		{"DeepSeek-V3.1", "3.00", "", "", "4.50", ""},
		{"DeepSeek-R1", "5.00", "", "", "7.00", ""},
		{"gpt-oss-120b", "0.22", "", "", "0.59", ""},
	}},
	{"zai", "2026-07-24", "https://docs.z.ai/guides/overview/pricing", []builtinPrice{
		{"glm-4.6", "0.60", "0.11", "", "2.20", ""},
		{"glm-4.7", "0.60", "0.11", "", "2.20", ""},
		{"glm-4.5", "0.60", "0.11", "", "2.20", ""},
		{"glm-4.5-air", "0.20", "0.03", "", "1.10", ""},
	}},
	// NVIDIA's hosted API (build.nvidia.com) is free for members of its
	// developer program, rate-limited; production use is licensed, not
	// sold by the token. So its models are free here, and billed on the
	// lowest paid rate of the same model elsewhere.
	{"nvidia", "2026-07-24", "https://build.nvidia.com (free developer access)", []builtinPrice{
		{"meta/llama-3.3-70b-instruct", "0", "", "", "0", ""},
		{"nvidia/llama-3.1-nemotron-70b-instruct", "0", "", "", "0", ""},
		{"deepseek-ai/deepseek-r1", "0", "", "", "0", ""},
	}},
	{"deepinfra", "2026-07-24", "https://deepinfra.com/pricing", []builtinPrice{
		{"meta-llama/Llama-3.3-70B-Instruct", "0.23", "", "", "0.40", ""},
		{"deepseek-ai/DeepSeek-V3", "0.38", "", "", "0.89", ""},
		{"Qwen/Qwen3-32B", "0.10", "", "", "0.28", ""},
	}},
	{"together", "2026-07-24", "https://www.together.ai/pricing", []builtinPrice{
		{"meta-llama/Llama-3.3-70B-Instruct-Turbo", "0.88", "", "", "0.88", ""},
		{"deepseek-ai/DeepSeek-V3", "1.25", "", "", "1.25", ""},
		{"Qwen/Qwen3-235B-A22B-Instruct-2507-tput", "0.20", "", "", "0.60", ""},
	}},
	{"fireworks", "2026-07-24", "https://fireworks.ai/pricing", []builtinPrice{
		{"accounts/fireworks/models/llama-v3p3-70b-instruct", "0.90", "", "", "0.90", ""},
		{"accounts/fireworks/models/gpt-oss-120b", "0.15", "0.015", "", "0.60", ""},
		{"accounts/fireworks/models/deepseek-v3", "0.90", "", "", "0.90", ""},
	}},
	{"hyperbolic", "2026-07-24", "https://hyperbolic.ai/pricing", []builtinPrice{
		{"meta-llama/Meta-Llama-3.1-70B-Instruct", "0.12", "", "", "0.30", ""},
		{"deepseek-ai/DeepSeek-V3", "0.20", "", "", "0.20", ""},
	}},
	{"novita", "2026-07-24", "https://novita.ai/pricing", []builtinPrice{
		{"deepseek/deepseek-v3-0324", "0.27", "0.135", "", "1.12", ""},
		{"meta-llama/llama-3.3-70b-instruct", "0.135", "", "", "0.40", ""},
	}},
	// GLM-4.6 at GMI Cloud: no list price found; unknown.
	{"gmicloud", "2026-07-24", "https://www.gmicloud.ai/pricing", []builtinPrice{
		{"deepseek-ai/DeepSeek-V3-0324", "0.28", "", "", "0.88", ""},
	}},
}

// builtinPrices maps provider + "\x00" + model to its parsed prices.
func builtinPrices() map[string]Prices {
	out := map[string]Prices{}
	for _, l := range builtinPriceLists {
		for _, p := range l.prices {
			out[l.provider+"\x00"+p.model] = Prices{
				Input: usdPerMTok(p.input), CachedInput: usdPerMTok(p.cachedInput), CacheWrite: usdPerMTok(p.cacheWrite),
				Output: usdPerMTok(p.output), Reasoning: usdPerMTok(p.reasoning),
			}
		}
	}
	return out
}

// usdPerMTok parses a built-in price; "" is unknown. A typo in the table
// stops the program at start (and the tests), never bills wrong.
func usdPerMTok(s string) Price {
	if s == "" {
		return Price{}
	}
	n, inexact, err := ParseDecimal(s, 9)
	if err != nil || inexact || n < 0 {
		panic("ownkey: built-in price " + s + " is not a non-negative USD amount with at most 9 decimals")
	}
	return PriceOf(NanoUSD(n))
}

// BuiltinPriceSource tells when and where provider's built-in prices were
// taken, for the operator (`ownkey prices list`); ok is false for a
// provider with no built-in prices.
func BuiltinPriceSource(provider string) (taken, source string, ok bool) {
	for _, l := range builtinPriceLists {
		if l.provider == provider {
			return l.taken, l.source, true
		}
	}
	return "", "", false
}
