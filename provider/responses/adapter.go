// Package responses is the chat adapter for providers that speak OpenAI's
// Responses API (POST {base}/responses): the openai-responses wire family
// (ownkey.WireOpenAIResponses, Family in family.go, a bearer key) and, with
// another address and key header, Azure OpenAI's Responses API
// (ownkey.WireAzureResponses, in provider/azure, which configures an
// Adapter with its own Path).
// Clients speak OpenAI Chat Completions (read through provider/openaichat),
// so the adapter translates the request into a Responses request, and the
// answer, a response object or its event stream, into the calls of the
// client's ownkey.ChatSink, whose writer (dialect/openai for OpenAI
// clients) makes a chat.completion object or chat.completion.chunk events
// of them. Sending, error answers and the stream loop are provider.Core's.
//
// # Request
//
// store is always false: the API stores responses by default, and a
// gateway must not leave its users' conversations stored on their
// accounts by accident (a stored response would be of no use anyway:
// ownkey offers no previous_response_id). The client's own store, which
// in Chat Completions asks for distillation and evals, is ignored.
//
// Messages become input items, in order. system and developer messages
// stay input messages of their role where they stand, rather than being
// moved into instructions, so that their order and role survive (with
// store off, instructions would carry nothing over either). User parts:
// text → input_text; image_url → input_image (the URL or data: URL as
// image_url, detail auto unless the client set one); file → input_file
// (file_id, or file_data, a data: URL, with its filename, part-N.pdf for a
// PDF without one). An assistant message's text (refusal parts included)
// becomes an assistant message of output_text, and each of its tool_calls
// a function_call item with the tool call's id as call_id and its
// arguments as they are ("" as {}). A tool message becomes a
// function_call_output item for its tool_call_id, its text parts joined.
// Messages with no content at all are left out.
//
// tools become flattened function tools ({"type":"function","name",
// "description","parameters","strict"}): strict is always sent, false
// unless the client set it, as the API's own SDK requires; a tool without
// parameters gets an empty object schema. tool_choice: auto, none and
// required as they are, a named function as {"type":"function","name"};
// none is sent when there are no tools. parallel_tool_calls passes.
//
// response_format becomes text.format: json_object as it is, json_schema
// flattened (name, description, schema, strict beside the type; a missing
// name becomes "response", as the API requires one), text as nothing.
// verbosity becomes text.verbosity.
//
// max_completion_tokens, else max_tokens, becomes max_output_tokens (at
// least 1 here; the API's own minimum, 16, is the API's to enforce, and
// its error comes back as it is). reasoning_effort becomes
// reasoning.effort, as given. Reasoning summaries, what comes back as
// reasoning_content, are produced only when asked for, and asking fails
// for organizations OpenAI has not verified, so ownkey never asks on its
// own: a client that wants them sends the Responses-style object
// "reasoning": {"effort": "low", "summary": "auto"} (OpenRouter's
// reasoning object has the same effort member), whose effort and summary
// become reasoning's (an effort different from reasoning_effort is a 400).
//
// temperature, top_p, user, safety_identifier, prompt_cache_key,
// prompt_cache_retention, service_tier and metadata pass as they are.
//
// Unsupported fields are rejected with a 400 naming the field when ignoring
// them would give the client something other than what it asked for:
// stop (the API has no stop sequences), n > 1, logprobs, top_logprobs, a
// non-empty logit_bias, audio output (audio, modalities with "audio"),
// input_audio parts, legacy functions/function_call, web_search_options,
// tools of a type other than function, tool_choice allowed_tools. These are
// ignored, as hints the API has no member for, whose absence does not
// change the shape of the answer: frequency_penalty, presence_penalty,
// seed, top_k, prediction, message names, cache_control, stream_options
// (usage always comes in the terminal event), and any field OpenAI does
// not define.
//
// # Response
//
// A response's output items become the answer: message output_text parts
// are joined into content (a refusal part's text too, see finish_reason),
// function_call items become tool_calls (call_id as the tool call's id,
// the arguments string as it is, "{}" when empty), and reasoning items'
// summary texts (and the reasoning_text content open models send) become
// reasoning_content, as DeepSeek and OpenRouter send reasoning, summary
// parts separated by a blank line. Other items (hosted tool calls) have no
// place in a chat completion. status becomes finish_reason:
//
//	completed                                   stop, or tool_calls when the output has a function call,
//	                                            or content_filter when it holds a refusal
//	incomplete, reason max_output_tokens        length
//	incomplete, reason content_filter           content_filter
//	incomplete, another reason                  length (the answer was cut short)
//	failed, and in_progress, queued, cancelled  an error (502, the provider's message)
//
// A stream (event: and data: lines, no [DONE]) becomes a start (from
// response.created: the response's id, model and created_at), then content
// (response.output_text.delta, response.refusal.delta), reasoning
// (response.reasoning_summary_text.delta, response.reasoning_text.delta)
// and tool-call deltas: each function_call item opened by
// response.output_item.added gets the next tool-call index (0, 1, … in
// order, not its output_index), with its call_id and name, and its
// response.function_call_arguments.delta fragments as arguments. An item
// whose content came only whole (in response.output_item.done, or only in
// the terminal response) is sent whole then. Text goes on as the JSON
// string the provider sent, never unescaped. The first terminal event ends
// the answer: response.completed or response.incomplete give the finish
// reason (the table above) and the usage, and for an OpenAI client the
// finish chunk, the usage chunk when asked for and [DONE] are written at
// once, without waiting for the provider to close the stream; an error
// event or response.failed ends the stream with an OpenAI error event and
// no [DONE], as does a stream that ends before a terminal event. Other
// events (response.in_progress, content_part, *.done, annotations, hosted
// tool progress) carry nothing new.
//
// Usage means what OpenAI's chat usage means: prompt_tokens =
// input_tokens, cached_tokens = input_tokens_details.cached_tokens,
// completion_tokens = output_tokens (reasoning included), reasoning_tokens
// = output_tokens_details.reasoning_tokens.
//
// # Errors
//
// An error answer ({"error":{"message","type","param","code"}}, OpenAI's
// and Azure's shape) becomes an EUPSTREAM error with the provider's status,
// message, type, code and param, any echo of the key scrubbed, and its
// Retry-After.
package responses

import (
	"context"
	"net/http"
	"time"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider"
)

// DefaultPath is where the Responses API lives below a base URL that ends
// in /v1, as OpenAI's does.
const DefaultPath = "/responses"

// Adapter implements ownkey.ChatAdapter for the Responses API.
type Adapter struct {
	// Clients carries the requests; nil uses egress defaults.
	Clients *egress.Clients
	// UserAgent is sent upstream; empty means "ownkey".
	UserAgent string
	// StreamIdleTimeout ends a stream whose provider sends nothing for
	// this long; zero means provider.DefaultStreamIdleTimeout, negative no
	// limit.
	StreamIdleTimeout time.Duration
}

var _ ownkey.ChatAdapter = (*Adapter)(nil)

// Chat translates req into POST {req.BaseURL}/responses and the answer
// into sink (ChatAt DefaultPath).
func (a *Adapter) Chat(ctx context.Context, req *ownkey.ChatRequest, sink ownkey.ChatSink) (*ownkey.ChatResult, error) {
	return a.ChatAt(ctx, req, sink, DefaultPath)
}

// ChatAt is Chat with the Responses API at path (and query) below
// req.BaseURL, for a family whose path depends on the credential (Azure's
// api-version). A request that cannot be translated is an EINVALID before
// anything is sent; the rest is provider.Core's (see Core.Chat).
func (a *Adapter) ChatAt(ctx context.Context, req *ownkey.ChatRequest, sink ownkey.ChatSink, path string) (*ownkey.ChatResult, error) {
	res := &ownkey.ChatResult{}
	// A Responses client's request is already in the API's format (the
	// routing edits made: relay.go); a chat client's is translated.
	relay := sink.Dialect() == ownkey.DialectOpenAIResponses
	body := req.Body
	if !relay {
		var err error
		if body, err = translateRequest(req); err != nil {
			return provider.Failed(res, "", err)
		}
	}
	x := getExchange(req, res)
	x.relay = relay
	defer putExchange(x)
	core := provider.Core{Clients: a.Clients, UserAgent: a.UserAgent, StreamIdleTimeout: a.StreamIdleTimeout}
	return core.Chat(ctx, req, res, sink, x, path, body)
}

// upstreamError builds the client's error from an error answer
// (provider.UpstreamError), with the member it names: OpenAI's errors say
// which parameter they are about.
func upstreamError(req *ownkey.ChatRequest, status int, body []byte) *ownkey.Error {
	e := provider.UpstreamError(req, status, body)
	if param := gjson.GetBytes(body, "error.param"); param.Type == gjson.String {
		e.Param = provider.SafeToken(param.Str, req.Credential)
	}
	return e
}

// finishReason maps a response's status (and incomplete_details.reason)
// to OpenAI's finish_reason, by the table of the package comment.
func finishReason(status, incompleteReason string, toolCalls, refused bool) string {
	if status == "incomplete" {
		if incompleteReason == "content_filter" {
			return "content_filter"
		}
		return "length"
	}
	switch {
	case toolCalls:
		return "tool_calls"
	case refused:
		return "content_filter"
	}
	return "stop"
}

// failedError is the client's error for a response that failed, or is not
// finished, when it answered a non-streaming request (or a stream with
// JSON): a 502 with the provider's message and error code.
func failedError(req *ownkey.ChatRequest, status string, resp gjson.Result) *ownkey.Error {
	c := req.Credential
	e := &ownkey.Error{Code: ownkey.EUPSTREAM, Status: http.StatusBadGateway}
	if eo := resp.Get("error"); eo.IsObject() {
		e.Message = provider.UpstreamMessage([]byte(eo.Raw), c, req.MaxJSONDepth)
		if code := eo.Get("code"); code.Type == gjson.String {
			e.Reason = provider.SafeToken(code.Str, c)
		}
	}
	if e.Message == "" {
		e.Message = req.Provider.Name + " answered with a response that is " + safeStatus(status) + ", not complete"
	}
	return e
}

// safeStatus quotes a response status for a message, if it looks like one.
func safeStatus(s string) string {
	if s == "" || len(s) > 20 {
		return "of no known status"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c == '_') {
			return "of no known status"
		}
	}
	return s
}

// isText reports whether raw is a non-empty JSON string.
func isText(raw string) bool { return len(raw) > 2 && raw[0] == '"' }

// view is b as a string without a copy, for gjson. Results from it point into
// b, so none may be kept past the event: whatever outlives it is copied.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
