package openaicompat

import (
	"testing"

	"github.com/ownkey/ownkey"
)

func TestParseUsage(t *testing.T) {
	p := ownkey.UsageFromProvider
	cases := []struct {
		name string
		raw  string
		want ownkey.Usage
	}{
		{"openai", `{"prompt_tokens":16,"completion_tokens":300,"total_tokens":316,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}}`,
			ownkey.Usage{PromptTokens: 16, CompletionTokens: 300, Source: p}},
		{"openai reasoning (included in completion)", `{"prompt_tokens":10,"completion_tokens":500,"total_tokens":510,"prompt_tokens_details":{"cached_tokens":8},"completion_tokens_details":{"reasoning_tokens":448}}`,
			ownkey.Usage{PromptTokens: 10, CompletionTokens: 500, CachedTokens: 8, ReasoningTokens: 448, Source: p}},
		{"xai reasoning excluded from completion", `{"prompt_tokens":12,"completion_tokens":2,"total_tokens":354,"prompt_tokens_details":{"text_tokens":12,"audio_tokens":0,"image_tokens":0,"cached_tokens":11},"completion_tokens_details":{"reasoning_tokens":340,"audio_tokens":0},"num_sources_used":0,"cost_in_usd_ticks":1721250}`,
			ownkey.Usage{PromptTokens: 12, CompletionTokens: 342, CachedTokens: 11, ReasoningTokens: 340, Source: p}},
		{"deepseek cache hit", `{"prompt_tokens":13,"completion_tokens":400,"total_tokens":413,"prompt_tokens_details":{"cached_tokens":0},"prompt_cache_hit_tokens":5,"prompt_cache_miss_tokens":8}`,
			ownkey.Usage{PromptTokens: 13, CompletionTokens: 400, CachedTokens: 5, Source: p}},
		{"deepseek without details", `{"prompt_tokens":13,"completion_tokens":4,"total_tokens":17,"prompt_cache_hit_tokens":6,"prompt_cache_miss_tokens":7}`,
			ownkey.Usage{PromptTokens: 13, CompletionTokens: 4, CachedTokens: 6, Source: p}},
		{"openrouter cache write", `{"prompt_tokens":1000,"completion_tokens":20,"total_tokens":1020,"cost":0.01,"prompt_tokens_details":{"cached_tokens":200,"cache_write_tokens":700},"completion_tokens_details":{"reasoning_tokens":0}}`,
			ownkey.Usage{PromptTokens: 1000, CompletionTokens: 20, CachedTokens: 200, CacheWriteTokens: 700, Source: p}},
		{"groq timing fields", `{"queue_time":0.04,"prompt_tokens":45,"prompt_time":0.003,"completion_tokens":662,"completion_time":2.6,"total_tokens":707,"total_time":2.6}`,
			ownkey.Usage{PromptTokens: 45, CompletionTokens: 662, Source: p}},
		{"no total", `{"prompt_tokens":5,"completion_tokens":7,"completion_tokens_details":{"reasoning_tokens":3}}`,
			ownkey.Usage{PromptTokens: 5, CompletionTokens: 7, ReasoningTokens: 3, Source: p}},
		{"all zero", `{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}`, ownkey.Usage{}},
		{"empty object", `{}`, ownkey.Usage{}},
		{"null", `null`, ownkey.Usage{}},
		{"not json", `garbage`, ownkey.Usage{}},
		{"strings and negatives ignored", `{"prompt_tokens":"12","completion_tokens":-4}`, ownkey.Usage{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseUsage([]byte(tc.raw)); got != tc.want {
				t.Fatalf("ParseUsage = %+v, want %+v", got, tc.want)
			}
		})
	}
}
