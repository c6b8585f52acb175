package bedrock

import (
	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// tokenUsage is Bedrock's TokenUsage. inputTokens counts only the prompt
// tokens that were neither read from nor written to the cache (as
// Anthropic's input_tokens, and as vercel/ai reads it).
type tokenUsage struct {
	input, output, cacheRead, cacheWrite int64
	// The current names of the cache counts win over the legacy
	// duplicates (cacheReadInputTokenCount, cacheWriteInputTokenCount)
	// that older answers carry beside or instead of them.
	haveRead, haveWrite bool
}

// update takes the counts raw (a usage object) carries; absent or
// non-numeric fields keep theirs, negative ones count as zero.
func (u *tokenUsage) update(raw gjson.Result) {
	raw.ForEach(func(k, v gjson.Result) bool {
		if v.Type != gjson.Number {
			return true
		}
		n := max(v.Int(), 0)
		switch k.Str {
		case "inputTokens":
			u.input = n
		case "outputTokens":
			u.output = n
		case "cacheReadInputTokens":
			u.cacheRead, u.haveRead = n, true
		case "cacheWriteInputTokens":
			u.cacheWrite, u.haveWrite = n, true
		case "cacheReadInputTokenCount":
			if !u.haveRead {
				u.cacheRead = n
			}
		case "cacheWriteInputTokenCount":
			if !u.haveWrite {
				u.cacheWrite = n
			}
		}
		return true
	})
}

// toUsage converts to OpenAI's meaning: prompt = input + cache read + cache
// write, cached = cache read, cache write apart (it is priced apart),
// completion = output (reasoning included; Bedrock does not count it
// apart). All-zero usage is reported as none: the provider gave nothing
// usable.
func (u tokenUsage) toUsage() ownkey.Usage {
	return provider.Reported(ownkey.Usage{
		PromptTokens:     u.input + u.cacheRead + u.cacheWrite,
		CompletionTokens: u.output,
		CachedTokens:     u.cacheRead,
		CacheWriteTokens: u.cacheWrite,
	})
}
