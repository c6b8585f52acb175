package websearch

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// DefaultTimeout bounds a search (connect, answer, reading it) when
// Service.Timeout is zero (OWNKEY_WEB_SEARCH_TIMEOUT).
const DefaultTimeout = 30 * time.Second

// Service is the web-search use case (ownkey.WebSearchService), for
// /api/web and search-augmented chat alike:
//
//	checks common to every provider → provider (the request's, or the first
//	of ownkey.WebSearchProviders the account holds a key for) → the
//	provider's checks → the account's key (none: 503 provider_key_missing)
//	→ spend limits admit → the fee held (a metered account, a fee above
//	zero) → the search, within Timeout → the fee settled (charged only for
//	a search that succeeded) → spend limits count → the ledger entry.
//
// Searches use the account's own keys only: the platform's keys are for
// chat.
type Service struct {
	// Vault holds the accounts' keys.
	Vault ownkey.CredentialService
	// Families give each provider's family (a Searcher) and endpoint,
	// with the operator's base URL overrides.
	Families *provider.Families
	// Ledger holds a metered account's fee before the search and settles
	// it after; nil holds nothing.
	Ledger ownkey.Ledger
	// Usage receives each search's ledger entry; nil records nothing.
	Usage ownkey.UsageRecorder
	// Limits admits a search against its API key's daily limits and its
	// search key's spend caps, and counts what it cost; nil limits
	// nothing.
	Limits ownkey.SpendLimiter
	// Fee is what each search is charged on top of what the provider
	// bills the key's owner (OWNKEY_WEB_SEARCH_FEE_USD): nothing by
	// default, as BYOK search carries no markup.
	Fee ownkey.NanoUSD
	// Timeout bounds a search; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxJSONDepth bounds the provider JSON read (OWNKEY_MAX_JSON_DEPTH).
	MaxJSONDepth int
	// Logger gives the request's logger; nil uses slog.Default.
	Logger func(context.Context) *slog.Logger
}

var _ ownkey.WebSearchService = (*Service)(nil)

// Search runs one search; see ownkey.WebSearchService.
func (s *Service) Search(ctx context.Context, call *ownkey.WebSearchCall) (*ownkey.WebSearchResult, error) {
	r := call.Request
	if err := CheckCommon(&r); err != nil {
		return nil, err
	}
	accountID := call.Principal.Account.ID
	own, err := s.Vault.Configured(ctx, accountID)
	if err != nil {
		return nil, err
	}
	p, err := s.pick(r.Provider, own)
	if err != nil {
		return nil, err
	}
	searcher, err := s.searcher(p)
	if err != nil {
		return nil, err
	}
	// The provider's own checks come before the key's: a request it
	// cannot serve is the client's to fix whatever keys it holds.
	if err := searcher.Check(&r); err != nil {
		return nil, err
	}
	if !own[p.ID] {
		return nil, KeyMissing(p)
	}
	cred, err := s.Vault.Credential(ctx, accountID, p.ID)
	if ownkey.ErrorCode(err) == ownkey.ENOTFOUND {
		return nil, KeyMissing(p) // deleted since the set was cached
	} else if err != nil {
		return nil, err
	}
	base, guarded, err := s.Families.Endpoint(p, cred)
	if err != nil {
		return nil, err
	}
	if err := s.limits().Admit(ctx, call.Principal, cred); err != nil {
		return nil, err
	}
	s.Vault.MarkUsed(accountID, p.ID)

	// The fee: held from a metered account's balance before the search
	// (402 when it cannot pay), settled after it. A fee of zero holds
	// nothing: it needs no money.
	model := "search:" + r.Depth
	fee := ownkey.Charge{Charged: s.Fee, Basis: ownkey.PriceSearchFee, BYOK: true}
	var hold *ownkey.Hold
	if s.Ledger != nil && call.Principal.Account.Metered && s.Fee > 0 {
		hold = &ownkey.Hold{RequestID: call.RequestID, AccountID: accountID, APIKeyID: call.Principal.APIKey.ID,
			Provider: p.ID, Model: model, Charge: fee}
		if err := s.Ledger.Reserve(ctx, hold); err != nil {
			return nil, err
		}
	}

	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	start := time.Now()
	res, err := searcher.Search(sctx, &SearchRequest{WebSearchRequest: r, Provider: p, Credential: cred,
		BaseURL: base, Guarded: guarded, MaxJSONDepth: s.MaxJSONDepth})
	latency := time.Since(start)
	timedOut := errors.Is(sctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()

	rec := &ownkey.UsageRecord{
		RequestID: call.RequestID, AccountID: accountID, APIKeyID: call.Principal.APIKey.ID,
		Provider: p.ID, ModelRequested: model, ModelServed: model, Usage: ownkey.Usage{Source: ownkey.UsageNone},
		Status: http.StatusOK, UpstreamLatency: latency, TTFB: latency, CreatedAt: time.Now().UTC(),
		Charge: fee, Settlement: ownkey.SettlementSettled,
	}
	if err != nil {
		if timedOut && ownkey.ErrorCode(err) == ownkey.ETIMEOUT {
			err = ownkey.Errorf(ownkey.ETIMEOUT, "%s did not answer the search within %s", p.ShortName(), timeout)
		}
		// A failed search is charged nothing.
		rec.Charge = ownkey.Charge{Basis: ownkey.PriceSearchFee, BYOK: true}
		rec.Status, rec.ErrorCode = ownkey.StatusOf(err), errorCode(err)
		rec.ClientDisconnected = rec.ErrorCode == provider.CodeClientDisconnected
	} else {
		rec.Charge.AtCost = res.AtCost
	}
	if hold != nil {
		s.Ledger.Settle(hold, rec)
	}
	s.limits().Spent(call.Principal, p.ID, rec.Charge)
	if s.Usage != nil {
		s.Usage.Record(rec)
	}
	if err != nil {
		s.logger(ctx).Info("web search failed", "provider", p.ID, "status", rec.Status, "error_code", rec.ErrorCode)
		return nil, err
	}
	return &ownkey.WebSearchResult{Query: r.Query, Provider: p.ID, Depth: r.Depth, Results: res.Results,
		Timestamp: start.UTC(), Charge: rec.Charge}, nil
}

// pick is the search's provider: the one named (a web-search provider the
// operator did not disable), else the first of ownkey.WebSearchProviders
// the account holds a key for.
func (s *Service) pick(id string, own map[string]bool) (*ownkey.Provider, error) {
	if id = strings.ToLower(strings.TrimSpace(id)); id != "" {
		p, ok := ownkey.LookupProvider(id)
		if !ok || p.Kind != ownkey.KindWebSearch {
			return nil, ownkey.FieldError("provider", "provider must be a web search provider: %s", providerList())
		}
		if s.Vault.Disabled(p.ID) {
			return nil, &ownkey.Error{Code: ownkey.EFORBIDDEN, Param: "provider", Reason: "provider_disabled",
				Message: "provider " + p.ID + " is disabled by the operator"}
		}
		return p, nil
	}
	for _, p := range ownkey.WebSearchProviders() {
		if own[p.ID] && !s.Vault.Disabled(p.ID) {
			return p, nil
		}
	}
	return nil, KeyMissing(nil)
}

func (s *Service) searcher(p *ownkey.Provider) (Searcher, error) {
	fam, err := s.Families.Family(p)
	if err != nil {
		return nil, err
	}
	searcher, ok := fam.(Searcher)
	if !ok {
		return nil, ownkey.Errorf(ownkey.EINTERNAL, "the %s family cannot search", p.Wire)
	}
	return searcher, nil
}

// KeyMissing is the error of a search for which the account holds no key:
// 503 provider_key_missing naming the key to add (p), or any search key
// (p nil, no provider named).
func KeyMissing(p *ownkey.Provider) *ownkey.Error {
	e := &ownkey.Error{Code: ownkey.EUNAVAILABLE, Reason: ownkey.ReasonProviderKeyMissing, Param: "provider"}
	if p != nil {
		e.Message = "Provider key missing: add a " + p.ShortName() + " key to search with " + p.ShortName() +
			" on the BYOK page (POST /api/user/provider-keys {\"provider\":\"" + p.ID + "\",\"key\":…}). Web search uses your own search keys only."
		return e
	}
	e.Message = "Provider key missing: add a web search key (" + providerList() +
		") on the BYOK page (POST /api/user/provider-keys {\"provider\":\"tavily\",\"key\":…}). Web search uses your own search keys only."
	return e
}

// providerList names the web-search providers in the order they are picked.
func providerList() string {
	var ids []string
	for _, p := range ownkey.WebSearchProviders() {
		ids = append(ids, p.ID)
	}
	return strings.Join(ids, ", ")
}

// errorCode is the ledger entry's error code for a failed search.
func errorCode(err error) string {
	var e *ownkey.Error
	if !errors.As(err, &e) {
		return provider.CodeUpstreamError
	}
	switch {
	case e.Code == ownkey.ETIMEOUT:
		return provider.CodeUpstreamTimeout
	case e.Status == provider.StatusClientClosed:
		return provider.CodeClientDisconnected
	case e.Code == ownkey.EUNAVAILABLE:
		return provider.CodeUpstreamUnavail
	}
	return provider.CodeUpstreamError
}

func (s *Service) limits() ownkey.SpendLimiter {
	if s.Limits == nil {
		return ownkey.NoSpendLimits{}
	}
	return s.Limits
}

func (s *Service) logger(ctx context.Context) *slog.Logger {
	if s.Logger != nil {
		return s.Logger(ctx)
	}
	return slog.Default()
}
