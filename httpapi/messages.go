package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/anthropic"
)

// The Anthropic Messages API (POST /v1/messages, /api/v1/messages, and
// their count_tokens): what the Anthropic SDKs and Claude Code send with
// ANTHROPIC_BASE_URL set to ownkey and ANTHROPIC_API_KEY (x-api-key) or
// ANTHROPIC_AUTH_TOKEN (Authorization: Bearer) an ownkey key. The request
// is served by the chat service, as chat is (the same routing, BYOK
// switch, billing and usage record), with the answer written by
// dialect/anthropic's Writer; the body is passed through to Anthropic's
// own providers and translated into OpenAI's terms for every other one
// (see ownkey.DialectBody). Errors are sent in Anthropic's envelope, by
// Error, which knows these paths.

// Forwarded request headers of the Messages API (see ownkey.ChatCall.Header).
var messagesHeaders = [...]string{"Anthropic-Version", "Anthropic-Beta"}

// isMessagesPath reports whether path is one of the Messages API's, whose
// errors are sent in Anthropic's envelope.
func isMessagesPath(path string) bool {
	path = strings.TrimPrefix(path, "/api")
	return path == "/v1/messages" || path == "/v1/messages/count_tokens"
}

// messagesCall is a decoded Messages request, pooled like chatCall: the
// call, the body with its routing offsets (the call's DialectBody), the
// headers forwarded and the writer of the answer.
type messagesCall struct {
	call   ownkey.ChatCall
	body   []byte
	fields chatFields
	header http.Header
	writer anthropic.Writer
}

var messagesCalls = sync.Pool{New: func() any { return new(messagesCall) }}

func (c *messagesCall) release() {
	h := c.header
	clear(h)
	*c = messagesCall{writer: c.writer.Released(), header: h}
	messagesCalls.Put(c)
}

// Routed makes the routing edits in the Messages body for a pass-through:
// the model set, ownkey's byok member removed.
func (c *messagesCall) Routed(model string) []byte {
	c.body = routedBody(c.body, c.fields, model, false)
	return c.body
}

// Translated is the body in OpenAI's terms for provider p.
func (c *messagesCall) Translated(p *ownkey.Provider, model string) ([]byte, error) {
	return anthropic.Translate(c.body, anthropic.Target{Provider: p, Model: model})
}

// handleMessages serves POST /v1/messages.
func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	cb, err := s.readBody(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	defer s.releaseBody(cb)
	mc := messagesCalls.Get().(*messagesCall)
	defer mc.release()
	if err := s.decodeMessages(w, r, cb.b, mc, false); err != nil {
		Error(w, r, err)
		return
	}
	s.serveChat(w, r, &mc.call)
}

// tokenCountHeader says whether count_tokens' answer is the provider's
// count or an estimate.
const tokenCountHeader = "X-Ownkey-Token-Count"

// handleCountTokens serves POST /v1/messages/count_tokens: the input tokens
// of a Messages request where it would be routed, exact from Anthropic,
// else estimated; an estimate says so (X-Ownkey-Token-Count: estimate, and
// "estimated": true in the body).
func (s *Server) handleCountTokens(w http.ResponseWriter, r *http.Request) {
	counter, ok := s.cfg.Chat.(ownkey.TokenCounter)
	if !ok {
		Error(w, r, &ownkey.Error{Code: ownkey.EINTERNAL, Status: http.StatusNotImplemented, Message: "token counting is not available on this server"})
		return
	}
	cb, err := s.readBody(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	defer s.releaseBody(cb)
	mc := messagesCalls.Get().(*messagesCall)
	defer mc.release()
	if err := s.decodeMessages(w, r, cb.b, mc, true); err != nil {
		Error(w, r, err)
		return
	}
	n, err := counter.CountTokens(r.Context(), &mc.call)
	if err != nil {
		Error(w, r, err)
		return
	}
	b := append(make([]byte, 0, 64), `{"input_tokens":`...)
	b = strconv.AppendInt(b, n.InputTokens, 10)
	source := "provider"
	if n.Estimated {
		source = "estimate"
		b = append(b, `,"estimated":true`...)
	}
	b = append(b, "}\n"...)
	h := w.Header()
	h.Set(tokenCountHeader, source)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// decodeMessages validates a Messages request (count: a count_tokens one,
// which has no max_tokens or stream) and reads its routing fields into mc.
// The checks are the few that routing and billing need, with Anthropic's
// own requirements (model, messages, max_tokens); the rest is the
// provider's to judge, or the translation's.
func (s *Server) decodeMessages(w http.ResponseWriter, r *http.Request, body []byte, mc *messagesCall, count bool) error {
	fields, err := parseChatBody(body, s.cfg.MaxJSONDepth)
	if err != nil {
		return err
	}
	f := fields.model
	if f.Type != gjson.String || f.Str == "" {
		return ownkey.FieldError("model", "model: a model id string is required, e.g. \"claude-sonnet-4-5\" or \"groq/llama-3.3-70b-versatile\"")
	}
	model := strings.Clone(f.Str)
	if m := fields.messages; !m.IsArray() || !nonEmpty(m) {
		return ownkey.FieldError("messages", "messages: a non-empty array of messages is required")
	}
	stream := false
	if !count {
		if !fields.hasMaxTokens {
			return ownkey.FieldError("max_tokens", "max_tokens: a positive whole number is required")
		}
		if st := fields.stream; st.Exists() && st.Type != gjson.Null {
			if st.Type != gjson.True && st.Type != gjson.False {
				return ownkey.FieldError("stream", "stream: must be a boolean")
			}
			stream = st.Bool()
		}
	}
	keys, forced, err := byokSelection(r, fields.byok)
	if err != nil {
		return err
	}

	mc.body, mc.fields = body, fields
	var header http.Header
	for _, name := range messagesHeaders {
		if vs := r.Header.Values(name); len(vs) > 0 {
			if mc.header == nil {
				mc.header = make(http.Header, len(messagesHeaders))
			}
			mc.header[name] = append(mc.header[name][:0], vs...)
			header = mc.header
		}
	}
	mc.writer.Reset(w, stream)
	mc.call = ownkey.ChatCall{
		RequestID: RequestID(r.Context()), Principal: ownkey.PrincipalFromContext(r.Context()),
		Model: model, Provider: forced, Keys: keys, Stream: stream, MaxTokens: fields.maxTokens,
		Body: mc, Sink: &mc.writer, Dialect: ownkey.DialectAnthropicMessages, Header: header,
	}
	return nil
}

// anthropicError writes e in Anthropic's envelope,
// {"type":"error","error":{"type","message"}}, with Anthropic's type and
// status for it (anthropic.ErrorFor: 529 for an overload).
func anthropicError(w http.ResponseWriter, e *ownkey.Error) {
	typ, status := anthropic.ErrorFor(ownkey.StatusOf(e), e.Type)
	msg := e.Message
	if e.Param != "" && !strings.Contains(msg, e.Param) {
		msg = e.Param + ": " + msg
	}
	b := anthropic.AppendError(make([]byte, 0, 64+len(msg)), typ, msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
