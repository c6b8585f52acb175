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

// makerOfModel is MakerOf for routing, which also knows Gemini's resource
// names ("models/gemini-2.5-flash", as Google's own clients and model list
// spell them): google's, the id handed over as it is (the Gemini adapter
// drops the prefix).
func makerOfModel(model string) string {
	if id := MakerOf(model); id != "" {
		return id
	}
	if rest, ok := strings.CutPrefix(model, "models/"); ok && MakerOf(rest) == "google" {
		return "google"
	}
	return ""
}

// routeError explains why no provider was found among the account's own
// keys (x-use-byok: true).
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
//  3. maker: gpt-*/o* → openai, claude-* → anthropic, gemini-* (and
//     Gemini's resource names, models/gemini-*) → google, glm-* → zai,
//     when the account holds the maker's key.
//  4. catalog: the providers whose ActiveModels entry has exactly this model id
//     (ignoring case), in provider catalog order, first one the account
//     holds a key for. The canonical id is not used: a provider must be
//     sent an id it knows.
//  5. aggregator: for "vendor/model" ids, openrouter then vercel.
//
// Forced routing to a provider without a key is an error, never a silent
// switch to another provider.
func RouteModel(model, forced string, configured func(provider string) bool) (*Route, error) {
	// The providers considered, for the error; on the stack, because a
	// route found after skipping some is common (catalog order).
	var triedBuf [8]string
	r, missing, tried, err := routeModel(model, forced, configured, triedBuf[:0])
	switch {
	case r != nil || err != nil:
		return r, err
	case missing != nil:
		return nil, missingParam(noKey(missing), forced)
	}
	return nil, routeError(model, tried)
}

// routeModel applies RouteModel's rules and leaves the error to the
// caller, whose message depends on whose keys were looked at: when no key
// serves the request it returns the provider the client named without a
// key for it (missing: the forced one, or the model's provider prefix
// when nothing else serves the model either), or else the providers
// considered, appended to tried. err is set only for a forced provider
// that is not a model provider.
func routeModel(model, forced string, configured func(provider string) bool, tried []string) (r *Route, missing *Provider, _ []string, err error) {
	if forced != "" {
		p, ok := LookupProvider(forced)
		if !ok || p.Kind != KindModel {
			return nil, nil, tried, &Error{Code: EINVALID, Param: "x-byok-provider", Reason: "byok_unknown_provider",
				Message: "unknown BYOK model provider \"" + safeID(forced) + "\"; one of: " + strings.Join(ModelProviderIDs(), ", ")}
		}
		if !configured(p.ID) {
			return nil, p, tried, nil
		}
		return &Route{Provider: p, Model: model, How: "forced"}, nil, tried, nil
	}
	var prefixed *Provider
	if i := strings.IndexByte(model, '/'); i > 0 {
		if p, ok := LookupProvider(model[:i]); ok && p.Kind == KindModel {
			if configured(p.ID) {
				return &Route{Provider: p, Model: model[i+1:], How: "prefix"}, nil, tried, nil
			}
			prefixed = p
			tried = append(tried, p.ID)
		}
	}
	if id := makerOfModel(model); id != "" {
		if configured(id) {
			p, _ := LookupProvider(id)
			return &Route{Provider: p, Model: model, How: "maker"}, nil, tried, nil
		}
		tried = appendNew(tried, id)
	}
	for _, e := range ActiveModels().Serving(model) {
		if configured(e.Provider) {
			p, _ := LookupProvider(e.Provider)
			return &Route{Provider: p, Model: model, How: "catalog"}, nil, tried, nil
		}
		tried = appendNew(tried, e.Provider)
	}
	if strings.Contains(model, "/") {
		for _, id := range aggregators {
			if configured(id) {
				p, _ := LookupProvider(id)
				return &Route{Provider: p, Model: model, How: "aggregator"}, nil, tried, nil
			}
			tried = appendNew(tried, id)
		}
	}
	// groq/llama-… that nothing serves: the key missing is groq's.
	return nil, prefixed, tried, nil
}

// RouteKeys routes a chat request under the BYOK switch (choice) and says
// whose key serves it: byok is true for the account's own key, false for
// the platform's. own and platform report which providers the account and
// the platform hold a usable key for.
//
//   - KeyOwn: RouteModel over the account's keys; never the platform's.
//   - KeyPlatform: RouteModel over the platform's keys.
//   - KeyAuto: RouteModel over the account's keys; when they serve
//     nothing, over the account's and the platform's, so a platform key is
//     used only for a request none of the account's keys can serve.
//     platform is not called when the account's keys serve the request.
//
// When no key serves the request the error is a 400 that says which key
// to add and where (the BYOK page, `ownkey platform-keys set`), worded for
// the choice.
func RouteKeys(model, forced string, choice KeyChoice, own, platform func(provider string) bool) (r *Route, byok bool, err error) {
	var triedBuf [8]string
	switch choice {
	case KeyOwn:
		r, err = RouteModel(model, forced, own)
		return r, true, err
	case KeyPlatform:
		r, missing, tried, err := routeModel(model, forced, platform, triedBuf[:0])
		if r != nil || err != nil {
			return r, false, err
		}
		return nil, false, missingParam(noPlatformKey(model, missing, tried), forced)
	}
	r, _, _, err = routeModel(model, forced, own, triedBuf[:0])
	if r != nil || err != nil {
		return r, true, err
	}
	either := func(id string) bool { return own(id) || platform(id) }
	r, missing, tried, _ := routeModel(model, forced, either, triedBuf[:0])
	if r != nil {
		return r, own(r.Provider.ID), nil
	}
	return nil, false, missingParam(noKeyAtAll(model, missing, tried), forced)
}

// missingParam makes an error about a missing provider key name the model
// as its field when the provider came from the model's prefix rather than
// a forced provider.
func missingParam(err error, forced string) error {
	if e, ok := err.(*Error); ok && forced == "" && e.Param == "x-byok-provider" {
		e.Param = "model"
	}
	return err
}

// NoKeyError is the 400 for a provider whose key, of those the choice
// allows, is missing: the one RouteKeys gives for a forced provider.
func NoKeyError(p *Provider, choice KeyChoice) error {
	switch choice {
	case KeyOwn:
		return noKey(p)
	case KeyPlatform:
		return noPlatformKey("", p, nil)
	}
	return noKeyAtAll("", p, nil)
}

// addOwnKey and addPlatformKey say where each kind of key is added.
func addOwnKey(id string) string {
	return "on the BYOK page (POST /api/user/provider-keys {\"provider\":\"" + id + "\",\"key\":…})"
}

func addPlatformKey(id string) string { return "ownkey platform-keys set " + id }

const forceHint = " You can also force a provider with the header x-byok-provider: <provider> (or body byok.provider), or prefix the model with the provider id, e.g. groq/llama-3.3-70b-versatile."

// noPlatformKey is x-use-byok: false's error: the platform holds no key
// for the forced provider (missing), or none that serves model.
func noPlatformKey(model string, missing *Provider, tried []string) error {
	const own = " To use your own key instead, send x-use-byok: true (or leave the header out)."
	if missing != nil {
		return &Error{Code: EINVALID, Param: "x-byok-provider", Reason: "platform_no_key_for_provider",
			Message: "the platform holds no " + missing.Name + " key (x-use-byok: false uses only the platform's keys). The operator can add one with: " + addPlatformKey(missing.ID) + "." + own}
	}
	msg := "no platform key serves model \"" + model + "\" (x-use-byok: false uses only the platform's keys)"
	if len(tried) > 0 {
		msg += "; providers considered: " + strings.Join(tried, ", ") + ". The operator can add a key for " + tried[0] + " with: " + addPlatformKey(tried[0]) + "." + own
	} else {
		msg += ": no provider is known to serve it." + forceHint
	}
	return &Error{Code: EINVALID, Param: "model", Reason: "platform_no_provider_for_model", Message: msg}
}

// noKeyAtAll is the error when the client left the switch alone and
// neither the account nor the platform holds a key that serves the
// request: it names the provider and both ways to add its key.
func noKeyAtAll(model string, missing *Provider, tried []string) error {
	if missing != nil {
		return &Error{Code: EINVALID, Param: "x-byok-provider", Reason: "no_key_for_provider",
			Message: "no " + missing.Name + " key: neither this account nor the platform holds one. Add yours " + addOwnKey(missing.ID) +
				", or ask the operator to add a platform key (" + addPlatformKey(missing.ID) + ")."}
	}
	msg := "no key serves model \"" + model + "\""
	if len(tried) > 0 {
		p, _ := LookupProvider(tried[0])
		msg += ": neither this account nor the platform holds a key for " + strings.Join(tried, ", ") + ". Add a key for " + p.Name + " " + addOwnKey(p.ID) +
			", or ask the operator to add a platform key (" + addPlatformKey(p.ID) + ")." + forceHint
	} else {
		msg += ": no provider is known to serve it." + forceHint
	}
	return &Error{Code: EINVALID, Param: "model", Reason: "no_provider_for_model", Message: msg}
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
