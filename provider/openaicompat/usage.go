package openaicompat

import (
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
)

// ParseUsage reads an OpenAI-style usage object into ownkey.Usage, in
// OpenAI's meaning whatever the provider's dialect:
//
//   - cached tokens from prompt_tokens_details.cached_tokens, or DeepSeek's
//     prompt_cache_hit_tokens when that is absent or zero;
//   - cache writes from prompt_tokens_details.cache_write_tokens (OpenRouter);
//   - reasoning from completion_tokens_details.reasoning_tokens;
//   - providers that leave reasoning out of completion_tokens (xAI:
//     total_tokens = prompt + completion + reasoning) get it added back, so
//     that CompletionTokens always includes reasoning.
//
// Source is UsageFromProvider unless every count is zero (or raw is not a
// usage object), in which case the zero Usage is returned: the provider
// reported nothing usable.
func ParseUsage(raw []byte) ownkey.Usage {
	var u ownkey.Usage
	var total, cacheHit int64
	gjson.Parse(view(raw)).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "prompt_tokens":
			u.PromptTokens = count(v)
		case "completion_tokens":
			u.CompletionTokens = count(v)
		case "total_tokens":
			total = count(v)
		case "prompt_cache_hit_tokens":
			cacheHit = count(v)
		case "prompt_tokens_details":
			v.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "cached_tokens":
					u.CachedTokens = count(v)
				case "cache_write_tokens":
					u.CacheWriteTokens = count(v)
				}
				return true
			})
		case "completion_tokens_details":
			if r := v.Get("reasoning_tokens"); r.Exists() {
				u.ReasoningTokens = count(r)
			}
		}
		return true
	})
	if u.CachedTokens == 0 {
		u.CachedTokens = cacheHit
	}
	if u.ReasoningTokens > 0 && total == u.PromptTokens+u.CompletionTokens+u.ReasoningTokens {
		u.CompletionTokens += u.ReasoningTokens
	}
	if u.IsZero() {
		return ownkey.Usage{}
	}
	u.Source = ownkey.UsageFromProvider
	return u
}

// count reads a token count; anything but a non-negative number is 0.
func count(v gjson.Result) int64 {
	if v.Type != gjson.Number {
		return 0
	}
	return max(v.Int(), 0)
}

// view is b as a string without a copy, for gjson, which otherwise copies
// its input. Results from it point into b and must not outlive it.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
