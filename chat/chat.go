// Package chat is the chat use case, outside HTTP: one request from routing
// to its usage record. It reads top to bottom as the request goes:
//
//	route → credential → family (by wire family): endpoint, adapter, auth
//	      → reserve → adapter.Chat → usage and charge → settle → record
//
// httpapi decodes the request into an ownkey.ChatCall and encodes the error
// Chat returns; the adapters put the answer into the sink httpapi built.
package chat

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/billing"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/usage"
)

// Service implements ownkey.ChatService.
type Service struct {
	// Vault holds the accounts' provider keys: routing reads which
	// providers an account holds keys for, the adapter gets one opened.
	Vault ownkey.CredentialService
	// Families give each provider's endpoint (with the operator's base
	// URL overrides), chat adapter and authorization.
	Families *provider.Families
	// Usage receives one record per request that reached routing; nil
	// records nothing.
	Usage ownkey.UsageRecorder
	// MaxJSONDepth bounds the provider JSON the adapters parse
	// (OWNKEY_MAX_JSON_DEPTH); zero means jsonvalid.DefaultMaxDepth.
	MaxJSONDepth int
	// Logger gives the request's logger (httpapi.Logger tags it with the
	// request id); nil uses slog.Default.
	Logger func(context.Context) *slog.Logger

	// Prices price each request's usage (the price catalog); nil prices
	// nothing: records carry no charge and answers no cost.
	Prices ownkey.PriceBook
	// Markup is the rate charged on the markup base of a request served
	// with the user's own key (OWNKEY_BYOK_MARKUP).
	Markup ownkey.PPM
	// Ledger holds a metered account's money for a request before it is
	// sent upstream and settles it after; nil holds nothing (every
	// account is served as if unmetered).
	Ledger ownkey.Ledger
}

var _ ownkey.ChatService = (*Service)(nil)

// Chat serves one chat request; see ownkey.ChatService.
func (s *Service) Chat(ctx context.Context, call *ownkey.ChatCall) error {
	accountID := call.Principal.Account.ID

	// Route: the provider comes from the model id, a forced provider and
	// the set of providers the account holds keys for.
	if call.Provider != "" && s.Vault.Disabled(call.Provider) {
		return &ownkey.Error{Code: ownkey.EFORBIDDEN, Param: "x-byok-provider", Reason: "provider_disabled",
			Message: "provider " + call.Provider + " is disabled by the operator"}
	}
	configured, err := s.Vault.Configured(ctx, accountID)
	if err != nil {
		return err
	}
	route, err := ownkey.RouteModel(call.Model, call.Provider, func(id string) bool { return configured[id] })
	if err != nil {
		return err
	}

	// Credential: the account's key for that provider, decrypted (cached).
	cred, err := s.Vault.Credential(ctx, accountID, route.Provider.ID)
	if err != nil {
		if ownkey.ErrorCode(err) == ownkey.ENOTFOUND {
			return &ownkey.Error{Code: ownkey.EINVALID, Param: "x-byok-provider", Reason: "byok_no_key_for_provider",
				Message: "no " + route.Provider.Name + " key is stored for this account; add one with POST /api/user/provider-keys"}
		}
		return err
	}

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

	// Adapter: the family's, if chat through it is supported yet. The
	// family also authorizes the upstream request.
	adapter := family.Chat()
	if adapter == nil {
		return &ownkey.Error{Code: ownkey.EINVALID, Status: http.StatusNotImplemented, Reason: "provider_not_supported",
			Param: "x-byok-provider", Message: "chat through " + route.Provider.Name + " (" + string(route.Provider.Wire) + " API) is not supported yet"}
	}
	req := &ownkey.ChatRequest{
		RequestID: call.RequestID, Provider: route.Provider, Credential: cred, Auth: family, BaseURL: base, Guarded: guarded,
		Model: route.Model, Body: call.Body.Routed(route.Model), Stream: call.Stream, IncludeUsage: call.IncludeUsage,
		MaxJSONDepth: jsonvalid.Depth(s.MaxJSONDepth),
	}
	s.Vault.MarkUsed(accountID, route.Provider.ID)

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

	res, err := adapter.Chat(ctx, req, call.Sink)
	if res == nil {
		res = &ownkey.ChatResult{}
	}
	if err != nil && !res.Started {
		// Not written yet: the caller sends err, with this status.
		res.Status = ownkey.StatusOf(err)
		if res.ErrorCode == "" {
			res.ErrorCode = provider.CodeUpstreamError
			if res.ClientGone {
				res.ErrorCode = provider.CodeClientDisconnected
			}
		}
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
	s.record(ctx, req, res, rec)
	if err != nil && !res.Started && !res.ClientGone {
		return err
	}
	return nil
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
	if s.Prices != nil {
		q := s.Prices.Quote(req.Provider.ID, servedModel(req, res), req.Model)
		res.Charge = q.Charge(res.Usage, s.Markup)
		// Every request is served with the user's own key today.
		res.Charge.BYOK = true
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
		h.Charge = q.Charge(h.Bound, s.Markup)
		h.Charge.BYOK = true
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
// A stream cut short (the client left, the provider failed mid-way) is
// billed for the whole prompt and the output so far: a count the provider
// reported early (Anthropic's message_start gives the prompt and one
// output token) is raised to the estimate of what was delivered when that
// is larger.
func usageOf(req *ownkey.ChatRequest, res *ownkey.ChatResult, ended bool) ownkey.Usage {
	u := res.Usage
	reached := ended || res.Started || (res.Status >= 200 && res.Status < 300)
	cut := !ended && req.Stream && res.Started && (res.ErrorCode != "" || res.ClientGone)
	switch {
	case !u.IsZero():
		u.Source = ownkey.UsageFromProvider
		if cut {
			est := estimate(req, res)
			if est.CompletionTokens > u.CompletionTokens {
				u.CompletionTokens, u.Source = est.CompletionTokens, ownkey.UsageEstimated
			}
			if u.PromptTokens == 0 {
				u.PromptTokens, u.Source = est.PromptTokens, ownkey.UsageEstimated
			}
		}
	case reached:
		u = estimate(req, res)
	default:
		u = ownkey.Usage{Source: ownkey.UsageNone}
	}
	return u
}

// estimate is a conservative count of the request's prompt and of the
// output counted so far.
func estimate(req *ownkey.ChatRequest, res *ownkey.ChatResult) ownkey.Usage {
	u := ownkey.Usage{
		PromptTokens:     usage.EstimatePrompt(req.Body),
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
	return u
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

// record hands the request's usage record to the recorder, which stores it
// asynchronously and losslessly, and logs a failed request.
func (s *Service) record(ctx context.Context, req *ownkey.ChatRequest, res *ownkey.ChatResult, rec *ownkey.UsageRecord) {
	if s.Usage != nil {
		s.Usage.Record(rec)
	}
	if res.ErrorCode != "" {
		log := slog.Default()
		if s.Logger != nil {
			log = s.Logger(ctx)
		}
		log.Info("chat request failed", "provider", req.Provider.ID, "model", req.Model,
			"status", res.Status, "error_code", res.ErrorCode, "client_gone", res.ClientGone)
	}
}
