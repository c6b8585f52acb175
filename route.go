package ownkey

import (
	"slices"
	"strings"
)

// Route is where a chat request goes: the provider and the model id the
// provider must see.
type Route struct {
	Provider *Provider
	Model    string
	// How says which rule chose the provider (for logs and errors):
	// forced, prefix, maker, catalog, aggregator.
	How string
}

// makerPrefixes map a model name to the company that makes it. The maker is
// the first choice when the account holds its key.
var makerPrefixes = []struct{ prefix, provider string }{
	{"gpt-", "openai"}, {"chatgpt-", "openai"}, {"o1", "openai"}, {"o3", "openai"}, {"o4", "openai"},
	{"codex-", "openai"}, {"text-embedding-", "openai"}, {"omni-moderation", "openai"},
	{"claude-", "anthropic"},
	{"gemini-", "google"}, {"gemma-", "google"},
	{"glm-", "zai"},
}

// aggregators serve "vendor/model" ids of many makers; they are the last
// resort of auto-mapping, in this order.
var aggregators = []string{"openrouter", "vercel"}

// MakerOf returns the provider id of model's maker, or "".
// It is a rule on names, not a catalog lookup, so that ids the catalog does
// not list (dated snapshots, new models) still go to their maker.
func MakerOf(model string) string {
	for _, mp := range makerPrefixes {
		// The prefixes are lower-case ASCII: EqualFold on the head matches
		// what lower-casing the whole id would, without a copy.
		if len(model) >= len(mp.prefix) && strings.EqualFold(model[:len(mp.prefix)], mp.prefix) {
			rest := model[len(mp.prefix):]
			// "o1" must be followed by the end or a separator: o1-mini, not o1x.
			if mp.prefix[len(mp.prefix)-1] != '-' && rest != "" && rest[0] != '-' {
				continue
			}
			return mp.provider
		}
	}
	return ""
}

// routeError explains why no provider was found.
func routeError(model string, tried []string) error {
	msg := "no BYOK provider found for model \"" + model + "\""
	if len(tried) > 0 {
		msg += " (providers considered: " + strings.Join(tried, ", ") + ")"
	}
	msg += ". Add a key for a provider that serves it on the BYOK page, or force one with the header x-byok-provider: <provider> (or body byok.provider), or prefix the model with the provider id, e.g. groq/llama-3.3-70b-versatile."
	return &Error{Code: EINVALID, Param: "model", Reason: "byok_no_provider_for_model", Message: msg}
}

// RouteModel picks the provider for a chat request. configured reports
// whether the account holds a usable key for a provider. The rules, in
// order, are deterministic:
//
//  1. forced (x-byok-provider / byok.provider): that provider, model as given.
//  2. prefix: "groq/llama-3.3-70b" → groq with "llama-3.3-70b", when the
//     prefix is a model provider's id and the account holds its key.
//  3. maker: gpt-*/o* → openai, claude-* → anthropic, gemini-* → google,
//     glm-* → zai, when the account holds the maker's key.
//  4. catalog: the providers whose ActiveModels entry has exactly this model id
//     (ignoring case), in provider catalog order, first one the account
//     holds a key for. The canonical id is not used: a provider must be
//     sent an id it knows.
//  5. aggregator: for "vendor/model" ids, openrouter then vercel.
//
// Forced routing to a provider without a key is an error, never a silent
// switch to another provider.
func RouteModel(model, forced string, configured func(provider string) bool) (*Route, error) {
	if forced != "" {
		p, ok := LookupProvider(forced)
		if !ok || p.Kind != KindModel {
			return nil, &Error{Code: EINVALID, Param: "x-byok-provider", Reason: "byok_unknown_provider",
				Message: "unknown BYOK model provider \"" + safeID(forced) + "\"; one of: " + strings.Join(ModelProviderIDs(), ", ")}
		}
		if !configured(p.ID) {
			return nil, noKey(p)
		}
		return &Route{Provider: p, Model: model, How: "forced"}, nil
	}
	// The providers considered, for the error; on the stack, because a
	// route found after skipping some is common (catalog order).
	var triedBuf [8]string
	tried := triedBuf[:0]
	if i := strings.IndexByte(model, '/'); i > 0 {
		if p, ok := LookupProvider(model[:i]); ok && p.Kind == KindModel {
			if configured(p.ID) {
				return &Route{Provider: p, Model: model[i+1:], How: "prefix"}, nil
			}
			tried = append(tried, p.ID)
		}
	}
	if id := MakerOf(model); id != "" {
		if configured(id) {
			p, _ := LookupProvider(id)
			return &Route{Provider: p, Model: model, How: "maker"}, nil
		}
		tried = appendNew(tried, id)
	}
	for _, e := range ActiveModels().Serving(model) {
		if configured(e.Provider) {
			p, _ := LookupProvider(e.Provider)
			return &Route{Provider: p, Model: model, How: "catalog"}, nil
		}
		tried = appendNew(tried, e.Provider)
	}
	if strings.Contains(model, "/") {
		for _, id := range aggregators {
			if configured(id) {
				p, _ := LookupProvider(id)
				return &Route{Provider: p, Model: model, How: "aggregator"}, nil
			}
			tried = appendNew(tried, id)
		}
	}
	return nil, routeError(model, tried)
}

func noKey(p *Provider) error {
	return &Error{Code: EINVALID, Param: "x-byok-provider", Reason: "byok_no_key_for_provider",
		Message: "no " + p.Name + " key is stored for this account. Add one with POST /api/user/provider-keys {\"provider\":\"" + p.ID + "\",\"key\":…} or choose another provider."}
}

// ModelProviderIDs lists the chat model providers.
func ModelProviderIDs() []string {
	var ids []string
	for _, p := range Catalog {
		if p.Kind == KindModel {
			ids = append(ids, p.ID)
		}
	}
	return ids
}

func appendNew(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// safeID echoes a client-supplied provider id only if it looks like one, so
// that a key pasted into the wrong header is not repeated back.
func safeID(s string) string {
	if len(s) > 40 {
		return "…"
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "…"
		}
	}
	return s
}
