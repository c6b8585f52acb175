package anthropic

import (
	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// messageUsage is Anthropic's usage object. input_tokens counts only the
// prompt tokens that were neither read from nor written to the cache.
type messageUsage struct {
	InputTokens              int64 `json:"input_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
}

// update overrides the counts that raw (a usage object of a stream event)
// carries. message_delta's counts are cumulative, so the latest value of
// each field is the right one; absent or null fields keep theirs.
func (u *messageUsage) update(raw gjson.Result) {
	raw.ForEach(func(k, v gjson.Result) bool {
		if v.Type != gjson.Number {
			return true
		}
		n := max(v.Int(), 0)
		switch k.Str {
		case "input_tokens":
			u.InputTokens = n
		case "cache_creation_input_tokens":
			u.CacheCreationInputTokens = n
		case "cache_read_input_tokens":
			u.CacheReadInputTokens = n
		case "output_tokens":
			u.OutputTokens = n
		}
		return true
	})
}

// toUsage converts to OpenAI's meaning (see the package comment). All-zero
// usage is reported as none: the provider gave nothing usable.
func (u messageUsage) toUsage() ownkey.Usage {
	return provider.Reported(ownkey.Usage{
		PromptTokens:     u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens,
		CompletionTokens: u.OutputTokens,
		CachedTokens:     u.CacheReadInputTokens,
		CacheWriteTokens: u.CacheCreationInputTokens,
	})
}
