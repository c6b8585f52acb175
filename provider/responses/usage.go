package responses

import (
	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// usageOf reads a Responses usage object, whose counts already mean what
// OpenAI's chat usage means: input_tokens is the whole prompt, of which
// input_tokens_details.cached_tokens were read from the cache;
// output_tokens includes the reasoning tokens
// (output_tokens_details.reasoning_tokens). Counts that are missing, not
// numbers or negative count as zero; all-zero usage is reported as none,
// as the provider gave nothing usable.
func usageOf(u gjson.Result) ownkey.Usage {
	if !u.IsObject() {
		return ownkey.Usage{}
	}
	n := func(path string) int64 {
		if v := u.Get(path); v.Type == gjson.Number {
			return max(v.Int(), 0)
		}
		return 0
	}
	return provider.Reported(ownkey.Usage{
		PromptTokens:     n("input_tokens"),
		CompletionTokens: n("output_tokens"),
		CachedTokens:     n("input_tokens_details.cached_tokens"),
		ReasoningTokens:  n("output_tokens_details.reasoning_tokens"),
	})
}
