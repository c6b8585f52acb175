// Package bedrock is the AWS Bedrock wire family (ownkey.WireBedrock): the
// Family (the region's runtime endpoint, SigV4 signing with aws-sdk-go-v2's
// signer, the key check; family.go) and the chat adapter, which speaks
// Bedrock's Converse API: POST {base}/model/{modelId}/converse, and
// /converse-stream for streams. The model id is one path segment with
// every reserved character escaped ("…-v1:0" becomes "…-v1%3A0", an ARN's
// '/' "%2F"), as inference profile ids (us., eu., apac., global. before
// the model's id) and application inference profile ARNs need; the signer
// escapes that path once more for the canonical request, as AWS does for
// every service but S3.
//
// Clients speak OpenAI Chat Completions (read through provider/openaichat),
// so the adapter translates the request into a Converse request, and the
// answer, a Converse response or its event stream, into the calls of the
// client's ownkey.ChatSink. Sending, error answers and the stream loop are
// provider.Core's; the stream is not SSE but AWS event-stream
// (application/vnd.amazon.eventstream), which the adapter's own event
// source reads with aws-sdk-go-v2's eventstream decoder (eventstream.go).
//
// # Request
//
// system and developer messages become system blocks, wherever they stand.
// Consecutive messages of one role are merged into one turn, as Bedrock
// requires alternating turns; a turn's tool results go first in it.
// Messages with no content are left out, and so are empty texts (Bedrock
// refuses empty text blocks). User parts: text; image_url as a base64
// data: URL of a PNG, JPEG, GIF or WebP image (an image block; Bedrock
// fetches no links, so an http(s) URL is a 400); file with a data: URL of
// a PDF, CSV, HTML, text, Markdown, Word or Excel document (a document
// block named document-1, document-2, …). cache_control on a text, image
// or file part, or on a tool, adds a cachePoint block after it, so prompt
// caching works as on OpenRouter. Assistant messages: text, then their
// tool_calls as toolUse blocks (arguments must be a JSON object; "" counts
// as {}). Tool messages become toolResult blocks of a user turn, their
// texts as text blocks (an empty result has none).
//
// max_completion_tokens, else max_tokens, becomes inferenceConfig.maxTokens
// (none: the model's default), temperature and top_p go as they are (each
// model's range is Bedrock's to check), stop becomes stopSequences. top_k
// goes to Anthropic models as additionalModelRequestFields.top_k, and is a
// 400 for others (Converse has no common field for it).
//
// tools become toolConfig.tools (toolSpec: name, description, parameters
// as inputSchema.json; strict is dropped). tool_choice: auto → auto,
// required → any, a named function → tool; none, which Converse does not
// have, withholds the tools. Bedrock refuses a conversation holding toolUse
// or toolResult blocks without a toolConfig, so when such a conversation
// offers no tool (none given, or tool_choice none), toolConfig carries one
// stub tool, no_tool_available, whose description tells the model never to
// call it (a model that calls it all the same is relayed as it is, a tool
// call the client does not know). parallel_tool_calls has no Converse equivalent and is ignored.
//
// reasoning_effort, for Anthropic models (a model id holding
// "anthropic."), turns on extended thinking through
// additionalModelRequestFields.thinking with the budget_tokens of the
// Anthropic family (openaichat.ThinkingBudget: minimal 1024, low 2048,
// medium 8192, high 16384, xhigh and max 24576; none leaves it off). When
// the client sets a token limit the budget is at most half of it (never
// under 1024), and a limit of 1024 or less is a 400; without one,
// maxTokens is Adapter.DefaultMaxTokens plus the budget. Thinking is left
// off when the last assistant turn holds tool calls (Claude would demand
// that turn's signed thinking, which an OpenAI client cannot send back).
// For Amazon Nova 2 (amazon.nova-2…) it becomes
// additionalModelRequestFields.reasoningConfig {type: enabled,
// maxReasoningEffort: low, medium or high}, minimal counting as low and
// xhigh and max as high. Other models take no reasoning setting through
// Converse: reasoning_effort is ignored for them (those that always reason
// still do).
//
// response_format json_schema and json_object are served with a forced
// tool, as in the Anthropic family: a tool named "json" whose input schema
// is the schema (its root must be an object), and toolChoice that tool (any
// when the client also passes tools with tool_choice auto). Its input comes
// back as the content, and text blocks are then not relayed. Forcing a tool
// is not supported by every model on Bedrock; Bedrock says so with a 400.
// With reasoning_effort on an Anthropic model it is a 400 (Claude does not
// allow forced tool use while thinking).
//
// Refused with a 400 naming the field: n > 1, logprobs, top_logprobs, a
// non-empty logit_bias, audio output, input_audio parts, links as images,
// file parts of other types or by file_id, legacy functions/function_call,
// web_search_options, tools of a type other than function, tool_choice
// allowed_tools, top_k for a model not Anthropic's. Ignored, as hints
// without a Converse equivalent whose absence does not change the shape of
// the answer: frequency_penalty, presence_penalty, seed, store, metadata,
// service_tier, prompt_cache_key, prompt_cache_retention, verbosity,
// prediction, parallel_tool_calls, user, safety_identifier (Bedrock's
// requestMetadata would refuse many user ids), message names, image detail,
// and any field OpenAI does not define.
//
// # Response
//
// Text blocks are joined into content, toolUse blocks become tool_calls
// (toolUseId kept, the input re-serialized as the arguments string),
// reasoningContent's text becomes reasoning_content, never content
// (signatures and redacted reasoning are not relayed). Converse answers
// carry no id: the answer's id is chatcmpl-{request id}, its model the id
// the request named. stopReason becomes finish_reason:
//
//	end_turn, stop_sequence                          stop
//	max_tokens, model_context_window_exceeded        length
//	tool_use                                         tool_calls
//	guardrail_intervened, content_filtered           content_filter
//	malformed_model_output, malformed_tool_use,
//	  and any other                                  stop
//
// Usage is converted to OpenAI's meaning: prompt_tokens = inputTokens +
// cacheReadInputTokens + cacheWriteInputTokens (inputTokens counts neither),
// cached_tokens = cacheReadInputTokens, cache_write_tokens =
// cacheWriteInputTokens (priced apart), completion_tokens = outputTokens.
// The legacy duplicates cacheReadInputTokenCount and
// cacheWriteInputTokenCount count when the current names are absent.
//
// # Stream
//
// ConverseStream's events become a start (at messageStart, or at the first
// event with content when there is none), then content, reasoning and
// tool-call deltas: text and reasoning blocks open with their first delta;
// contentBlockStart with a toolUse opens the next tool call (its id and
// name), whose input fragments follow as arguments, "{}" when it had none.
// messageStop gives the finish reason; the usage comes in metadata, which
// Bedrock sends after messageStop (and some servers before it): the answer
// ends once both have come, or at the end of the stream after messageStop,
// never at messageStop alone. For an OpenAI client that is a role chunk,
// the deltas, a finish chunk, the usage chunk when asked, and [DONE]. Text
// goes on as the JSON string Bedrock sent, never unescaped; the events'
// "p" padding is ignored.
//
// An exception message of the stream (throttlingException,
// validationException, modelStreamErrorException, internalServerException,
// serviceUnavailableException, …) or an error message ends the stream with
// an OpenAI error event of that type, and no [DONE]: its message is
// Bedrock's, prefixed by the exception's name (modelStreamErrorException
// adds the model's originalMessage), the credential scrubbed. So does a
// frame that fails its checksums or whose lengths cannot be right (a
// stream_error; never decoded as text), an event that is not JSON or nested
// deeper than ChatRequest.MaxJSONDepth, a content block index outside 0 to
// 16383, and a stream that ends before messageStop (stream_truncated). A
// message is at most 16 MiB (sse.DefaultMaxEvent), refused from its prelude
// before it is read.
//
// # Errors
//
// An error answer becomes an EUPSTREAM error with Bedrock's status (400
// ValidationException, 403 AccessDeniedException, 404, 408, 424
// ModelErrorException, 429 ThrottlingException, 500, 503, …), Bedrock's
// message (the body's message, any echo of the credential scrubbed) and
// the exception's name, from x-amzn-ErrorType or the body's __type, as the
// error type; its Retry-After is kept. An exception answering with a
// success status gets the exception's status.
package bedrock

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider"
)

// DefaultMaxTokens is maxTokens when thinking is on and the client set no
// limit (the budget is added to it). Without thinking, a request with no
// limit sends none, and the model's own default applies.
const DefaultMaxTokens = 4096

// Adapter implements ownkey.ChatAdapter for AWS Bedrock (Converse and
// ConverseStream).
type Adapter struct {
	// Clients carries the requests; nil uses egress defaults.
	Clients *egress.Clients
	// UserAgent is sent upstream; empty means "ownkey".
	UserAgent string
	// DefaultMaxTokens is the answer's share of maxTokens when thinking is
	// on and the client set no limit; zero means DefaultMaxTokens.
	DefaultMaxTokens int64
	// StreamIdleTimeout ends a stream whose provider sends nothing for
	// this long; zero means provider.DefaultStreamIdleTimeout, negative
	// no limit.
	StreamIdleTimeout time.Duration
}

var _ ownkey.ChatAdapter = (*Adapter)(nil)

func (a *Adapter) defaultMaxTokens() int64 {
	if a.DefaultMaxTokens > 0 {
		return a.DefaultMaxTokens
	}
	return DefaultMaxTokens
}

// Chat translates req into POST {base}/model/{modelId}/converse (or
// /converse-stream) and the answer into sink. A request that cannot be
// translated is an EINVALID before anything is sent; the rest is
// provider.Core's.
func (a *Adapter) Chat(ctx context.Context, req *ownkey.ChatRequest, sink ownkey.ChatSink) (*ownkey.ChatResult, error) {
	res := &ownkey.ChatResult{}
	tr, err := translateRequest(req, a.defaultMaxTokens())
	if err != nil {
		return provider.Failed(res, "", err)
	}
	x := getExchange(req, res, tr)
	defer putExchange(x)
	core := provider.Core{Clients: a.Clients, UserAgent: a.UserAgent, StreamIdleTimeout: a.StreamIdleTimeout}
	return core.Chat(ctx, req, res, sink, x, modelPath(req.Model, req.Stream), tr.body)
}

// modelPath is the operation's path: the model id as one path segment,
// every reserved character escaped (':' in "…-v1:0", ':' and '/' in an
// ARN). The signer escapes the escaped path once more for the canonical
// request, as AWS expects of every service but S3.
func modelPath(model string, stream bool) string {
	op := "/converse"
	if stream {
		op = "/converse-stream"
	}
	return "/model/" + provider.EscapePathSegment(model) + op
}

// The exceptions Bedrock answers with, and their statuses (the
// bedrockruntime API model). An error answer keeps the status Bedrock sent;
// the table gives one only to an exception that came without an error
// status (in a 200 body).
var exceptionStatus = map[string]int{
	"ValidationException":           http.StatusBadRequest,
	"ServiceQuotaExceededException": http.StatusBadRequest,
	"ConflictException":             http.StatusBadRequest,
	"AccessDeniedException":         http.StatusForbidden,
	"UnrecognizedClientException":   http.StatusForbidden,
	"InvalidSignatureException":     http.StatusForbidden,
	"ExpiredTokenException":         http.StatusForbidden,
	"ResourceNotFoundException":     http.StatusNotFound,
	"ModelTimeoutException":         http.StatusRequestTimeout,
	"ModelErrorException":           http.StatusFailedDependency,
	"ThrottlingException":           http.StatusTooManyRequests,
	"ModelNotReadyException":        http.StatusTooManyRequests,
	"InternalServerException":       http.StatusInternalServerError,
	"ServiceUnavailableException":   http.StatusServiceUnavailable,
}

// errorType is the exception an error answer names: the x-amzn-ErrorType
// header ("ValidationException:http://internal.amazon.com/coral/…"), else
// the body's __type ("com.amazon.coral.validate#ValidationException"),
// reduced to its name; "" when neither says.
func errorType(header http.Header, body []byte) string {
	t := header.Get("X-Amzn-Errortype")
	if t == "" {
		t = gjson.GetBytes(body, "__type").Str
	}
	if i := strings.IndexByte(t, ':'); i >= 0 {
		t = t[:i]
	}
	if i := strings.LastIndexByte(t, '#'); i >= 0 {
		t = t[i+1:]
	}
	return strings.TrimSpace(t)
}

// upstreamError builds the client's error from a Bedrock error answer:
// Bedrock's status and message (any echo of the credential scrubbed), the
// exception's name as the error type.
func upstreamError(req *ownkey.ChatRequest, status int, header http.Header, body []byte) *ownkey.Error {
	p, c := req.Provider, req.Credential
	typ := provider.SafeToken(errorType(header, body), c)
	e := &ownkey.Error{Code: ownkey.EUPSTREAM, Status: status, Type: typ, Message: provider.UpstreamMessage(body, c, req.MaxJSONDepth)}
	if status < 400 {
		// A redirect, or an exception in a 200 body: not a status to relay.
		e.Status = http.StatusBadGateway
		if s, ok := exceptionStatus[typ]; ok {
			e.Status = s
		}
	}
	if e.Message == "" {
		e.Message = p.Name + " returned HTTP " + http.StatusText(e.Status)
		if typ != "" {
			e.Message += " (" + typ + ")"
		}
	}
	return e
}

// finishReason maps Bedrock's stopReason to OpenAI's finish_reason (see the
// package comment). An unknown or missing reason is "stop": the message did
// end.
func finishReason(stopReason string) string {
	switch stopReason {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "guardrail_intervened", "content_filtered":
		return "content_filter"
	}
	return "stop"
}

// view is b as a string without a copy, for gjson. Results from it point
// into b, so none may be kept past the event.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
