package ownkey

import (
	"context"
	"strings"
	"time"
)

// Web search (issue 14): POST /api/web, and chat augmented with search
// results (a model's :online suffix, or the body's webSearch object). The
// searches go to the catalog's KindWebSearch providers with the account's
// own key (package websearch); the chat path only asks the WebSearchService.

// Search depths every search provider understands. A provider may accept
// more (Exa's own search types: auto, neural, keyword, fast), or refuse
// deep (Kagi, Perplexity have one depth).
const (
	DepthStandard = "standard"
	DepthDeep     = "deep"
)

// ReasonProviderKeyMissing is the error code of a search for which the
// account holds no key (503 on /api/web, as the product it reproduces; 400
// for a chat asking for web search).
const ReasonProviderKeyMissing = "provider_key_missing"

// PriceSearchFee is the price basis of a web search's ledger entry: the
// operator's per-search fee (OWNKEY_WEB_SEARCH_FEE_USD), no token price.
const PriceSearchFee PriceBasis = "search_fee"

// WebSearchRequest is one search as a client asks for it, on /api/web or in
// a chat's webSearch object (whose query comes from the conversation).
// Every provider reads the common fields; each refuses, naming the field,
// what it cannot do.
type WebSearchRequest struct {
	Query string
	// Provider is a KindWebSearch provider id; empty picks the first of
	// WebSearchProviders the account holds a key for.
	Provider string
	// Depth is DepthStandard (empty means it), DepthDeep or a depth of
	// the provider's own.
	Depth string
	// MaxResults is how many results to ask for; 0 is the provider's
	// default.
	MaxResults     int
	IncludeDomains []string
	ExcludeDomains []string
	// FromDate and ToDate bound the publication date: YYYY-MM-DD.
	FromDate, ToDate string
	IncludeImages    bool
}

// WebResult is one normalized search result. Type is "text" (Title, URL,
// Snippet) or "image" (ImageURL, and the page it is on as URL when the
// provider says). PublishedAt is RFC 3339, or YYYY-MM-DD when the provider
// gives a date only; empty when unknown.
type WebResult struct {
	Type        string
	Title       string
	URL         string
	Snippet     string
	ImageURL    string
	PublishedAt string
}

// WebSearchResult is a search's answer and what it was charged.
type WebSearchResult struct {
	Query    string
	Provider string
	Depth    string
	Results  []WebResult
	// Timestamp is when the search was made.
	Timestamp time.Time
	// Charge is the search's ledger entry: the operator's fee as
	// Charged, the provider's own price as AtCost when it reports one.
	Charge Charge
}

// Sources are the text results, numbered from 1 in this order when a chat
// answer cites them.
func (r *WebSearchResult) Sources() []WebSource {
	var s []WebSource
	for _, res := range r.Results {
		if res.Type == "text" {
			s = append(s, WebSource{Title: res.Title, URL: res.URL})
		}
	}
	return s
}

// WebSearchCall is one search on its way to the WebSearchService.
type WebSearchCall struct {
	// RequestID keys the search's ledger entry: the request's own id on
	// /api/web, the chat's id plus WebSearchIDSuffix inside a chat.
	RequestID string
	Principal *Principal
	Request   WebSearchRequest
}

// WebSearchIDSuffix is added to a chat's request id for the ledger entry of
// the search made for it: the chat has its own entry under its id.
const WebSearchIDSuffix = "-web"

// WebSearchService makes searches with the account's own search keys and
// records each in the ledger (websearch.Service).
type WebSearchService interface {
	// Search runs call's search: it picks the provider (call.Request's,
	// or the first of WebSearchProviders the account holds a key for),
	// checks the request against it, charges the operator's fee and
	// records the search. Errors: EINVALID naming the field; EUNAVAILABLE
	// 503 provider_key_missing when the account holds no key for it;
	// the provider's error (its status, scrubbed message, Retry-After),
	// ETIMEOUT, EUNAVAILABLE when it cannot be reached; EPAYMENT when a
	// metered account cannot pay the fee.
	Search(ctx context.Context, call *WebSearchCall) (*WebSearchResult, error)
}

// WebSearchProviders are the web-search providers in catalog order: the
// order in which a search that names none picks one (the first the account
// holds a key for): tavily, exa, kagi, perplexity.
func WebSearchProviders() []*Provider {
	var ps []*Provider
	for i := range Catalog {
		if Catalog[i].Kind == KindWebSearch {
			ps = append(ps, &Catalog[i])
		}
	}
	return ps
}

// ShortName is a provider's name without the catalog's "(Web Search)"
// note: "Tavily".
func (p *Provider) ShortName() string {
	return strings.TrimSuffix(p.Name, " (Web Search)")
}

// ParseOnlineModel splits a model id with a web-search suffix into the
// model to route and the search it asks for: ":online" (the default
// provider, standard depth), ":online/<provider>" and
// ":online/<provider>-<depth>" (":online/tavily-deep", ":online/exa-neural").
// A model without the suffix comes back as it is with a nil search. The
// provider and depth are checked later, with the rest of the search; an
// empty model or provider in the suffix is an EINVALID error naming model.
func ParseOnlineModel(model string) (string, *WebSearchRequest, error) {
	const suffix = ":online"
	i := strings.LastIndex(model, suffix)
	if i < 0 {
		return model, nil, nil
	}
	rest := model[i+len(suffix):]
	if rest != "" && rest[0] != '/' {
		return model, nil, nil // ":onlinex" is part of a model id, not the suffix
	}
	base := model[:i]
	if base == "" {
		return "", nil, FieldError("model", "the model before %q is missing, e.g. \"gpt-4o-mini:online\"", model[i:])
	}
	ws := &WebSearchRequest{}
	if rest != "" {
		spec := rest[1:]
		name, depth, hasDepth := strings.Cut(spec, "-")
		if name == "" || hasDepth && depth == "" {
			return "", nil, FieldError("model", "the web search suffix %q must be :online, :online/<provider> or :online/<provider>-<depth>, e.g. :online/tavily-deep", model[i:])
		}
		ws.Provider, ws.Depth = strings.ToLower(name), strings.ToLower(depth)
	}
	return base, ws, nil
}
