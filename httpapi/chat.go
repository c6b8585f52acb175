package httpapi

import (
	"net/http"
	"strings"
	"sync"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/tidwall/gjson"
)

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// handleChat serves POST /api/v1/chat/completions: it decodes the request
// into an ownkey.ChatCall, has the chat service serve it (route, credential,
// adapter, usage) and writes the error the service returns. The body
// travels as bytes; only the routing fields are read (gjson) and only
// routing edits are made, in place.
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	cb, err := s.readBody(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	defer s.releaseBody(cb)
	cc := chatCalls.Get().(*chatCall)
	defer cc.release()
	if err := s.decodeChat(w, r, cb.b, cc); err != nil {
		Error(w, r, err)
		return
	}
	if err := s.cfg.Chat.Chat(r.Context(), &cc.call); err != nil {
		Error(w, r, err)
	}
}

// chatCall is a decoded chat request: the call the service is given, the
// body with the offsets its routing edits need (it is the call's
// ChatBody), and the writer of the answer in the client's dialect (the
// call's ChatSink). Pooled: handed to the service through interfaces, they
// would otherwise be put on the heap for every request, and the writer
// keeps its buffers.
type chatCall struct {
	call       ownkey.ChatCall
	body       []byte
	fields     chatFields
	forceUsage bool
	writer     openai.Writer
}

var chatCalls = sync.Pool{New: func() any { return new(chatCall) }}

// release recycles c once the answer is over; the writer is finished, so
// the ResponseWriter is the handler's alone again.
func (c *chatCall) release() {
	*c = chatCall{writer: c.writer.Released()}
	chatCalls.Put(c)
}

// Routed makes the routing edits in the body's buffer (in place when it
// has room).
func (c *chatCall) Routed(model string) []byte {
	return routedBody(c.body, c.fields, model, c.forceUsage)
}

// decodeChat validates the request and reads its routing fields into cc.
func (s *Server) decodeChat(w http.ResponseWriter, r *http.Request, body []byte, cc *chatCall) error {
	fields, err := parseChatBody(body, s.cfg.MaxJSONDepth)
	if err != nil {
		return err
	}
	f := fields.model
	if f.Type != gjson.String || f.Str == "" {
		return ownkey.FieldError("model", "model is required and must be a string, e.g. \"gpt-4o-mini\" or \"groq/llama-3.3-70b-versatile\"")
	}
	model := strings.Clone(f.Str) // f points into the body buffer, which is reused
	if m := fields.messages; !m.IsArray() || !nonEmpty(m) {
		return ownkey.FieldError("messages", "messages is required and must be a non-empty array")
	}
	stream := false
	if st := fields.stream; st.Exists() && st.Type != gjson.Null {
		if st.Type != gjson.True && st.Type != gjson.False {
			return ownkey.FieldError("stream", "stream must be a boolean")
		}
		stream = st.Bool()
	}
	if so := fields.streamOptions; so.Exists() && so.Type != gjson.Null && !so.IsObject() {
		return ownkey.FieldError("stream_options", "stream_options must be an object such as {\"include_usage\":true}")
	}
	includeUsage := fields.includeUsage.Bool()

	byok := fields.byok
	if byok.Exists() && byok.Type != gjson.Null && !byok.IsObject() {
		return ownkey.FieldError("byok", "byok must be an object such as {\"enabled\":true,\"provider\":\"groq\"}")
	}
	if !truthy(r.Header.Get("X-Use-Byok")) && !byok.Get("enabled").Bool() {
		return &ownkey.Error{Code: ownkey.EINVALID, Reason: "byok_required", Param: "x-use-byok",
			Message: "this gateway serves bring-your-own-key requests: send the header x-use-byok: true (or body \"byok\":{\"enabled\":true}) and store a provider key on the BYOK page"}
	}
	forced := strings.TrimSpace(r.Header.Get("X-Byok-Provider"))
	if bp := byok.Get("provider"); bp.Exists() {
		if bp.Type != gjson.String {
			return ownkey.FieldError("byok.provider", "byok.provider must be a provider id string")
		}
		if forced != "" && !strings.EqualFold(forced, bp.Str) {
			return ownkey.FieldError("byok.provider", "x-byok-provider and byok.provider name different providers")
		}
		forced = strings.Clone(bp.Str) // like model: the body is edited later
	}

	cc.body, cc.fields, cc.forceUsage = body, fields, stream && !includeUsage
	// The answer is written in OpenAI's dialect, the one this endpoint
	// speaks.
	cc.writer.Reset(w, stream, includeUsage)
	cc.call = ownkey.ChatCall{
		RequestID: RequestID(r.Context()), Principal: ownkey.PrincipalFromContext(r.Context()),
		Model: model, Provider: strings.ToLower(forced), Stream: stream, IncludeUsage: includeUsage,
		MaxTokens: fields.maxTokens, Body: cc, Sink: &cc.writer,
	}
	return nil
}

type modelEntry struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// handleModels lists the models the caller can reach with its stored keys:
// for every configured model provider, its catalog models. A model served by
// several of them is listed once under its plain id (owned by the provider
// auto-mapping would pick) and once per provider as "provider/model", which
// routes to that provider.
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	p := ownkey.PrincipalFromContext(r.Context())
	configured, err := s.cfg.Vault.Configured(r.Context(), p.Account.ID)
	if err != nil {
		Error(w, r, err)
		return
	}
	has := func(id string) bool { return configured[id] }
	seen := map[string]bool{}
	data := []modelEntry{}
	for _, prov := range ownkey.Catalog {
		if prov.Kind != ownkey.KindModel || !configured[prov.ID] {
			continue
		}
		for _, e := range ownkey.Models.OfProvider(prov.ID) {
			m := e.Model
			if !seen[m] {
				if rt, err := ownkey.RouteModel(m, "", has); err == nil {
					seen[m] = true
					data = append(data, modelEntry{ID: m, Object: "model", OwnedBy: rt.Provider.ID})
				}
			}
			data = append(data, modelEntry{ID: prov.ID + "/" + m, Object: "model", OwnedBy: prov.ID})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}
