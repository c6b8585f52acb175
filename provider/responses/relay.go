package responses

import (
	"cmp"
	"net/http"
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
)

// Relaying, for a client that speaks the Responses API itself (its sink's
// dialect is ownkey.DialectOpenAIResponses: POST /v1/responses). The chat
// service sends it here when the routed provider speaks the API
// (Family.Relay, azure.Responses.Relay): the request went upstream as the
// client wrote it, with only the routing edits (the model, ownkey's byok
// member removed, store false), and the answer comes back as the provider
// sent it: a response object byte for byte, a stream event by event (each
// event's event: line and data as they came; SSE comments and the line
// ends are the relay's own). Nothing of the answer is lost in translation:
// hosted tools, annotations, encrypted reasoning, logprobs.
//
// The answer is read only for accounting, as the OpenAI-compatible
// pass-through reads chat chunks: the model (response.created), the text,
// reasoning and arguments relayed (for an estimate when no usage comes),
// the usage and status of the terminal event (response.completed,
// response.incomplete: the usage the API reports there, the finish reason
// as the translated path maps it). Events are read with gjson's iterative
// Get, never decoded or validated whole, so a hostile event cannot cost a
// second pass or the stack; error events and response.failed are relayed
// with any echo of the key scrubbed (provider.ScrubJSON), as every relayed
// error is. A stream ends at its first terminal event (response.completed,
// response.incomplete, response.failed), after relaying it; an error event
// is relayed and the stream read on to the response.failed the API sends
// after it (or its end). A stream that breaks off, goes silent or sends an
// oversized event is ended by provider.Core with an error event from the
// writer.
//
// A whole answer's cost is priced before it is written and given in the
// writer's cost headers (ChatSink.RelayBody's cost); a stream's is in the usage
// records (its bytes are the provider's).

// Relay is the relaying adapter for Responses clients; nil for another
// dialect (provider.Passthrougher).
func (f Family) Passthrough(d ownkey.Dialect) ownkey.ChatAdapter {
	if d != ownkey.DialectOpenAIResponses {
		return nil
	}
	return f.Chat()
}

var _ provider.Passthrougher = Family{}

// relayComplete relays a whole response object, body, as it is: read for
// its usage, model and status, and priced first when billing prices the
// request, so that the cost headers hold the charge the ledger settles.
// A body that is not a response is the provider's error, or an error.
func (x *exchange) relayComplete(body []byte, out *provider.Answer) error {
	req, res := x.req, x.res
	root := gjson.Parse(view(body))
	output := root.Get("output")
	if root.Get("object").Str != "response" && !output.IsArray() {
		if root.Get("error").IsObject() {
			return upstreamError(req, http.StatusBadGateway, body)
		}
		return ownkey.Errorf(ownkey.EUPSTREAM, "%s answered with something other than a response", req.Provider.Name)
	}
	if m := root.Get("model").Str; m != "" {
		res.ModelServed = strings.Clone(m)
	}
	res.Usage = usageOf(root.Get("usage"))
	calls := 0
	output.ForEach(func(_, item gjson.Result) bool {
		if x.countItem(item) {
			calls++
		}
		return true
	})
	switch status := root.Get("status").Str; status {
	case "", "completed", "incomplete":
		res.FinishReason = finishReason(cmp.Or(status, "completed"), root.Get("incomplete_details.reason").Str, calls > 0, false)
	default:
		// A response that failed is relayed as the provider gave it; the
		// record says it failed.
		res.ErrorCode = provider.CodeUpstreamError
		body = provider.ScrubJSON(body, req.Credential)
	}
	if p := req.Pricer; p != nil {
		if res.Usage.IsZero() {
			x.counted.Report(res) // the output, to estimate from
		}
		p.Price(req, res) // priced: RelayBody passes the charge to the writer's headers
	}
	_ = out.RelayBody(body) // a failed write is the client gone, noted by out
	return nil
}

// countItem counts the text of an output item given whole (message text
// and refusals, reasoning summaries and text, a function call's name and
// arguments); true for a function call.
func (x *exchange) countItem(item gjson.Result) bool {
	switch item.Get("type").Str {
	case "message":
		item.Get("content").ForEach(func(_, p gjson.Result) bool {
			x.count(p.Get("text"))
			x.count(p.Get("refusal"))
			return true
		})
	case "reasoning":
		for _, member := range [2]string{"summary", "content"} {
			item.Get(member).ForEach(func(_, p gjson.Result) bool {
				x.count(p.Get("text"))
				return true
			})
		}
	case "function_call":
		x.countName(item.Get("name"))
		x.count(item.Get("arguments"))
		return true
	}
	return false
}

// count counts a JSON string's text as delivered.
func (x *exchange) count(s gjson.Result) { x.countRaw(s.Raw) }

// countRaw counts the text of lit, a JSON string literal as it came
// (anything else counts nothing).
func (x *exchange) countRaw(lit string) {
	if len(lit) > 2 && lit[0] == '"' && lit[len(lit)-1] == '"' {
		raw := lit[1 : len(lit)-1]
		x.counted.AddJSON(bytesOf(raw), strings.IndexByte(raw, '\\') >= 0)
	}
}

// countName counts a function call by its name.
func (x *exchange) countName(s gjson.Result) {
	if lit := s.Raw; len(lit) >= 2 && lit[0] == '"' && lit[len(lit)-1] == '"' {
		raw := lit[1 : len(lit)-1]
		x.counted.AddToolName(bytesOf(raw), strings.IndexByte(raw, '\\') >= 0)
	}
}

// bytesOf is s as bytes without a copy, for counting (which only reads).
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// relayEvent relays one event of a stream, ev.Data as it came, and reads
// it for accounting (see the top of this file); data is ev.Data trimmed.
func (x *exchange) relayEvent(ev provider.Event, data []byte, out *provider.Answer) provider.Step {
	req, res := x.req, x.res
	d := view(data)
	typ := gjson.Get(d, "type").Str
	if typ == "" {
		typ = view(ev.Type)
	}
	relayed := ev.Data
	step := provider.StepMore
	switch typ {
	case "response.output_text.delta", "response.refusal.delta", "response.reasoning_summary_text.delta",
		"response.reasoning_text.delta", "response.function_call_arguments.delta":
		// The delta's literal, not gjson's unescaped copy of it (an
		// allocation per delta); MemberRaw needs valid JSON, which the
		// validator's one fast pass over a small event settles.
		if jsonvalid.Check(data, req.MaxJSONDepth) == nil {
			x.countRaw(jsonvalid.MemberRaw(d, "delta"))
		}
	case "response.output_item.added":
		if item := gjson.Get(d, "item"); item.Get("type").Str == "function_call" {
			x.tools++
			x.countName(item.Get("name"))
		}
	case "response.created", "response.in_progress", "response.queued":
		if res.ModelServed == "" {
			if m := gjson.Get(d, "response.model").Str; m != "" {
				res.ModelServed = strings.Clone(m)
			}
		}
	case "response.completed", "response.incomplete":
		r := gjson.Get(d, "response")
		res.Usage = usageOf(r.Get("usage"))
		status := "completed"
		if typ == "response.incomplete" {
			status = "incomplete"
		}
		res.FinishReason = finishReason(status, r.Get("incomplete_details.reason").Str, x.tools > 0, false)
		step = provider.StepEnd
	case "response.failed":
		if u := usageOf(gjson.Get(d, "response.usage")); !u.IsZero() {
			res.Usage = u
		}
		res.ErrorCode = provider.CodeStreamError
		relayed = provider.ScrubJSON(relayed, req.Credential)
		step = provider.StepEnd
	case "error":
		res.ErrorCode = provider.CodeStreamError
		x.errored = true
		relayed = provider.ScrubJSON(relayed, req.Credential)
	}
	if out.RelayEvent(ev.Type, relayed) != nil {
		return provider.StepGone
	}
	return step
}
