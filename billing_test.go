package ownkey

import (
	"math"
	"testing"
)

// usd is dollars per million tokens as nano-USD, for readable tables.
func usd(dollarsPerMTok float64) Price { return PriceOf(NanoUSD(math.Round(dollarsPerMTok * 1e9))) }

// The golden cases are worked by hand from the protocol digest's token
// formulas (../shared/reference/provider-protocols.md): the figures in the
// comments are the arithmetic, not the code's output.
func TestQuoteChargeGolden(t *testing.T) {
	gpt4oMini := Prices{Input: usd(0.15), CachedInput: usd(0.075), Output: usd(0.60)}
	sonnet := Prices{Input: usd(3), CachedInput: usd(0.30), CacheWrite: usd(3.75), Output: usd(15)}
	o3 := Prices{Input: usd(2), CachedInput: usd(0.5), Output: usd(8), Reasoning: usd(8)}
	gpt5 := Prices{Input: usd(1.25), CachedInput: usd(0.125), Output: usd(10)}
	gpt5Reasoning := Prices{Input: usd(1.25), CachedInput: usd(0.125), Output: usd(10), Reasoning: usd(12)}
	sonnetUS := Prices{Input: usd(3.30), CachedInput: usd(0.33), CacheWrite: usd(4.125), Output: usd(16.50)}
	gemini3Pro := Prices{Input: usd(2), CachedInput: usd(0.20), Output: usd(12)}
	gemini25Flash := Prices{Input: usd(0.30), CachedInput: usd(0.03), Output: usd(2.50)}
	cases := []struct {
		name            string
		q               Quote
		u               Usage
		atCost, charged NanoUSD
	}{
		// OpenAI-compatible: prompt_tokens 1000 of which cached_tokens 400,
		// completion 200: 600×0.15 + 400×0.075 + 200×0.60 = 240 µ$ → 240000
		// n$; 5% = 12000 n$.
		{"openai cached", Quote{Basis: PriceCatalog, AtCost: gpt4oMini, MarkupBase: gpt4oMini},
			Usage{PromptTokens: 1000, CachedTokens: 400, CompletionTokens: 200, Source: UsageFromProvider}, 240_000, 12_000},
		// Anthropic: input_tokens 100, cache_creation 1000, cache_read 2000,
		// output 500 → prompt 3100 (OpenAI meaning): 100×3 + 2000×0.30 +
		// 1000×3.75 + 500×15 = 12150 µ$ → 12150000 n$; 5% = 607500 n$.
		{"anthropic cache write and read", Quote{Basis: PriceCatalog, AtCost: sonnet, MarkupBase: sonnet},
			Usage{PromptTokens: 3100, CachedTokens: 2000, CacheWriteTokens: 1000, CompletionTokens: 500, Source: UsageFromProvider}, 12_150_000, 607_500},
		// Bedrock Converse (Claude through a us. inference profile, 10%
		// above list): inputTokens 100, cacheWriteInputTokens 1000,
		// cacheReadInputTokens 2000, outputTokens 500 → prompt 3100
		// (inputTokens counts neither cache): 100×3.30 + 2000×0.33 +
		// 1000×4.125 + 500×16.50 = 13365 µ$ → 13365000 n$; 5% = 668250 n$.
		{"bedrock cache write and read", Quote{Basis: PriceCatalog, AtCost: sonnetUS, MarkupBase: sonnetUS},
			Usage{PromptTokens: 3100, CachedTokens: 2000, CacheWriteTokens: 1000, CompletionTokens: 500, Source: UsageFromProvider}, 13_365_000, 668_250},
		// Reasoning priced apart (at the output rate here): 300 of 1000
		// completion tokens are reasoning: 50×2 + 1000×8 = 8100 µ$.
		{"reasoning apart", Quote{Basis: PriceCatalog, AtCost: o3, MarkupBase: o3},
			Usage{PromptTokens: 50, CompletionTokens: 1000, ReasoningTokens: 300, Source: UsageFromProvider}, 8_100_000, 405_000},
		// OpenAI Responses (usage of response.completed): input_tokens
		// 1200 of which input_tokens_details.cached_tokens 1024,
		// output_tokens 340 of which output_tokens_details.reasoning_tokens
		// 256 → prompt 1200, cached 1024, completion 340, reasoning 256.
		// At gpt-5's prices, reasoning at the output rate: 176×1.25 +
		// 1024×0.125 + 340×10 = 220 + 128 + 3400 = 3748 µ$; 5% = 187.4 µ$.
		{"responses reasoning and cached", Quote{Basis: PriceCatalog, AtCost: gpt5, MarkupBase: gpt5},
			Usage{PromptTokens: 1200, CachedTokens: 1024, CompletionTokens: 340, ReasoningTokens: 256, Source: UsageFromProvider}, 3_748_000, 187_400},
		// The same usage with reasoning priced apart at $12/MTok: 176×1.25 +
		// 1024×0.125 + 84×10 + 256×12 = 220 + 128 + 840 + 3072 = 4260 µ$;
		// 5% = 213 µ$.
		{"responses reasoning priced apart", Quote{Basis: PriceCatalog, AtCost: gpt5Reasoning, MarkupBase: gpt5Reasoning},
			Usage{PromptTokens: 1200, CachedTokens: 1024, CompletionTokens: 340, ReasoningTokens: 256, Source: UsageFromProvider}, 4_260_000, 213_000},
		// Gemini thoughts: promptTokenCount 9, candidatesTokenCount 5,
		// thoughtsTokenCount 185 (vercel/ai's google-text recording) →
		// prompt 9, completion 5 + 185 = 190 (candidates excludes the
		// thoughts, billed as output), reasoning 185 not priced apart so at
		// the output rate: 9×2 + 190×12 = 2298 µ$; 5% = 114.9 µ$.
		{"gemini thoughts", Quote{Basis: PriceCatalog, AtCost: gemini3Pro, MarkupBase: gemini3Pro},
			Usage{PromptTokens: 9, CompletionTokens: 190, ReasoningTokens: 185, Source: UsageFromProvider}, 2_298_000, 114_900},
		// Gemini cached: promptTokenCount 10000 (already counting the
		// cached ones), cachedContentTokenCount 8000, candidates 500,
		// thoughts 1500 → prompt 10000, cached 8000, completion 2000:
		// 2000×0.30 + 8000×0.03 + 2000×2.50 = 5840 µ$; 5% = 292 µ$.
		{"gemini cached content and thoughts", Quote{Basis: PriceCatalog, AtCost: gemini25Flash, MarkupBase: gemini25Flash},
			Usage{PromptTokens: 10000, CachedTokens: 8000, CompletionTokens: 2000, ReasoningTokens: 1500, Source: UsageFromProvider}, 5_840_000, 292_000},
		// Cache kinds not priced apart fall back to the input rate.
		{"unpriced cache at input rate", Quote{Basis: PriceCatalog, AtCost: Prices{Input: usd(1), Output: usd(2)}, MarkupBase: Prices{Input: usd(1), Output: usd(2)}},
			Usage{PromptTokens: 10, CachedTokens: 5, CacheWriteTokens: 5, CompletionTokens: 1}, 12_000, 600},
		// A free model: nothing at cost, the markup on the paid rate.
		{"free model", Quote{Basis: PriceFreeModel, AtCost: Prices{Input: usd(0), Output: usd(0)}, MarkupBase: gpt4oMini},
			Usage{PromptTokens: 1000, CompletionTokens: 200, Source: UsageEstimated}, 0, 13_500},
		// Rounding: 1 token at 1 n$/MTok is 10⁻⁶ n$, rounded up to 1 n$;
		// 5% of 1 n$ rounds up to 1 n$.
		{"rounds up", Quote{AtCost: Prices{Input: PriceOf(1)}, MarkupBase: Prices{Input: PriceOf(1)}},
			Usage{PromptTokens: 1}, 1, 1},
		{"nothing used", Quote{AtCost: sonnet, MarkupBase: sonnet}, Usage{}, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.q.Charge(c.u, DefaultBYOKMarkup)
			if got.AtCost != c.atCost || got.Charged != c.charged {
				t.Fatalf("at cost %d charged %d, want %d and %d", got.AtCost, got.Charged, c.atCost, c.charged)
			}
			if got.Basis != c.q.Basis || got.Markup != DefaultBYOKMarkup || got.Estimated != (c.u.Source == UsageEstimated) {
				t.Fatalf("charge %+v does not carry the quote's basis, the rate and the estimate flag", got)
			}
		})
	}
}

func TestQuoteChargeDoesNotOverflow(t *testing.T) {
	// A billion tokens at $1000/MTok is $1M: 10¹⁵ n$, far beyond int64
	// in the intermediate product (10¹²·10⁹·10⁶ / 10⁶).
	p := Prices{Input: usd(1000), Output: usd(1000)}
	got := Quote{AtCost: p, MarkupBase: p}.Charge(Usage{PromptTokens: 1e9, CompletionTokens: 1e9}, DefaultBYOKMarkup)
	if got.AtCost != 2_000_000*1e9 || got.Charged != 100_000*1e9 {
		t.Fatalf("at cost %d charged %d", got.AtCost, got.Charged)
	}
	// Absurd counts saturate instead of wrapping negative.
	got = Quote{AtCost: p, MarkupBase: p}.Charge(Usage{PromptTokens: math.MaxInt64, CompletionTokens: math.MaxInt64}, DefaultBYOKMarkup)
	if got.AtCost <= 0 || got.Charged <= 0 {
		t.Fatalf("saturated amounts went negative: %+v", got)
	}
}
