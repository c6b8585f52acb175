package httpapi

import (
	"net/http"
	"strings"
	"sync"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/tidwall/gjson"
)

// keySwitch reads the BYOK switch from the header x-use-byok and the body's
// byok.enabled: true forces the account's own key, false the platform's;
// neither (absent, empty or null) leaves the choice to the gateway. Both
// given must agree.
func keySwitch(header string, enabled gjson.Result) (ownkey.KeyChoice, error) {
	fromHeader, ok := switchWord(header)
	if !ok {
		return 0, ownkey.FieldError("x-use-byok", "x-use-byok must be true (use your own provider key) or false (use the platform's key); leave it out to use your own key when you stored one for the provider, else the platform's")
	}
	fromBody := ownkey.KeyAuto
	switch enabled.Type {
	case gjson.True:
		fromBody = ownkey.KeyOwn
	case gjson.False:
		fromBody = ownkey.KeyPlatform
	case gjson.String:
		// gjson read "true" as true before the switch had a false.
		if fromBody, ok = switchWord(enabled.Str); !ok {
			return 0, ownkey.FieldError("byok.enabled", "byok.enabled must be a boolean")
		}
	case gjson.Null:
	default:
		return 0, ownkey.FieldError("byok.enabled", "byok.enabled must be a boolean")
	}
	switch {
	case fromHeader == ownkey.KeyAuto:
		return fromBody, nil
	case fromBody != ownkey.KeyAuto && fromBody != fromHeader:
		return 0, ownkey.FieldError("byok.enabled", "x-use-byok and byok.enabled disagree")
	}
	return fromHeader, nil
}

// switchWord reads one spelling of the switch (without allocating: it runs
// on every chat request); "" is no choice.
func switchWord(s string) (ownkey.KeyChoice, bool) {
	s = strings.TrimSpace(s)
	for _, w := range [...]string{"true", "1", "yes", "on"} {
		if strings.EqualFold(s, w) {
			return ownkey.KeyOwn, true
		}
	}
	for _, w := range [...]string{"false", "0", "no", "off"} {
		if strings.EqualFold(s, w) {
			return ownkey.KeyPlatform, true
		}
	}
	return ownkey.KeyAuto, s == ""
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
	s.serveChat(w, r, &cc.call)
}

// serveChat has the chat service serve call, for every client dialect's
// endpoint, keeps what the access line, the metrics and the span say of it
// (past the pooled call) and writes the error the service returns.
func (s *Server) serveChat(w http.ResponseWriter, r *http.Request, call *ownkey.ChatCall) {
	err := s.cfg.Chat.Chat(r.Context(), call)
	if st := stateOf(r); st != nil {
		st.chat = chatSummary{served: true, model: call.Model, stream: call.Stream, outcome: call.Outcome}
	}
	if err != nil {
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
	// Web search: only a model that names it, or a body with webSearch,
	// is read for it (httpapi/web.go); every other request pays one
	// substring search.
	var search *ownkey.WebSearchRequest
	if fields.webSearch.Exists() || strings.Contains(model, ":online") {
		if model, search, err = chatWebSearchOf(model, fields.webSearch); err != nil {
			return err
		}
	}
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

	keys, forced, err := byokSelection(r, fields.byok)
	if err != nil {
		return err
	}

	cc.body, cc.fields, cc.forceUsage = body, fields, stream && !includeUsage
	// The answer is written in OpenAI's dialect, the one this endpoint
	// speaks.
	cc.writer.Reset(w, stream, includeUsage)
	cc.call = ownkey.ChatCall{
		RequestID: RequestID(r.Context()), Principal: ownkey.PrincipalFromContext(r.Context()),
		Model: model, Provider: forced, Keys: keys, Stream: stream, IncludeUsage: includeUsage,
		MaxTokens: fields.maxTokens, WebSearch: search, Body: cc, Sink: &cc.writer,
	}
	return nil
}

// byokSelection reads the BYOK selection of a chat request, whatever its
// dialect: the switch (x-use-byok, byok.enabled: keySwitch) and the forced
// provider (x-byok-provider, byok.provider; lower case, "" for none).
func byokSelection(r *http.Request, byok gjson.Result) (ownkey.KeyChoice, string, error) {
	if byok.Exists() && byok.Type != gjson.Null && !byok.IsObject() {
		return 0, "", ownkey.FieldError("byok", "byok must be an object such as {\"enabled\":true,\"provider\":\"groq\"}")
	}
	keys, err := keySwitch(r.Header.Get("X-Use-Byok"), byok.Get("enabled"))
	if err != nil {
		return 0, "", err
	}
	forced := strings.TrimSpace(r.Header.Get("X-Byok-Provider"))
	if bp := byok.Get("provider"); bp.Exists() {
		if bp.Type != gjson.String {
			return 0, "", ownkey.FieldError("byok.provider", "byok.provider must be a provider id string")
		}
		if forced != "" && !strings.EqualFold(forced, bp.Str) {
			return 0, "", ownkey.FieldError("byok.provider", "x-byok-provider and byok.provider name different providers")
		}
		forced = strings.Clone(bp.Str) // it points into the body, which is edited later
	}
	return keys, strings.ToLower(forced), nil
}

type modelEntry struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	// Pricing is shown with ?detailed=true (httpapi/prices.go).
	Pricing *modelPricing `json:"pricing,omitempty"`
}

// handleModels lists the models the caller can reach: for every model
// provider whose key the BYOK switch (x-use-byok, as on chat) lets a request
// use, the account's or the platform's, its catalog models. A model served
// by several of them is listed once under its plain id (owned by the
// provider auto-mapping would pick) and once per provider as
// "provider/model", which routes to that provider. Nothing says whose key
// it is, but with ?detailed=true each carries its prices at that provider,
// at cost, and the rate taken on them: the BYOK markup for the account's
// own key, the platform margin for the platform's.
//
// A key that names a deployment (Azure OpenAI's deploymentName) serves
// that one model whatever a request names, so its provider lists the
// deployment, not the catalog's models: "provider/deployment", and the
// plain name where auto-mapping sends it to that provider.
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	detailed := r.URL.Query().Get("detailed") == "true"
	catalog := s.catalog()
	pricing := func(e ownkey.ModelEntry, byok bool) *modelPricing {
		if !detailed {
			return nil
		}
		return pricingOf(e.Prices, ownkey.Markups{BYOK: s.cfg.Markup, Platform: s.cfg.PlatformMargin}.For(byok))
	}
	p := ownkey.PrincipalFromContext(r.Context())
	keys, err := keySwitch(r.Header.Get("X-Use-Byok"), gjson.Result{})
	if err != nil {
		Error(w, r, err)
		return
	}
	own, platform := map[string]bool{}, map[string]bool{}
	if keys != ownkey.KeyPlatform {
		if own, err = s.cfg.Vault.Configured(r.Context(), p.Account.ID); err != nil {
			Error(w, r, err)
			return
		}
	}
	if keys != ownkey.KeyOwn && s.cfg.Platform != nil {
		if platform, err = s.cfg.Platform.PlatformConfigured(r.Context()); err != nil {
			Error(w, r, err)
			return
		}
	}
	hasOwn := func(id string) bool { return own[id] }
	hasPlatform := func(id string) bool { return platform[id] }
	seen := map[string]bool{}
	data := []modelEntry{}
	for i := range ownkey.Catalog {
		prov := &ownkey.Catalog[i]
		// Each set is empty where the switch rules it out.
		if prov.Kind != ownkey.KindModel || !own[prov.ID] && !platform[prov.ID] {
			continue
		}
		if namesDeployment(prov) {
			// The key the prefix routes with: the account's when the
			// switch allows it and the account holds one.
			var c *ownkey.Credential
			if own[prov.ID] {
				c, err = s.cfg.Vault.Credential(r.Context(), p.Account.ID, prov.ID)
			} else {
				c, err = s.cfg.Platform.PlatformCredential(r.Context(), prov.ID)
			}
			if ownkey.ErrorCode(err) == ownkey.ENOTFOUND {
				continue // deleted since the set was read
			} else if err != nil {
				Error(w, r, err)
				return
			}
			dep := c.Deployment
			e, ok := catalog.Lookup(prov.ID, dep)
			if !ok {
				e = &ownkey.ModelEntry{Provider: prov.ID, Model: dep} // no price known
			}
			if rt, byok, err := ownkey.RouteKeys(dep, "", keys, hasOwn, hasPlatform); err == nil && rt.Provider.ID == prov.ID && !seen[dep] {
				seen[dep] = true
				data = append(data, modelEntry{ID: dep, Object: "model", OwnedBy: prov.ID, Pricing: pricing(*e, byok)})
			}
			data = append(data, modelEntry{ID: prov.ID + "/" + dep, Object: "model", OwnedBy: prov.ID, Pricing: pricing(*e, own[prov.ID])})
			continue
		}
		for _, e := range catalog.OfProvider(prov.ID) {
			m := e.Model
			if !seen[m] {
				if rt, byok, err := ownkey.RouteKeys(m, "", keys, hasOwn, hasPlatform); err == nil {
					seen[m] = true
					owner := e
					if o, ok := catalog.Lookup(rt.Provider.ID, m); ok {
						owner = *o
					}
					data = append(data, modelEntry{ID: m, Object: "model", OwnedBy: rt.Provider.ID, Pricing: pricing(owner, byok)})
				}
			}
			// The prefix routes to prov: with the account's key if the
			// switch allows it and the account holds one.
			data = append(data, modelEntry{ID: prov.ID + "/" + m, Object: "model", OwnedBy: prov.ID, Pricing: pricing(e, own[prov.ID])})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

// namesDeployment reports whether p's keys name the deployment they serve
// (a deploymentName field: Azure OpenAI).
func namesDeployment(p *ownkey.Provider) bool {
	for _, f := range p.Fields {
		if f.Name == "deploymentName" {
			return true
		}
	}
	return false
}
