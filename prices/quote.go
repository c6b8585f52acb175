package prices

import (
	"strings"

	"github.com/ownkey/ownkey"
)

// Quote finds the prices a request is billed at (ownkey.PriceBook). It runs
// on every request: one atomic load and a few map lookups, no lock, and no
// allocation unless the model has no price (BenchmarkQuote).
//
// The entry, at the provider that served the request, is the first of:
//
//  1. the model asked, exactly (ignoring case), when it names a variant
//     (:free, :nitro) of the model served (same canonical id): the variant
//     is what the request chose and what the provider bills, even if its
//     answer names the plain model (google/gemini-2.5-pro:free answered as
//     google/gemini-2.5-pro);
//  2. the model served, exactly;
//  3. the model asked, exactly, when it is the same model as the one
//     served (an alias of a dated snapshot);
//  4. the model served's canonical id (gpt-4o-mini-2024-07-18 finds
//     gpt-4o-mini), a paid entry before a free one;
//  5. the model asked, exactly, then by its canonical id.
//
// The model asked may carry the provider's own prefix (groq/llama-…).
// Only entries with an input and an output price count. Then:
//
//   - a paid entry: PriceCatalog, at its prices;
//   - a free entry (every price zero, such as a :free variant): at cost
//     nothing, and the markup on the lowest paid rate (Total) of the same
//     canonical model anywhere in the catalog, PriceFreeModel, naming that
//     entry; PriceFreeNoPaidRate when no provider has a paid rate (the
//     charge is then zero, and the ledger says why);
//   - nothing found: PriceFallback, billed (at cost and for the markup) at
//     the most expensive model (Total) of the provider, else of the whole
//     catalog, naming that entry; the first time for each provider and
//     model a warning is logged so that the operator adds a price.
func (b *Book) Quote(provider, modelServed, modelAsked string) ownkey.Quote {
	s := b.snap.Load()
	if e := s.find(provider, modelServed, modelAsked); e != nil {
		return s.quote(e)
	}
	q := s.fallback(provider)
	b.warnUnpriced(provider, modelServed, modelAsked, q)
	return q
}

func (s *snapshot) find(provider, served, asked string) *ownkey.ModelEntry {
	if asked == "" || asked == served {
		if e := s.exact(provider, served); e != nil {
			return e
		}
		return s.byCanonical(provider, served)
	}
	same := served == "" || sameModel(provider, served, asked)
	if same && isVariant(asked) {
		if e := s.exact(provider, asked); e != nil {
			return e
		}
	}
	if e := s.exact(provider, served); e != nil {
		return e
	}
	if same {
		if e := s.exact(provider, asked); e != nil {
			return e
		}
	}
	if e := s.byCanonical(provider, served); e != nil {
		return e
	}
	if e := s.exact(provider, asked); e != nil {
		return e
	}
	return s.byCanonical(provider, withoutPrefix(provider, asked))
}

// exact is the priced entry for model at provider, by the id as given or
// without the provider's own prefix.
func (s *snapshot) exact(provider, model string) *ownkey.ModelEntry {
	if model == "" {
		return nil
	}
	if e, ok := s.catalog.Lookup(provider, model); ok && priced(e) {
		return e
	}
	if rest := withoutPrefix(provider, model); len(rest) < len(model) {
		if e, ok := s.catalog.Lookup(provider, rest); ok && priced(e) {
			return e
		}
	}
	return nil
}

// byCanonical is the priced entry at provider with model's canonical id:
// the first paid one, else the first free one.
func (s *snapshot) byCanonical(provider, model string) *ownkey.ModelEntry {
	if model == "" {
		return nil
	}
	var freeEntry *ownkey.ModelEntry
	for _, e := range s.catalog.ByCanonical(model) {
		if e.Provider != provider || !priced(e) {
			continue
		}
		if !free(e) {
			return e
		}
		if freeEntry == nil {
			freeEntry = e
		}
	}
	return freeEntry
}

// quote prices a request at e, with the free-model rule.
func (s *snapshot) quote(e *ownkey.ModelEntry) ownkey.Quote {
	if !free(e) {
		return ownkey.Quote{Provider: e.Provider, Model: e.Model, Basis: ownkey.PriceCatalog, AtCost: e.Prices, MarkupBase: e.Prices}
	}
	if paid := s.cheapestPaid[e.Canonical]; paid != nil {
		return ownkey.Quote{Provider: paid.Provider, Model: paid.Model, Basis: ownkey.PriceFreeModel, AtCost: e.Prices, MarkupBase: paid.Prices}
	}
	return ownkey.Quote{Provider: e.Provider, Model: e.Model, Basis: ownkey.PriceFreeNoPaidRate, AtCost: e.Prices, MarkupBase: e.Prices}
}

// fallback is the quote of a model without a price: the most expensive
// model of the provider, else of the catalog. A catalog with no price at
// all (never the built-in one) leaves the prices unknown: flagged, and
// logged, but zero.
func (s *snapshot) fallback(provider string) ownkey.Quote {
	e := s.priciest[provider]
	if e == nil {
		e = s.priciestAll
	}
	if e == nil {
		return ownkey.Quote{Provider: provider, Basis: ownkey.PriceFallback}
	}
	return ownkey.Quote{Provider: e.Provider, Model: e.Model, Basis: ownkey.PriceFallback, AtCost: e.Prices, MarkupBase: e.Prices}
}

// sameModel reports whether a and b have the same canonical id, without
// allocating for ids up to 128 bytes.
func sameModel(provider, a, b string) bool {
	var bufA, bufB [128]byte
	return string(ownkey.AppendCanonical(bufA[:0], a)) == string(ownkey.AppendCanonical(bufB[:0], withoutPrefix(provider, b)))
}

// isVariant reports whether model names a variant: a ':' suffix after its
// last '/' (Canonicalize drops it).
func isVariant(model string) bool {
	return strings.IndexByte(model[strings.LastIndexByte(model, '/')+1:], ':') >= 0
}

// withoutPrefix is model without a leading "provider/".
func withoutPrefix(provider, model string) string {
	if len(model) > len(provider) && model[len(provider)] == '/' && model[:len(provider)] == provider {
		return model[len(provider)+1:]
	}
	return model
}

// warnUnpriced logs, once per provider and model, that a request was
// billed at the fallback.
func (b *Book) warnUnpriced(provider, served, asked string, q ownkey.Quote) {
	model := served
	if model == "" {
		model = asked
	}
	key := provider + "\x00" + model
	b.warnMu.Lock()
	first := !b.warned[key] && len(b.warned) < maxWarned
	if first {
		b.warned[key] = true
	}
	b.warnMu.Unlock()
	args := []any{"provider", provider, "model_served", shorten(served), "model_requested", shorten(asked),
		"billed_as", q.Provider + "/" + q.Model}
	switch {
	case first:
		b.opts.Logger.Warn("prices: no price for this model; billed at the fallback rate (the provider's most expensive known model) and flagged. "+
			"Add its price: ownkey prices set, PUT /api/admin/prices/{provider}/{model}, or ownkey prices import", args...)
	default:
		b.opts.Logger.Debug("prices: no price for this model; billed at the fallback rate", args...)
	}
}

// shorten cuts a client's model id for the log.
func shorten(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
