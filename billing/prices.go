package billing

import "github.com/ownkey/ownkey"

// CatalogPrices is a PriceBook over the prices in a model catalog's own
// entries: the model served, else the model asked, at the provider that
// served it; a model without a price is billed at the fallback, the dearest
// priced model of that provider (zero when it has none), and flagged so
// (PriceFallback). It is the stand-in until the price catalog (built-in
// prices, imports, admin overrides, the free-model rule) replaces it
// behind the same interface; the built-in ownkey.Models carry no prices
// yet, so today every request is billed at the fallback.
type CatalogPrices struct {
	Catalog *ownkey.ModelCatalog
}

var _ ownkey.PriceBook = CatalogPrices{}

func (c CatalogPrices) Quote(provider, modelServed, modelAsked string) ownkey.Quote {
	for _, m := range [...]string{modelServed, modelAsked} {
		if e, ok := c.Catalog.Lookup(provider, m); ok && priced(e.Prices) {
			return ownkey.Quote{Provider: provider, Model: e.Model, Basis: ownkey.PriceCatalog, AtCost: e.Prices, MarkupBase: e.Prices}
		}
	}
	q := ownkey.Quote{Provider: provider, Model: modelServed, Basis: ownkey.PriceFallback}
	var dearest *ownkey.ModelEntry
	for i, e := range c.Catalog.OfProvider(provider) {
		if priced(e.Prices) && (dearest == nil || e.Prices.Output.PerMTok > dearest.Prices.Output.PerMTok) {
			dearest = &c.Catalog.OfProvider(provider)[i]
		}
	}
	if dearest != nil {
		q.Model, q.AtCost, q.MarkupBase = dearest.Model, dearest.Prices, dearest.Prices
	}
	return q
}

func priced(p ownkey.Prices) bool { return p.Input.Known || p.Output.Known }
