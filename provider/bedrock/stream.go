package bedrock

import (
	"bytes"
	"cmp"
	"io"
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
	// hostile index cannot make the block table huge.
	maxBlocks = 1 << 14
	// keepCap is the largest buffer a pooled exchange keeps.
	keepCap = 256 << 10
)

// What a content block of the stream is, for the deltas it becomes. Text
// and reasoning blocks have no start event: their first delta says.
const (
	blockNone      = iota // not seen yet
	blockText             // content deltas
	blockReasoning        // reasoning deltas
	blockTool             // a client tool call: tool-call deltas
	blockJSON             // the json tool of a JSON response_format: content deltas
	blockOther            // nothing relayed
)

type blockState struct {
	kind uint8
	// sent: the tool call's arguments (or the json tool's content) got at
	// least one fragment, so no "{}" is owed at the block's end.
	sent bool
	tool int // tool-call index of a blockTool
}

// exchange is the state of one answer's translation, and the request's
// provider.Translator (and provider.EventSourcer: the stream is AWS
// event-stream, not SSE). Exchanges are pooled so that their buffers are
// reused across requests.
type exchange struct {
	req *ownkey.ChatRequest
	res *ownkey.ChatResult
	tr  *translation
	out *provider.Answer // the answer, as of the current event
	src *frameSource

	lit []byte // a JSON string literal built here (a tool input given whole)

	started bool // the answer was opened
	stopped bool // messageStop seen: the message is complete
	usageIn bool // metadata seen: the usage is known
	finish  string
	usage   tokenUsage
	blocks  []blockState
	tools   int  // tool calls opened
	jsonAns bool // the json tool gave the answer
}

var exchanges = sync.Pool{New: func() any { return new(exchange) }}

func getExchange(req *ownkey.ChatRequest, res *ownkey.ChatResult, tr *translation) *exchange {
	x := exchanges.Get().(*exchange)
	x.req, x.res, x.tr = req, res, tr
	return x
}

func putExchange(x *exchange) {
	if cap(x.lit) > keepCap {
		return
	}
	if x.src != nil {
		x.src.reset(nil)
	}
	clear(x.blocks)
	*x = exchange{lit: x.lit[:0], blocks: x.blocks[:0], src: x.src}
	exchanges.Put(x)
}

// EventSource reads the ConverseStream body (see frameSource).
func (x *exchange) EventSource(body io.Reader) provider.EventSource {
	if x.src == nil {
		x.src = newFrameSource()
	}
	x.src.reset(body)
	return x.src
}

// UpstreamError builds the client's error from an error answer (see
// upstreamError).
func (x *exchange) UpstreamError(status int, header http.Header, body []byte) *ownkey.Error {
	return upstreamError(x.req, status, header, body)
}

// JSONAnswer reads a JSON body that answered a stream: a Converse answer
// (its usage is recorded, the tokens were spent; Core reports that no
// stream came), else Bedrock's error.
func (x *exchange) JSONAnswer(body []byte, _ *provider.Answer) *ownkey.Error {
	if jsonvalid.Check(body, x.req.MaxJSONDepth) == nil && gjson.GetBytes(body, "output").IsObject() {
		var u tokenUsage
		u.update(gjson.GetBytes(body, "usage"))
		x.res.Usage = u.toUsage()
		return nil
	}
	return upstreamError(x.req, http.StatusOK, http.Header{}, body)
}

// Event translates one message of a ConverseStream answer: the answer goes
// to the client delta by delta, one per upstream event that has something
// for it.
func (x *exchange) Event(ev provider.Event, out *provider.Answer) provider.Step {
	x.out = out
	name, depth := x.req.Provider.Name, x.req.MaxJSONDepth
	data := bytes.TrimSpace(ev.Data)
	if x.src != nil {
		switch x.src.kind {
		case kindError:
			return x.streamError(view(ev.Type), x.src.errMessage, nil)
		case kindException:
			// Its message, when the payload is JSON to read it from.
			if jsonvalid.Check(data, depth) != nil {
				data = nil
			}
			return x.streamError(view(ev.Type), "", data)
		}
	}
	if msg := provider.UnreadableEvent(name, data, depth); msg != "" {
		return x.fail(msg)
	}
	return x.event(view(ev.Type), view(data))
}

// EOF: a stream that ends after messageStop is complete even without its
// metadata (the usage is then estimated); before it, it is cut short.
func (x *exchange) EOF(*provider.Answer) provider.Step {
	if x.stopped {
		return x.end()
	}
	return provider.StepMore
}

// event translates one event; data is valid JSON.
func (x *exchange) event(typ, data string) provider.Step {
	switch typ {
	case "messageStart":
		return x.start()
	case "contentBlockStart":
		return x.blockStart(gjson.Get(data, "contentBlockIndex"), jsonvalid.MemberRaw(data, "start"))
	case "contentBlockDelta":
		return x.blockDelta(gjson.Get(data, "contentBlockIndex"), jsonvalid.MemberRaw(data, "delta"))
	case "contentBlockStop":
		return x.blockStop(gjson.Get(data, "contentBlockIndex"))
	case "messageStop":
		x.stopped = true
		x.finish = finishReason(gjson.Get(data, "stopReason").Str)
		// A stream cut after messageStop still said why it stopped.
		x.res.FinishReason = x.finish
		if x.usageIn {
			return x.end()
		}
		// The usage (metadata) follows messageStop: the answer ends
		// with it, or at the end of the stream.
		return provider.StepMore
	case "metadata":
		x.usage.update(gjson.Get(data, "usage"))
		x.res.Usage = x.usage.toUsage()
		x.usageIn = true
		if x.stopped {
			return x.end()
		}
	}
	// Event types newer than this adapter carry nothing it knows.
	return provider.StepMore
}

// start opens the answer, once: at messageStart, or at the first event
// that has something for the client when a stream has none.
func (x *exchange) start() provider.Step {
	if x.started {
		return provider.StepMore
	}
	x.started = true
	return provider.More(x.out.Start(answerID(x.req), x.req.Model, ownkey.Now().Unix()))
}

// answerID is the answer's id: Bedrock's answers have none, so it is made
// from the request id.
func answerID(req *ownkey.ChatRequest) string { return "chatcmpl-" + req.RequestID }

// block returns the state of the block idx names, growing the table as
// blocks appear (text and reasoning blocks start with their first delta);
// nil for an index out of range.
func (x *exchange) block(idx gjson.Result) *blockState {
	if idx.Type != gjson.Number {
		return nil
	}
	i := idx.Int()
	if i < 0 || i >= maxBlocks {
		return nil
	}
	if int(i) >= len(x.blocks) {
		x.blocks = append(x.blocks, make([]blockState, int(i)+1-len(x.blocks))...)
	}
	return &x.blocks[i]
}

func (x *exchange) blockStart(idx gjson.Result, start string) provider.Step {
	st := x.block(idx)
	if st == nil {
		return x.fail(x.req.Provider.Name + " sent a content block with an invalid index")
	}
	if s := x.start(); s != provider.StepMore {
		return s
	}
	use := jsonvalid.MemberRaw(start, "toolUse")
	if use == "" {
		// An image, a tool result of a server tool, kinds newer than
		// this adapter: nothing a chat completion has room for.
		*st = blockState{kind: blockOther}
		return provider.StepMore
	}
	name := gjson.Get(use, "name").Str
	if x.tr.jsonMode && name == jsonToolName {
		*st = blockState{kind: blockJSON}
		return provider.StepMore
	}
	*st = blockState{kind: blockTool, tool: x.tools}
	x.tools++
	return provider.More(x.out.ToolCall(st.tool, gjson.Get(use, "toolUseId").Str, name, `""`))
}

func (x *exchange) blockDelta(idx gjson.Result, delta string) provider.Step {
	st := x.block(idx)
	if st == nil {
		return x.fail(x.req.Provider.Name + " sent a delta for a content block with an invalid index")
	}
	if s := x.start(); s != provider.StepMore {
		return s
	}
	if text := jsonvalid.MemberRaw(delta, "text"); text != "" {
		if st.kind == blockNone {
			st.kind = blockText
		}
		if st.kind == blockText && !x.tr.jsonMode {
			return x.text(text)
		}
		return provider.StepMore
	}
	if rc := jsonvalid.MemberRaw(delta, "reasoningContent"); rc != "" {
		if st.kind == blockNone {
			st.kind = blockReasoning
		}
		// Signatures and redacted reasoning cannot go back to Bedrock
		// through an OpenAI client: only the text is relayed.
		if t := jsonvalid.MemberRaw(rc, "text"); st.kind == blockReasoning && isText(t) {
			return provider.More(x.out.Reasoning(t))
		}
		return provider.StepMore
	}
	if use := jsonvalid.MemberRaw(delta, "toolUse"); use != "" {
		frag := jsonvalid.MemberRaw(use, "input")
		switch {
		case st.kind != blockTool && st.kind != blockJSON:
			return x.fail(x.req.Provider.Name + " sent tool input for a content block that is not a tool call")
		case !isText(frag):
			return provider.StepMore
		case st.kind == blockTool:
			st.sent = true
			return provider.More(x.out.ToolArgs(st.tool, frag))
		default:
			st.sent = true
			return x.text(frag)
		}
	}
	// Citations, images and newer kinds carry nothing a chat completion
	// has room for.
	return provider.StepMore
}

func (x *exchange) blockStop(idx gjson.Result) provider.Step {
	st := x.block(idx)
	if st == nil {
		return x.fail(x.req.Provider.Name + " ended a content block with an invalid index")
	}
	switch {
	case st.kind == blockTool && !st.sent:
		// A tool without arguments sends no fragment; the client needs a
		// JSON object to parse.
		st.sent = true
		return provider.More(x.out.ToolArgs(st.tool, `"{}"`))
	case st.kind == blockJSON:
		x.jsonAns = true
		if !st.sent {
			st.sent = true
			return x.text(`"{}"`)
		}
	}
	return provider.StepMore
}

// end finishes a complete message.
func (x *exchange) end() provider.Step {
	if s := x.start(); s != provider.StepMore {
		return s
	}
	finish := cmp.Or(x.finish, "stop")
	if finish == "tool_calls" && x.tools == 0 && x.jsonAns {
		finish = "stop"
	}
	if x.out.End(finish, x.usage.toUsage()) != nil {
		return provider.StepGone
	}
	return provider.StepEnd
}

// streamError relays an exception (throttlingException,
// modelStreamErrorException, …) or an error message of the stream, and
// ends it: its type, and its message in Bedrock's words, the credential
// scrubbed.
func (x *exchange) streamError(typ, message string, payload []byte) provider.Step {
	c := x.req.Credential
	switch {
	case message != "":
		// An error message's header: text, scrubbed, collapsed and cut
		// as any upstream message.
		message = provider.UpstreamMessage([]byte(message), c, x.req.MaxJSONDepth)
	case payload != nil:
		message = provider.UpstreamMessage(payload, c, x.req.MaxJSONDepth)
		// modelStreamErrorException carries what the model said.
		if orig := gjson.GetBytes(payload, "originalMessage"); orig.Type == gjson.String && orig.Str != "" {
			message += " (the model said: " + provider.UpstreamMessage([]byte(orig.Raw), c, x.req.MaxJSONDepth) + ")"
		}
	}
	typ = provider.SafeToken(typ, c)
	message = strings.TrimSpace(message)
	if message == "" {
		message = x.req.Provider.Name + " reported an error in the stream"
	}
	if typ != "" {
		message = typ + ": " + message
	} else {
		typ = "upstream_error"
	}
	return provider.Ended(x.out.Fail(provider.CodeStreamError, typ, message))
}

// fail ends a stream that cannot be completed; the client must not mistake
// a cut answer for a whole one.
func (x *exchange) fail(message string) provider.Step {
	return provider.Ended(x.out.Fail(provider.CodeStreamError, "upstream_error", message))
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

// literal is raw as a JSON string literal, in x.lit: valid until the next
// call.
func (x *exchange) literal(raw string) string {
	x.lit = gjson.AppendJSONString(x.lit[:0], raw)
	return view(x.lit)
}
