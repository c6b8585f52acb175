// Package chat is the chat use case, outside HTTP: one request from routing
// to its usage record. It reads top to bottom as the request goes:
//
//	route → credential (own or platform key) → family (by wire family): endpoint, adapter
//	      (its pass-through when it speaks the client's dialect), auth → body (routing edits,
//	      or the translation of another dialect into OpenAI's)
//	      → spend limits admit → [web search, its results injected: online.go]
//	      → billing reserve → adapter.Chat → usage and charge
//	      → billing settle → spend limits count (the settled charge) → record
//
// httpapi decodes the request into an ownkey.ChatCall and encodes the error
// Chat returns; the adapters put the answer into the sink httpapi built. A
// client of another dialect than OpenAI Chat (the Responses API, Anthropic Messages) is relayed
// when its provider's family speaks that dialect (provider.Passthrougher), else
// its body is translated into Chat Completions (ownkey.DialectBody) for the
// family's adapter; routing, limits, billing and the record are the same.
package chat

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/billing"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/telemetry"
	"github.com/ownkey/ownkey/usage"
)

// Service implements ownkey.ChatService.
type Service struct {
	// Vault holds the accounts' provider keys: routing reads which
	// providers an account holds keys for, the adapter gets one opened.
	Vault ownkey.CredentialService
	// Platform holds the operator's own provider keys, used when the BYOK
	// switch allows and the account's keys serve nothing; nil: none.
	Platform ownkey.PlatformKeyService
	// Markups are the rates billed on top of the at-cost price, by whose
	// key served the request (ChatRequest.Markup).
	Markups ownkey.Markups
	// Families give each provider's endpoint (with the operator's base
	// URL overrides), chat adapter and authorization.
	Families *provider.Families
	// Usage receives one record per request that reached routing; nil
	// records nothing.
	Usage ownkey.UsageRecorder
	// Limits admits a request against its API key's daily limits and its
	// credential's spend caps, and counts what it cost (the settled
	// charge); nil limits nothing.
	Limits ownkey.SpendLimiter
	// MaxJSONDepth bounds the provider JSON the adapters parse
	// (OWNKEY_MAX_JSON_DEPTH); zero means jsonvalid.DefaultMaxDepth.
	MaxJSONDepth int
	// KeyHealth is told when a provider refuses the key that served a
	// request (401/403) and when it accepts it, so that the key list shows
	// a failing key (vault.Service); nil tells nobody.
	KeyHealth ownkey.KeyHealth

	// Prices price each request's usage (the price catalog, prices.Book)
	// at the request's markup (Markups); nil prices nothing: records
	// carry no charge and answers no cost.
	Prices ownkey.PriceBook
	// Ledger holds a metered account's money for a request before it is
	// sent upstream and settles it after; nil holds nothing (every
	// account is served as if unmetered).
	Ledger ownkey.Ledger
	// WebSearch makes the searches of search-augmented chat (online.go);
	// nil refuses them.
	WebSearch ownkey.WebSearchService
}

var _ ownkey.ChatService = (*Service)(nil)

// Chat serves one chat request; see ownkey.ChatService.
//
// What became of the call is reported in call.Outcome as it goes, for the
// access log, the metrics and the trace.
func (s *Service) Chat(ctx context.Context, call *ownkey.ChatCall) error {
	accountID := call.Principal.Account.ID
	out := &call.Outcome

	// Route and credential: the provider comes from the model id, a forced
	// provider and the keys the BYOK switch allows (keys.go); the key is
	// the account's own (byok) or the platform's, decrypted (cached).
	route, cred, byok, err := s.selectKey(ctx, call)
	if err != nil {
		return err
	}
	out.Provider, out.Model, out.BYOK = route.Provider.ID, route.Model, byok

	// Family: the provider's wire family knows the rest.
	family, err := s.Families.Family(route.Provider)
	if err != nil {
		return err
	}

	// Endpoint: the operator's override, the provider's default or the
	// user's own endpoint (Guarded: dialled through the guarded client).
	base, guarded, err := s.Families.Endpoint(route.Provider, cred)
	if err != nil {
		return err
	}

	// Adapter: the family's pass-through when it speaks the client's
	// dialect (client dialect = upstream dialect: the bytes go through),
	// else its chat adapter, if chat through it is supported yet. The
	// family also authorizes the upstream request.
	adapter := passthrough(family, call.ClientDialect())
	native := adapter != nil
	if !native {
		adapter = family.Chat()
	}
	if adapter == nil {
		return &ownkey.Error{Code: ownkey.EINVALID, Status: http.StatusNotImplemented, Reason: "provider_not_supported",
			Param: "x-byok-provider", Message: "chat through " + route.Provider.Name + " (" + string(route.Provider.Wire) + " API) is not supported yet"}
	}

	// Model: the id the provider must be sent; a family whose credential
	// decides it (Azure's deployment) says which.
	model := route.Model
	if m, ok := family.(provider.UpstreamModeler); ok {
		model = m.UpstreamModel(cred, model)
	}
	// Translation: a client of another dialect whose request is not
	// passed through has it translated into OpenAI's terms; what cannot
	// be is the client's error, before it counts against any limit.
	var body []byte
	db, foreign := call.Body.(ownkey.DialectBody)
	if !foreign && call.ClientDialect() != ownkey.DialectOpenAIChat {
		return ownkey.Errorf(ownkey.EINTERNAL, "a %s request whose body cannot be translated", call.Dialect)
	}
	if foreign && !native {
		if body, err = db.Translated(route.Provider, model); err != nil {
			return err
		}
	}

	// Spend limits: a key past its daily limits, or a provider key past
	// its spend caps, is refused (429) before anything is reserved or sent.
	if err := s.limits().Admit(ctx, call.Principal, cred); err != nil {
		return err
	}
	// Body: the routing edits (in place), for the body as the client
	// sent it.
	if body == nil {
		body = call.Body.Routed(model)
	}
	// Web search (online.go): the results go into the body before
	// anything is reserved or sent; a search that fails fails the chat.
	if call.WebSearch != nil {
		if body, err = s.online(ctx, call, body); err != nil {
			return err
		}
	}
	out.Model = model
	req := &ownkey.ChatRequest{
		RequestID: call.RequestID, Provider: route.Provider, Credential: cred, Auth: family, BaseURL: base, Guarded: guarded,
		Model: model, Body: body, Header: call.Header, Stream: call.Stream, IncludeUsage: call.IncludeUsage,
		MaxJSONDepth: jsonvalid.Depth(s.MaxJSONDepth), BYOK: byok, Markup: s.Markups.For(byok),
	}
	if foreign && native {
		// Estimates read OpenAI's terms: the translation, made only if
		// the provider reports no usage.
		req.PromptBody = func() []byte {
			if b, err := db.Translated(route.Provider, model); err == nil {
				return b
			}
			return req.Body
		}
	}
	s.markUsed(accountID, route.Provider.ID, byok)

	// Reserve: a metered account's balance must cover the most the
	// request can cost before anything is sent upstream (402 otherwise).
	// From here on the hold is settled on every path.
	if s.Prices != nil {
		req.Pricer = s // the answer's cost is priced as it ends
	}
	var hold *ownkey.Hold
	if s.Ledger != nil && call.Principal.Account.Metered {
		hold = s.hold(call, req)
		if err := s.Ledger.Reserve(ctx, hold); err != nil {
			return err
		}
	}

	// The upstream call, traced as a child span when the request is.
	upCtx, span := telemetry.StartUpstream(ctx, route.Provider, model, base, call.Stream)
	res, err := adapter.Chat(upCtx, req, call.Sink)
	if res == nil {
		res = &ownkey.ChatResult{}
	}
	if rs, ok := call.Sink.(ownkey.RefusingSink); ok {
		// Not the client leaving, nor the provider failing: the sink
		// refused the answer.
		if code := rs.Refused(); code != "" {
			res.ClientGone, res.ErrorCode = false, code
		}
	}
	if err != nil && !res.Started {
		// A provider refusing the key is about the stored key, not the
		// client's ownkey key: said so, and the key is marked failing.
		rejected := s.keyRefused(accountID, req, err)
		if rejected != nil {
			err = rejected
		}
		// Not written yet: the caller sends err, with this status.
		res.Status = ownkey.StatusOf(err)
		if rejected != nil {
			res.ErrorCode = CodeKeyRejected
		} else if res.ErrorCode == "" {
			res.ErrorCode = provider.CodeUpstreamError
			if res.ClientGone {
				res.ErrorCode = provider.CodeClientDisconnected
			}
		}
	} else if s.KeyHealth != nil && (res.Started || res.Status >= 200 && res.Status < 300) {
		s.KeyHealth.KeyWorked(owner(accountID, byok), route.Provider.ID, cred)
	}

	// Usage and charge: fixed already if the answer ended (and its cost
	// was written in it); else what a failed or abandoned request
	// consumed, priced now.
	s.price(req, res, false)

	// Settle: the hold is released and the charge travels with the usage
	// record, which takes it from the lease as it is stored.
	rec := s.newRecord(call, req, res)
	if hold != nil {
		s.Ledger.Settle(hold, rec)
	}

	// Spend limits: the settled charge counts against the key's daily
	// limit and its credential's caps.
	s.limits().Spent(call.Principal, req.Provider.ID, rec.Charge)

	if s.Usage != nil {
		s.Usage.Record(rec)
	}
	telemetry.EndUpstream(span, res, err)
	s.report(out, res)
	if err != nil && !res.Started && !res.ClientGone {
		return err
	}
	return nil
}

// report fills the call's outcome from the result.
func (s *Service) report(out *ownkey.ChatOutcome, res *ownkey.ChatResult) {
	out.Upstream = res.TTFB > 0 || res.UpstreamLatency > 0
	out.ModelServed, out.Status, out.ErrorCode = res.ModelServed, res.Status, res.ErrorCode
	out.Usage, out.Charged = res.Usage, res.Charge.Charged
	out.TTFB, out.UpstreamLatency, out.ClientGone = res.TTFB, res.UpstreamLatency, res.ClientGone
}

// owner is the KeyHealth owner of the key that served a request: the
// account, or the platform.
func owner(accountID int64, byok bool) int64 {
	if byok {
		return accountID
	}
	return ownkey.PlatformOwner
}

// CodeProviderAuthFailed and CodePlatformAuthFailed are the client's error
// codes for a request whose provider refused the key (401/403): the
// account's own stored key, or the platform's. CodeKeyRejected is the usage
// record's error code for both.
const (
	CodeProviderAuthFailed = "byok_provider_auth_failed"
	CodePlatformAuthFailed = "platform_provider_auth_failed"
	CodeKeyRejected        = "provider_auth_failed"
)

// keyRefused turns the provider's 401 or 403 into an error that says whose
// key it refused (the client's ownkey key was fine): the status kept, the
// provider's (scrubbed) message quoted, and tells KeyHealth. It is nil for
// any other error.
func (s *Service) keyRefused(accountID int64, req *ownkey.ChatRequest, err error) *ownkey.Error {
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EUPSTREAM || e.Status != http.StatusUnauthorized && e.Status != http.StatusForbidden {
		return nil
	}
	name := req.Provider.Name
	rejected := &ownkey.Error{Code: e.Code, Status: e.Status, Type: e.Type, RetryAfter: e.RetryAfter, Reason: CodeProviderAuthFailed,
		Message: "Your stored " + name + " key was rejected by " + name + ": " + e.Message}
	if !req.BYOK {
		rejected.Reason = CodePlatformAuthFailed
		rejected.Message = "The platform's " + name + " key was rejected by " + name + " (the operator must replace it): " + e.Message
	}
	if s.KeyHealth != nil {
		s.KeyHealth.KeyRejected(owner(accountID, req.BYOK), req.Provider.ID, req.Credential, e.Status, e.Message)
	}
	return rejected
}

// passthrough is family's adapter for clients of dialect d when the family
// speaks it (provider.Passthrougher), else nil.
func passthrough(family provider.Family, d ownkey.Dialect) ownkey.ChatAdapter {
	if pt, ok := family.(provider.Passthrougher); ok {
		return pt.Passthrough(d)
	}
	return nil
}

// routedBody is the body sent upstream for model at provider p: the
// client's with the routing edits, unless it is of another dialect and not
// passed through (native): then translated into OpenAI's.
func routedBody(call *ownkey.ChatCall, p *ownkey.Provider, model string, native bool) ([]byte, error) {
	if db, ok := call.Body.(ownkey.DialectBody); ok && !native {
		return db.Translated(p, model)
	}
	return call.Body.Routed(model), nil
}

// CountTokens counts the input tokens of call's request where it would be
// routed, without running it; see ownkey.TokenCounter. The route and key
// are chosen as for Chat (the same BYOK switch and rules), so the count is
// the one of the provider that would serve it: exact from a family that
// counts tokens and speaks the client's dialect (Anthropic's
// count_tokens), else usage.Estimate's conservative count of the request
// as it would be sent. Counting is free at the providers that offer it, so
// nothing is reserved, billed or recorded, and no spend limit is consulted.
func (s *Service) CountTokens(ctx context.Context, call *ownkey.ChatCall) (ownkey.TokenCount, error) {
	route, cred, byok, err := s.selectKey(ctx, call)
	if err != nil {
		return ownkey.TokenCount{}, err
	}
	family, err := s.Families.Family(route.Provider)
	if err != nil {
		return ownkey.TokenCount{}, err
	}
	model := route.Model
	if m, ok := family.(provider.UpstreamModeler); ok {
		model = m.UpstreamModel(cred, model)
	}
	out := ownkey.TokenCount{Provider: route.Provider.ID}
	if counter, ok := family.(provider.TokenCounter); ok && passthrough(family, call.ClientDialect()) != nil {
		base, guarded, err := s.Families.Endpoint(route.Provider, cred)
		if err != nil {
			return out, err
		}
		body, err := routedBody(call, route.Provider, model, true)
		if err != nil {
			return out, err
		}
		req := &ownkey.ChatRequest{
			RequestID: call.RequestID, Provider: route.Provider, Credential: cred, Auth: family, BaseURL: base, Guarded: guarded,
			Model: model, Body: body, Header: call.Header, MaxJSONDepth: jsonvalid.Depth(s.MaxJSONDepth), BYOK: byok,
		}
		out.InputTokens, err = counter.CountTokens(ctx, req)
		return out, err
	}
	body, err := routedBody(call, route.Provider, model, false)
	if err != nil {
		return out, err
	}
	out.InputTokens = usage.Estimate(model, body, &ownkey.ChatResult{}).PromptTokens
	out.Estimated = true
	return out, nil
}

// Price fixes the answer's usage and charge as it ends; see ownkey.Pricer.
func (s *Service) Price(req *ownkey.ChatRequest, res *ownkey.ChatResult) ownkey.Charge {
	return s.price(req, res, true)
}

// price fixes res's usage (usageOf) and, with a price book, its charge,
// once: the charge written in an answer is the one settled.
func (s *Service) price(req *ownkey.ChatRequest, res *ownkey.ChatResult, ended bool) ownkey.Charge {
	if res.Priced {
		return res.Charge
	}
	res.Usage = usageOf(req, res, ended)
	res.Charge = ownkey.Charge{BYOK: req.BYOK}
	if s.Prices != nil {
		q := s.Prices.Quote(req.Provider.ID, servedModel(req, res), req.Model)
		res.Charge = q.ChargeFor(res.Usage, req.BYOK, req.Markup)
	}
	res.Priced = true
	return res.Charge
}

// hold is the request's reservation: the most it can cost (billing.Bound),
// priced at the routed model's markup base.
func (s *Service) hold(call *ownkey.ChatCall, req *ownkey.ChatRequest) *ownkey.Hold {
	h := &ownkey.Hold{
		RequestID: req.RequestID, AccountID: call.Principal.Account.ID, APIKeyID: call.Principal.APIKey.ID,
		Provider: req.Provider.ID, Model: req.Model, Stream: req.Stream,
	}
	if s.Prices != nil {
		q := s.Prices.Quote(req.Provider.ID, req.Model, req.Model)
		h.Bound = billing.Bound(len(req.Body), call.MaxTokens, q.MarkupBase)
		h.Charge = q.ChargeFor(h.Bound, req.BYOK, req.Markup)
	}
	return h
}

func servedModel(req *ownkey.ChatRequest, res *ownkey.ChatResult) string {
	if res.ModelServed != "" {
		return res.ModelServed
	}
	return req.Model
}

// usageOf is the request's usage: provider-reported when there is any; a
// conservative estimate when the request reached a model (or its answer
// ended) but none was reported; none when it was refused before a model
// saw it.
//
// An answer cut short (no finish reason: the client left, the provider
// failed mid-way) is billed for the whole prompt and the output so far: a
// count the provider reported early (Anthropic's message_start gives the
// prompt and a token or two) is raised to the estimate of what was
// delivered when that is larger, marked as estimated. An answer priced as
// it ends (ended) is whole.
func usageOf(req *ownkey.ChatRequest, res *ownkey.ChatResult, ended bool) ownkey.Usage {
	u := res.Usage
	reached := ended || res.Started || (res.Status >= 200 && res.Status < 300)
	cut := !ended && reached && res.FinishReason == ""
	switch {
	case !u.IsZero() && cut:
		u.Source = ownkey.UsageFromProvider
		est := usage.Estimate(servedModel(req, res), promptBody(req), res)
		if u.PromptTokens == 0 {
			u.PromptTokens, u.Source = est.PromptTokens, ownkey.UsageEstimated
		}
		if est.CompletionTokens > u.CompletionTokens {
			u.CompletionTokens, u.Source = est.CompletionTokens, ownkey.UsageEstimated
		}
	case !u.IsZero():
		u.Source = ownkey.UsageFromProvider
	case reached:
		// Counted with o200k_base, then scaled to the maker's tokenizer
		// and framing (usage.Estimate: docs/ARCHITECTURE.md, "Usage
		// estimates").
		u = usage.Estimate(servedModel(req, res), promptBody(req), res)
	default:
		u = ownkey.Usage{Source: ownkey.UsageNone}
	}
	return u
}

// promptBody is the request in OpenAI's terms, which estimates read.
func promptBody(req *ownkey.ChatRequest) []byte {
	if req.PromptBody != nil {
		return req.PromptBody()
	}
	return req.Body
}

// newRecord is the request's usage record: its ledger entry, once the
// ledger has settled its hold into it.
func (s *Service) newRecord(call *ownkey.ChatCall, req *ownkey.ChatRequest, res *ownkey.ChatResult) *ownkey.UsageRecord {
	return &ownkey.UsageRecord{
		RequestID: req.RequestID, AccountID: call.Principal.Account.ID, APIKeyID: call.Principal.APIKey.ID,
		Provider: req.Provider.ID, ModelRequested: call.Model, ModelServed: servedModel(req, res),
		Usage: res.Usage, Stream: req.Stream, Status: res.Status, ErrorCode: res.ErrorCode,
		UpstreamLatency: res.UpstreamLatency, TTFB: res.TTFB, ClientDisconnected: res.ClientGone,
		CreatedAt: time.Now().UTC(), Charge: res.Charge, Settlement: ownkey.SettlementSettled,
	}
}
