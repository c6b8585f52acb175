package ownkey

import (
	"errors"
	"io"
)

// Dialect is a wire format in which clients read chat answers.
type Dialect string

const (
	// DialectOpenAIChat is OpenAI Chat Completions: a chat.completion
	// object, or chat.completion.chunk events ending in `data: [DONE]`.
	DialectOpenAIChat Dialect = "openai-chat"
	// DialectOpenAIResponses is OpenAI's Responses API: a response
	// object, or its named event stream (response.created, …,
	// response.completed; no [DONE]).
	DialectOpenAIResponses Dialect = "openai-responses"
	// DialectAnthropicMessages is Anthropic's Messages API: a message
	// object, or named events (message_start … message_stop).
	DialectAnthropicMessages Dialect = "anthropic-messages"
)

// ErrClientGone is what a ChatSink's calls, and reads through the reader
// its Stream returns, fail with once the client is gone.
var ErrClientGone = errors.New("the client is gone")

// ChatSink is where an adapter puts one chat answer, in terms that do not
// depend on the client's wire format: the HTTP layer builds one for the
// client's dialect (an OpenAI Chat Completions writer, package
// dialect/openai) and the adapter tells it what the provider answered. So a
// provider family is translated once, not once per client dialect, and a
// client dialect is written once, not once per family.
//
// An answer is Start, then deltas (Text, Reasoning, ToolCall and ToolArgs,
// in the order the model produced them), then End, or Fail once a stream
// has begun. A non-streaming answer goes through the same calls: nothing is
// written before End, which writes the whole object. A streamed answer
// begins with Stream, and each call writes its event at once (batched: see
// Stream).
//
// Text and arguments arrive as JSON string literals, quotes included, as
// the provider sent them (already escaped; the adapter checked that the
// event holding them is valid JSON), so that a writer copies them as they
// are rather than unescaping and escaping every delta again. Ids, names and
// messages are plain strings the writer encodes. No argument may be kept
// past the call: it may point into the adapter's read buffer.
//
// Every call's error means the client can no longer be written to
// (ErrClientGone): the adapter stops and cancels the upstream request.
//
// # Writing another dialect
//
// A writer for another client dialect implements ChatSink and no adapter
// changes. The Anthropic Messages writer (dialect/anthropic), for
// instance, keeps what OpenAI's format does not need: the open content
// block (a text, thinking or tool_use block, opened by the first delta of
// its kind and closed by the next kind or End, each block numbered), the
// map from OpenAI's finish reasons to stop_reason (stop→end_turn,
// length→max_tokens, tool_calls→tool_use, content_filter→refusal), usage
// given at End only (message_start then carries zero input tokens;
// message_delta the real counts), Fail as an `event: error`, and named SSE
// events (`event:` lines) through its relay. Thinking signatures do not
// survive translation from other families, so such a client cannot send
// thinking back. RelayEvent and RelayBody carry Anthropic bytes when the
// provider speaks Anthropic itself (the family's pass-through adapter:
// provider.Passthrougher).
type ChatSink interface {
	// Dialect is the client's wire format. An adapter whose provider
	// speaks it may relay the provider's bytes (RelayEvent, RelayBody)
	// instead of translating them.
	Dialect() Dialect

	// Stream begins a streamed answer: the response's status and headers
	// are committed (sent with the first event, or alone after a short
	// delay if it is slow to come). The adapter reads the provider's
	// body, upstream, only through the reader Stream returns: before
	// every read, which may block until the provider sends more, what
	// was written since the last one is flushed, so no event waits for
	// the next while events that arrived together share one write. Its
	// reads fail with ErrClientGone once the client is gone (done is
	// closed, or a write failed).
	Stream(upstream io.Reader, done <-chan struct{}) io.Reader

	// Start opens the answer: its id, the model that served it and its
	// creation time (Unix seconds).
	Start(id, model string, created int64) error
	// Text adds to the answer's content: text is a JSON string literal.
	Text(text string) error
	// Reasoning adds to the model's reasoning: a JSON string literal.
	Reasoning(text string) error
	// ToolCall opens tool call index (0, 1, … in the order the calls
	// open) with its id and function name, and args, a JSON string
	// literal: the arguments' first fragment, often "".
	ToolCall(index int, id, name, args string) error
	// ToolArgs adds a fragment, a JSON string literal, to tool call
	// index's arguments.
	ToolArgs(index int, args string) error
	// End closes a complete answer: why it ended, in OpenAI's vocabulary
	// (stop, length, tool_calls, content_filter), its usage and, when
	// billing priced it (ChatRequest.Pricer), its cost: the charge the
	// ledger settles, which the writer gives beside the usage (nil: no
	// cost is written).
	End(finish string, usage Usage, cost *Charge) error
	// Fail ends a streamed answer that cannot be completed, telling the
	// client why: code is the ChatResult.ErrorCode, typ the error's type.
	// The client must not mistake the answer for a whole one. Only after
	// Stream: before that nothing is written, and the adapter returns its
	// error instead.
	Fail(code, typ, message string) error

	// RelayEvent writes one event of the provider's stream (after
	// Stream), already in the client's dialect: typ its event type
	// (empty for none), data its payload.
	RelayEvent(typ, data []byte) error
	// RelayBody writes a whole non-streaming answer that is already in
	// the client's dialect. cost, when billing priced the answer, is its
	// charge, for a writer that gives it beside the provider's bytes (in
	// response headers) rather than in them; nil: none.
	RelayBody(body []byte, cost *Charge) error

	// Flush writes and flushes what a stream has batched. Until the
	// answer has ended or failed, the reader from Stream flushes before
	// each read.
	Flush() error
	// FlushWithEnd writes what a stream has batched when the answer has
	// ended or failed, for it to reach the client with the response's end
	// (in one write with it), and within a few milliseconds at most when
	// the handler does not return sooner (sse.Relay.FlushWithEnd).
	FlushWithEnd() error
}

// A RefusingSink is a ChatSink that can refuse an answer itself, for a
// reason of its own rather than because its client went away (the
// Responses writer past its size bound, dialect/responses.MaxKept). Its
// refusal reaches the adapter as a failed write, which the adapter takes,
// as any, for the client gone; the chat service then asks Refused for the
// usage record's error code: non-empty when the sink refused the answer,
// and the client is then not recorded as gone.
type RefusingSink interface {
	Refused() (code string)
}

// A CitingSink is a ChatSink that can tell its client which web sources an
// answer cites (search-augmented chat). The chat service calls Cite, when
// the request searched the web, before the adapter runs: the sink scans
// the answer's text for the numbered markers the injected context asks the
// model to write ("[1]", CitationScanner) and gives the cited sources in
// its dialect's way (OpenAI: message.annotations, url_citation). Sinks that
// cannot say it need not implement it: the answer is the same without.
type CitingSink interface {
	Cite(sources []WebSource)
}
