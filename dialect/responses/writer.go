package responses

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/jsontext"
	"github.com/ownkey/ownkey/sse"
)

// Cost headers: the cost of a non-streaming answer, in USD as exact
// decimals, beside the body rather than in it, so that a relayed answer's
// bytes stay the provider's (a translated answer also has them in its
// usage object). A stream's cost is in its usage object when translated,
// and in the usage reports.
const (
	HeaderCost          = openai.HeaderCost         // what ownkey charged the account (usage.cost)
	HeaderUpstreamCost  = openai.HeaderUpstreamCost // what the provider bills, at cost
	HeaderMarkupRate    = openai.HeaderMarkupRate   // the rate charged on the markup base (0.05 for 5%)
	HeaderIsBYOK        = openai.HeaderIsBYOK       // true: served with the user's own key
	HeaderCostEstimated = openai.HeaderIsEstimated  // true: the tokens were estimated
)

// Kinds of output item.
const (
	kindMessage = iota + 1
	kindReasoning
	kindCall
)

// item is one output item: its kind, its text (a message's output_text, a
// reasoning item's summary text or a function call's arguments) as the
// contents of JSON strings, still escaped, one after the other, and for a
// function call the sink's tool index, call id and name.
type item struct {
	kind uint8
	// done: closed; incomplete: closed by an answer cut short.
	done, incomplete bool
	tool             int
	text             []byte
	callID, name     []byte
}

// Writer writes one answer as a Responses API client reads it. The zero
// Writer is not usable: Reset it first. Writers are meant to be pooled with
// the request that owns them (Released).
type Writer struct {
	w      http.ResponseWriter
	stream bool
	relay  sse.Relay

	started   bool
	id, model []byte // the response id as written (resp_…), the model
	idSuffix  []byte // what item ids are made from, JSON-escaped
	created   int64
	seq       int64 // the next sequence_number
	items     []item
	nItems    int
	open      int   // the open message or reasoning item, -1 for none
	relayed   int64 // how many of a provider's events were relayed (RelayEvent)
	// kept is the text kept of the answer (MaxKept); overflowed: the
	// answer went past it and was failed.
	kept       int64
	overflowed bool
	cost       ownkey.Charge
	hasCost    bool
	// echo holds the request members the response repeats (Echo): spans
	// of echoBuf, {0, 0} for a member the request did not have.
	echo    [len(echoMembers)][2]int
	echoBuf []byte
	// out is the event or object being built, frame a relayed event.
	out, frame []byte
}

var _ ownkey.ChatSink = (*Writer)(nil)

// NewWriter returns a Writer for one answer to w, streamed (events) or not
// (one response object).
func NewWriter(w http.ResponseWriter, stream bool) *Writer {
	wr := &Writer{}
	wr.Reset(w, stream)
	return wr
}

// Reset makes wr write a new answer to w, keeping its buffers.
func (wr *Writer) Reset(w http.ResponseWriter, stream bool) {
	rel := wr.Released()
	*wr = rel
	wr.w, wr.stream, wr.open = w, stream, -1
}

// Finish disarms a stream's header timer: once it returns, nothing but the
// caller touches the ResponseWriter.
func (wr *Writer) Finish() { wr.relay.Finish() }

// Released returns an empty Writer that keeps only wr's buffers (those not
// grown large), for pooling, once the answer is over. It finishes wr.
func (wr *Writer) Released() Writer {
	relay := wr.relay.Released()
	if relay.BufferCap() > sse.KeepCap {
		relay = sse.Relay{}
	}
	items := wr.items[:min(wr.nItems, len(wr.items))]
	for i := range items {
		it := &items[i]
		*it = item{text: sse.Keep(it.text), callID: sse.Keep(it.callID), name: sse.Keep(it.name)}
	}
	if len(wr.items) > 64 {
		items = nil
	}
	return Writer{
		relay: relay, open: -1,
		id: sse.Keep(wr.id), model: sse.Keep(wr.model), idSuffix: sse.Keep(wr.idSuffix),
		items: items[:0], echoBuf: sse.Keep(wr.echoBuf), out: sse.Keep(wr.out), frame: sse.Keep(wr.frame),
	}
}

func (wr *Writer) Dialect() ownkey.Dialect { return ownkey.DialectOpenAIResponses }

// Stream sends the headers of an event stream (held back until the first
// event, at most sse.HeaderDelay) and returns the relay: see
// ownkey.ChatSink.Stream.
func (wr *Writer) Stream(upstream io.Reader, done <-chan struct{}) io.Reader {
	return wr.relay.Open(wr.w, upstream, done)
}

// Start opens the response: its id (a provider's id not already a
// response id gets the resp_ prefix), model and creation time; a stream
// gets response.created and response.in_progress.
func (wr *Writer) Start(id, model string, created int64) error {
	wr.started = true
	wr.id = append(wr.id[:0], id...)
	if len(id) < 5 || id[:5] != "resp_" {
		wr.id = append(append(wr.id[:0], "resp_"...), id...)
	}
	// Escaped once: item ids are written without a copy.
	wr.idSuffix = jsontext.AppendString(wr.idSuffix[:0], wr.id[5:])
	wr.idSuffix = wr.idSuffix[1 : len(wr.idSuffix)-1]
	wr.model = append(wr.model[:0], model...)
	wr.created = created
	if !wr.stream {
		return nil
	}
	for _, typ := range [...]string{"response.created", "response.in_progress"} {
		b := wr.begin(typ)
		b = append(b, `,"response":`...)
		b = wr.appendResponse(b, &state{status: "in_progress"})
		if err := wr.send(b); err != nil {
			return err
		}
	}
	return nil
}

// ensureStarted opens a response for a delta that came without Start (no
// adapter does that; a writer must still write well-formed events).
func (wr *Writer) ensureStarted() error {
	if wr.started {
		return nil
	}
	return wr.Start("", "", ownkey.Now().Unix())
}

// Text adds to the answer's message, opening one (after closing a
// reasoning item) when none is open.
func (wr *Writer) Text(text string) error {
	return wr.delta(kindMessage, text)
}

// Reasoning adds to the answer's reasoning item's summary text, opening
// one (after closing a message) when none is open.
func (wr *Writer) Reasoning(text string) error {
	return wr.delta(kindReasoning, text)
}

func (wr *Writer) delta(kind uint8, lit string) error {
	if !isText(lit) {
		return nil
	}
	opening := wr.open < 0 || wr.items[wr.open].kind != kind
	n := len(lit)
	if opening {
		n += itemCost
	}
	if err := wr.retain(n); err != nil {
		return err
	}
	if err := wr.ensureStarted(); err != nil {
		return err
	}
	if opening {
		if err := wr.closeOpen("completed"); err != nil {
			return err
		}
		i := wr.newItem(kind)
		wr.open = i
		if err := wr.itemAdded(i); err != nil {
			return err
		}
	}
	it := &wr.items[wr.open]
	it.text = append(it.text, lit[1:len(lit)-1]...)
	if !wr.stream {
		return nil
	}
	typ, idx := "response.output_text.delta", `,"content_index":0`
	if kind == kindReasoning {
		typ, idx = "response.reasoning_summary_text.delta", `,"summary_index":0`
	}
	b := wr.begin(typ)
	b = wr.appendItemRef(b, wr.open)
	b = append(b, idx...)
	b = append(b, `,"delta":`...)
	b = append(b, lit...)
	if kind == kindMessage {
		b = append(b, `,"logprobs":[]`...)
	}
	return wr.send(b)
}

// ToolCall opens a function_call item with the call's id and name, and
// its first arguments.
func (wr *Writer) ToolCall(index int, id, name, args string) error {
	if err := wr.retain(itemCost + len(id) + len(name) + len(args)); err != nil {
		return err
	}
	if err := wr.ensureStarted(); err != nil {
		return err
	}
	if err := wr.closeOpen("completed"); err != nil {
		return err
	}
	i := wr.newItem(kindCall)
	it := &wr.items[i]
	it.tool = index
	it.callID = append(it.callID, id...)
	it.name = append(it.name, name...)
	if err := wr.itemAdded(i); err != nil {
		return err
	}
	return wr.args(i, args, false)
}

// ToolArgs adds a fragment to tool call index's arguments; arguments for a
// call never opened are dropped.
func (wr *Writer) ToolArgs(index int, args string) error {
	for i := wr.nItems - 1; i >= 0; i-- {
		if it := &wr.items[i]; it.kind == kindCall && it.tool == index && !it.done {
			return wr.args(i, args, true)
		}
	}
	return nil
}

// args adds lit to call i's arguments; count: it is not counted yet
// against MaxKept.
func (wr *Writer) args(i int, lit string, count bool) error {
	if !isText(lit) {
		return nil
	}
	if count {
		if err := wr.retain(len(lit)); err != nil {
			return err
		}
	}
	it := &wr.items[i]
	it.text = append(it.text, lit[1:len(lit)-1]...)
	if !wr.stream {
		return nil
	}
	b := wr.begin("response.function_call_arguments.delta")
	b = wr.appendItemRef(b, i)
	b = append(b, `,"delta":`...)
	b = append(b, lit...)
	return wr.send(b)
}

// MaxKept bounds the text a Writer keeps of one answer (its items' text,
// arguments and summaries): a Responses answer repeats it whole (the .done
// events, the final response), so it is held until the end, and a provider
// that never stops must not take the process's memory with it. 64 MiB, as
// provider.MaxBody bounds a whole answer; models write less than a
// hundredth of it. A var for the tests.
var MaxKept = 64 << 20

// itemCost is what an output item counts against MaxKept beside its text
// (its state and buffers): an answer of many tiny items is bounded too.
const itemCost = 256

// ErrAnswerTooLarge is the error of a sink call past MaxKept. A stream has
// been ended for the client with an error event (code response_too_large)
// and response.failed; the adapter stops as for a client gone, and the
// usage record says response_too_large (Refused). Not streaming, it is the
// client's 502.
var ErrAnswerTooLarge = &ownkey.Error{Code: ownkey.EUPSTREAM, Reason: "response_too_large",
	Message: "the provider's answer is larger than ownkey keeps of a response (64 MiB)"}

// Refused is ErrAnswerTooLarge's reason once the answer went past
// MaxKept (ownkey.RefusingSink): the usage record says so rather than that
// the client went away.
func (wr *Writer) Refused() string {
	if wr.overflowed {
		return ErrAnswerTooLarge.Reason
	}
	return ""
}

var _ ownkey.RefusingSink = (*Writer)(nil)

// retain counts n more bytes of text kept, failing the answer past MaxKept.
func (wr *Writer) retain(n int) error {
	if wr.overflowed {
		return ErrAnswerTooLarge
	}
	wr.kept += int64(n)
	if wr.kept <= int64(MaxKept) {
		return nil
	}
	wr.overflowed = true
	if wr.stream {
		_ = wr.Fail(ErrAnswerTooLarge.Reason, "upstream_error", ErrAnswerTooLarge.Message)
		_ = wr.Flush()
	}
	return ErrAnswerTooLarge
}

// newItem appends an output item of kind and returns its index.
func (wr *Writer) newItem(kind uint8) int {
	switch {
	case wr.nItems < len(wr.items):
	case wr.nItems < cap(wr.items):
		// A released writer's items: their buffers are kept.
		wr.items = wr.items[:wr.nItems+1]
	default:
		wr.items = append(wr.items, item{})
	}
	i := wr.nItems
	wr.nItems++
	it := &wr.items[i]
	*it = item{kind: kind, text: it.text[:0], callID: it.callID[:0], name: it.name[:0]}
	return i
}

// itemAdded writes response.output_item.added for item i, and the
// opening of its first part (a message's output_text, a reasoning item's
// summary_text).
func (wr *Writer) itemAdded(i int) error {
	if !wr.stream {
		return nil
	}
	b := wr.begin("response.output_item.added")
	b = append(b, `,"output_index":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"item":`...)
	b = wr.appendItem(b, i, "in_progress", false)
	if err := wr.send(b); err != nil {
		return err
	}
	switch wr.items[i].kind {
	case kindMessage:
		b = wr.begin("response.content_part.added")
		b = wr.appendItemRef(b, i)
		b = append(b, `,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}`...)
		return wr.send(b)
	case kindReasoning:
		b = wr.begin("response.reasoning_summary_part.added")
		b = wr.appendItemRef(b, i)
		b = append(b, `,"summary_index":0,"part":{"type":"summary_text","text":""}`...)
		return wr.send(b)
	}
	return nil
}

// closeOpen closes the open message or reasoning item, if any.
func (wr *Writer) closeOpen(status string) error {
	if wr.open < 0 {
		return nil
	}
	i := wr.open
	wr.open = -1
	return wr.closeItem(i, status)
}

// closeItem marks item i done and, streaming, writes the events that end
// it: the text's .done, its part's .done and response.output_item.done
// with the whole item.
func (wr *Writer) closeItem(i int, status string) error {
	it := &wr.items[i]
	if it.done {
		return nil
	}
	it.done, it.incomplete = true, status == "incomplete"
	if !wr.stream {
		return nil
	}
	var b []byte
	switch it.kind {
	case kindMessage:
		b = wr.begin("response.output_text.done")
		b = wr.appendItemRef(b, i)
		b = append(b, `,"content_index":0,"text":`...)
		b = appendText(b, it.text)
		b = append(b, `,"logprobs":[]`...)
		if err := wr.send(b); err != nil {
			return err
		}
		b = wr.begin("response.content_part.done")
		b = wr.appendItemRef(b, i)
		b = append(b, `,"content_index":0,"part":`...)
		b = appendOutputText(b, it.text)
	case kindReasoning:
		b = wr.begin("response.reasoning_summary_text.done")
		b = wr.appendItemRef(b, i)
		b = append(b, `,"summary_index":0,"text":`...)
		b = appendText(b, it.text)
		if err := wr.send(b); err != nil {
			return err
		}
		b = wr.begin("response.reasoning_summary_part.done")
		b = wr.appendItemRef(b, i)
		b = append(b, `,"summary_index":0,"part":{"type":"summary_text","text":`...)
		b = appendText(b, it.text)
		b = append(b, '}')
	case kindCall:
		b = wr.begin("response.function_call_arguments.done")
		b = wr.appendItemRef(b, i)
		b = append(b, `,"name":`...)
		b = jsontext.AppendString(b, it.name)
		b = append(b, `,"arguments":`...)
		b = appendArgs(b, it.text)
	}
	if err := wr.send(b); err != nil {
		return err
	}
	b = wr.begin("response.output_item.done")
	b = append(b, `,"output_index":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"item":`...)
	b = wr.appendItem(b, i, status, true)
	return wr.send(b)
}

// End closes the items still open and writes response.completed (or
// response.incomplete, for an answer cut by its length or a content
// filter) with the whole response and its usage; not streaming, the
// response object.
func (wr *Writer) End(finish string, usage ownkey.Usage, cost *ownkey.Charge) error {
	if wr.overflowed {
		return ErrAnswerTooLarge
	}
	if err := wr.ensureStarted(); err != nil {
		return err
	}
	status, reason := statusOf(finish)
	itemStatus := "completed"
	if status == "incomplete" {
		itemStatus = "incomplete"
	}
	if err := wr.closeOpen(itemStatus); err != nil {
		return err
	}
	for i := range wr.nItems {
		if err := wr.closeItem(i, itemStatus); err != nil {
			return err
		}
	}
	if !wr.stream {
		if cost != nil {
			wr.RelayCost(*cost)
		}
		b := wr.appendResponse(wr.out[:0], &state{status: status, reason: reason, output: true, ended: true, usage: usage, cost: cost})
		b = append(b, '\n')
		wr.out = b
		return wr.writeJSON(b)
	}
	typ := "response.completed"
	if status == "incomplete" {
		typ = "response.incomplete"
	}
	b := wr.begin(typ)
	b = append(b, `,"response":`...)
	b = wr.appendResponse(b, &state{status: status, reason: reason, output: true, ended: true, usage: usage, cost: cost})
	return wr.send(b)
}

// statusOf is a response's status and incomplete_details.reason for an
// OpenAI finish reason.
func statusOf(finish string) (status, reason string) {
	switch finish {
	case "length":
		return "incomplete", "max_output_tokens"
	case "content_filter":
		return "incomplete", "content_filter"
	}
	return "completed", ""
}

// state is what a response object says of the answer at one point.
type state struct {
	status, reason string // reason: incomplete_details.reason
	output         bool   // the items so far (else an empty output)
	ended          bool   // usage and cost known
	usage          ownkey.Usage
	cost           *ownkey.Charge
	failCode       string // failed: the error's code and message
	failMessage    string
}

// errNotStreaming: Fail is for streams; a failed non-streaming answer is
// the adapter's error return.
var errNotStreaming = errors.New("responses.Writer: Fail on an answer that is not streamed")

// Fail ends a stream that cannot be completed as OpenAI ends one: an
// error event ({"type":"error","code","message","param"}, with the same
// members in an error object, as the API sends them), then, for a
// response this writer opened, response.failed with the response so far
// and its error. A relayed stream gets the error event only: its response
// is the provider's.
func (wr *Writer) Fail(code, typ, message string) error {
	if !wr.stream {
		return errNotStreaming
	}
	if wr.relayed > 0 {
		// Numbered after the provider's last event, which frame still
		// holds (read only now, not for every event relayed), and after
		// as many as were relayed, should the last have no number.
		wr.seq = max(wr.seq, wr.relayed, lastSequence(wr.frame)+1)
	}
	b := wr.begin("error")
	b = append(b, `,"code":`...)
	b = jsontext.AppendString(b, code)
	b = append(b, `,"message":`...)
	b = jsontext.AppendString(b, message)
	b = append(b, `,"param":null,"error":{"type":`...)
	b = jsontext.AppendString(b, typ)
	b = append(b, `,"code":`...)
	b = jsontext.AppendString(b, code)
	b = append(b, `,"message":`...)
	b = jsontext.AppendString(b, message)
	b = append(b, `,"param":null}`...)
	if err := wr.send(b); err != nil {
		return err
	}
	if !wr.started {
		return nil
	}
	b = wr.begin("response.failed")
	b = append(b, `,"response":`...)
	b = wr.appendResponse(b, &state{status: "failed", output: true, failCode: code, failMessage: message})
	return wr.send(b)
}

// RelayEvent writes one event of a provider that speaks the Responses API,
// as it is, named typ (its event: line) when it has one.
func (wr *Writer) RelayEvent(typ, data []byte) error {
	wr.relayed++
	b := wr.frame[:0]
	if len(typ) > 0 {
		b = append(append(append(b, "event: "...), typ...), '\n')
	}
	b = sse.AppendData(b, data)
	wr.frame = b
	if !wr.relay.Raw(b) {
		return ownkey.ErrClientGone
	}
	return nil
}

// lastSequence is the sequence_number of the relayed event framed in
// frame (its first data line), -1 when it has none.
func lastSequence(frame []byte) int64 {
	_, data, ok := bytes.Cut(frame, []byte("data: "))
	if !ok {
		return -1
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	}
	if n := gjson.GetBytes(data, "sequence_number"); n.Type == gjson.Number {
		return n.Int()
	}
	return -1
}

// RelayCost keeps the cost of the answer RelayBody will write, for its
// headers (see HeaderCost).
func (wr *Writer) RelayCost(cost ownkey.Charge) { wr.cost, wr.hasCost = cost, true }

// RelayBody writes a provider's response object as it is, with the cost
// headers when the answer was priced (cost) or RelayCost was called.
func (wr *Writer) RelayBody(body []byte, cost *ownkey.Charge) error {
	if cost != nil {
		wr.RelayCost(*cost)
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

// begin starts an event of type typ: its event: line and its data up to
// the sequence number. send ends it.
func (wr *Writer) begin(typ string) []byte {
	b := append(wr.out[:0], "event: "...)
	b = append(b, typ...)
	b = append(b, "\ndata: {\"type\":\""...)
	b = append(b, typ...)
	b = append(b, `","sequence_number":`...)
	b = strconv.AppendInt(b, wr.seq, 10)
	wr.seq++
	return b
}

// send ends the event begin started and writes it. The event's JSON has
// no line break (strings are escaped), so it is one data: line.
func (wr *Writer) send(b []byte) error {
	b = append(b, "}\n\n"...)
	wr.out = b
	if !wr.relay.Raw(b) {
		return ownkey.ErrClientGone
	}
	return nil
}

// appendItemRef appends the members that name item i in its events.
func (wr *Writer) appendItemRef(b []byte, i int) []byte {
	b = append(b, `,"item_id":`...)
	b = wr.appendItemID(b, i)
	b = append(b, `,"output_index":`...)
	return strconv.AppendInt(b, int64(i), 10)
}

// appendItemID appends item i's id: its kind's prefix, the response id's
// suffix and its index, unique in the response.
func (wr *Writer) appendItemID(b []byte, i int) []byte {
	prefix := `"msg_`
	switch wr.items[i].kind {
	case kindReasoning:
		prefix = `"rs_`
	case kindCall:
		prefix = `"fc_`
	}
	b = append(b, prefix...)
	b = append(b, wr.idSuffix...)
	b = append(b, '_')
	b = strconv.AppendInt(b, int64(i), 10)
	return append(b, '"')
}

// appendItem appends item i as an output item; whole: with its text (an
// item being added has none yet).
func (wr *Writer) appendItem(b []byte, i int, status string, whole bool) []byte {
	it := &wr.items[i]
	b = append(b, `{"id":`...)
	b = wr.appendItemID(b, i)
	switch it.kind {
	case kindMessage:
		b = append(b, `,"type":"message","status":"`...)
		b = append(b, status...)
		b = append(b, `","role":"assistant","content":[`...)
		if whole {
			b = appendOutputText(b, it.text)
		}
		return append(b, "]}"...)
	case kindReasoning:
		b = append(b, `,"type":"reasoning","summary":[`...)
		if whole {
			b = append(b, `{"type":"summary_text","text":`...)
			b = appendText(b, it.text)
			b = append(b, '}')
		}
		return append(b, "]}"...)
	}
	b = append(b, `,"type":"function_call","status":"`...)
	b = append(b, status...)
	b = append(b, `","arguments":`...)
	if whole {
		b = appendArgs(b, it.text)
	} else {
		b = append(b, `""`...)
	}
	b = append(b, `,"call_id":`...)
	b = jsontext.AppendString(b, it.callID)
	b = append(b, `,"name":`...)
	b = jsontext.AppendString(b, it.name)
	return append(b, '}')
}

// appendResponse appends the response object as st describes it.
func (wr *Writer) appendResponse(b []byte, st *state) []byte {
	b = append(b, `{"id":`...)
	b = jsontext.AppendString(b, wr.id)
	b = append(b, `,"object":"response","created_at":`...)
	b = strconv.AppendInt(b, wr.created, 10)
	b = append(b, `,"status":"`...)
	b = append(b, st.status...)
	b = append(b, `","background":false,"error":`...)
	if st.status == "failed" {
		b = append(b, `{"code":`...)
		b = jsontext.AppendString(b, st.failCode)
		b = append(b, `,"message":`...)
		b = jsontext.AppendString(b, st.failMessage)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"incomplete_details":`...)
	if st.reason == "" {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"reason":"`...)
		b = append(b, st.reason...)
		b = append(b, `"}`...)
	}
	b = append(b, `,"model":`...)
	b = jsontext.AppendString(b, wr.model)
	b = append(b, `,"output":[`...)
	if st.output {
		for i := range wr.nItems {
			if i > 0 {
				b = append(b, ',')
			}
			status := "completed"
			if it := &wr.items[i]; !it.done || it.incomplete {
				status = "incomplete"
			}
			b = wr.appendItem(b, i, status, true)
		}
	}
	b = append(b, `],"usage":`...)
	if st.ended {
		b = AppendUsage(b, st.usage, st.cost)
	} else {
		b = append(b, "null"...)
	}
	b = wr.appendEcho(b)
	return append(b, `,"previous_response_id":null,"store":false}`...)
}

// AppendUsage appends u as a Responses usage object, with the cost members
// (openai.AppendCost, the same as chat's) when cost is set.
func AppendUsage(b []byte, u ownkey.Usage, cost *ownkey.Charge) []byte {
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens, 10)
	b = append(b, `,"input_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.CachedTokens, 10)
	if u.CacheWriteTokens > 0 {
		b = append(b, `,"cache_write_tokens":`...)
		b = strconv.AppendInt(b, u.CacheWriteTokens, 10)
	}
	b = append(b, `},"output_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens, 10)
	b = append(b, `,"output_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, u.ReasoningTokens, 10)
	b = append(b, `},"total_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens+u.CompletionTokens, 10)
	if cost != nil {
		b = openai.AppendCost(b, *cost)
	}
	return append(b, '}')
}

// appendText appends escaped, the contents of JSON strings one after the
// other, as one JSON string: joined, they are the contents of one.
func appendText(b, escaped []byte) []byte {
	b = append(b, '"')
	b = append(b, escaped...)
	return append(b, '"')
}

// appendArgs appends a function call's arguments, "{}" for none: the
// Responses API gives a call that takes no arguments an empty object, and
// clients parse the string as JSON.
func appendArgs(b, escaped []byte) []byte {
	if len(escaped) == 0 {
		return append(b, `"{}"`...)
	}
	return appendText(b, escaped)
}

func appendOutputText(b, escaped []byte) []byte {
	b = append(b, `{"type":"output_text","annotations":[],"logprobs":[],"text":`...)
	b = appendText(b, escaped)
	return append(b, '}')
}

// writeJSON writes a whole answer, with the cost headers when the cost is
// known.
func (wr *Writer) writeJSON(body []byte) error {
	if wr.hasCost {
		openai.SetCostHeaders(wr.w.Header(), wr.cost)
	}
	return openai.WriteJSON(wr.w, body)
}

// isText reports whether lit is a non-empty JSON string literal.
func isText(lit string) bool { return len(lit) > 2 && lit[0] == '"' && lit[len(lit)-1] == '"' }
