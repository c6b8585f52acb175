// Package gemini is the Google AI Studio wire family (ownkey.WireGemini, the
// Gemini API's generateContent) and its chat adapter. Family (family.go)
// owns the endpoint, the key in x-goog-api-key (never ?key=, which ends up
// in logs) and the key check. Clients speak OpenAI Chat Completions (read
// through provider/openaichat), so the adapter translates the request into
// a generateContent request, and the answer, a response or its event
// stream, into the calls of the client's ownkey.ChatSink, whose writer
// (dialect/openai for OpenAI clients) makes a chat.completion object or
// chat.completion.chunk events of them. Sending, error answers and the
// stream loop are provider.Core's.
//
// # Endpoint
//
//	POST {base}/v1beta/models/{model}:generateContent
//	POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse
//
// The model id loses a "google/" prefix (left on by a forced provider) and
// Gemini's own "models/" resource prefix, and is escaped as one path
// segment; an id that still holds '/' is refused (400, param model).
//
// # Request
//
// system and developer messages become systemInstruction, wherever they
// stand. user messages become "user" contents, assistant messages "model"
// contents, and consecutive messages of one role are merged into one
// content (Gemini wants the answers to a turn's function calls together).
// User parts: text; image_url (a base64 data: URL becomes inlineData; an
// http(s) URL becomes fileData, which Gemini fetches itself, with the
// image type its extension names); input_audio (wav, mp3) and file with a
// data: URL become inlineData. Assistant tool_calls become functionCall
// parts (their arguments must be a JSON object; "" counts as {}); tool
// messages become functionResponse parts of a user content, placed before
// any text of that content, named after the function of the assistant
// tool call whose id they answer (Gemini needs the name; a tool message
// whose tool_call_id no earlier call has is refused). A tool result that is
// a JSON object is the response as it is; other text is {"output": text},
// the key Gemini reads as the function's output. Messages with no content
// are left out.
//
// generationConfig: maxOutputTokens from max_completion_tokens, else
// max_tokens; temperature (0–2, as OpenAI's), topP, top_k (not OpenAI's,
// but many clients send it), seed, presencePenalty, frequencyPenalty;
// stopSequences from stop. response_format json_object sets
// responseMimeType application/json; json_schema sets it and responseSchema,
// the schema converted (below) with propertyOrdering in the order the
// client wrote the properties (Gemini otherwise orders them alphabetically).
// reasoning_effort sets thinkingConfig, with includeThoughts so that the
// thoughts come back (as reasoning_content), except for none:
//
//	reasoning_effort   Gemini 3 thinkingLevel   earlier models thinkingBudget
//	none               MINIMAL                  0 (and nothing at all for models
//	                                              that cannot think: gemini-1.x,
//	                                              gemini-2.0, gemma)
//	minimal            MINIMAL                  512
//	low                LOW                      1024
//	medium             MEDIUM                   8192
//	high, xhigh, max   HIGH                     24576
//
// Gemini 3 cannot stop thinking (none is its least), and not every model
// takes every level or budget (Gemini 3 Pro: LOW and HIGH; 2.5 Pro: no 0):
// Gemini's refusal is relayed as it is.
//
// tools become functionDeclarations, each function's parameters converted
// to the schema subset Gemini accepts (a Schema, OpenAPI 3.0's):
//   - local $refs (#/$defs/…, #/definitions/…, any JSON pointer) are
//     written out in place, a description beside the $ref kept; a schema
//     that refers to itself is refused (400): Gemini has no recursion, and
//     a remote $ref is refused too (ownkey fetches nothing);
//   - a type array ["X","null"], nullable:true, and an anyOf/oneOf with a
//     {"type":"null"} variant become nullable; an anyOf or oneOf of one
//     other variant becomes that variant; of several, anyOf; several types
//     become an anyOf of one type each; allOf of one schema is that
//     schema (several are refused);
//   - kept: type, format (only those Gemini knows: date-time and enum for
//     strings, float and double, int32 and int64), title, description,
//     nullable, enum (strings only), properties (in their order),
//     required (only names among the properties), items (one schema; tuples
//     are refused), minItems/maxItems, minLength/maxLength, pattern,
//     minimum/maximum, minProperties/maxProperties, default, example; const
//     of a string becomes a one-value enum; a schema without a type gets
//     object (properties), array (items) or string (enum);
//   - dropped: everything else ($schema, $id, $defs once written out,
//     additionalProperties, patternProperties, unevaluatedProperties,
//     exclusiveMinimum/Maximum, multipleOf, uniqueItems, examples,
//     if/then/else, not, non-string enums, other formats, strict, …);
//   - parameters that are an object without properties (or {}) are left
//     out: Gemini refuses an object parameter schema without properties;
//   - limits, each a 400 naming the field: at most 10,000 schemas, 64
//     levels of nesting and 4 MiB once the $refs are written out. The
//     schema is read once into a tree whose objects read their keywords
//     once, so the work is linear in its size plus what is written, however
//     often a $ref writes out a large definition.
//
// tool_choice becomes toolConfig.functionCallingConfig: auto → AUTO, none →
// NONE, required → ANY, a named function → ANY with allowedFunctionNames
// (a name no tool has is refused). parallel_tool_calls has no Gemini
// equivalent and is ignored.
//
// Refused with a 400 naming the field, as ignoring them would give the
// client something other than what it asked for: n > 1, logprobs,
// top_logprobs, a non-empty logit_bias, audio output, legacy
// functions/function_call, web_search_options, tools other than functions,
// file ids. Ignored, as hints without a Gemini equivalent whose absence
// does not change the shape of the answer: user, safety_identifier, store,
// metadata, service_tier, prompt_cache_key, prompt_cache_retention,
// verbosity, prediction, message names, image detail, cache_control.
//
// # Thought signatures
//
// Gemini 3 attaches a thoughtSignature to the function calls it makes and
// refuses the next request unless each step's first call comes back with
// it. An OpenAI client keeps one thing of a tool call across turns and
// sends it back unchanged, its id, so the signature travels in the id (the
// convention of LiteLLM and other gateways):
//
//	call_<responseId>_<index>__thought__<signature>
//
// (call_<responseId>_<index> alone when Gemini gave none, or one that is not
// base64 or is over 64 KiB, far beyond real ones: ids are stable, the same
// answer always gives the same ones). On the way back the
// signature is taken out of the id and set on the functionCall part; a
// tool call's extra_content.google.thought_signature, where Google's own
// OpenAI-compatible endpoint puts it, is read too. For a Gemini 3 model, a
// model content whose first call has no signature (history the client
// wrote, or another model's calls) gets Google's documented placeholder
// "skip_thought_signature_validator", which skips the check rather than
// fail the request. Signatures on text parts are not relayed: Gemini
// documents them as optional, and only function calls' are checked.
// Thoughts are never sent back.
//
// # Response
//
// The first candidate's parts: text parts join into content; parts with
// thought:true are reasoning (reasoning_content), never content;
// functionCall parts become tool_calls, with the id above (or Gemini's own,
// when it gives one), the args re-serialized compact as the arguments
// string; other parts (inline images, code execution) have no place in a
// chat completion and are dropped. A stream gives each function call,
// which Gemini sends whole, the next tool-call index, and its whole
// arguments at once. finishReason becomes finish_reason:
//
//	STOP                                            stop, or tool_calls when the answer holds
//	                                                function calls
//	MAX_TOKENS                                      length
//	SAFETY, RECITATION, BLOCKLIST,                  content_filter
//	PROHIBITED_CONTENT, SPII, IMAGE_SAFETY,
//	IMAGE_PROHIBITED_CONTENT, IMAGE_RECITATION
//	anything else (OTHER, LANGUAGE,                 stop, or tool_calls as for STOP: OpenAI
//	MALFORMED_FUNCTION_CALL, TOO_MANY_TOOL_CALLS,   has no "other"
//	UNEXPECTED_TOOL_CALL, …)
//
// A prompt Gemini blocks (promptFeedback.blockReason, no candidates) is an
// answer all the same, not an error: it ends with finish_reason
// content_filter and no content, with the prompt's usage, streamed or not,
// the way OpenAI reports filtered output.
//
// A stream is SSE data: frames, each a whole GenerateContentResponse with
// the new parts, separated by \r\n\r\n or \n\n, and no [DONE]: it is
// complete when it ends after a chunk gave a finish reason (or a block),
// and cut short (stream_truncated) otherwise. The client gets a role chunk,
// the deltas as they come, then the finish chunk, the usage chunk when it
// asked for it, and [DONE]. Text goes on as the JSON string Gemini sent,
// never unescaped. An {"error":…} event ends the stream with an OpenAI
// error event carrying Gemini's status as its type and its message, and no
// [DONE].
//
// Usage is converted to OpenAI's meaning (usageMetadata is repeated as a
// running total on every chunk; the last counts): prompt_tokens =
// promptTokenCount (which already counts the cached tokens) +
// toolUsePromptTokenCount (zero unless Google's own tools ran; billed as
// input), cached_tokens = cachedContentTokenCount, completion_tokens =
// candidatesTokenCount + thoughtsTokenCount (candidates excludes the
// thoughts, which are billed as output), reasoning_tokens =
// thoughtsTokenCount.
//
// # Errors
//
// Google's error answer {"error":{"code","message","status","details"}}
// becomes an EUPSTREAM error with the answer's status (a status below 400
// becomes 502), Google's message with any echo of the key scrubbed, the
// status (RESOURCE_EXHAUSTED, INVALID_ARGUMENT, …) as the error type and an
// ErrorInfo's reason (API_KEY_INVALID, …) as the code. A RetryInfo's
// retryDelay ("34.4s") becomes the Retry-After, in whole seconds rounded
// up, when the answer has no Retry-After header of its own.
package gemini

import (
	"context"
	"strings"
	"time"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
)

// Adapter implements ownkey.ChatAdapter for the Gemini API.
type Adapter struct {
	// Clients carries the requests; nil uses egress defaults.
	Clients *egress.Clients
	// UserAgent is sent upstream; empty means "ownkey".
	UserAgent string
	// StreamIdleTimeout ends a stream whose provider sends nothing for
	// this long; zero means provider.DefaultStreamIdleTimeout, negative
	// no limit.
	StreamIdleTimeout time.Duration
}

var _ ownkey.ChatAdapter = (*Adapter)(nil)

// Chat translates req into a generateContent request and the answer into
// sink. A request that cannot be translated is an EINVALID before anything
// is sent; the rest is provider.Core's (see Core.Chat).
func (a *Adapter) Chat(ctx context.Context, req *ownkey.ChatRequest, sink ownkey.ChatSink) (*ownkey.ChatResult, error) {
	res := &ownkey.ChatResult{}
	tr, err := translateRequest(req)
	if err != nil {
		return provider.Failed(res, "", err)
	}
	x := getExchange(req, res)
	defer putExchange(x)
	core := provider.Core{Clients: a.Clients, UserAgent: a.UserAgent, StreamIdleTimeout: a.StreamIdleTimeout}
	return core.Chat(ctx, req, res, sink, x, tr.path, tr.body)
}

// upstreamError builds the client's error from Google's error answer (or
// an error object inside a 200): provider.UpstreamError's (the status
// given, Google's message minus any echo of the key), with Google's status
// as the type, an ErrorInfo's reason as the code and a RetryInfo's delay as
// the Retry-After.
func upstreamError(req *ownkey.ChatRequest, status int, body []byte) *ownkey.Error {
	e := provider.UpstreamError(req, status, body)
	if jsonvalid.Check(body, req.MaxJSONDepth) != nil {
		return e
	}
	c := req.Credential
	errObj := errorObject(gjson.Parse(view(body)))
	if s := errObj.Get("status"); s.Type == gjson.String && s.Str != "" {
		e.Type = provider.SafeToken(s.Str, c)
	}
	errObj.Get("details").ForEach(func(_, d gjson.Result) bool {
		switch typ := d.Get("@type").Str; {
		case strings.HasSuffix(typ, "google.rpc.ErrorInfo"):
			if r := d.Get("reason"); r.Type == gjson.String && r.Str != "" && e.Reason == "" {
				e.Reason = provider.SafeToken(r.Str, c)
			}
		case strings.HasSuffix(typ, "google.rpc.RetryInfo"):
			if delay, ok := parseDuration(d.Get("retryDelay")); ok {
				e.RetryAfter = provider.RetryAfterDelay(delay)
			}
		}
		return true
	})
	return e
}

// errorObject is the error object of an error answer: {"error":{…}}, or the
// first element's of an array of them (the JSON-array form a stream
// request without alt=sse answers with).
func errorObject(root gjson.Result) gjson.Result {
	if root.IsArray() {
		root = root.Get("0")
	}
	if e := root.Get("error"); e.IsObject() {
		return e
	}
	return gjson.Result{}
}

// parseDuration reads a google.protobuf.Duration in its JSON form: seconds
// with up to nine decimals and an "s" ("34.4s").
func parseDuration(v gjson.Result) (time.Duration, bool) {
	s, ok := strings.CutSuffix(v.Str, "s")
	whole, frac, dot := strings.Cut(s, ".")
	if v.Type != gjson.String || !ok || !digits(whole) || (dot && (!digits(frac) || len(frac) > 9)) {
		return 0, false
	}
	d, err := time.ParseDuration(s + "s")
	return d, err == nil && d >= 0
}

// digits reports whether s is a non-empty run of ASCII digits.
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// finishReason maps Gemini's finishReason to OpenAI's finish_reason (see
// the package comment); calls says the answer holds function calls.
func finishReason(reason string, calls bool) string {
	switch reason {
	case "MAX_TOKENS":
		return "length"
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return "content_filter"
	}
	if calls {
		return "tool_calls"
	}
	return "stop"
}

// view is b as a string without a copy, for gjson. Results from it point into
// b, so none may be kept past the event: whatever outlives it is copied.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
