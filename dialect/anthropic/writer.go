// Package anthropic is the Anthropic Messages client dialect: Writer, the
// ownkey.ChatSink of clients that speak Anthropic's Messages API (the
// Anthropic SDKs, Claude Code, agents built on them), and Translate, which
// turns their request into OpenAI Chat Completions, the terms every
// provider family reads (request.go). A request routed to a provider that
// speaks Messages itself (anthropic, azure-anthropic-foundry) is not
// translated: the provider family passes it through (provider/anthropic's
// pass-through adapter), and its answer comes back to this writer as bytes
// (RelayEvent, RelayBody).
//
// # Answer
//
// A streamed answer is the event sequence the SDKs expect, each event an
// `event:` line naming its type and a `data:` line:
//
//	message_start        the message with empty content; usage zero (the
//	                     sink learns usage only at the end)
//	ping
//	content_block_start  per block: text, thinking (no signature: reasoning
//	content_block_delta  from another family has none) or tool_use; deltas
//	content_block_stop   text_delta, thinking_delta, input_json_delta
//	message_delta        stop_reason and the usage, with ownkey's cost
//	message_stop
//
// A block is opened by the first delta of its kind and closed when another
// kind begins or the answer ends; each tool call is a tool_use block of its
// own. A stream that fails ends with an `error` event and no message_stop.
// A non-streaming answer is one message object with the same blocks.
//
// stop_reason from OpenAI's finish reason: stop → end_turn, length →
// max_tokens, tool_calls → tool_use, content_filter → refusal.
//
// Usage in Anthropic's meaning: input_tokens excludes the cached and
// cache-write tokens (cache_read_input_tokens, cache_creation_input_tokens),
// output_tokens includes reasoning. When billing priced the answer, the
// usage object also has OpenAI's cost members (dialect/openai.AppendCost:
// cost, is_byok, is_estimated, cost_details), as chat's does.
package anthropic

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/jsontext"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/sse"
)

// What a content block is.
const (
	blockNone uint8 = iota
	blockText
	blockThinking
	blockTool
)

// block is one content block of a non-streaming answer: text and thinking
// as the contents of the JSON strings received (still escaped), one after
// the other; a tool call's id, name and arguments.
type block struct {
	kind     uint8
	tool     int // the tool call's index
	text     []byte
	id, name []byte
}

// Writer writes one answer to an http.ResponseWriter in the Messages API's
// format. The zero Writer is not usable: Reset it first. Writers are meant
// to be pooled with the request that owns them (Released).
type Writer struct {
	w      http.ResponseWriter
	stream bool
	relay  sse.Relay
	out    []byte

	// A stream's open block: its kind, its index and, for a tool_use
	// block, the tool call's index; next is the next block's index.
	open      uint8
	openIndex int
	openTool  int
	next      int
	// toolBlock maps a tool call's index to its block's.
	toolBlock []int

	// A non-streaming answer, gathered until End.
	id, model []byte
	blocks    []block
	nBlocks   int
	text      []byte // scratch: unescaped text
}

var _ ownkey.ChatSink = (*Writer)(nil)

// NewWriter returns a Writer for one answer to w, streamed or not.
func NewWriter(w http.ResponseWriter, stream bool) *Writer {
	wr := &Writer{}
	wr.Reset(w, stream)
	return wr
}

// Reset makes wr write a new answer to w, keeping its buffers.
func (wr *Writer) Reset(w http.ResponseWriter, stream bool) {
	*wr = wr.Released()
	wr.w, wr.stream = w, stream
}

// Finish disarms a stream's header timer (see openai.Writer.Finish).
func (wr *Writer) Finish() { wr.relay.Finish() }

// Released returns an empty Writer that keeps only wr's buffers (those not
// grown large), for pooling, once the answer is over. It finishes wr.
func (wr *Writer) Released() Writer {
	relay := wr.relay.Released()
	if relay.BufferCap() > sse.KeepCap {
		relay = sse.Relay{}
	}
	blocks := wr.blocks[:0]
	for i := range wr.blocks[:min(wr.nBlocks, len(wr.blocks))] {
		b := &wr.blocks[i]
		if cap(b.text) > sse.KeepCap {
			*b = block{}
		}
	}
	return Writer{
		relay:     relay,
		out:       sse.Keep(wr.out),
		id:        sse.Keep(wr.id),
		model:     sse.Keep(wr.model),
		text:      sse.Keep(wr.text),
		blocks:    blocks,
		toolBlock: wr.toolBlock[:0],
	}
}

func (wr *Writer) Dialect() ownkey.Dialect { return ownkey.DialectAnthropicMessages }

// Stream sends the headers of an event stream (held back until the first
// event, at most sse.HeaderDelay) and returns the relay: see
// ownkey.ChatSink.Stream.
func (wr *Writer) Stream(upstream io.Reader, done <-chan struct{}) io.Reader {
	return wr.relay.Open(wr.w, upstream, done)
}

// ping is the event Anthropic sends after message_start, byte for byte.
const ping = "event: ping\ndata: {\"type\": \"ping\"}\n\n"

func (wr *Writer) Start(id, model string, _ int64) error {
	if !wr.stream {
		wr.id = append(wr.id[:0], id...)
		wr.model = append(wr.model[:0], model...)
		return nil
	}
	b := append(wr.out[:0], `{"type":"message_start","message":{"id":`...)
	b = gjson.AppendJSONString(b, id)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = gjson.AppendJSONString(b, model)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}}`...)
	wr.out = b
	if err := wr.event("message_start", b); err != nil {
		return err
	}
	return wr.raw(ping)
}

func (wr *Writer) Text(text string) error {
	if !wr.stream {
		wr.appendTo(blockText, text)
		return nil
	}
	if err := wr.openBlock(blockText, `{"type":"text","text":""}`); err != nil {
		return err
	}
	return wr.delta(wr.openIndex, `{"type":"text_delta","text":`, text)
}

func (wr *Writer) Reasoning(text string) error {
	if !wr.stream {
		wr.appendTo(blockThinking, text)
		return nil
	}
	if err := wr.openBlock(blockThinking, `{"type":"thinking","thinking":"","signature":""}`); err != nil {
		return err
	}
	return wr.delta(wr.openIndex, `{"type":"thinking_delta","thinking":`, text)
}

func (wr *Writer) ToolCall(index int, id, name, args string) error {
	if index < 0 {
		return nil
	}
	if !wr.stream {
		b := wr.newBlock(blockTool)
		b.tool = index
		b.id = append(b.id[:0], id...)
		b.name = append(b.name[:0], name...)
		b.text = appendContents(b.text, args)
		return nil
	}
	if err := wr.closeBlock(); err != nil {
		return err
	}
	for len(wr.toolBlock) <= index {
		wr.toolBlock = append(wr.toolBlock, -1)
	}
	wr.toolBlock[index] = wr.next
	wr.open, wr.openIndex, wr.openTool = blockTool, wr.next, index
	wr.next++
	b := wr.blockStart(wr.openIndex)
	b = append(b, `{"type":"tool_use","id":`...)
	b = gjson.AppendJSONString(b, id)
	b = append(b, `,"name":`...)
	b = gjson.AppendJSONString(b, name)
	b = append(b, `,"input":{}}}`...)
	wr.out = b
	if err := wr.event("content_block_start", b); err != nil {
		return err
	}
	return wr.ToolArgs(index, args)
}

// ToolArgs adds a fragment to a tool call's input. Providers send a call's
// fragments before the next call opens; a fragment of a call whose block
// another has followed still goes to that call's block, by its index.
func (wr *Writer) ToolArgs(index int, args string) error {
	if !wr.stream {
		for i := wr.nBlocks - 1; i >= 0; i-- {
			if b := &wr.blocks[i]; b.kind == blockTool && b.tool == index {
				b.text = appendContents(b.text, args)
				break
			}
		}
		return nil
	}
	if len(args) <= 2 || index < 0 || index >= len(wr.toolBlock) || wr.toolBlock[index] < 0 {
		return nil // an empty fragment, or one of a call never opened
	}
	return wr.delta(wr.toolBlock[index], `{"type":"input_json_delta","partial_json":`, args)
}

// End closes the open block and writes message_delta (stop_reason, usage
// and cost) and message_stop; or, not streaming, the whole message.
func (wr *Writer) End(finish string, usage ownkey.Usage, cost *ownkey.Charge) error {
	if !wr.stream {
		return wr.complete(finish, usage, cost)
	}
	if err := wr.closeBlock(); err != nil {
		return err
	}
	b := append(wr.out[:0], `{"type":"message_delta","delta":{"stop_reason":`...)
	b = gjson.AppendJSONString(b, StopReason(finish))
	b = append(b, `,"stop_sequence":null},"usage":`...)
	b = AppendUsage(b, usage, cost)
	b = append(b, '}')
	wr.out = b
	if err := wr.event("message_delta", b); err != nil {
		return err
	}
	return wr.raw("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
}

// errNotStreaming: Fail is for streams.
var errNotStreaming = errors.New("anthropic.Writer: Fail on an answer that is not streamed")

// Fail writes an error event, {"type":"error","error":{"type","message"}},
// and no message_stop, so that no client takes the answer for whole.
func (wr *Writer) Fail(code, typ, message string) error {
	if !wr.stream {
		return errNotStreaming
	}
	wr.out = AppendError(wr.out[:0], streamErrorType(code, typ), message)
	return wr.event("error", wr.out)
}

// RelayEvent writes a provider's event as it came: its `event:` line, if
// it had one, and its data.
func (wr *Writer) RelayEvent(typ, data []byte) error {
	b := append(wr.out[:0], "event: "...)
	if len(typ) == 0 {
		b = b[:0]
	} else {
		b = append(append(b, typ...), '\n')
	}
	b = sse.AppendData(b, data)
	wr.out = b
	if !wr.relay.Raw(b) {
		return ownkey.ErrClientGone
	}
	return nil
}

// RelayBody writes a provider's message as it is, with its cost, when
// priced, in response headers (openai.SetCostHeaders): the body stays the
// provider's.
func (wr *Writer) RelayBody(body []byte, cost *ownkey.Charge) error {
	if cost != nil {
		openai.SetCostHeaders(wr.w.Header(), *cost)
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

// openBlock makes a block of kind the open one, closing the one open and
// starting it (start is its content_block) unless it is open already.
func (wr *Writer) openBlock(kind uint8, start string) error {
	if wr.open == kind {
		return nil
	}
	if err := wr.closeBlock(); err != nil {
		return err
	}
	wr.open, wr.openIndex = kind, wr.next
	wr.next++
	b := wr.blockStart(wr.openIndex)
	b = append(b, start...)
	b = append(b, '}')
	wr.out = b
	return wr.event("content_block_start", b)
}

// blockStart begins a content_block_start event, up to its content_block.
func (wr *Writer) blockStart(index int) []byte {
	b := append(wr.out[:0], `{"type":"content_block_start","index":`...)
	b = strconv.AppendInt(b, int64(index), 10)
	return append(b, `,"content_block":`...)
}

// closeBlock ends the open block, if any.
func (wr *Writer) closeBlock() error {
	if wr.open == blockNone {
		return nil
	}
	wr.open = blockNone
	b := append(wr.out[:0], `{"type":"content_block_stop","index":`...)
	b = strconv.AppendInt(b, int64(wr.openIndex), 10)
	b = append(b, '}')
	wr.out = b
	return wr.event("content_block_stop", b)
}

// delta writes a content_block_delta for block index whose delta is open
// (`{"type":…,"<member>":`) followed by the JSON string literal v, copied
// as it came. An empty string sends nothing.
func (wr *Writer) delta(index int, open, v string) error {
	if len(v) <= 2 {
		return nil
	}
	b := append(wr.out[:0], `{"type":"content_block_delta","index":`...)
	b = strconv.AppendInt(b, int64(index), 10)
	b = append(b, `,"delta":`...)
	b = append(b, open...)
	b = append(b, v...)
	b = append(b, `}}`...)
	wr.out = b
	return wr.event("content_block_delta", b)
}

// event frames data as an event of type typ.
func (wr *Writer) event(typ string, data []byte) error {
	wr.text = appendEvent(wr.text[:0], typ, data)
	if !wr.relay.Raw(wr.text) {
		return ownkey.ErrClientGone
	}
	return nil
}

func appendEvent(b []byte, typ string, data []byte) []byte {
	b = append(b, "event: "...)
	b = append(b, typ...)
	b = append(b, '\n')
	return sse.AppendData(b, data)
}

func (wr *Writer) raw(framed string) error {
	wr.text = append(wr.text[:0], framed...)
	if !wr.relay.Raw(wr.text) {
		return ownkey.ErrClientGone
	}
	return nil
}

// appendTo adds the literal text to the last block if it is of kind, else
// to a new block.
func (wr *Writer) appendTo(kind uint8, text string) {
	var b *block
	if wr.nBlocks > 0 && wr.blocks[wr.nBlocks-1].kind == kind {
		b = &wr.blocks[wr.nBlocks-1]
	} else {
		b = wr.newBlock(kind)
	}
	b.text = appendContents(b.text, text)
}

func (wr *Writer) newBlock(kind uint8) *block {
	if wr.nBlocks == len(wr.blocks) {
		wr.blocks = append(wr.blocks, block{})
	}
	b := &wr.blocks[wr.nBlocks]
	wr.nBlocks++
	*b = block{kind: kind, text: b.text[:0], id: b.id[:0], name: b.name[:0]}
	return b
}

// complete writes a non-streaming answer: the message object, as
// encoding/json writes it (no HTML escaping), with a final newline.
func (wr *Writer) complete(finish string, usage ownkey.Usage, cost *ownkey.Charge) error {
	b := append(wr.out[:0], `{"id":`...)
	b = jsontext.AppendString(b, wr.id)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = jsontext.AppendString(b, wr.model)
	b = append(b, `,"content":[`...)
	for i := range wr.nBlocks {
		bl := &wr.blocks[i]
		if i > 0 {
			b = append(b, ',')
		}
		switch bl.kind {
		case blockText:
			b = append(b, `{"type":"text","text":`...)
			b = wr.appendEscaped(b, bl.text)
			b = append(b, '}')
		case blockThinking:
			b = append(b, `{"type":"thinking","thinking":`...)
			b = wr.appendEscaped(b, bl.text)
			b = append(b, `,"signature":""}`...)
		case blockTool:
			b = append(b, `{"type":"tool_use","id":`...)
			b = jsontext.AppendString(b, bl.id)
			b = append(b, `,"name":`...)
			b = jsontext.AppendString(b, bl.name)
			b = append(b, `,"input":`...)
			b = wr.appendInput(b, bl.text)
			b = append(b, '}')
		}
	}
	b = append(b, `],"stop_reason":`...)
	b = jsontext.AppendString(b, StopReason(finish))
	b = append(b, `,"stop_sequence":null,"usage":`...)
	b = AppendUsage(b, usage, cost)
	b = append(b, "}\n"...)
	wr.out = b
	return wr.writeJSON(b)
}

// appendInput appends a tool call's arguments (escaped contents of a JSON
// string) as the tool_use input, which must be an object: the arguments
// when they are a JSON object, else {} (none given, or text that is not an
// object, which Anthropic's format has no room for).
func (wr *Writer) appendInput(b, escaped []byte) []byte {
	wr.text = jsontext.AppendUnescaped(wr.text[:0], escaped)
	args := wr.text
	i := jsonvalid.SkipSpace(args, 0)
	if i < len(args) && args[i] == '{' && jsonvalid.Check(args, jsonvalid.DefaultMaxDepth) == nil {
		return append(b, args[i:]...)
	}
	return append(b, "{}"...)
}

func (wr *Writer) writeJSON(body []byte) error { return openai.WriteJSON(wr.w, body) }

// appendEscaped appends as a JSON string the text whose escaped form is
// escaped, in encoding/json's escaping (see openai.Writer).
func (wr *Writer) appendEscaped(b, escaped []byte) []byte {
	wr.text = jsontext.AppendUnescaped(wr.text[:0], escaped)
	return jsontext.AppendString(b, wr.text)
}

// appendContents appends the contents of the JSON string literal lit.
func appendContents(dst []byte, lit string) []byte {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return dst
	}
	return append(dst, lit[1:len(lit)-1]...)
}

// StopReason is Anthropic's stop_reason for OpenAI's finish reason.
func StopReason(finish string) string {
	switch finish {
	case "length":
		return "max_tokens"
	case "tool_calls", "function_call":
		return "tool_use"
	case "content_filter":
		return "refusal"
	}
	return "end_turn"
}

// AppendUsage appends u as an Anthropic usage object, with the cost
// members (openai.AppendCost) when cost is set.
func AppendUsage(b []byte, u ownkey.Usage, cost *ownkey.Charge) []byte {
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, max(u.PromptTokens-u.CachedTokens-u.CacheWriteTokens, 0), 10)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = strconv.AppendInt(b, u.CacheWriteTokens, 10)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = strconv.AppendInt(b, u.CachedTokens, 10)
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens, 10)
	if cost != nil {
		b = openai.AppendCost(b, *cost)
	}
	return append(b, '}')
}
