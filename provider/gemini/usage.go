package gemini

import (
	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// usageMetadata is Gemini's usage object. promptTokenCount already counts
// the cached tokens (cachedContentTokenCount is a part of it);
// candidatesTokenCount does not count the thoughts (thoughtsTokenCount),
// which are billed as output all the same.
type usageMetadata struct {
	prompt, cached, candidates, thoughts, toolUse int64
}

// update takes the counts raw (a usageMetadata object) carries. A stream
// repeats the running totals on every chunk, so the latest value of each
// field is the right one; absent fields keep theirs.
func (u *usageMetadata) update(raw gjson.Result) {
	raw.ForEach(func(k, v gjson.Result) bool {
		if v.Type != gjson.Number {
			return true
		}
		n := max(v.Int(), 0)
		switch k.Str {
		case "promptTokenCount":
			u.prompt = n
		case "cachedContentTokenCount":
			u.cached = n
		case "candidatesTokenCount":
			u.candidates = n
		case "thoughtsTokenCount":
			u.thoughts = n
		case "toolUsePromptTokenCount":
			u.toolUse = n
		}
		return true
	})
}

// toUsage converts to OpenAI's meaning (see the package comment). All-zero
// usage is reported as none: the provider gave nothing usable.
func (u usageMetadata) toUsage() ownkey.Usage {
	return provider.Reported(ownkey.Usage{
		PromptTokens:     sat(u.prompt, u.toolUse),
		CachedTokens:     min(u.cached, u.prompt),
		CompletionTokens: sat(u.candidates, u.thoughts),
		ReasoningTokens:  u.thoughts,
	})
}

// sat adds two counts (never negative), saturating instead of wrapping: a
// hostile answer cannot make usage negative.
func sat(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return 1<<63 - 1
}
