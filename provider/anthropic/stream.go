package anthropic

import (
	"bytes"
	"cmp"
	"net/http"
	"strings"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
)

const (
	// maxBlocks bounds the content block index a stream may use, so that a
	// hostile index cannot make the block table huge. Real messages have
	// a handful of blocks; agentic ones a few hundred.
	maxBlocks = 1 << 14
	// keepCap is the largest buffer a pooled exchange keeps.
	keepCap = 256 << 10
)

// What a content block of the stream is, for the deltas it becomes.
const (
	blockOther    = iota // nothing relayed: server tools, unknown kinds
	blockText            // content deltas
	blockThinking        // reasoning deltas
	blockTool            // a client tool call: tool-call deltas
	blockJSON            // the json tool of a JSON response_format: content deltas
)

type blockState struct {
	kind uint8
	open bool
	// sent: the tool call's arguments (or the json tool's content) got at
	// least one fragment, so no "{}" is owed at the block's end.
	sent bool
	tool int // tool-call index of a blockTool
}

// exchange is the state of one answer's translation, and the request's
// provider.Translator. Exchanges are pooled so that their buffers are
// reused across requests.
type exchange struct {
	req *ownkey.ChatRequest
	res *ownkey.ChatResult
	tr  *translation
	out *provider.Answer // the answer, as of the current event

	msgID []byte // raw id of the message being streamed
	lit   []byte // a JSON string literal built here (the json tool's content, a tool input given whole)

	started  bool // message_start seen
	finish   string
	usage    messageUsage
	blocks   []blockState
	tools    int  // tool calls opened
	answered bool // the json tool gave the answer
}

var exchanges = sync.Pool{New: func() any { return new(exchange) }}

func getExchange(req *ownkey.ChatRequest, res *ownkey.ChatResult, tr *translation) *exchange {
	x := exchanges.Get().(*exchange)
	x.req, x.res, x.tr = req, res, tr
	return x
}

func putExchange(x *exchange) {
	if cap(x.lit) > keepCap || cap(x.msgID) > keepCap {
		return
	}
	clear(x.blocks)
	*x = exchange{msgID: x.msgID[:0], lit: x.lit[:0], blocks: x.blocks[:0]}
	exchanges.Put(x)
}

// UpstreamError builds the client's error from an error answer (see
// upstreamError).
func (x *exchange) UpstreamError(status int, _ http.Header, body []byte) *ownkey.Error {
	return upstreamError(x.req, status, body)
}

// JSONAnswer reads a JSON body that answered a stream: Anthropic's error if
// it is one; its usage, if any, is recorded, as the tokens were spent.
func (x *exchange) JSONAnswer(body []byte, _ *provider.Answer) *ownkey.Error {
	return jsonAnswer(x.req, x.res, body)
}

// Event translates one event of an Anthropic stream: the answer goes to
// the client delta by delta, one per upstream event that has something for
// it.
func (x *exchange) Event(ev provider.Event, out *provider.Answer) provider.Step {
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 {
		return provider.StepMore
	}
	x.out = out
	return x.event(ev.Type, data)
}

// EOF: a stream that ends before message_stop is cut short.
func (x *exchange) EOF(*provider.Answer) provider.Step { return provider.StepMore }

// event translates one upstream event.
func (x *exchange) event(evType, data []byte) provider.Step {
	name := x.req.Provider.Name
	if msg := provider.UnreadableEvent(name, data, x.req.MaxJSONDepth); msg != "" {
		return x.fail(provider.CodeStreamError, msg)
	}
	root := gjson.Parse(view(data))
	typ := root.Get("type").Str
	if typ == "" {
		typ = view(evType)
	}
	if !x.started && typ != "message_start" && typ != "ping" && typ != "error" {
		return x.fail(provider.CodeStreamError, name+" sent "+safeEventType(typ)+" before message_start")
	}
	switch typ {
	case "message_start":
		return x.messageStart(root.Get("message"))
	case "content_block_start":
		return x.blockStart(root.Get("index"), root.Get("content_block"))
	case "content_block_delta":
		return x.blockDelta(root.Get("index"), root.Get("delta"))
	case "content_block_stop":
		return x.blockStop(root.Get("index"))
	case "message_delta":
		if r := root.Get("delta.stop_reason"); r.Type == gjson.String {
			x.finish = finishReason(r.Str)
			// A stream cut after message_delta still said why it
			// stopped.
			x.res.FinishReason = x.finish
		}
		x.updateUsage(root.Get("usage"))
	case "message_stop":
		return x.end()
	case "error":
		return x.upstreamError(data)
	}
	// ping, and event types newer than this adapter.
	return provider.StepMore
}

// updateUsage takes the counts an event carries; the result always holds
// the usage reported so far, whatever ends the stream.
func (x *exchange) updateUsage(u gjson.Result) {
	x.usage.update(u)
	x.res.Usage = x.usage.toUsage()
}

// safeEventType quotes an upstream event type for an error message, if it
// looks like one.
func safeEventType(t string) string {
	if len(t) > 40 || strings.IndexFunc(t, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r == '_') }) >= 0 {
		return "an unknown event"
	}
	return t
}

// messageStart opens the answer. A repeat of the open message's
// message_start (seen in real traffic) is ignored; a different message in
// the same stream means two answers were spliced together, and the stream
// cannot be trusted.
func (x *exchange) messageStart(msg gjson.Result) provider.Step {
	id := msg.Get("id")
	if x.started {
		if id.Raw == string(x.msgID) {
			return provider.StepMore
		}
		return x.fail(provider.CodeStreamError, x.req.Provider.Name+" started a second message in the same stream")
	}
	x.started = true
	x.msgID = append(x.msgID[:0], id.Raw...)
	x.updateUsage(msg.Get("usage"))
	return provider.More(x.out.Start(messageID(id.Str, x.req), cmp.Or(msg.Get("model").Str, x.req.Model), ownkey.Now().Unix()))
}

// messageID is the answer's id: the message's, else one made from the
// request id (built only then: the id escapes to the sink).
func messageID(id string, req *ownkey.ChatRequest) string {
	if id == "" {
		return "msg_" + req.RequestID
	}
	return id
}

// block returns the state of the block idx names, growing the table for a
// block being started; nil for an index out of range.
func (x *exchange) block(idx gjson.Result, starting bool) *blockState {
	if idx.Type != gjson.Number {
		return nil
	}
	i := idx.Int()
	if i < 0 || i >= maxBlocks {
		return nil
	}
	if int(i) >= len(x.blocks) {
		if !starting {
			return nil
		}
		x.blocks = append(x.blocks, make([]blockState, int(i)+1-len(x.blocks))...)
	}
	return &x.blocks[i]
}

func (x *exchange) blockStart(idx, cb gjson.Result) provider.Step {
	st := x.block(idx, true)
	if st == nil {
		return x.fail(provider.CodeStreamError, x.req.Provider.Name+" sent a content block with an invalid index")
	}
	*st = blockState{open: true}
	switch cb.Get("type").Str {
	case "text":
		if x.tr.jsonMode {
			// The content is the JSON answer alone (see Complete).
			return provider.StepMore
		}
		st.kind = blockText
		return x.text(jsonvalid.MemberRaw(cb.Raw, "text"))
	case "thinking":
		st.kind = blockThinking
		return x.reasoning(jsonvalid.MemberRaw(cb.Raw, "thinking"))
	case "tool_use":
	default:
		return provider.StepMore
	}
	name, input := cb.Get("name"), cb.Get("input")
	if x.tr.jsonMode && name.Str == jsonToolName {
		st.kind = blockJSON
		if hasMembers(input) {
			st.sent = true
			return x.jsonText(input.Raw)
		}
		return provider.StepMore
	}
	st.kind, st.tool = blockTool, x.tools
	x.tools++
	args := `""`
	if hasMembers(input) {
		// Input given whole in the start event, as some compatible
		// servers do.
		st.sent = true
		args = x.literal(input.Raw)
	}
	return provider.More(x.out.ToolCall(st.tool, cb.Get("id").Str, name.Str, args))
}

// hasMembers reports whether v is an object with at least one member.
func hasMembers(v gjson.Result) bool {
	found := false
	if v.IsObject() {
		v.ForEach(func(_, _ gjson.Result) bool { found = true; return false })
	}
	return found
}

func (x *exchange) blockDelta(idx, d gjson.Result) provider.Step {
	st := x.block(idx, false)
	if st == nil || !st.open {
		return x.fail(provider.CodeStreamError, x.req.Provider.Name+" sent a delta for a content block it had not started")
	}
	switch d.Get("type").Str {
	case "text_delta":
		if st.kind == blockText {
			return x.text(jsonvalid.MemberRaw(d.Raw, "text"))
		}
	case "thinking_delta":
		if st.kind == blockThinking {
			return x.reasoning(jsonvalid.MemberRaw(d.Raw, "thinking"))
		}
	case "input_json_delta":
		frag := jsonvalid.MemberRaw(d.Raw, "partial_json")
		if !isText(frag) {
			return provider.StepMore
		}
		switch st.kind {
		case blockTool:
			st.sent = true
			return provider.More(x.out.ToolArgs(st.tool, frag))
		case blockJSON:
			st.sent = true
			return x.text(frag)
		}
	}
	// signature_delta, citations_delta and newer kinds carry nothing a
	// chat completion has room for.
	return provider.StepMore
}

func (x *exchange) blockStop(idx gjson.Result) provider.Step {
	st := x.block(idx, false)
	if st == nil || !st.open {
		return x.fail(provider.CodeStreamError, x.req.Provider.Name+" ended a content block it had not started")
	}
	st.open = false
	switch {
	case st.kind == blockTool && !st.sent:
		// A tool without arguments sends only an empty fragment; the
		// client needs a JSON object to parse.
		return provider.More(x.out.ToolArgs(st.tool, `"{}"`))
	case st.kind == blockJSON:
		x.answered = true
		if !st.sent {
			return x.jsonText("{}")
		}
	}
	return provider.StepMore
}

// end finishes a complete message.
func (x *exchange) end() provider.Step {
	finish := cmp.Or(x.finish, "stop")
	if finish == "tool_calls" && x.tools == 0 && x.answered {
		finish = "stop"
	}
	if x.out.End(finish, x.usage.toUsage()) != nil {
		return provider.StepGone
	}
	return provider.StepEnd
}

// upstreamError relays Anthropic's mid-stream error event (overloaded,
// api_error, …), and ends the stream.
func (x *exchange) upstreamError(data []byte) provider.Step {
	c := x.req.Credential
	msg := provider.UpstreamMessage(data, c, x.req.MaxJSONDepth)
	if msg == "" {
		msg = x.req.Provider.Name + " reported an error in the stream"
	}
	typ := "upstream_error"
	if t := gjson.Get(view(data), "error.type"); t.Type == gjson.String && t.Str != "" {
		typ = provider.SafeToken(t.Str, c)
	}
	return provider.Ended(x.out.Fail(provider.CodeStreamError, typ, msg))
}

// fail ends a stream that cannot be completed; the client must not mistake
// a cut answer for a whole one.
func (x *exchange) fail(code, message string) provider.Step {
	return provider.Ended(x.out.Fail(code, "upstream_error", message))
}

// isText reports whether raw is a non-empty JSON string.
func isText(raw string) bool { return len(raw) > 2 && raw[0] == '"' }

// text sends the raw JSON string v as content, copied as it came: it is
// already escaped, and the event was checked to be valid JSON. Empty
// strings (and non-strings) send nothing.
func (x *exchange) text(v string) provider.Step {
	if !isText(v) {
		return provider.StepMore
	}
	return provider.More(x.out.Text(v))
}

// reasoning sends the raw JSON string v as reasoning, as text does.
func (x *exchange) reasoning(v string) provider.Step {
	if !isText(v) {
		return provider.StepMore
	}
	return provider.More(x.out.Reasoning(v))
}

// jsonText sends the JSON text raw as content: the json tool's input is
// the answer.
func (x *exchange) jsonText(raw string) provider.Step {
	return provider.More(x.out.Text(x.literal(raw)))
}

// literal is raw as a JSON string literal, in x.lit: valid until the next
// call.
func (x *exchange) literal(raw string) string {
	x.lit = gjson.AppendJSONString(x.lit[:0], raw)
	return view(x.lit)
}
