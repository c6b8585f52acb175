// Package chat is the chat use case, outside HTTP: one request from routing
// to its usage record. It reads top to bottom as the request goes:
//
//	route → credential (own or platform key) → family (by wire family): endpoint, adapter, auth
//	      → spend limits admit → [billing reserve] → adapter.Chat → usage
//	      → [billing settle] → spend limits count → record
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
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
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
	// credential's spend caps, and counts what it cost; nil limits nothing.
	Limits ownkey.SpendLimiter
	// Prices price a request for the spend limits, at the request's
	// markup (nil: a charge of zero).
	Prices ownkey.PriceBook
	// MaxJSONDepth bounds the provider JSON the adapters parse
	// (OWNKEY_MAX_JSON_DEPTH); zero means jsonvalid.DefaultMaxDepth.
	MaxJSONDepth int
	// Logger gives the request's logger (httpapi.Logger tags it with the
	// request id); nil uses slog.Default.
	Logger func(context.Context) *slog.Logger
}

var _ ownkey.ChatService = (*Service)(nil)

// Chat serves one chat request; see ownkey.ChatService.
func (s *Service) Chat(ctx context.Context, call *ownkey.ChatCall) error {
	accountID := call.Principal.Account.ID

	// Route and credential: the provider comes from the model id, a forced
	// provider and the keys the BYOK switch allows (keys.go); the key is
	// the account's own (byok) or the platform's, decrypted (cached).
	route, cred, byok, err := s.selectKey(ctx, call)
	if err != nil {
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
	// Spend limits: a key past its daily limits, or a provider key past
	// its spend caps, is refused (429) before anything is reserved or sent.
	if err := s.limits().Admit(ctx, call.Principal, cred); err != nil {
		return err
	}

	req := &ownkey.ChatRequest{
		RequestID: call.RequestID, Provider: route.Provider, Credential: cred, Auth: family, BaseURL: base, Guarded: guarded,
		Model: route.Model, Body: call.Body.Routed(route.Model), Stream: call.Stream, IncludeUsage: call.IncludeUsage,
		MaxJSONDepth: jsonvalid.Depth(s.MaxJSONDepth), BYOK: byok, Markup: s.Markups.For(byok),
	}
	s.markUsed(accountID, route.Provider.ID, byok)

	// [billing reserve] goes here, when billing lands: hold the request's
	// worst-case cost against the account's balance under req.RequestID,
	// and refuse (EPAYMENT) before anything is sent upstream.

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

	u := usageOf(req, res)

	// [billing settle] goes here, when billing lands: charge u at the
	// served model's price under the same req.RequestID, releasing the
	// reservation's rest; it must not be skipped on any path that
	// reserved.

	// Spend limits: the request's cost counts against its key's daily
	// limit and its credential's caps.
	s.limits().Spent(call.Principal, req.Provider.ID, s.charge(req, res, u))

	s.record(ctx, call, req, res, u)
	if err != nil && !res.Started && !res.ClientGone {
		return err
	}
	return nil
}

// usageOf is the request's usage: provider-reported when there is any; a
// conservative estimate when the request reached a model but none was
// reported; none when it was refused before a model saw it. An answer cut
// short (no finish reason) may carry only the usage reported at its start
// (Anthropic's message_start: the prompt, and a token or two): its
// completion is then the larger of that and the estimate of the output
// delivered, marked as estimated.
func usageOf(req *ownkey.ChatRequest, res *ownkey.ChatResult) ownkey.Usage {
	u := res.Usage
	reached := res.Started || (res.Status >= 200 && res.Status < 300)
	model := res.ModelServed
	if model == "" {
		model = req.Model
	}
	switch {
	case !u.IsZero() && res.FinishReason == "" && reached:
		u.Source = ownkey.UsageFromProvider
		est := usage.Estimate(model, req.Body, res)
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
		u = usage.Estimate(model, req.Body, res)
	default:
		u = ownkey.Usage{Source: ownkey.UsageNone}
	}
	return u
}

// record hands the request's usage record to the recorder, which stores it
// asynchronously and losslessly, and logs a failed request.
func (s *Service) record(ctx context.Context, call *ownkey.ChatCall, req *ownkey.ChatRequest, res *ownkey.ChatResult, u ownkey.Usage) {
	served := res.ModelServed
	if served == "" {
		served = req.Model
	}
	if s.Usage != nil {
		s.Usage.Record(&ownkey.UsageRecord{
			RequestID: req.RequestID, AccountID: call.Principal.Account.ID, APIKeyID: call.Principal.APIKey.ID,
			Provider: req.Provider.ID, ModelRequested: call.Model, ModelServed: served,
			Usage: u, Stream: req.Stream, Status: res.Status, ErrorCode: res.ErrorCode,
			UpstreamLatency: res.UpstreamLatency, TTFB: res.TTFB, ClientDisconnected: res.ClientGone,
			CreatedAt: time.Now().UTC(),
		})
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
