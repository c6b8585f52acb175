package prices

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ownkey/ownkey"
)

// SourceBuiltin names a built-in price in listings (built-in prices are
// not stored, so it is not an ownkey.PriceSource of the store).
const SourceBuiltin = "builtin"

// MaxModelIDLen bounds a model id an import or the operator may add.
const MaxModelIDLen = 256

// snapshot is one immutable state of the price catalog: the catalog and
// what Quote needs from it worked out in advance, so that a quote is a few
// map lookups. A new state is a new snapshot, swapped in atomically.
type snapshot struct {
	catalog *ownkey.ModelCatalog
	// cheapestPaid is, per canonical id, the paid entry with the lowest
	// total (free-model rule).
	cheapestPaid map[string]*ownkey.ModelEntry
	// priciest is, per provider, the paid entry with the highest total,
	// and priciestAll that of the whole catalog (fallback rule).
	priciest    map[string]*ownkey.ModelEntry
	priciestAll *ownkey.ModelEntry
	// sources says where each entry's price came from, by entryKey.
	sources map[string]string
}

// entryKey identifies a (provider, model) as the catalog does: the model
// ignoring ASCII case.
func entryKey(provider, model string) string { return provider + "\x00" + strings.ToLower(model) }

// priced reports whether e has an input and an output price: what a request
// is billed on. A model without them is billed at the fallback.
func priced(e *ownkey.ModelEntry) bool { return e.Prices.Input.Known && e.Prices.Output.Known }

// free reports whether e is priced and every price it has is zero.
func free(e *ownkey.ModelEntry) bool {
	if !priced(e) {
		return false
	}
	for _, k := range e.Prices.Kinds() {
		if k.Known && k.PerMTok != 0 {
			return false
		}
	}
	return true
}

// Total is the rate models are compared by, for the free-model rule (the
// lowest paid rate of the same model) and the fallback (the most expensive
// model): input plus output price per million tokens. Cache and reasoning
// prices follow them closely wherever they are priced apart, and every
// priced model has these two.
func Total(p ownkey.Prices) uint64 {
	return uint64(max(p.Input.PerMTok, 0)) + uint64(max(p.Output.PerMTok, 0))
}

// precedence orders stored prices from the weakest to the strongest: every
// import before the operator's prices, and among imports (and among the
// operator's) the older first, so that the last one applied wins.
func precedence(a, b ownkey.ModelPrice) int {
	admin := func(p ownkey.ModelPrice) bool { return p.Source == ownkey.PriceFromAdmin }
	if admin(a) != admin(b) {
		if admin(a) {
			return 1
		}
		return -1
	}
	return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), cmp.Compare(a.Source, b.Source),
		cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Model, b.Model))
}

// build makes the snapshot of builtin with the stored prices applied in
// precedence order: a stored price replaces a built-in (or weaker stored)
// price of the same model at the same provider whole, and a model the
// catalog does not list joins it. Rows that could not make a valid entry
// are left out and reported.
func build(builtin *ownkey.ModelCatalog, rows []ownkey.ModelPrice) (*snapshot, []error) {
	entries := slices.Clone(builtin.Entries())
	index := make(map[string]int, len(entries)+len(rows))
	sources := make(map[string]string, len(entries)+len(rows))
	for i, e := range entries {
		k := entryKey(e.Provider, e.Model)
		index[k] = i
		if priced(&entries[i]) {
			sources[k] = SourceBuiltin
		}
	}
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, precedence)
	var errs []error
	for _, r := range rows {
		if err := checkRow(r); err != nil {
			errs = append(errs, err)
			continue
		}
		k := entryKey(r.Provider, r.Model)
		if i, ok := index[k]; ok {
			entries[i].Prices = r.Prices
			// An import keeps the entry's canonical id (the built-in one
			// is written by hand); the operator may set it.
			if r.Canonical != "" && r.Source == ownkey.PriceFromAdmin {
				entries[i].Canonical = r.Canonical
			}
		} else {
			index[k] = len(entries)
			entries = append(entries, ownkey.ModelEntry{Provider: r.Provider, Model: r.Model,
				Maker: makerOf(r.Model, cmp.Or(r.Canonical, ownkey.Canonicalize(r.Model))), Canonical: r.Canonical, Prices: r.Prices})
		}
		sources[k] = string(r.Source)
	}
	catalog, err := ownkey.NewModelCatalog(entries)
	if err != nil {
		// checkRow should have caught it; serve the built-in prices
		// rather than none.
		errs = append(errs, err)
		s, _ := build(builtin, nil)
		return s, errs
	}
	return newSnapshot(catalog, sources), errs
}

// newSnapshot works out what Quote needs from catalog.
func newSnapshot(catalog *ownkey.ModelCatalog, sources map[string]string) *snapshot {
	s := &snapshot{catalog: catalog, cheapestPaid: map[string]*ownkey.ModelEntry{},
		priciest: map[string]*ownkey.ModelEntry{}, sources: sources}
	entries := catalog.Entries()
	for i := range entries {
		e := &entries[i]
		if !priced(e) || free(e) {
			continue
		}
		// Ties keep the first in catalog order, so the choice is stable.
		if c := s.cheapestPaid[e.Canonical]; c == nil || Total(e.Prices) < Total(c.Prices) {
			s.cheapestPaid[e.Canonical] = e
		}
		if p := s.priciest[e.Provider]; p == nil || Total(e.Prices) > Total(p.Prices) {
			s.priciest[e.Provider] = e
		}
		if s.priciestAll == nil || Total(e.Prices) > Total(s.priciestAll.Prices) {
			s.priciestAll = e
		}
	}
	return s
}

// checkRow refuses what NewModelCatalog would refuse, so that one bad row
// cannot take the whole catalog down.
func checkRow(r ownkey.ModelPrice) error {
	if p, ok := ownkey.LookupProvider(r.Provider); !ok || p.Kind != ownkey.KindModel {
		return fmt.Errorf("price of %q at %q: not a model provider", r.Model, r.Provider)
	}
	if err := CheckModelID(r.Model); err != nil {
		return fmt.Errorf("price at %s: %w", r.Provider, err)
	}
	if r.Canonical != "" && ownkey.Canonicalize(r.Canonical) != r.Canonical {
		return fmt.Errorf("price of %s/%s: canonical id %q is not in canonical form", r.Provider, r.Model, r.Canonical)
	}
	for _, k := range r.Prices.Kinds() {
		if k.PerMTok < 0 {
			return fmt.Errorf("price of %s/%s: negative", r.Provider, r.Model)
		}
	}
	return nil
}

// CheckModelID refuses a model id the catalog cannot hold: empty, longer
// than MaxModelIDLen, not printable ASCII, or without a canonical id.
func CheckModelID(model string) error {
	if model == "" || len(model) > MaxModelIDLen {
		return ownkey.Errorf(ownkey.EINVALID, "model id must be 1 to %d characters", MaxModelIDLen)
	}
	for i := 0; i < len(model); i++ {
		if model[i] < 0x20 || model[i] > 0x7e {
			return ownkey.Errorf(ownkey.EINVALID, "model id %q must be printable ASCII", model)
		}
	}
	if ownkey.Canonicalize(model) == "" {
		return ownkey.Errorf(ownkey.EINVALID, "model id %q names no model (nothing is left of it without its prefix and variant)", model)
	}
	return nil
}

// vendorMakers maps the vendor prefixes of aggregator and host ids to the
// maker names the catalog uses.
var vendorMakers = map[string]string{
	"meta-llama": "meta", "meta": "meta", "deepseek-ai": "deepseek", "deepseek": "deepseek", "qwen": "alibaba",
	"alibaba": "alibaba", "z-ai": "zai", "zai-org": "zai", "zai": "zai", "thudm": "zai", "mistralai": "mistral",
	"mistral": "mistral", "moonshotai": "moonshotai", "google": "google", "openai": "openai", "anthropic": "anthropic",
	"x-ai": "xai", "xai": "xai", "minimaxai": "minimax", "minimax": "minimax", "nvidia": "nvidia", "microsoft": "microsoft",
	"amazon": "amazon", "cohere": "cohere",
}

// makerOf guesses the maker of a model the built-in catalog does not list:
// the routing rule's maker of its canonical id, else its vendor prefix.
func makerOf(model, canonical string) string {
	if m := ownkey.MakerOf(canonical); m != "" {
		return m
	}
	vendor, _, ok := strings.Cut(model, "/")
	if !ok {
		vendor, _, ok = strings.Cut(model, ".") // Bedrock: anthropic.claude-…
		if !ok {
			return ""
		}
	}
	return vendorMakers[strings.ToLower(vendor)]
}
