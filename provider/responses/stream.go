package responses

import (
	"bytes"
	"cmp"
	"net/http"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
)

const (
	// maxItems bounds the output_index a stream may use, so that a hostile
	// index cannot make the item table huge. Real responses have a handful
	// of output items; agentic ones a few hundred.
	maxItems = 1 << 14
	// keepCap is the largest buffer a pooled exchange keeps.
	keepCap = 256 << 10
)

// What an output item of the stream is, for the deltas it becomes.
const (
	itemUnknown   = iota // no event has said yet
	itemMessage          // content deltas
	itemReasoning        // reasoning deltas
	itemTool             // a function call: tool-call deltas
	itemOther            // nothing relayed: hosted tools, newer kinds
)

type itemState struct {
	kind uint8
	// opened: a function call's tool call was sent to the client (its
	// index, id and name).
	opened bool
	// sent: the item's content (text, reasoning, or the call's arguments)
	// got at least one fragment, so it is not sent again whole when the
	// item is done.
	sent bool
	tool int // tool-call index of an itemTool
}

// partSeparator goes between two reasoning summary parts, as a JSON string
// literal: a blank line, as the parts are paragraphs.
const partSeparator = `"\n\n"`

// exchange is the state of one answer's translation, and the request's
// provider.Translator. Exchanges are pooled so that their buffers are
// reused across requests.
type exchange struct {
	req *ownkey.ChatRequest
	res *ownkey.ChatResult
	out *provider.Answer // the answer, as of the current event

	respID []byte // raw id of the response being streamed

	started  bool
	streamed bool // content, reasoning or a tool call was sent
	refused  bool // a refusal was sent as content
	items    []itemState
	tools    int // tool calls opened
	// reasoningPart identifies the reasoning part last sent (its
	// output_index and summary or content index, and which of the two;
	// for parts sent whole, wholeParts), -1 before any: a delta of another
	// part is preceded by partSeparator.
	reasoningPart int64
	wholeParts    int64

	// relay: the client speaks the Responses API, so the provider's
	// bytes are relayed, read only for accounting (relay.go).
	relay bool
	// counted is the output relayed (translated output is counted by
	// provider.Answer); errored: an error event was relayed.
	counted provider.Output
	errored bool
}

var exchanges = sync.Pool{New: func() any { return new(exchange) }}

func getExchange(req *ownkey.ChatRequest, res *ownkey.ChatResult) *exchange {
	x := exchanges.Get().(*exchange)
	x.req, x.res, x.reasoningPart = req, res, -1
	return x
}

func putExchange(x *exchange) {
	x.counted.Report(x.res)
	if cap(x.respID) > keepCap || cap(x.items) > maxItems/4 {
		return
	}
	clear(x.items)
	x.counted.Reset()
	*x = exchange{respID: x.respID[:0], items: x.items[:0], counted: x.counted}
	exchanges.Put(x)
}

// UpstreamError builds the client's error from an error answer (see
// upstreamError).
func (x *exchange) UpstreamError(status int, _ http.Header, body []byte) *ownkey.Error {
	return upstreamError(x.req, status, body)
}

// JSONAnswer reads a JSON body that answered a stream: the provider's
// error, or a response object that failed or did not finish, becomes the
// client's error; usage in it, if any, is recorded, as the tokens were
// spent.
func (x *exchange) JSONAnswer(body []byte, _ *provider.Answer) *ownkey.Error {
	if jsonvalid.Check(body, x.req.MaxJSONDepth) != nil {
		return nil
	}
	root := gjson.ParseBytes(body)
	if root.Get("error").IsObject() && root.Get("object").Str != "response" {
		return upstreamError(x.req, http.StatusBadGateway, body)
	}
	x.res.Usage = usageOf(root.Get("usage"))
	if st := root.Get("status").Str; st != "" && st != "completed" && st != "incomplete" {
		return failedError(x.req, st, root)
	}
	return nil
}

// Event translates one event of a Responses stream: the answer goes to the
// client delta by delta, one per upstream event that has something for it.
func (x *exchange) Event(ev provider.Event, out *provider.Answer) provider.Step {
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 || string(data) == "[DONE]" {
		// The API sends no [DONE]; a proxy that adds one after the
		// terminal event is never read that far.
		return provider.StepMore
	}
	if x.relay {
		return x.relayEvent(ev, data, out)
	}
	x.out = out
	return x.event(ev.Type, data)
}

// EOF: a stream that ends before its terminal event is cut short.
// A relayed stream whose provider ended it with an error event is over:
// the client has the error.
func (x *exchange) EOF(*provider.Answer) provider.Step {
	if x.relay && x.errored {
		return provider.StepEnd
	}
	return provider.StepMore
}

// event translates one upstream event (see the package comment).
func (x *exchange) event(evType, data []byte) provider.Step {
	name := x.req.Provider.Name
	if msg := provider.UnreadableEvent(name, data, x.req.MaxJSONDepth); msg != "" {
		return x.fail(provider.CodeStreamError, msg)
	}
	d := view(data)
	typ := gjson.Get(d, "type").Str
	if typ == "" {
		typ = view(evType)
	}
	switch typ {
	case "response.output_text.delta", "response.refusal.delta":
		st := x.item(gjson.Get(d, "output_index"))
		if st != nil {
			st.sent = true
			st.kind = cmp.Or(st.kind, itemMessage)
		}
		x.refused = x.refused || typ == "response.refusal.delta"
		return x.text(jsonvalid.MemberRaw(d, "delta"))
	case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
		idx := gjson.Get(d, "output_index")
		if st := x.item(idx); st != nil {
			st.sent = true
			st.kind = cmp.Or(st.kind, itemReasoning)
		}
		key := idx.Int()<<32 | gjson.Get(d, "summary_index").Int()<<1
		if typ == "response.reasoning_text.delta" {
			key = idx.Int()<<32 | gjson.Get(d, "content_index").Int()<<1 | 1
		}
		return x.reasoning(key, jsonvalid.MemberRaw(d, "delta"))
	case "response.function_call_arguments.delta":
		st := x.item(gjson.Get(d, "output_index"))
		if st == nil || st.kind != itemTool || !st.opened {
			return x.fail(provider.CodeStreamError, name+" sent arguments for a function call it had not started")
		}
		frag := jsonvalid.MemberRaw(d, "delta")
		if !isText(frag) {
			return provider.StepMore
		}
		st.sent = true
		return provider.More(x.out.ToolArgs(st.tool, frag))
	case "response.output_item.added":
		return x.itemAdded(gjson.Get(d, "output_index"), gjson.Get(d, "item"))
	case "response.output_item.done":
		return x.itemDone(gjson.Get(d, "output_index"), gjson.Get(d, "item"))
	case "response.created", "response.in_progress", "response.queued":
		return x.start(gjson.Get(d, "response"))
	case "response.completed", "response.incomplete":
		return x.end(typ, gjson.Get(d, "response"))
	case "response.failed":
		return x.failed(gjson.Get(d, "response"))
	case "error":
		return x.upstreamError(data)
	}
	// content_part, *.done, annotations, hosted tool progress, and event
	// types newer than this adapter.
	return provider.StepMore
}

// start opens the answer with the response's id, model and creation time.
// Later lifecycle events of the same response are ignored; one of another
// response means two answers were spliced together, and the stream cannot
// be trusted.
func (x *exchange) start(r gjson.Result) provider.Step {
	id := r.Get("id")
	if x.started {
		if id.Exists() && id.Raw != string(x.respID) {
			return x.fail(provider.CodeStreamError, x.req.Provider.Name+" started a second response in the same stream")
		}
		return provider.StepMore
	}
	x.respID = append(x.respID[:0], id.Raw...)
	return provider.More(x.open(r))
}

// open starts the answer from r, a response object (or nothing, when the
// stream skipped response.created).
func (x *exchange) open(r gjson.Result) error {
	x.started = true
	created := r.Get("created_at").Int()
	if created <= 0 {
		created = ownkey.Now().Unix()
	}
	return x.out.Start(responseID(r.Get("id").Str, x.req), cmp.Or(r.Get("model").Str, x.req.Model), created)
}

// responseID is the answer's id: the response's, else one made from the
// request id (built only then: the id escapes to the sink).
func responseID(id string, req *ownkey.ChatRequest) string {
	if id == "" {
		return "resp_" + req.RequestID
	}
	return id
}

// ensureStarted opens the answer before its first content, for a stream
// that did not begin with response.created.
func (x *exchange) ensureStarted() error {
	if x.started {
		return nil
	}
	return x.open(gjson.Result{})
}

// item returns the state of the output item idx names, growing the table;
// nil for an index out of range.
func (x *exchange) item(idx gjson.Result) *itemState {
	if idx.Type != gjson.Number {
		return nil
	}
	i := idx.Int()
	if i < 0 || i >= maxItems {
		return nil
	}
	if int(i) >= len(x.items) {
		x.items = append(x.items, make([]itemState, int(i)+1-len(x.items))...)
	}
	return &x.items[i]
}

// itemAdded notes what an output item is; a function call opens its tool
// call, with its first arguments when the item comes with some.
func (x *exchange) itemAdded(idx, item gjson.Result) provider.Step {
	st := x.item(idx)
	if st == nil {
		return x.fail(provider.CodeStreamError, x.req.Provider.Name+" sent an output item with an invalid index")
	}
	switch item.Get("type").Str {
	case "message":
		st.kind = itemMessage
	case "reasoning":
		st.kind = itemReasoning
	case "function_call":
		if st.opened {
			return x.fail(provider.CodeStreamError, x.req.Provider.Name+" started a function call twice")
		}
		st.kind = itemTool
		args := jsonvalid.MemberRaw(item.Raw, "arguments")
		st.sent = isText(args)
		if !st.sent {
			args = `""`
		}
		return x.openTool(st, item, args)
	default:
		st.kind = itemOther
	}
	return provider.StepMore
}

// openTool sends the tool call of a function_call item: the next index, its
// call_id (its item id if it has none) and name, and args.
func (x *exchange) openTool(st *itemState, item gjson.Result, args string) provider.Step {
	if err := x.ensureStarted(); err != nil {
		return provider.StepGone
	}
	st.kind, st.opened, st.tool = itemTool, true, x.tools
	x.tools++
	x.streamed = true
	id := item.Get("call_id").Str
	if id == "" {
		id = item.Get("id").Str
	}
	return provider.More(x.out.ToolCall(st.tool, id, item.Get("name").Str, args))
}

// itemDone sends what a finished item holds that its deltas did not: all
// of it when no delta came (a server that sends items whole), "{}" for a
// function call that got no arguments.
func (x *exchange) itemDone(idx, item gjson.Result) provider.Step {
	st := x.item(idx)
	if st == nil {
		return x.fail(provider.CodeStreamError, x.req.Provider.Name+" sent an output item with an invalid index")
	}
	if st.sent {
		return provider.StepMore
	}
	st.sent = true
	if st.opened {
		return provider.More(x.out.ToolArgs(st.tool, toolArgs(item)))
	}
	return provider.More(x.whole(item))
}

// toolArgs is a function_call item's arguments as a JSON string literal:
// as the item has them, "{}" when empty.
func toolArgs(item gjson.Result) string {
	if args := jsonvalid.MemberRaw(item.Raw, "arguments"); isText(args) {
		return args
	}
	return `"{}"`
}

// whole sends an output item given whole (a response's output, or an item
// whose deltas never came): a message's text, a reasoning item's summary
// and reasoning text, a function call.
func (x *exchange) whole(item gjson.Result) error {
	if err := x.ensureStarted(); err != nil {
		return err
	}
	var err error
	switch item.Get("type").Str {
	case "message":
		item.Get("content").ForEach(func(_, p gjson.Result) bool {
			var text string
			switch p.Get("type").Str {
			case "output_text":
				text = textOf(p, "text")
			case "refusal":
				text = textOf(p, "refusal")
				x.refused = x.refused || text != ""
			}
			if text != "" {
				x.streamed = true
				err = x.out.Text(text)
			}
			return err == nil
		})
	case "reasoning":
		for _, member := range [2]string{"summary", "content"} {
			item.Get(member).ForEach(func(_, p gjson.Result) bool {
				if t := p.Get("type").Str; err == nil && (t == "summary_text" || t == "reasoning_text") {
					// Parts given whole are each a part of their own.
					x.wholeParts++
					err = x.reasoningErr(1<<62+x.wholeParts, textOf(p, "text"))
				}
				return err == nil
			})
		}
	case "function_call":
		var st itemState
		if x.openTool(&st, item, toolArgs(item)) == provider.StepGone {
			err = ownkey.ErrClientGone
		}
	}
	return err
}

// textOf is member key of the part p as a JSON string literal, or "" when
// it is not a non-empty string.
func textOf(p gjson.Result, key string) string {
	if raw := jsonvalid.MemberRaw(p.Raw, key); isText(raw) {
		return raw
	}
	return ""
}

// end finishes a complete (or incomplete) response with its finish reason
// and usage. A stream that streamed nothing sends the response's output
// whole first.
func (x *exchange) end(typ string, r gjson.Result) provider.Step {
	if !x.started {
		if x.open(r) != nil {
			return provider.StepGone
		}
	}
	usage := usageOf(r.Get("usage"))
	x.res.Usage = usage
	if !x.streamed {
		var err error
		r.Get("output").ForEach(func(_, item gjson.Result) bool {
			err = x.whole(item)
			return err == nil
		})
		if err != nil {
			return provider.StepGone
		}
	}
	status := "completed"
	if typ == "response.incomplete" {
		status = "incomplete"
	}
	finish := finishReason(status, r.Get("incomplete_details.reason").Str, x.tools > 0, x.refused)
	return provider.Ended(x.out.End(finish, usage))
}

// failed ends the stream of a response that failed, with the provider's
// message; the usage it reports, if any, is kept, as the tokens were spent.
func (x *exchange) failed(r gjson.Result) provider.Step {
	if u := usageOf(r.Get("usage")); !u.IsZero() {
		x.res.Usage = u
	}
	c := x.req.Credential
	msg, typ := "", "upstream_error"
	if eo := r.Get("error"); eo.IsObject() {
		msg = provider.UpstreamMessage([]byte(eo.Raw), c, x.req.MaxJSONDepth)
		if code := eo.Get("code"); code.Type == gjson.String && code.Str != "" {
			typ = provider.SafeToken(code.Str, c)
		}
	}
	if msg == "" {
		msg = x.req.Provider.Name + " reported that the response failed"
	}
	return provider.Ended(x.out.Fail(provider.CodeStreamError, typ, msg))
}

// upstreamError relays an error event ({"type":"error","code","message"},
// or with the members in an error object, as recorded), and ends the
// stream.
func (x *exchange) upstreamError(data []byte) provider.Step {
	c := x.req.Credential
	msg := provider.UpstreamMessage(data, c, x.req.MaxJSONDepth)
	if msg == "" {
		msg = x.req.Provider.Name + " reported an error in the stream"
	}
	typ := "upstream_error"
	d := view(data)
	for _, path := range []string{"error.type", "error.code", "code"} {
		if t := gjson.Get(d, path); t.Type == gjson.String && t.Str != "" {
			typ = provider.SafeToken(t.Str, c)
			break
		}
	}
	return provider.Ended(x.out.Fail(provider.CodeStreamError, typ, msg))
}

// fail ends a stream that cannot be completed; the client must not mistake
// a cut answer for a whole one.
func (x *exchange) fail(code, message string) provider.Step {
	return provider.Ended(x.out.Fail(code, "upstream_error", message))
}

// text sends the raw JSON string v as content, copied as it came: it is
// already escaped, and the event was checked to be valid JSON. Empty
// strings (and non-strings) send nothing.
func (x *exchange) text(v string) provider.Step {
	if !isText(v) {
		return provider.StepMore
	}
	if x.ensureStarted() != nil {
		return provider.StepGone
	}
	x.streamed = true
	return provider.More(x.out.Text(v))
}

// reasoning sends the raw JSON string v as reasoning, as text does, after
// a blank line when it begins another part than the last.
func (x *exchange) reasoning(part int64, v string) provider.Step {
	if x.ensureStarted() != nil {
		return provider.StepGone
	}
	return provider.More(x.reasoningErr(part, v))
}

func (x *exchange) reasoningErr(part int64, v string) error {
	if !isText(v) {
		return nil
	}
	x.streamed = true
	if x.reasoningPart >= 0 && x.reasoningPart != part {
		if err := x.out.Reasoning(partSeparator); err != nil {
			return err
		}
	}
	x.reasoningPart = part
	return x.out.Reasoning(v)
}
