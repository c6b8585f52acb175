package httpapi

import (
	"net/http"
	"strings"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/responses"
	"github.com/ownkey/ownkey/jsonvalid"
)

// handleResponses serves POST /v1/responses (and /api/v1/responses): a
// request in OpenAI's Responses API format, served by the chat service as
// a chat request is (the same authentication, BYOK switch, routing,
// billing and usage record), answered in the Responses format. A provider
// that speaks the Responses API (openai-responses, azure-responses) gets
// the body as it came, with the routing edits only, and its answer is
// relayed; every other provider gets it translated into Chat Completions
// (dialect/responses.ChatRequest), and the answer is written by the
// Responses writer.
//
// ownkey is stateless: it stores no response, so store:true,
// previous_response_id, conversation and background:true are refused
// (400, naming the field) whatever the provider.
func (s *Server) handleResponses(w http.ResponseWriter, r *http.Request) {
	cb, err := s.readBody(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	defer s.releaseBody(cb)
	rc := responsesCalls.Get().(*responsesCall)
	defer rc.release()
	if err := s.decodeResponses(w, r, cb.b, rc); err != nil {
		Error(w, r, err)
		return
	}
	s.serveChat(w, r, &rc.call)
}

// handleNoStoredResponses answers the Responses API's other endpoints
// (retrieve, delete, cancel, input_items, …): ownkey stores no response,
// so there is nothing for them to act on; the 404 says why rather than
// "unknown URL".
func handleNoStoredResponses(w http.ResponseWriter, r *http.Request) {
	Error(w, r, &ownkey.Error{Code: ownkey.ENOTFOUND, Reason: "response_not_stored",
		Message: noState + "there is none to retrieve, delete, cancel or list: ownkey serves POST /v1/responses only"})
}

// responsesFields are the members of a Responses request that routing and
// the stateless checks read, found by the validating pass (see
// chatFields); echo holds the spans of the members a response repeats
// (dialect/responses.EchoIndex).
type responsesFields struct {
	members, end                      int
	model, input, stream, byok, store gjson.Result
	previous, conversation, bg        gjson.Result
	byokKey                           int
	maxTokens                         int64
	echo                              [responses.EchoMembers][2]int
}

// parseResponsesBody checks that body is a JSON object nested at most
// maxDepth levels and reads its routing members, as parseChatBody does for
// chat; a routing member named twice is refused.
func parseResponsesBody(body []byte, maxDepth int) (responsesFields, error) {
	var f responsesFields
	var dup string
	err := jsonvalid.CheckMembers(body, maxDepth, func(m jsonvalid.Member) {
		f.members++
		f.end = m.ValueEnd
		if dup != "" {
			return
		}
		name := memberName(body[m.KeyStart:m.KeyEnd])
		var dst *gjson.Result
		switch name {
		case "model":
			dst = &f.model
		case "input":
			dst = &f.input
		case "stream":
			dst = &f.stream
		case "store":
			dst = &f.store
		case "previous_response_id":
			dst = &f.previous
		case "conversation":
			dst = &f.conversation
		case "background":
			dst = &f.bg
		case "byok":
			dst = &f.byok
			f.byokKey = m.KeyStart
		default:
			if i := responses.EchoIndex(name); i >= 0 {
				f.echo[i] = [2]int{m.ValueStart, m.ValueEnd}
			}
			if name == "max_output_tokens" {
				if v := resultAt(body, m.ValueStart, m.ValueEnd); v.Type == gjson.Number && v.Num >= 1 {
					f.maxTokens = int64(min(v.Num, 1<<53))
				}
			}
			return
		}
		if dst.Exists() {
			dup = name
			return
		}
		*dst = resultAt(body, m.ValueStart, m.ValueEnd)
	})
	if err != nil {
		return f, bodyJSONError(err, maxDepth)
	}
	start := jsonvalid.SkipSpace(body, 0)
	if body[start] != '{' {
		return f, ownkey.Errorf(ownkey.EINVALID, "request body must be a JSON object")
	}
	if f.members == 0 {
		f.end = start + 1
	}
	if dup != "" {
		return f, ownkey.FieldError(dup, "%s appears more than once in the request body", dup)
	}
	return f, nil
}

// noState is why the stateful parts of the Responses API are refused.
const noState = "ownkey keeps no conversation state: responses are not stored, so "

// decodeResponses validates the request and reads its routing fields into
// rc.
func (s *Server) decodeResponses(w http.ResponseWriter, r *http.Request, body []byte, rc *responsesCall) error {
	f, err := parseResponsesBody(body, s.cfg.MaxJSONDepth)
	if err != nil {
		return err
	}
	if f.model.Type != gjson.String || f.model.Str == "" {
		return ownkey.FieldError("model", "model is required and must be a string, e.g. \"gpt-5\" or \"groq/llama-3.3-70b-versatile\"")
	}
	model := strings.Clone(f.model.Str) // f.model points into the body buffer, which is reused
	switch in := f.input; {
	case in.Type == gjson.String && in.Str != "":
	case in.IsArray() && nonEmpty(in):
	default:
		return ownkey.FieldError("input", "input is required: a non-empty string or array of input items")
	}
	stream := false
	if st := f.stream; st.Exists() && st.Type != gjson.Null {
		if st.Type != gjson.True && st.Type != gjson.False {
			return ownkey.FieldError("stream", "stream must be a boolean")
		}
		stream = st.Bool()
	}
	switch st := f.store; st.Type {
	case gjson.True:
		return ownkey.FieldError("store", noState+"store must be false or left out (ownkey sends store:false upstream)")
	case gjson.False, gjson.Null:
	default:
		if st.Exists() {
			return ownkey.FieldError("store", "store must be a boolean")
		}
	}
	if p := f.previous; p.Exists() && p.Type != gjson.Null {
		return ownkey.FieldError("previous_response_id", noState+"previous_response_id cannot refer to one: send the conversation in input")
	}
	if c := f.conversation; c.Exists() && c.Type != gjson.Null {
		return ownkey.FieldError("conversation", noState+"there is no conversation to add to: send the conversation in input")
	}
	if f.bg.Type == gjson.True {
		return ownkey.FieldError("background", noState+"a background response could not be polled: leave background out")
	}

	byok := f.byok
	if byok.Exists() && byok.Type != gjson.Null && !byok.IsObject() {
		return ownkey.FieldError("byok", "byok must be an object such as {\"enabled\":true,\"provider\":\"groq\"}")
	}
	keys, err := keySwitch(r.Header.Get("X-Use-Byok"), byok.Get("enabled"))
	if err != nil {
		return err
	}
	forced := strings.TrimSpace(r.Header.Get("X-Byok-Provider"))
	if bp := byok.Get("provider"); bp.Exists() {
		if bp.Type != gjson.String {
			return ownkey.FieldError("byok.provider", "byok.provider must be a provider id string")
		}
		if forced != "" && !strings.EqualFold(forced, bp.Str) {
			return ownkey.FieldError("byok.provider", "x-byok-provider and byok.provider name different providers")
		}
		forced = strings.Clone(bp.Str)
	}

	rc.body, rc.fields, rc.stream = body, f, stream
	// The answer is written in the Responses format, repeating the
	// request's members as the API does (copied now: a relayed body is
	// edited in place later).
	rc.writer.Reset(w, stream)
	for i, sp := range f.echo {
		if sp[1] > 0 {
			rc.writer.Echo(i, body[sp[0]:sp[1]])
		}
	}
	rc.call = ownkey.ChatCall{
		RequestID: RequestID(r.Context()), Principal: ownkey.PrincipalFromContext(r.Context()),
		Model: model, Provider: strings.ToLower(forced), Keys: keys, Stream: stream,
		// Usage always comes with a Responses answer.
		IncludeUsage: true, MaxTokens: f.maxTokens,
		Dialect: ownkey.DialectOpenAIResponses, Body: rc, Sink: &rc.writer,
	}
	return nil
}

// responsesCall is a decoded Responses request: the call, the body with
// the offsets of its routing edits (the call's DialectBody) and the
// writer of the answer (its ChatSink). Pooled, as chatCall is.
type responsesCall struct {
	call   ownkey.ChatCall
	body   []byte
	fields responsesFields
	stream bool
	writer responses.Writer
}

var responsesCalls = sync.Pool{New: func() any { return new(responsesCall) }}

var _ ownkey.DialectBody = (*responsesCall)(nil)

func (c *responsesCall) release() {
	*c = responsesCall{writer: c.writer.Released()}
	responsesCalls.Put(c)
}

// Routed makes the routing edits for a provider that speaks the Responses
// API, in the body's buffer: the model set to the routed one, the byok
// member removed and store:false added when the client left store out
// (the API stores responses by default; ownkey must not leave its users'
// conversations stored). Everything else goes as the client wrote it.
func (c *responsesCall) Routed(model string) []byte {
	f := &c.fields
	var edits []bodyEdit
	if f.model.Str != model {
		edits = append(edits, replaceValue(f.model, jsonString(model)))
	}
	if f.byok.Exists() {
		span := [1][2]int{memberSpan(f.byokKey, f.byok)}
		edits = deleteMembers(edits, c.body, span[:])
	}
	switch st := f.store; {
	case !st.Exists():
		edits = append(edits, appendMember(f.members, f.end, "store", "false"))
	case st.Type == gjson.Null:
		edits = append(edits, replaceValue(st, "false"))
	}
	return applyEdits(c.body, edits)
}

// Translated translates the body for a provider that reads Chat
// Completions (see dialect/responses.ChatRequest).
func (c *responsesCall) Translated(p *ownkey.Provider, model string) ([]byte, error) {
	return responses.ChatRequest(c.body, model, p.ID, c.stream)
}
