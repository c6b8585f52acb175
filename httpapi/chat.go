package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/usage"
	"github.com/tidwall/gjson"
)

// UsageRecorder receives one record per chat request (usage.Recorder).
type UsageRecorder interface {
	Record(rec *ownkey.UsageRecord)
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// handleChat serves POST /api/v1/chat/completions: route, decrypt, hand to
// the provider's adapter, record usage. The body travels as bytes; only the
// routing fields are read (gjson) and only routing edits are made, in place.
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	p := ownkey.PrincipalFromContext(r.Context())
	cb, err := s.readBody(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	defer s.releaseBody(cb)
	// The routing edits may be made in place: from here on the body is
	// req.Body.
	req, modelAsked, err := s.prepareChat(r, p, cb.b)
	if err != nil {
		Error(w, r, err)
		return
	}
	adapter := s.cfg.Adapters[req.Provider.Wire]
	if adapter == nil {
		Error(w, r, &ownkey.Error{Code: ownkey.EINVALID, Status: http.StatusNotImplemented, Reason: "provider_not_supported",
			Param: "x-byok-provider", Message: "chat through " + req.Provider.Name + " (" + string(req.Provider.Wire) + " API) is not supported yet"})
		return
	}
	s.cfg.Vault.MarkUsed(p.Account.ID, req.Provider.ID)

	res, cerr := adapter.Chat(r.Context(), req, w)
	if res == nil {
		res = &ownkey.ChatResult{}
	}
	if cerr != nil && !res.Started {
		if e, ok := cerr.(*ownkey.Error); ok && res.Status == 0 {
			res.Status, _ = statusOf(e.Code)
			if e.Status != 0 {
				res.Status = e.Status
			}
		}
		if res.ErrorCode == "" {
			res.ErrorCode = "upstream_error"
			if res.ClientGone {
				res.ErrorCode = "client_disconnected"
			}
		}
		if !res.ClientGone {
			Error(w, r, cerr)
		}
	}
	s.recordUsage(r, p, req, modelAsked, req.Body, res)
}

// prepareChat validates the request, routes it and applies the routing
// edits to the body (in place when its buffer has room).
func (s *Server) prepareChat(r *http.Request, p *ownkey.Principal, body []byte) (*ownkey.ChatRequest, string, error) {
	fields, err := parseChatBody(body, s.cfg.MaxJSONDepth)
	if err != nil {
		return nil, "", err
	}
	f := fields.model
	if f.Type != gjson.String || f.Str == "" {
		return nil, "", ownkey.FieldError("model", "model is required and must be a string, e.g. \"gpt-4o-mini\" or \"groq/llama-3.3-70b-versatile\"")
	}
	model := strings.Clone(f.Str) // f points into the body buffer, which is reused
	if m := fields.messages; !m.IsArray() || !nonEmpty(m) {
		return nil, "", ownkey.FieldError("messages", "messages is required and must be a non-empty array")
	}
	stream := false
	if st := fields.stream; st.Exists() && st.Type != gjson.Null {
		if st.Type != gjson.True && st.Type != gjson.False {
			return nil, "", ownkey.FieldError("stream", "stream must be a boolean")
		}
		stream = st.Bool()
	}
	if so := fields.streamOptions; so.Exists() && so.Type != gjson.Null && !so.IsObject() {
		return nil, "", ownkey.FieldError("stream_options", "stream_options must be an object such as {\"include_usage\":true}")
	}
	includeUsage := fields.includeUsage.Bool()

	byok := fields.byok
	if byok.Exists() && byok.Type != gjson.Null && !byok.IsObject() {
		return nil, "", ownkey.FieldError("byok", "byok must be an object such as {\"enabled\":true,\"provider\":\"groq\"}")
	}
	if !truthy(r.Header.Get("X-Use-Byok")) && !byok.Get("enabled").Bool() {
		return nil, "", &ownkey.Error{Code: ownkey.EINVALID, Reason: "byok_required", Param: "x-use-byok",
			Message: "this gateway serves bring-your-own-key requests: send the header x-use-byok: true (or body \"byok\":{\"enabled\":true}) and store a provider key on the BYOK page"}
	}
	forced := strings.TrimSpace(r.Header.Get("X-Byok-Provider"))
	if bp := byok.Get("provider"); bp.Exists() {
		if bp.Type != gjson.String {
			return nil, "", ownkey.FieldError("byok.provider", "byok.provider must be a provider id string")
		}
		if forced != "" && !strings.EqualFold(forced, bp.Str) {
			return nil, "", ownkey.FieldError("byok.provider", "x-byok-provider and byok.provider name different providers")
		}
		forced = bp.Str
	}
	forced = strings.ToLower(forced)

	ctx := r.Context()
	if forced != "" && s.cfg.Vault.Disabled(forced) {
		return nil, "", &ownkey.Error{Code: ownkey.EFORBIDDEN, Param: "x-byok-provider", Reason: "provider_disabled",
			Message: "provider " + forced + " is disabled by the operator"}
	}
	configured, err := s.cfg.Vault.Configured(ctx, p.Account.ID)
	if err != nil {
		return nil, "", err
	}
	route, err := ownkey.RouteModel(model, forced, func(id string) bool { return configured[id] })
	if err != nil {
		return nil, "", err
	}
	cred, err := s.cfg.Vault.Credential(ctx, p.Account.ID, route.Provider.ID)
	if err != nil {
		if ownkey.ErrorCode(err) == ownkey.ENOTFOUND {
			return nil, "", &ownkey.Error{Code: ownkey.EINVALID, Param: "x-byok-provider", Reason: "byok_no_key_for_provider",
				Message: "no " + route.Provider.Name + " key is stored for this account; add one with POST /api/user/provider-keys"}
		}
		return nil, "", err
	}
	base, guarded, err := provider.Endpoint(route.Provider, cred, s.cfg.BaseURLs)
	if err != nil {
		return nil, "", err
	}

	out := routedBody(body, fields, route.Model, stream && !includeUsage)
	return &ownkey.ChatRequest{
		RequestID: RequestID(ctx), Provider: route.Provider, Credential: cred, BaseURL: base, Guarded: guarded,
		Model: route.Model, Body: out, Stream: stream, IncludeUsage: includeUsage, MaxJSONDepth: s.cfg.MaxJSONDepth,
	}, model, nil
}

// recordUsage stores the request's usage record. Provider-reported usage is
// preferred; a request that reached a model but got none reported is
// estimated conservatively; one refused upstream consumed nothing.
func (s *Server) recordUsage(r *http.Request, p *ownkey.Principal, req *ownkey.ChatRequest, modelAsked string, body []byte, res *ownkey.ChatResult) {
	u := res.Usage
	reached := res.Started || (res.Status >= 200 && res.Status < 300)
	switch {
	case !u.IsZero():
		u.Source = ownkey.UsageFromProvider
	case reached:
		u = ownkey.Usage{
			PromptTokens:     usage.EstimatePrompt(body),
			CompletionTokens: usage.EstimateCompletion(res.OutputSample, res.OutputBytes),
			Source:           ownkey.UsageEstimated,
		}
		// The estimate counts with OpenAI's o200k tokenizer. Other makers'
		// tokenizers (Llama, Claude, Gemini) split the same text into more
		// tokens, so their estimate gets a 25% margin: an estimate must not
		// undercount.
		if ownkey.MakerOf(req.Model) != "openai" {
			u.PromptTokens += (u.PromptTokens + 3) / 4
			u.CompletionTokens += (u.CompletionTokens + 3) / 4
		}
	default:
		u = ownkey.Usage{Source: ownkey.UsageNone}
	}
	served := res.ModelServed
	if served == "" {
		served = req.Model
	}
	rec := &ownkey.UsageRecord{
		RequestID: req.RequestID, AccountID: p.Account.ID, APIKeyID: p.APIKey.ID,
		Provider: req.Provider.ID, ModelRequested: modelAsked, ModelServed: served,
		Usage: u, Stream: req.Stream, Status: res.Status, ErrorCode: res.ErrorCode,
		UpstreamLatency: res.UpstreamLatency, TTFB: res.TTFB, ClientDisconnected: res.ClientGone,
		CreatedAt: time.Now().UTC(),
	}
	if s.cfg.Usage != nil {
		s.cfg.Usage.Record(rec)
	}
	if res.ErrorCode != "" {
		logger(r).Info("chat request failed", "provider", req.Provider.ID, "model", req.Model,
			"status", res.Status, "error_code", res.ErrorCode, "client_gone", res.ClientGone)
	}
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
