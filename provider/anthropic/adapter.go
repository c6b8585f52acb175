// Package anthropic is the chat adapter for providers that speak the
// Anthropic Messages API (wire family ownkey.WireAnthropic): Anthropic itself
// and Azure AI Foundry's Claude endpoint, which differ only in address and
// key header (both handled by Family, in family.go).
// Clients speak OpenAI Chat Completions (read through provider/openaichat),
// so the adapter translates the request into a Messages request, and the
// answer, a message or its event stream, into the calls of the client's
// ownkey.ChatSink, whose writer (dialect/openai for OpenAI clients) makes a
// chat.completion object or chat.completion.chunk events of them: an OpenAI
// SDK must not be able to tell that Claude answered. Sending, error answers
// and the stream loop are provider.Core's.
//
// # Request
//
// system and developer messages become the system prompt, wherever they
// stand in the conversation. Consecutive messages of one role are merged into
// one turn, as Anthropic requires alternating turns. User parts: text;
// image_url (a data: URL becomes a base64 source, an http(s) URL a url
// source); file with a PDF data: URL becomes a document. Assistant
// tool_calls become tool_use blocks (their arguments must be a JSON object;
// "" counts as {}); tool messages become tool_result blocks of a user turn,
// placed before any text of that turn. cache_control on a text or image part
// is passed through, so prompt caching works as on OpenRouter. Messages with
// no content at all are left out.
//
// max_tokens is required by Anthropic: it is max_completion_tokens, else
// max_tokens, else Adapter.DefaultMaxTokens (DefaultMaxTokens when zero),
// plus the thinking budget when thinking is on and the client set no limit.
//
// temperature: Anthropic accepts 0–1 where OpenAI accepts 0–2. A value above
// 1 is rejected (400, param temperature) rather than halved or clamped, since
// either would silently change what a client tuned. top_p passes as is;
// top_k, not an OpenAI field but one many clients send, passes too. stop
// becomes stop_sequences.
//
// tools become Anthropic tools (parameters → input_schema; strict is
// dropped). tool_choice: auto → auto, none → none, required → any, a named
// function → tool. parallel_tool_calls:false sets disable_parallel_tool_use.
//
// reasoning_effort turns on extended thinking with this budget_tokens:
//
//	none           thinking off
//	minimal        1024 (Anthropic's minimum)
//	low            2048
//	medium         8192
//	high           16384
//	xhigh, max     24576
//
// When the client sets a token limit, the budget is at most half of it (but
// never under 1024), so that the answer keeps room; Anthropic needs the
// budget below max_tokens, so a limit of 1024 or less with reasoning_effort
// is rejected. Thinking is left off when the last assistant message holds
// tool calls: Anthropic then demands that turn's signed thinking block, which
// an OpenAI client cannot send back. Thinking comes back as
// reasoning_content (on the message, and in deltas), as DeepSeek and
// OpenRouter send it; signatures and redacted thinking are not relayed.
//
// response_format json_schema is served with a forced tool, the way that
// works with every Claude model: a tool named "json" whose input_schema is
// the schema (its root must be an object), and tool_choice that tool. Its
// input comes back as the message content, streamed as content deltas, and
// finish_reason is stop; text blocks (Anthropic sends none before a forced
// tool call) are not relayed, so that the content is the JSON alone. json_object does the same with the schema
// {"type":"object"}. When the client also passes tools, the json tool joins
// them and tool_choice becomes any (a tool call or the JSON answer); a
// required or named tool_choice is kept and the json tool left out, as that
// turn's answer is a tool call anyway. A client tool named "json", or
// reasoning_effort together with a JSON response_format (Anthropic forbids
// forced tool use with thinking), is rejected.
//
// Unsupported fields are rejected with a 400 naming the field when ignoring
// them would give the client something other than what it asked for: n > 1,
// logprobs, top_logprobs, a non-empty logit_bias, audio output (audio,
// modalities with "audio"), input_audio parts, file parts other than PDF
// data, legacy functions/function_call, web_search_options, tools of a type
// other than function, tool_choice allowed_tools. These are ignored, as
// hints without an Anthropic equivalent whose absence does not change the
// shape of the answer: frequency_penalty, presence_penalty, seed, store,
// metadata, service_tier, prompt_cache_key, prompt_cache_retention,
// verbosity, prediction, message names, image detail, and any field OpenAI
// does not define. safety_identifier, else user, becomes metadata.user_id.
//
// # Response
//
// Text blocks are joined into content, tool_use blocks become tool_calls
// (the id kept, the input re-serialized as the arguments string), thinking
// becomes reasoning_content. stop_reason becomes finish_reason:
//
//	end_turn, stop_sequence, pause_turn             stop
//	max_tokens, model_context_window_exceeded       length
//	tool_use                                        tool_calls
//	refusal                                         content_filter
//
// A stream becomes a start, then content, reasoning and tool-call deltas
// (each tool_use block gets the next tool-call index; its id and name come
// with its opening, its input_json_delta fragments as arguments, and "{}"
// when a tool has no arguments), then the end with the finish reason and
// usage: for an OpenAI client a role chunk, the deltas, a finish chunk, the
// usage chunk when the client asked for it, and [DONE]. Text goes on as the
// JSON string Anthropic sent, never unescaped. Pings are dropped. A repeated
// message_start for the same message is ignored; one for another message, an
// error event, or a stream that ends before message_stop ends the stream
// with an OpenAI error event and no [DONE].
//
// Usage is converted to OpenAI's meaning: prompt_tokens = input_tokens +
// cache_creation_input_tokens + cache_read_input_tokens (Anthropic's
// input_tokens excludes both), cached_tokens = cache_read_input_tokens,
// cache_write_tokens = cache_creation_input_tokens, completion_tokens =
// output_tokens (thinking included). message_delta usage is cumulative and
// overrides message_start's, input tokens included.
//
// # Errors
//
// An error answer ({"type":"error","error":{"type","message"}}) becomes an
// EUPSTREAM error with the provider's status, its error type and its
// message, any echo of the key scrubbed, and its Retry-After. 529
// (overloaded_error) becomes 503 with type overloaded_error: 529 is not a
// standard status, and proxies and HTTP clients treat unknown 5xx codes
// inconsistently, while 503 is the one every client knows means "retry
// later".
package anthropic

import (
	"context"
	"net/http"
	"time"
	"unsafe"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider"
)

// DefaultMaxTokens is the max_tokens sent when neither the client nor
// Adapter.DefaultMaxTokens sets one. It is enough for a long answer and
// within every Claude model's output limit.
const DefaultMaxTokens = 4096

// statusOverloaded is Anthropic's own "overloaded" status.
const statusOverloaded = 529

// Adapter implements ownkey.ChatAdapter for every WireAnthropic provider.
type Adapter struct {
	// Clients carries the requests; nil uses egress defaults.
	Clients *egress.Clients
	// UserAgent is sent upstream; empty means "ownkey".
	UserAgent string
	// DefaultMaxTokens is max_tokens for requests that set none; zero
	// means DefaultMaxTokens.
	DefaultMaxTokens int64
	// StreamIdleTimeout ends a stream whose provider sends nothing for
	// this long (Anthropic's pings count); zero means
	// provider.DefaultStreamIdleTimeout, negative no limit.
	StreamIdleTimeout time.Duration
}

var _ ownkey.ChatAdapter = (*Adapter)(nil)

func (a *Adapter) defaultMaxTokens() int64 {
	if a.DefaultMaxTokens > 0 {
		return a.DefaultMaxTokens
	}
	return DefaultMaxTokens
}

// Chat translates req into POST {req.BaseURL}/v1/messages and the answer
// into sink. A request that cannot be translated is an EINVALID before
// anything is sent; the rest is provider.Core's (see Core.Chat).
func (a *Adapter) Chat(ctx context.Context, req *ownkey.ChatRequest, sink ownkey.ChatSink) (*ownkey.ChatResult, error) {
	res := &ownkey.ChatResult{}
	tr, err := translateRequest(req, a.defaultMaxTokens())
	if err != nil {
		return provider.Failed(res, "", err)
	}
	x := getExchange(req, res, tr)
	defer putExchange(x)
	core := provider.Core{Clients: a.Clients, UserAgent: a.UserAgent, StreamIdleTimeout: a.StreamIdleTimeout}
	return core.Chat(ctx, req, res, sink, x, "/v1/messages", tr.body)
}

// upstreamError builds the client's error from a provider's error answer
// (provider.UpstreamError: Anthropic's error shape is OpenAI's, and
// Foundry answers some errors in Azure's), with 529 as 503.
func upstreamError(req *ownkey.ChatRequest, status int, body []byte) *ownkey.Error {
	e := provider.UpstreamError(req, status, body)
	if status == statusOverloaded {
		e.Status = http.StatusServiceUnavailable
		if e.Type == "" {
			e.Type = "overloaded_error"
		}
	}
	return e
}

// finishReason maps Anthropic's stop_reason to OpenAI's finish_reason. An
// unknown or missing reason is "stop": the message did end.
func finishReason(stopReason string) string {
	switch stopReason {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	}
	return "stop"
}

// view is b as a string without a copy, for gjson. Results from it point into
// b, so none may be kept past the event: whatever outlives it is copied.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
