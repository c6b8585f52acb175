package anthropic

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsontext"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/sse"
)

const (
	// maxBlocks bounds the content block index a stream may use, so that a
	// hostile index cannot make the block table huge. Real messages have
	// a handful of blocks; agentic ones a few hundred.
	maxBlocks = 1 << 14
	// drainLimit and drainTimeout bound the read past message_stop that
	// lets the upstream connection be reused.
	drainLimit   = 64 << 10
	drainTimeout = 5 * time.Second
	// keepCap is the largest buffer a pooled streamer keeps.
	keepCap = 256 << 10
)

// step says how a stream goes on after an event.
type step uint8

const (
	stepMore step = iota // keep reading
	stepEnd              // the stream is over, completely or with an error event
	stepGone             // the client went away
)

// What a content block of the stream is, for the chunks its deltas become.
const (
	blockOther    = iota // nothing relayed: server tools, unknown kinds
	blockText            // content deltas
	blockThinking        // reasoning_content deltas
	blockTool            // a client tool call: tool_calls deltas
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

// streamer is the state of one stream translation. Streamers are pooled so
// that the SSE reader and the chunk buffers are reused across requests.
type streamer struct {
	req *ownkey.ChatRequest
	res *ownkey.ChatResult
	tr  *translation
	rd  *sse.Reader
	out sse.Relay

	// head opens every chunk: {"id":…,"object":"chat.completion.chunk",
	// "created":…,"model":…
	head    []byte
	msgID   []byte // raw id of the message being streamed
	chunk   []byte // the chunk being built
	scratch []byte // unescaped text, for the output sample
	sample  outputSample

	started  bool // message_start seen
	finish   string
	usage    messageUsage
	blocks   []blockState
	tools    int  // tool calls opened
	answered bool // the json tool gave the answer
}

var streamers = sync.Pool{New: func() any { return new(streamer) }}

func getStreamer(req *ownkey.ChatRequest, res *ownkey.ChatResult, tr *translation) *streamer {
	s := streamers.Get().(*streamer)
	s.req, s.res, s.tr = req, res, tr
	return s
}

// putStreamer hands the output sample to the result, in one allocation of
// its exact size, and recycles s.
func putStreamer(s *streamer) {
	s.res.OutputBytes = s.sample.bytes
	s.res.OutputSample = bytes.Clone(s.sample.text)
	if cap(s.head) > keepCap || cap(s.chunk) > keepCap || cap(s.scratch) > keepCap || s.out.BufferCap() > keepCap || cap(s.msgID) > keepCap {
		return
	}
	if s.rd != nil {
		s.rd.Reset(nil) // drop the reference to the body; Reset also sheds large buffers
	}
	clear(s.blocks)
	*s = streamer{
		rd:      s.rd,
		out:     s.out.Released(),
		head:    s.head[:0],
		msgID:   s.msgID[:0],
		chunk:   s.chunk[:0],
		scratch: s.scratch[:0],
		sample:  outputSample{text: s.sample.text[:0]},
		blocks:  s.blocks[:0],
	}
	streamers.Put(s)
}

// streamTo translates an Anthropic event stream into OpenAI chunks, one
// event per upstream event that has something for the client. Events are
// flushed before every read from the provider that may block (see
// sse.Relay), so none waits on the next one.
func streamTo(ctx context.Context, cancel context.CancelFunc, w http.ResponseWriter, req *ownkey.ChatRequest, res *ownkey.ChatResult, tr *translation, resp *http.Response, start time.Time, idle time.Duration) (*ownkey.ChatResult, error) {
	if isJSON(resp.Header.Get("Content-Type")) {
		return jsonInsteadOfStream(req, res, resp, start)
	}
	sse.Headers(w.Header())
	w.WriteHeader(http.StatusOK)
	res.Status, res.Started = http.StatusOK, true
	s := getStreamer(req, res, tr)
	defer putStreamer(s)
	s.out.Reset(w, resp.Body, ctx.Done())
	// The headers go out with the first event, or alone within
	// sse.HeaderDelay if it is slow (with thinking on, it may be minutes
	// away).
	s.out.DelayHeaders(sse.HeaderDelay)
	s.out.IdleTimeout(idle, cancel)
	defer s.out.Finish()
	if s.rd == nil {
		s.rd = sse.NewReader(&s.out, sse.DefaultMaxEvent)
	} else {
		s.rd.Reset(&s.out)
	}
	name := req.Provider.Name
	for {
		ev, err := s.rd.Next()
		if err != nil && ctx.Err() != nil || s.out.Failed() {
			return s.gone(cancel, start)
		}
		var st step
		if err != nil {
			switch {
			case errors.Is(err, sse.ErrEventTooLarge):
				st = s.fail(provider.CodeStreamError, fmt.Sprintf("%s sent a stream event larger than %d MiB", name, sse.DefaultMaxEvent>>20))
			case errors.As(err, new(*sse.IdleError)):
				st = s.fail(provider.CodeUpstreamTimeout, name+" sent nothing for "+idle.String()+"; the stream was ended before the response was complete")
			case err == io.EOF:
				st = s.fail(provider.CodeStreamTruncated, name+" ended the stream before the response was complete")
			default:
				st = s.fail(provider.CodeStreamTruncated, "the "+name+" stream broke off before the response was complete")
			}
		} else if data := bytes.TrimSpace(ev.Data); len(data) > 0 {
			st = s.event(ev.Type, data)
		}
		switch st {
		case stepGone:
			return s.gone(cancel, start)
		case stepEnd:
			res.UpstreamLatency = time.Since(start)
			s.settle()
			if !s.out.Flush() {
				return s.gone(cancel, start)
			}
			if res.ErrorCode == "" {
				drain(cancel, resp.Body)
			}
			return res, nil
		}
	}
}

// event translates one upstream event.
func (s *streamer) event(evType, data []byte) step {
	name := s.req.Provider.Name
	// jsonvalid, not gjson.Valid: gjson's validator recurses per level,
	// and a 16 MiB event of '[' from a hostile endpoint would overflow
	// the stack, killing the process.
	switch jsonvalid.Check(data, s.req.MaxJSONDepth) {
	case jsonvalid.ErrTooDeep:
		return s.fail(provider.CodeStreamError, fmt.Sprintf("%s sent a stream event nested deeper than %d levels", name, jsonvalid.Depth(s.req.MaxJSONDepth)))
	case jsonvalid.ErrSyntax:
		return s.fail(provider.CodeStreamError, name+" sent a stream event that is not valid JSON")
	}
	root := gjson.Parse(view(data))
	typ := root.Get("type").Str
	if typ == "" {
		typ = view(evType)
	}
	if !s.started && typ != "message_start" && typ != "ping" && typ != "error" {
		return s.fail(provider.CodeStreamError, name+" sent "+safeEventType(typ)+" before message_start")
	}
	switch typ {
	case "message_start":
		return s.messageStart(root.Get("message"))
	case "content_block_start":
		return s.blockStart(root.Get("index"), root.Get("content_block"))
	case "content_block_delta":
		return s.blockDelta(root.Get("index"), root.Get("delta"))
	case "content_block_stop":
		return s.blockStop(root.Get("index"))
	case "message_delta":
		if r := root.Get("delta.stop_reason"); r.Type == gjson.String {
			s.finish = finishReason(r.Str)
		}
		s.usage.update(root.Get("usage"))
	case "message_stop":
		return s.end()
	case "error":
		return s.upstreamError(data)
	}
	// ping, and event types newer than this adapter.
	return stepMore
}

// safeEventType quotes an upstream event type for an error message, if it
// looks like one.
func safeEventType(t string) string {
	if len(t) > 40 || strings.IndexFunc(t, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r == '_') }) >= 0 {
		return "an unknown event"
	}
	return t
}

// messageStart opens the answer with the role chunk. A repeat of the open
// message's message_start (seen in real traffic) is ignored; a different
// message in the same stream means two answers were spliced together, and
// the stream cannot be trusted.
func (s *streamer) messageStart(msg gjson.Result) step {
	id := msg.Get("id")
	if s.started {
		if id.Raw == string(s.msgID) {
			return stepMore
		}
		return s.fail(provider.CodeStreamError, s.req.Provider.Name+" started a second message in the same stream")
	}
	s.started = true
	s.msgID = append(s.msgID[:0], id.Raw...)
	s.usage.update(msg.Get("usage"))
	model := msg.Get("model").Str
	s.res.ModelServed = strings.Clone(cmp.Or(model, s.req.Model))

	h := append(s.head[:0], `{"id":`...)
	h = gjson.AppendJSONString(h, cmp.Or(id.Str, "msg_"+s.req.RequestID))
	h = append(h, `,"object":"chat.completion.chunk","created":`...)
	h = strconv.AppendInt(h, ownkey.Now().Unix(), 10)
	h = append(h, `,"model":`...)
	h = gjson.AppendJSONString(h, cmp.Or(model, s.req.Model))
	s.head = h
	b := s.deltaOpen()
	b = append(b, `{"role":"assistant","content":""}`...)
	return s.deltaClose(b, "")
}

// block returns the state of the block idx names, growing the table for a
// block being started; nil for an index out of range.
func (s *streamer) block(idx gjson.Result, starting bool) *blockState {
	if idx.Type != gjson.Number {
		return nil
	}
	i := idx.Int()
	if i < 0 || i >= maxBlocks {
		return nil
	}
	if int(i) >= len(s.blocks) {
		if !starting {
			return nil
		}
		s.blocks = append(s.blocks, make([]blockState, int(i)+1-len(s.blocks))...)
	}
	return &s.blocks[i]
}

func (s *streamer) blockStart(idx, cb gjson.Result) step {
	st := s.block(idx, true)
	if st == nil {
		return s.fail(provider.CodeStreamError, s.req.Provider.Name+" sent a content block with an invalid index")
	}
	*st = blockState{open: true}
	switch cb.Get("type").Str {
	case "text":
		if s.tr.jsonMode {
			// The content is the JSON answer alone (see completeTo).
			return stepMore
		}
		st.kind = blockText
		return s.text(`{"content":`, memberRaw(cb.Raw, "text"))
	case "thinking":
		st.kind = blockThinking
		return s.text(`{"reasoning_content":`, memberRaw(cb.Raw, "thinking"))
	case "tool_use":
	default:
		return stepMore
	}
	name, input := cb.Get("name"), cb.Get("input")
	if s.tr.jsonMode && name.Str == jsonToolName {
		st.kind = blockJSON
		if hasMembers(input) {
			st.sent = true
			return s.jsonText(`{"content":`, input.Raw)
		}
		return stepMore
	}
	st.kind, st.tool = blockTool, s.tools
	s.tools++
	b := s.deltaOpen()
	b = append(b, `{"tool_calls":[{"index":`...)
	b = strconv.AppendInt(b, int64(st.tool), 10)
	b = append(b, `,"id":`...)
	b = gjson.AppendJSONString(b, cb.Get("id").Str)
	b = append(b, `,"type":"function","function":{"name":`...)
	b = gjson.AppendJSONString(b, name.Str)
	b = append(b, `,"arguments":`...)
	if hasMembers(input) {
		// Input given whole in the start event, as some compatible
		// servers do.
		st.sent = true
		b = gjson.AppendJSONString(b, input.Raw)
		s.sample.add(input.Raw)
	} else {
		b = append(b, `""`...)
	}
	b = append(b, `}}]}`...)
	return s.deltaClose(b, "")
}

// hasMembers reports whether v is an object with at least one member.
func hasMembers(v gjson.Result) bool {
	found := false
	if v.IsObject() {
		v.ForEach(func(_, _ gjson.Result) bool { found = true; return false })
	}
	return found
}

func (s *streamer) blockDelta(idx, d gjson.Result) step {
	st := s.block(idx, false)
	if st == nil || !st.open {
		return s.fail(provider.CodeStreamError, s.req.Provider.Name+" sent a delta for a content block it had not started")
	}
	switch d.Get("type").Str {
	case "text_delta":
		if st.kind == blockText {
			return s.text(`{"content":`, memberRaw(d.Raw, "text"))
		}
	case "thinking_delta":
		if st.kind == blockThinking {
			return s.text(`{"reasoning_content":`, memberRaw(d.Raw, "thinking"))
		}
	case "input_json_delta":
		frag := memberRaw(d.Raw, "partial_json")
		if !isText(frag) {
			return stepMore
		}
		switch st.kind {
		case blockTool:
			st.sent = true
			s.sampleOf(frag)
			b := s.deltaOpen()
			b = append(b, `{"tool_calls":[{"index":`...)
			b = strconv.AppendInt(b, int64(st.tool), 10)
			b = append(b, `,"function":{"arguments":`...)
			b = append(b, frag...)
			b = append(b, `}}]}`...)
			return s.deltaClose(b, "")
		case blockJSON:
			st.sent = true
			return s.text(`{"content":`, frag)
		}
	}
	// signature_delta, citations_delta and newer kinds carry nothing a
	// chat completion has room for.
	return stepMore
}

func (s *streamer) blockStop(idx gjson.Result) step {
	st := s.block(idx, false)
	if st == nil || !st.open {
		return s.fail(provider.CodeStreamError, s.req.Provider.Name+" ended a content block it had not started")
	}
	st.open = false
	switch {
	case st.kind == blockTool && !st.sent:
		// A tool without arguments sends only an empty fragment; the
		// client needs a JSON object to parse.
		s.sample.add("{}")
		b := s.deltaOpen()
		b = append(b, `{"tool_calls":[{"index":`...)
		b = strconv.AppendInt(b, int64(st.tool), 10)
		b = append(b, `,"function":{"arguments":"{}"}}]}`...)
		return s.deltaClose(b, "")
	case st.kind == blockJSON:
		s.answered = true
		if !st.sent {
			return s.jsonText(`{"content":`, "{}")
		}
	}
	return stepMore
}

// end finishes a complete message: the finish chunk, the usage chunk if the
// client asked for it, and [DONE].
func (s *streamer) end() step {
	finish := cmp.Or(s.finish, "stop")
	if finish == "tool_calls" && s.tools == 0 && s.answered {
		finish = "stop"
	}
	s.res.FinishReason = finish
	b := s.deltaOpen()
	b = append(b, `{}`...)
	if s.deltaClose(b, finish) == stepGone {
		return stepGone
	}
	if s.req.IncludeUsage {
		b = append(s.chunk[:0], s.head...)
		b = append(b, `,"choices":[],"usage":`...)
		b = appendUsageJSON(b, s.usage.toUsage())
		b = append(b, '}')
		s.chunk = b
		if !s.out.Event(b) {
			return stepGone
		}
	}
	if !s.out.Raw(sse.Done) {
		return stepGone
	}
	return stepEnd
}

// upstreamError relays Anthropic's mid-stream error event (overloaded,
// api_error, …) in OpenAI's mid-stream form, and ends the stream.
func (s *streamer) upstreamError(data []byte) step {
	s.res.ErrorCode = provider.CodeStreamError
	c := s.req.Credential
	msg := provider.UpstreamMessage(data, c, s.req.MaxJSONDepth)
	if msg == "" {
		msg = s.req.Provider.Name + " reported an error in the stream"
	}
	typ := "upstream_error"
	if t := gjson.Get(view(data), "error.type"); t.Type == gjson.String && t.Str != "" {
		typ = provider.SafeToken(t.Str, c)
	}
	b := append(s.chunk[:0], `{"error":{"message":`...)
	b = gjson.AppendJSONString(b, msg)
	b = append(b, `,"type":`...)
	b = gjson.AppendJSONString(b, typ)
	b = append(b, `,"param":null,"code":"`+provider.CodeStreamError+`"}}`...)
	s.chunk = b
	if !s.out.Event(b) {
		return stepGone
	}
	return stepEnd
}

// fail ends a stream with an error event in OpenAI's mid-stream form, and no
// [DONE]: the client must not mistake a cut answer for a whole one.
func (s *streamer) fail(code, message string) step {
	s.res.ErrorCode = code
	b := append(s.chunk[:0], `{"error":{"message":`...)
	b = gjson.AppendJSONString(b, message)
	b = append(b, `,"type":"upstream_error","param":null,"code":"`...)
	b = append(b, code...)
	b = append(b, `"}}`...)
	s.chunk = b
	if !s.out.Event(b) {
		return stepGone
	}
	return stepEnd
}

// settle puts what the stream reported into the result.
func (s *streamer) settle() {
	s.res.Usage = s.usage.toUsage()
	if s.res.FinishReason == "" {
		// A stream cut after message_delta still said why it stopped.
		s.res.FinishReason = s.finish
	}
}

// gone records that the client went away and stops the upstream request at
// once, so the provider stops generating (and billing) for nobody. The usage
// reported so far is kept.
func (s *streamer) gone(cancel context.CancelFunc, start time.Time) (*ownkey.ChatResult, error) {
	cancel()
	if s.res.UpstreamLatency == 0 {
		s.res.UpstreamLatency = time.Since(start)
	}
	s.settle()
	provider.MarkClientGone(s.res)
	return s.res, nil
}

// deltaOpen starts a chunk with one choice, up to its delta.
func (s *streamer) deltaOpen() []byte {
	b := append(s.chunk[:0], s.head...)
	return append(b, `,"choices":[{"index":0,"delta":`...)
}

// deltaClose ends a chunk deltaOpen started and sends it.
func (s *streamer) deltaClose(b []byte, finish string) step {
	b = append(b, `,"logprobs":null,"finish_reason":`...)
	if finish == "" {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = append(b, finish...)
		b = append(b, '"')
	}
	b = append(b, "}]}"...)
	s.chunk = b
	if !s.out.Event(b) {
		return stepGone
	}
	return stepMore
}

// isText reports whether raw is a non-empty JSON string.
func isText(raw string) bool { return len(raw) > 2 && raw[0] == '"' }

// text sends a delta whose one member (open is `{"<name>":`) is the raw
// JSON string v, copied as it came: it is already escaped, and the event was
// checked to be valid JSON. Empty strings (and non-strings) send nothing.
func (s *streamer) text(open string, v string) step {
	if !isText(v) {
		return stepMore
	}
	s.sampleOf(v)
	b := s.deltaOpen()
	b = append(b, open...)
	b = append(b, v...)
	b = append(b, '}')
	return s.deltaClose(b, "")
}

// jsonText sends a delta whose member is the JSON text raw as a string.
func (s *streamer) jsonText(open, raw string) step {
	s.sample.add(raw)
	b := s.deltaOpen()
	b = append(b, open...)
	b = gjson.AppendJSONString(b, raw)
	b = append(b, '}')
	return s.deltaClose(b, "")
}

// sampleOf counts the raw JSON string v as output.
func (s *streamer) sampleOf(v string) {
	raw := v[1 : len(v)-1]
	if strings.IndexByte(raw, '\\') < 0 {
		s.sample.add(raw)
		return
	}
	s.scratch = jsontext.AppendUnescaped(s.scratch[:0], raw)
	s.sample.add(view(s.scratch))
}

// drain reads what follows message_stop (normally just the end of the body)
// so that the connection to the provider can be reused. A provider that
// keeps the body open is cut off after drainTimeout.
func drain(cancel context.CancelFunc, body io.Reader) {
	t := time.AfterFunc(drainTimeout, cancel)
	_, _ = io.CopyN(io.Discard, body, drainLimit)
	t.Stop()
}

// jsonInsteadOfStream handles a provider that answered a streaming request
// with a JSON body, typically an error object with status 200. Nothing has
// been written yet, so it becomes an ordinary error.
func jsonInsteadOfStream(req *ownkey.ChatRequest, res *ownkey.ChatResult, resp *http.Response, start time.Time) (*ownkey.ChatResult, error) {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	res.UpstreamLatency = time.Since(start)
	p := req.Provider
	if gjson.GetBytes(body, "type").Str == "error" {
		return provider.Failed(res, provider.CodeUpstreamError, upstreamError(req, http.StatusBadGateway, body))
	}
	if u := gjson.GetBytes(body, "usage"); u.IsObject() {
		// The tokens were spent even though the answer is unusable.
		var mu messageUsage
		mu.update(u)
		res.Usage = mu.toUsage()
	}
	return provider.Failed(res, provider.CodeUpstreamError, ownkey.Errorf(ownkey.EUPSTREAM, "%s answered a streaming request with a JSON body instead of an event stream", p.Name))
}

func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}
