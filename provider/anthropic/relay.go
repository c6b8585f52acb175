package anthropic

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
)

// Relay is the pass-through adapter (Family.Passthrough): a client that
// speaks Anthropic's Messages API itself, routed to a provider of this
// family. Its request goes upstream as the client sent it with the routing
// edits only (the model; ownkey's byok member removed), with its
// anthropic-version and anthropic-beta headers, and the answer comes back
// as Anthropic sent it: a message's bytes, or each event's `event:` and
// `data:` as they came. So nothing is lost that a translation through
// OpenAI's terms would lose (thinking blocks and their signatures,
// redacted thinking, cache_control, citations, server tools, container
// and MCP results, beta features).
//
// The answer is read only for accounting, as Adapter reads it: the model
// and usage from message_start, the stop reason and cumulative usage from
// message_delta, the output (text, thinking and tool input fragments)
// counted for an estimate should usage be missing. message_stop ends the
// answer; an error event is relayed (any echo of the key removed) and ends
// it too; a stream that ends before message_stop is cut short, and the
// client gets an error event after what it had (the writer's Fail), as it
// would from Anthropic. A non-streaming answer must be a message (an error
// object with status 200 becomes the error it holds); its cost goes in
// response headers (dialect/openai.SetCostHeaders), the body staying
// Anthropic's.
type Relay Adapter

var _ ownkey.ChatAdapter = (*Relay)(nil)

// Passthrough returns the Relay for Anthropic Messages clients, nil for any
// other dialect; see provider.Passthrougher.
func (f Family) Passthrough(d ownkey.Dialect) ownkey.ChatAdapter {
	if d != ownkey.DialectAnthropicMessages || f.Adapter == nil {
		return nil
	}
	return (*Relay)(f.Adapter)
}

var (
	_ provider.Passthrougher = Family{}
	_ provider.TokenCounter  = Family{}
)

// Chat relays req (already in the Messages format) to POST
// {req.BaseURL}/v1/messages and the answer to sink.
func (r *Relay) Chat(ctx context.Context, req *ownkey.ChatRequest, sink ownkey.ChatSink) (*ownkey.ChatResult, error) {
	res := &ownkey.ChatResult{}
	forwardHeaders(req)
	x := relays.Get().(*relayExchange)
	x.req, x.res = req, res
	defer putRelay(x)
	core := provider.Core{Clients: r.Clients, UserAgent: r.UserAgent, StreamIdleTimeout: r.StreamIdleTimeout}
	return core.Chat(ctx, req, res, sink, x, "/v1/messages", req.Body)
}

// forwarded are the client's headers a pass-through sends on: the API
// version it speaks and the beta features it asked for. Nothing else of
// the client's request goes upstream (its credentials never).
var forwarded = [...]string{"Anthropic-Version", "Anthropic-Beta"}

// forwardHeaders has req's authorization set the client's forwarded
// headers first (Family.Authorize keeps an anthropic-version it finds).
func forwardHeaders(req *ownkey.ChatRequest) {
	for _, name := range forwarded {
		if len(req.Header.Values(name)) > 0 {
			req.Auth = forwarding{Authorizer: req.Auth, header: req.Header}
			return
		}
	}
}

// forwarding is an authorizer that sets the forwarded headers of the
// client's request before the family's authorization.
type forwarding struct {
	ownkey.Authorizer
	header http.Header
}

func (f forwarding) Authorize(ctx context.Context, hreq *http.Request, p *ownkey.Provider, c *ownkey.Credential, body []byte) error {
	for _, name := range forwarded {
		if vs := f.header.Values(name); len(vs) > 0 {
			hreq.Header[name] = append([]string(nil), vs...)
		}
	}
	return f.Authorizer.Authorize(ctx, hreq, p, c, body)
}

// relayExchange is the Relay's provider.Translator for one request.
type relayExchange struct {
	req     *ownkey.ChatRequest
	res     *ownkey.ChatResult
	counted provider.Output // what was relayed (an answer's own Output counts only sink calls)
	usage   messageUsage
	started bool
}

var relays = sync.Pool{New: func() any { return new(relayExchange) }}

// putRelay hands the output counted to the result and recycles x.
func putRelay(x *relayExchange) {
	x.counted.Report(x.res)
	x.counted.Reset()
	*x = relayExchange{counted: x.counted}
	relays.Put(x)
}

func (x *relayExchange) UpstreamError(status int, _ http.Header, body []byte) *ownkey.Error {
	return upstreamError(x.req, status, body)
}

// JSONAnswer reads a JSON body that answered a stream: Anthropic's error
// if it is one; its usage, if any, is recorded.
func (x *relayExchange) JSONAnswer(body []byte, _ *provider.Answer) *ownkey.Error {
	return jsonAnswer(x.req, x.res, body)
}

// jsonAnswer is JSONAnswer for both adapters.
func jsonAnswer(req *ownkey.ChatRequest, res *ownkey.ChatResult, body []byte) *ownkey.Error {
	if gjson.GetBytes(body, "type").Str == "error" {
		return upstreamError(req, http.StatusBadGateway, body)
	}
	if u := gjson.GetBytes(body, "usage"); u.IsObject() {
		var mu messageUsage
		mu.update(u)
		res.Usage = mu.toUsage()
	}
	return nil
}

// Complete relays a whole message as it is, read for accounting, priced
// first so that its cost goes beside it.
func (x *relayExchange) Complete(body []byte, out *provider.Answer) error {
	req, res := x.req, x.res
	name := req.Provider.Name
	switch jsonvalid.Check(body, req.MaxJSONDepth) {
	case jsonvalid.ErrTooDeep:
		return ownkey.Errorf(ownkey.EUPSTREAM, "the %s response is nested deeper than %d levels", name, jsonvalid.Depth(req.MaxJSONDepth))
	case jsonvalid.ErrSyntax:
		return ownkey.Errorf(ownkey.EUPSTREAM, "%s answered with something other than a message", name)
	}
	msg := gjson.Parse(view(body))
	switch msg.Get("type").Str {
	case "message":
	case "error":
		return upstreamError(req, http.StatusBadGateway, body)
	default:
		return ownkey.Errorf(ownkey.EUPSTREAM, "%s answered with something other than a message", name)
	}
	x.messageStart(msg)
	x.usage.update(msg.Get("usage"))
	res.Usage = x.usage.toUsage()
	res.FinishReason = finishReason(msg.Get("stop_reason").Str)
	if res.Usage.IsZero() {
		// Counted only for an estimate.
		msg.Get("content").ForEach(func(_, b gjson.Result) bool {
			x.countBlock(b)
			return true
		})
	}
	x.price()
	_ = out.RelayBody(body) // a failed write is the client gone, noted by out
	return nil
}

// messageStart takes the model that served the answer.
func (x *relayExchange) messageStart(msg gjson.Result) {
	x.started = true
	if m := msg.Get("model"); m.Type == gjson.String && m.Str != "" {
		if m.Str == x.req.Model {
			x.res.ModelServed = x.req.Model
		} else {
			x.res.ModelServed = strings.Clone(m.Str)
		}
	}
}

// price fixes the answer's usage and charge as it ends (see ownkey.Pricer):
// the output counted is reported first, for an estimate.
func (x *relayExchange) price() {
	if p := x.req.Pricer; p != nil {
		x.counted.Report(x.res)
		p.Price(x.req, x.res)
	}
}

// countBlock counts a whole content block's output.
func (x *relayExchange) countBlock(b gjson.Result) {
	switch b.Get("type").Str {
	case "text":
		x.countLiteral(b.Get("text").Raw)
	case "thinking":
		x.countLiteral(b.Get("thinking").Raw)
	case "tool_use":
		x.countLiteral(b.Get("name").Raw)
		x.counted.AddJSON(bytesOf(b.Get("input").Raw), false)
	}
}

// countLiteral counts the text of the JSON string literal raw.
func (x *relayExchange) countLiteral(raw string) {
	if len(raw) < 2 || raw[0] != '"' {
		return
	}
	in := raw[1 : len(raw)-1]
	x.counted.AddJSON(bytesOf(in), strings.IndexByte(in, '\\') >= 0)
}

// bytesOf is s as bytes without a copy, for a reader that does not keep
// or change them.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// Event relays one event as it came, and reads what accounting needs.
func (x *relayExchange) Event(ev provider.Event, out *provider.Answer) provider.Step {
	typ := ev.Type
	if len(typ) == 0 {
		// Not Anthropic's framing, which names every event; the data
		// says what it is.
		typ = []byte(gjson.Get(view(ev.Data), "type").Str)
	}
	switch string(typ) {
	case "content_block_delta":
		x.countDelta(ev.Data)
	case "content_block_start":
		if cb := gjson.Get(view(ev.Data), "content_block"); cb.Get("type").Str == "tool_use" {
			x.countLiteral(cb.Get("name").Raw)
		}
	case "message_start":
		if !x.started {
			msg := gjson.Get(view(ev.Data), "message")
			x.messageStart(msg)
			x.updateUsage(msg.Get("usage"))
		}
	case "message_delta":
		d := gjson.Parse(view(ev.Data))
		if r := d.Get("delta.stop_reason"); r.Type == gjson.String {
			x.res.FinishReason = finishReason(r.Str)
		}
		x.updateUsage(d.Get("usage"))
	case "message_stop":
		if x.res.FinishReason == "" {
			x.res.FinishReason = "stop"
		}
		x.price()
		return provider.Ended(out.RelayEvent(ev.Type, ev.Data))
	case "error":
		// Relayed, but never with an echo of the key; it ends the stream.
		// Named "error" even when the provider sent no event line (the
		// data said so), so that the client's SDK raises it.
		x.res.ErrorCode = provider.CodeStreamError
		return provider.Ended(out.RelayEvent(typ, provider.ScrubJSON(ev.Data, x.req.Credential)))
	}
	return provider.More(out.RelayEvent(ev.Type, ev.Data))
}

// updateUsage takes the counts an event carries.
func (x *relayExchange) updateUsage(u gjson.Result) {
	if u.IsObject() {
		x.usage.update(u)
		x.res.Usage = x.usage.toUsage()
	}
}

// countDelta counts a content_block_delta's text, thinking or tool input
// fragment. The literal is found without unescaping it (gjson would, an
// allocation per delta), in an event checked to be JSON first.
func (x *relayExchange) countDelta(data []byte) {
	if jsonvalid.Check(data, x.req.MaxJSONDepth) != nil {
		return // relayed all the same: the client judges it
	}
	d := jsonvalid.MemberRaw(view(data), "delta")
	switch jsonvalid.MemberRaw(d, "type") {
	case `"text_delta"`:
		x.countLiteral(jsonvalid.MemberRaw(d, "text"))
	case `"thinking_delta"`:
		x.countLiteral(jsonvalid.MemberRaw(d, "thinking"))
	case `"input_json_delta"`:
		x.countLiteral(jsonvalid.MemberRaw(d, "partial_json"))
	}
}

// EOF: a stream that ends before message_stop is cut short (Core says so).
func (x *relayExchange) EOF(*provider.Answer) provider.Step { return provider.StepMore }

// CountTokens asks Anthropic for the input tokens of req's body, a Messages
// request (POST /v1/messages/count_tokens, with the client's
// anthropic-version and anthropic-beta): exact, and free. An error answer
// is the provider's, as for chat. The answer is read up to
// provider.MaxErrorBody (1 MiB; a count is a few bytes).
func (f Family) CountTokens(ctx context.Context, req *ownkey.ChatRequest) (int64, error) {
	core := provider.Core{}
	if f.Adapter != nil {
		core = provider.Core{Clients: f.Adapter.Clients, UserAgent: f.Adapter.UserAgent}
	}
	forwardHeaders(req)
	res := &ownkey.ChatResult{}
	resp, _, err := provider.Send(ctx, ctx, core.Client(req.Guarded), req, res, "/v1/messages/count_tokens", req.Body, core.UserAgent)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, provider.MaxErrorBody))
	name := req.Provider.Name
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := upstreamError(req, resp.StatusCode, body)
		e.RetryAfter = provider.RetryAfter(resp.Header)
		return 0, e
	}
	if err != nil {
		return 0, ownkey.Errorf(ownkey.EUPSTREAM, "the %s response broke off before its end", name)
	}
	if jsonvalid.Check(bytes.TrimSpace(body), req.MaxJSONDepth) != nil {
		return 0, ownkey.Errorf(ownkey.EUPSTREAM, "%s answered the token count with something other than JSON", name)
	}
	n := gjson.GetBytes(body, "input_tokens")
	if n.Type != gjson.Number || n.Num < 0 {
		return 0, ownkey.Errorf(ownkey.EUPSTREAM, "%s answered the token count without input_tokens", name)
	}
	return n.Int(), nil
}
