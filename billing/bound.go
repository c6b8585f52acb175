package billing

import "github.com/ownkey/ownkey"

// DefaultMaxOutputTokens is the answer's length the reservation assumes
// when the client set no max_tokens (nor max_completion_tokens): 32,768
// tokens, above what ownkey itself asks of a provider that needs a limit
// (Anthropic: 4,096 plus a thinking budget of at most 24,576). A longer
// answer is still charged in full when it is settled, so the balance can go
// below zero by the difference; a client that sets max_tokens is held to
// exactly that.
const DefaultMaxOutputTokens = 32_768

// PromptOverheadTokens is added to the prompt's bound for what a provider
// puts around the messages that the body's bytes do not show: the chat
// template's tokens per message, and the system prompt some providers add
// when tools are given (Anthropic's is about 350 tokens).
const PromptOverheadTokens = 1024

// Bound is the most tokens a request can be billed for, as the reservation
// prices them:
//
//   - prompt: one token per byte of the request body, plus
//     PromptOverheadTokens. No tokenizer makes a token of less than one byte
//     of text, and the body holds the text and more (JSON syntax, names,
//     escapes), so this is never short, for any model. An image given by URL
//     is the exception: the provider bills tokens for it that the URL's
//     bytes do not bound (see docs/ARCHITECTURE.md, "Billing");
//   - completion: maxTokens (the client's max_tokens or
//     max_completion_tokens, reasoning included), else
//     DefaultMaxOutputTokens.
//
// Each token is counted as the dearest kind it could be billed as at
// prices p: prompt tokens as cache writes when those cost more than input,
// completion tokens as reasoning when that costs more than output. Priced
// with Quote.Charge, it is the amount to hold.
func Bound(bodyBytes int, maxTokens int64, p ownkey.Prices) ownkey.Usage {
	u := ownkey.Usage{
		PromptTokens:     int64(bodyBytes) + PromptOverheadTokens,
		CompletionTokens: DefaultMaxOutputTokens,
		Source:           ownkey.UsageEstimated,
	}
	if maxTokens > 0 {
		u.CompletionTokens = maxTokens
	}
	if p.CacheWrite.Known && p.CacheWrite.PerMTok > p.Input.PerMTok {
		u.CacheWriteTokens = u.PromptTokens
	}
	if p.Reasoning.Known && p.Reasoning.PerMTok > p.Output.PerMTok {
		u.ReasoningTokens = u.CompletionTokens
	}
	return u
}
