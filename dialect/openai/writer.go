// Package openai writes chat answers in OpenAI's Chat Completions format:
// Writer is the ownkey.ChatSink of every OpenAI client. Adapters that
// translate (Anthropic, …) tell it what the provider answered; adapters
// whose provider speaks OpenAI's format too relay the provider's bytes
// through it (RelayEvent, RelayBody).
//
// A stream is a role chunk, content, reasoning_content and tool_calls
// deltas, a finish chunk, the usage chunk when the client asked for it
// (stream_options.include_usage), and `data: [DONE]`; an answer that fails
// mid-stream ends with an OpenAI error event and no [DONE]. A non-streaming
// answer is one chat.completion object, written at End with its
// Content-Length.
package openai

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsontext"
	"github.com/ownkey/ownkey/sse"
)

// Writer writes one answer to an http.ResponseWriter. The zero Writer is
// not usable: Reset (or NewWriter) it first. Writers are meant to be
// pooled with the request that owns them (Released).
type Writer struct {
	w            http.ResponseWriter
	stream       bool
	includeUsage bool
	// relay batches a stream's events and is the reader of the provider's
	// body (Stream).
	relay sse.Relay

	// head opens every chunk of a stream: {"id":…,"object":
	// "chat.completion.chunk","created":…,"model":…
	head []byte
	// out is the chunk, or the whole object, being built.
	out []byte

	// A non-streaming answer, gathered until End: id and model as given,
	// content and reasoning as the contents of the JSON strings received
	// (still escaped) one after the other.
	id, model          []byte
	created            int64
	content, reasoning []byte
	tools              []toolCall
	nTools             int
	// text is scratch space for unescaped text.
	text []byte

	// cite, when the request searched the web (Cite), finds the sources
	// the answer cites (cite.go); citeScratch and citeBuf are its
	// buffers.
	cite                 *ownkey.CitationScanner
	citeScratch, citeBuf []byte
}

type toolCall struct {
	index          int
	id, name, args []byte
}

var _ ownkey.ChatSink = (*Writer)(nil)

// NewWriter returns a Writer for one answer to w: streamed (as
// chat.completion.chunk events) or not, and with the usage chunk at the end
// of a stream if includeUsage.
func NewWriter(w http.ResponseWriter, stream, includeUsage bool) *Writer {
	wr := &Writer{}
	wr.Reset(w, stream, includeUsage)
	return wr
}

// Reset makes wr write a new answer to w, keeping its buffers.
func (wr *Writer) Reset(w http.ResponseWriter, stream, includeUsage bool) {
	rel := wr.Released()
	*wr = rel
	wr.w, wr.stream, wr.includeUsage = w, stream, includeUsage
}

// Finish disarms a stream's header timer: once it returns, nothing but the
// caller touches the ResponseWriter. The owner of the Writer calls it (or
// Released) once the adapter has returned.
func (wr *Writer) Finish() { wr.relay.Finish() }

// Released returns an empty Writer that keeps only wr's buffers (those not
// grown large), for pooling, once the answer is over. It finishes wr.
func (wr *Writer) Released() Writer {
	relay := wr.relay.Released()
	if relay.BufferCap() > sse.KeepCap {
		relay = sse.Relay{}
	}
	clear(wr.tools[:min(wr.nTools, len(wr.tools))])
	return Writer{
		relay:     relay,
		head:      sse.Keep(wr.head),
		out:       sse.Keep(wr.out),
		id:        sse.Keep(wr.id),
		model:     sse.Keep(wr.model),
		content:   sse.Keep(wr.content),
		reasoning: sse.Keep(wr.reasoning),
		text:      sse.Keep(wr.text),
		tools:     wr.tools[:0],

		citeScratch: sse.Keep(wr.citeScratch),
		citeBuf:     sse.Keep(wr.citeBuf),
	}
}

func (wr *Writer) Dialect() ownkey.Dialect { return ownkey.DialectOpenAIChat }

// Stream sends the headers of an event stream (held back until the first
// event, at most sse.HeaderDelay) and returns the relay: see
// ownkey.ChatSink.Stream.
func (wr *Writer) Stream(upstream io.Reader, done <-chan struct{}) io.Reader {
	return wr.relay.Open(wr.w, upstream, done)
}

func (wr *Writer) Start(id, model string, created int64) error {
	if !wr.stream {
		wr.id = append(wr.id[:0], id...)
		wr.model = append(wr.model[:0], model...)
		wr.created = created
		return nil
	}
	h := append(wr.head[:0], `{"id":`...)
	h = gjson.AppendJSONString(h, id)
	h = append(h, `,"object":"chat.completion.chunk","created":`...)
	h = strconv.AppendInt(h, created, 10)
	h = append(h, `,"model":`...)
	h = gjson.AppendJSONString(h, model)
	wr.head = h
	b := wr.deltaOpen()
	b = append(b, `{"role":"assistant","content":""}`...)
	return wr.deltaClose(b, "")
}

func (wr *Writer) Text(text string) error {
	if wr.cite != nil {
		wr.citeText(text)
	}
	if !wr.stream {
		wr.content = appendContents(wr.content, text)
		return nil
	}
	return wr.member(`{"content":`, text)
}

func (wr *Writer) Reasoning(text string) error {
	if !wr.stream {
		wr.reasoning = appendContents(wr.reasoning, text)
		return nil
	}
	return wr.member(`{"reasoning_content":`, text)
}

func (wr *Writer) ToolCall(index int, id, name, args string) error {
	if !wr.stream {
		t := wr.tool(index, true)
		t.id = append(t.id[:0], id...)
		t.name = append(t.name[:0], name...)
		t.args = appendContents(t.args[:0], args)
		return nil
	}
	b := wr.deltaOpen()
	b = append(b, `{"tool_calls":[{"index":`...)
	b = strconv.AppendInt(b, int64(index), 10)
	b = append(b, `,"id":`...)
	b = gjson.AppendJSONString(b, id)
	b = append(b, `,"type":"function","function":{"name":`...)
	b = gjson.AppendJSONString(b, name)
	b = append(b, `,"arguments":`...)
	b = append(b, args...)
	b = append(b, `}}]}`...)
	return wr.deltaClose(b, "")
}

func (wr *Writer) ToolArgs(index int, args string) error {
	if !wr.stream {
		if t := wr.tool(index, false); t != nil {
			t.args = appendContents(t.args, args)
		}
		return nil
	}
	b := wr.deltaOpen()
	b = append(b, `{"tool_calls":[{"index":`...)
	b = strconv.AppendInt(b, int64(index), 10)
	b = append(b, `,"function":{"arguments":`...)
	b = append(b, args...)
	b = append(b, `}}]}`...)
	return wr.deltaClose(b, "")
}

// tool returns the non-streaming tool call index, a new one if opening;
// nil for arguments to a call never opened.
func (wr *Writer) tool(index int, opening bool) *toolCall {
	for i := wr.nTools - 1; i >= 0; i-- {
		if wr.tools[i].index == index {
			return &wr.tools[i]
		}
	}
	if !opening {
		return nil
	}
	if wr.nTools == len(wr.tools) {
		wr.tools = append(wr.tools, toolCall{})
	}
	t := &wr.tools[wr.nTools]
	wr.nTools++
	t.index, t.id, t.name, t.args = index, t.id[:0], t.name[:0], t.args[:0]
	return t
}

// End writes the finish chunk, the usage chunk if the client asked for it
// (with the cost, when priced: see AppendCost), and [DONE]; or, not
// streaming, the whole chat.completion.
func (wr *Writer) End(finish string, usage ownkey.Usage, cost *ownkey.Charge) error {
	if !wr.stream {
		return wr.complete(finish, usage, cost)
	}
	b := wr.deltaOpen()
	if wr.cite != nil {
		// The citations ride on the last chunk of the content.
		b = append(b, `{"annotations":`...)
		b = appendAnnotations(b, wr.cite.Citations())
		b = append(b, '}')
	} else {
		b = append(b, `{}`...)
	}
	if err := wr.deltaClose(b, finish); err != nil {
		return err
	}
	if wr.includeUsage {
		b = append(wr.out[:0], wr.head...)
		b = append(b, `,"choices":[],"usage":`...)
		b = appendUsageCost(b, usage, cost)
		b = append(b, '}')
		wr.out = b
		if !wr.relay.Event(b) {
			return ownkey.ErrClientGone
		}
	}
	if !wr.relay.Raw(sse.Done) {
		return ownkey.ErrClientGone
	}
	return nil
}

// errNotStreaming: Fail is for streams; a failed non-streaming answer is
// the adapter's error return.
var errNotStreaming = errors.New("openai.Writer: Fail on an answer that is not streamed")

// Fail writes an error event in OpenAI's mid-stream form
// ({"error":{"message","type","param","code"}}), and no [DONE].
func (wr *Writer) Fail(code, typ, message string) error {
	if !wr.stream {
		return errNotStreaming
	}
	b := append(wr.out[:0], `{"error":{"message":`...)
	b = gjson.AppendJSONString(b, message)
	b = append(b, `,"type":`...)
	b = gjson.AppendJSONString(b, typ)
	b = append(b, `,"param":null,"code":`...)
	b = gjson.AppendJSONString(b, code)
	b = append(b, `}}`...)
	wr.out = b
	return wr.event(b)
}

// RelayEvent writes a provider's chunk as it is (with the citations added
// to the finish chunk when the request searched the web). OpenAI streams
// name no event types: typ is not written.
func (wr *Writer) RelayEvent(_, data []byte) error {
	if wr.cite != nil {
		data = wr.citeChunk(data)
	}
	return wr.event(data)
}

// RelayBody writes a provider's chat.completion as it is (with the
// citations added to its message when the request searched the web). Its
// cost, if any, is in the body already (the adapter put it in the usage
// object, as OpenAI clients read it: InsertCost).
func (wr *Writer) RelayBody(body []byte, _ *ownkey.Charge) error {
	if wr.cite != nil {
		body = wr.citeBody(body)
	}
	return wr.writeJSON(body)
}

func (wr *Writer) Flush() error {
	if !wr.relay.Flush() {
		return ownkey.ErrClientGone
	}
	return nil
}

func (wr *Writer) FlushWithEnd() error {
	if !wr.relay.FlushWithEnd() {
		return ownkey.ErrClientGone
	}
	return nil
}

func (wr *Writer) event(data []byte) error {
	if !wr.relay.Event(data) {
		return ownkey.ErrClientGone
	}
	return nil
}

// deltaOpen starts a chunk with one choice, up to its delta.
func (wr *Writer) deltaOpen() []byte {
	b := append(wr.out[:0], wr.head...)
	return append(b, `,"choices":[{"index":0,"delta":`...)
}

// deltaClose ends a chunk deltaOpen started and sends it.
func (wr *Writer) deltaClose(b []byte, finish string) error {
	b = append(b, `,"logprobs":null,"finish_reason":`...)
	if finish == "" {
		b = append(b, "null"...)
	} else {
		b = gjson.AppendJSONString(b, finish)
	}
	b = append(b, "}]}"...)
	wr.out = b
	return wr.event(b)
}

// member sends a delta whose one member (open is `{"<name>":`) is the JSON
// string literal v, copied as it came.
func (wr *Writer) member(open, v string) error {
	b := wr.deltaOpen()
	b = append(b, open...)
	b = append(b, v...)
	b = append(b, '}')
	return wr.deltaClose(b, "")
}

// complete writes a non-streaming answer: the chat.completion object, as
// encoding/json writes it (no HTML escaping) with a final newline.
func (wr *Writer) complete(finish string, usage ownkey.Usage, cost *ownkey.Charge) error {
	b := append(wr.out[:0], `{"id":`...)
	b = jsontext.AppendString(b, wr.id)
	b = append(b, `,"object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, wr.created, 10)
	b = append(b, `,"model":`...)
	b = jsontext.AppendString(b, wr.model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	if len(wr.content) > 0 || wr.nTools == 0 {
		b = wr.appendEscaped(b, wr.content)
	} else {
		b = append(b, "null"...)
	}
	if len(wr.reasoning) > 0 {
		b = append(b, `,"reasoning_content":`...)
		b = wr.appendEscaped(b, wr.reasoning)
	}
	if wr.nTools > 0 {
		b = append(b, `,"tool_calls":[`...)
		for i := range wr.nTools {
			t := &wr.tools[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = jsontext.AppendString(b, t.id)
			b = append(b, `,"type":"function","function":{"name":`...)
			b = jsontext.AppendString(b, t.name)
			b = append(b, `,"arguments":`...)
			b = wr.appendEscaped(b, t.args)
			b = append(b, `}}`...)
		}
		b = append(b, ']')
	}
	if wr.cite != nil {
		b = append(b, `,"annotations":`...)
		b = appendAnnotations(b, wr.cite.Citations())
	}
	b = append(b, `,"refusal":null},"logprobs":null,"finish_reason":`...)
	b = jsontext.AppendString(b, finish)
	b = append(b, `}],"usage":`...)
	b = appendUsageCost(b, usage, cost)
	b = append(b, "}\n"...)
	wr.out = b
	return wr.writeJSON(b)
}

func (wr *Writer) writeJSON(body []byte) error { return WriteJSON(wr.w, body) }

// WriteJSON writes body as a whole 200 JSON answer, with its length: what
// every dialect's writer does with a non-streaming answer. A failed write
// is the client gone.
func WriteJSON(w http.ResponseWriter, body []byte) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(body); err != nil {
		return ownkey.ErrClientGone
	}
	return nil
}

// appendEscaped appends as a JSON string the text whose escaped form
// (a JSON string's contents, as a provider escaped them) is escaped, in
// encoding/json's escaping, so that the object does not depend on how
// each provider escapes.
func (wr *Writer) appendEscaped(b, escaped []byte) []byte {
	wr.text = jsontext.AppendUnescaped(wr.text[:0], escaped)
	return jsontext.AppendString(b, wr.text)
}

// appendContents appends the contents of the JSON string literal lit (its
// quotes dropped); anything else adds nothing.
func appendContents(dst []byte, lit string) []byte {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return dst
	}
	return append(dst, lit[1:len(lit)-1]...)
}

// appendUsageCost is AppendUsage with the cost members, if cost is set,
// before the object's end.
func appendUsageCost(b []byte, u ownkey.Usage, cost *ownkey.Charge) []byte {
	b = AppendUsage(b, u)
	if cost == nil {
		return b
	}
	return append(AppendCost(b[:len(b)-1], *cost), '}')
}

// AppendCost appends a request's cost as members of an OpenAI usage object
// (a comma first; the object's other members come before, its '}' after),
// in OpenRouter's convention, which OpenAI-compatible clients read, with
// two members of ownkey's own:
//
//	"cost": 0.000012            what ownkey charged the account, in USD
//	"is_byok": true             served with the user's own provider key
//	"is_estimated": false       the tokens were estimated: the provider reported none
//	"cost_details": {
//	  "upstream_inference_cost": 0.00024,  what the provider bills, in USD (at cost)
//	  "markup_rate": 0.05                  the rate charged on the markup base
//	}
//
// Amounts are exact decimals of the nano-dollar amounts (no float ever
// held them): the number a client reads is the charge the ledger settled.
func AppendCost(b []byte, c ownkey.Charge) []byte {
	b = append(b, `,"cost":`...)
	b = ownkey.AppendDecimal(b, int64(c.Charged), 9)
	b = append(b, `,"is_byok":`...)
	b = strconv.AppendBool(b, c.BYOK)
	b = append(b, `,"is_estimated":`...)
	b = strconv.AppendBool(b, c.Estimated)
	b = append(b, `,"cost_details":{"upstream_inference_cost":`...)
	b = ownkey.AppendDecimal(b, int64(c.AtCost), 9)
	b = append(b, `,"markup_rate":`...)
	b = ownkey.AppendDecimal(b, int64(c.Markup), 6)
	return append(b, '}')
}

// Cost headers: a request's cost given beside an answer whose bytes are the
// provider's (a pass-through), with AppendCost's members' meanings. Set
// only on a non-streaming answer: a stream's headers leave before its cost
// is known.
const (
	HeaderCost         = "X-Ownkey-Cost-Usd"                    // cost: what ownkey charged the account
	HeaderUpstreamCost = "X-Ownkey-Upstream-Inference-Cost-Usd" // cost_details.upstream_inference_cost: at cost
	HeaderMarkupRate   = "X-Ownkey-Markup-Rate"                 // cost_details.markup_rate
	HeaderIsBYOK       = "X-Ownkey-Is-Byok"                     // is_byok
	HeaderIsEstimated  = "X-Ownkey-Is-Estimated"                // is_estimated
)

// SetCostHeaders gives c in h (see the Header constants), as exact
// decimals, as AppendCost does.
func SetCostHeaders(h http.Header, c ownkey.Charge) {
	var b [32]byte
	h.Set(HeaderCost, string(ownkey.AppendDecimal(b[:0], int64(c.Charged), 9)))
	h.Set(HeaderUpstreamCost, string(ownkey.AppendDecimal(b[:0], int64(c.AtCost), 9)))
	h.Set(HeaderMarkupRate, string(ownkey.AppendDecimal(b[:0], int64(c.Markup), 6)))
	h.Set(HeaderIsBYOK, strconv.FormatBool(c.BYOK))
	h.Set(HeaderIsEstimated, strconv.FormatBool(c.Estimated))
}

// InsertCost appends text, JSON holding a usage object whose closing brace
// is text[end], with the cost members (AppendCost) added at the end of that
// object: a provider's own usage object gets the cost without its bytes
// being read into anything or written again.
func InsertCost(b, text []byte, end int, c ownkey.Charge) []byte {
	b = append(b, text[:end]...)
	i := end - 1
	for i >= 0 && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') {
		i--
	}
	mark := len(b)
	b = AppendCost(b, c)
	if i >= 0 && text[i] == '{' {
		b = append(b[:mark], b[mark+1:]...) // an empty object: no comma before the first member
	}
	return append(b, text[end:]...)
}

// AppendUsage appends u as an OpenAI usage object. The reasoning tokens
// are given (completion_tokens_details) only when the provider counted
// them apart.
func AppendUsage(b []byte, u ownkey.Usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens+u.CompletionTokens, 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.CachedTokens, 10)
	b = append(b, `,"cache_write_tokens":`...)
	b = strconv.AppendInt(b, u.CacheWriteTokens, 10)
	b = append(b, '}')
	if u.ReasoningTokens > 0 {
		b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
		b = strconv.AppendInt(b, u.ReasoningTokens, 10)
		b = append(b, '}')
	}
	return append(b, '}')
}
