package gemini

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
)

// keepCap is the largest buffer a pooled exchange keeps.
const keepCap = 256 << 10

// exchange is the state of one answer's translation, and the request's
// provider.Translator. A whole answer is one GenerateContentResponse and a
// stream a sequence of them, so both go through chunk. Exchanges are
// pooled so that their buffers are reused across requests.
type exchange struct {
	req *ownkey.ChatRequest
	res *ownkey.ChatResult
	out *provider.Answer // the answer, as of the current chunk

	args []byte // a function call's args, compact
	lit  []byte // a JSON string literal built here (the args as the arguments string)

	started    bool
	responseID string // the answer's id, copied out of the first chunk
	reason     string // Gemini's finishReason, once given
	blocked    bool   // the prompt was blocked (promptFeedback.blockReason)
	tools      int    // function calls relayed
	usage      usageMetadata
}

var exchanges = sync.Pool{New: func() any { return new(exchange) }}

func getExchange(req *ownkey.ChatRequest, res *ownkey.ChatResult) *exchange {
	x := exchanges.Get().(*exchange)
	x.req, x.res = req, res
	return x
}

func putExchange(x *exchange) {
	if cap(x.lit) > keepCap || cap(x.args) > keepCap {
		return
	}
	*x = exchange{args: x.args[:0], lit: x.lit[:0]}
	exchanges.Put(x)
}

// UpstreamError builds the client's error from an error answer (see
// upstreamError).
func (x *exchange) UpstreamError(status int, _ http.Header, body []byte) *ownkey.Error {
	return upstreamError(x.req, status, body)
}

// JSONAnswer reads a JSON body that answered a stream: Google's error if it
// is one (with the status the error names, else 502); its usage, if any,
// is recorded, as the tokens were spent.
func (x *exchange) JSONAnswer(body []byte, _ *provider.Answer) *ownkey.Error {
	if jsonvalid.Check(body, x.req.MaxJSONDepth) != nil {
		return nil
	}
	root := gjson.Parse(view(body))
	if e := errorObject(root); e.Exists() {
		status := http.StatusBadGateway
		if c := e.Get("code").Int(); c >= 400 && c <= 599 {
			status = int(c)
		}
		return upstreamError(x.req, status, body)
	}
	if root.IsArray() {
		root = root.Get("@reverse.0")
	}
	if u := root.Get("usageMetadata"); u.IsObject() {
		x.usage.update(u)
		x.res.Usage = x.usage.toUsage()
	}
	return nil
}

// Event translates one chunk of a stream: the answer goes to the client
// delta by delta, as the chunk's parts come.
func (x *exchange) Event(ev provider.Event, out *provider.Answer) provider.Step {
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 {
		return provider.StepMore
	}
	x.out = out
	name := x.req.Provider.Name
	if msg := provider.UnreadableEvent(name, data, x.req.MaxJSONDepth); msg != "" {
		return x.fail(provider.CodeStreamError, msg)
	}
	root := gjson.Parse(view(data))
	if !root.IsObject() {
		if e := errorObject(root); e.Exists() {
			return x.upstreamError(data, e)
		}
		return x.fail(provider.CodeStreamError, name+" sent a stream event that is not a response")
	}
	r := readResponse(root)
	if r.err.IsObject() {
		return x.upstreamError(data, r.err)
	}
	return provider.More(x.chunk(&r))
}

// EOF: Gemini sends no end event; the stream is complete when a chunk gave
// the finish reason (or said the prompt was blocked) before it ended, and
// cut short otherwise.
func (x *exchange) EOF(out *provider.Answer) provider.Step {
	if !x.started || (x.reason == "" && !x.blocked) {
		return provider.StepMore
	}
	x.out = out
	return provider.Ended(x.end())
}

// response is what the translation reads of a GenerateContentResponse,
// found in one pass over its members (a gjson Get per member would scan the
// event from its start each time).
type response struct {
	candidates, usage, feedback, responseID, modelVersion, err gjson.Result
}

func readResponse(root gjson.Result) (r response) {
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "candidates":
			r.candidates = v
		case "usageMetadata":
			r.usage = v
		case "promptFeedback":
			r.feedback = v
		case "responseId":
			r.responseID = v
		case "modelVersion":
			r.modelVersion = v
		case "error":
			r.err = v
		}
		return true
	})
	return r
}

// chunk tells the answer what one GenerateContentResponse holds: the
// answer's start with the first, the first candidate's parts, its finish
// reason and the usage so far. A failure means the client is gone.
func (x *exchange) chunk(r *response) error {
	if !x.started {
		x.started = true
		if id := r.responseID; id.Type == gjson.String && id.Str != "" {
			x.responseID = strings.Clone(id.Str)
		} else {
			x.responseID = "gen-" + x.req.RequestID
		}
		model := x.req.Model
		if m := r.modelVersion; m.Type == gjson.String && m.Str != "" {
			model = m.Str
		}
		if err := x.out.Start(x.responseID, model, ownkey.Now().Unix()); err != nil {
			return err
		}
	}
	if r.usage.IsObject() {
		// The result always holds the usage reported so far, whatever
		// ends the stream.
		x.usage.update(r.usage)
		x.res.Usage = x.usage.toUsage()
	}
	if b := r.feedback.Get("blockReason"); b.Type == gjson.String && b.Str != "" {
		x.blocked = true
		x.res.FinishReason = "content_filter"
	}
	// The first candidate only: candidateCount is never sent, so there is
	// one.
	var cand gjson.Result
	r.candidates.ForEach(func(_, c gjson.Result) bool { cand = c; return false })
	var parts, reason gjson.Result
	cand.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "content":
			parts = v.Get("parts")
		case "finishReason":
			reason = v
		}
		return true
	})
	var err error
	parts.ForEach(func(_, p gjson.Result) bool {
		err = x.part(p)
		return err == nil
	})
	if err != nil {
		return err
	}
	if reason.Type == gjson.String && reason.Str != "" {
		x.reason = strings.Clone(reason.Str)
		// A stream cut after this still said why it stopped.
		x.res.FinishReason = finishReason(x.reason, x.tools > 0)
	}
	return nil
}

// part relays one part: text as content, or as reasoning when it is a
// thought; a function call as a whole tool call.
func (x *exchange) part(p gjson.Result) error {
	if fc := jsonvalid.MemberRaw(p.Raw, "functionCall"); fc != "" {
		return x.functionCall(gjson.Parse(fc), p)
	}
	text := jsonvalid.MemberRaw(p.Raw, "text")
	if len(text) <= 2 || text[0] != '"' {
		return nil // empty, or a part kind with no place in a chat completion
	}
	if jsonvalid.MemberRaw(p.Raw, "thought") == "true" {
		return x.out.Reasoning(text)
	}
	return x.out.Text(text)
}

// functionCall relays a function call, which Gemini sends whole: its id
// (Gemini's own, else made stable, see toolCallID) carries the part's
// thought signature.
func (x *exchange) functionCall(fc, p gjson.Result) error {
	sig := ""
	if s := jsonvalid.MemberRaw(p.Raw, "thoughtSignature"); len(s) > 2 && s[0] == '"' && isSignature(s[1:len(s)-1]) {
		sig = s[1 : len(s)-1]
	}
	var id string
	if given := fc.Get("id"); given.Type == gjson.String && given.Str != "" {
		id = given.Str
		if sig != "" {
			id += signatureSeparator + sig
		}
	} else {
		id = toolCallID(x.responseID, x.tools, sig)
	}
	args := fc.Get("args")
	x.args = x.args[:0]
	if !args.IsObject() {
		x.args = append(x.args, "{}"...)
	} else {
		buf := bytes.NewBuffer(x.args)
		_ = json.Compact(buf, []byte(args.Raw)) // valid: the event was checked
		x.args = buf.Bytes()
	}
	x.lit = gjson.AppendJSONString(x.lit[:0], view(x.args))
	i := x.tools
	x.tools++
	return x.out.ToolCall(i, id, fc.Get("name").String(), view(x.lit))
}

// end finishes a complete answer.
func (x *exchange) end() error {
	finish := finishReason(x.reason, x.tools > 0)
	if x.blocked && x.reason == "" {
		finish = "content_filter"
	}
	return x.out.End(finish, x.usage.toUsage())
}

// upstreamError relays an error event Gemini sent mid-stream (overloaded,
// quota, …) and ends the stream.
func (x *exchange) upstreamError(data []byte, e gjson.Result) provider.Step {
	c := x.req.Credential
	msg := provider.UpstreamMessage(data, c, x.req.MaxJSONDepth)
	if msg == "" {
		msg = x.req.Provider.Name + " reported an error in the stream"
	}
	typ := "upstream_error"
	if s := e.Get("status"); s.Type == gjson.String && s.Str != "" {
		typ = provider.SafeToken(s.Str, c)
	}
	return provider.Ended(x.out.Fail(provider.CodeStreamError, typ, msg))
}

// fail ends a stream that cannot be completed; the client must not mistake
// a cut answer for a whole one.
func (x *exchange) fail(code, message string) provider.Step {
	return provider.Ended(x.out.Fail(code, "upstream_error", message))
}
