// Package prices is the price catalog: the built-in list prices
// (ownkey.Models), the prices imported from LiteLLM's or OpenRouter's price
// table and the operator's own, in that order of precedence (admin, then
// the newest import, then built-in, per model and provider); and the
// PriceBook that finds the prices of a request (Book.Quote).
//
// The catalog is immutable: a change (an import, an operator's price, a
// change in another process) builds a new ownkey.ModelCatalog from the
// built-in one and the stored prices and swaps it in atomically, for
// pricing here and for routing (Options.Publish, ownkey.SetActiveModels):
// imported models can be reached by auto-mapping.
//
// Other processes sharing the store learn of a change through the change
// feed (ownkey.ChangePrices, and ChangeAll after the feed may have missed
// some): Book.Changed reloads, at most once per ReloadInterval.
package prices

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ownkey/ownkey"
)

// Options configure a Book. Zero values take the defaults.
type Options struct {
	// Store holds the imported and operator-set prices; nil means the
	// built-in prices only.
	Store ownkey.PriceStore
	// Changes announces this process's changes to the others.
	Changes ownkey.ChangePublisher
	// Publish receives every catalog the book builds: cmd/ownkey passes
	// ownkey.SetActiveModels, so that routing sees imported models.
	Publish func(*ownkey.ModelCatalog)
	// Builtin is the catalog the stored prices apply to (ownkey.Models).
	Builtin *ownkey.ModelCatalog
	// ReloadInterval is the least time between two reloads the change
	// feed asks for (default 1 s): a burst of changes costs one reload.
	ReloadInterval time.Duration
	Logger         *slog.Logger
}

// Book is the price catalog and the ownkey.PriceBook. Quote is safe for
// concurrent use and takes no lock.
type Book struct {
	opts Options
	snap atomic.Pointer[snapshot]
	// loadMu orders loads, so that an older read of the store never
	// replaces a newer one.
	loadMu sync.Mutex
	// reload wakes Run; capacity 1, so a burst of changes is one reload.
	reload chan struct{}

	warnMu sync.Mutex
	warned map[string]bool
}

var (
	_ ownkey.PriceBook    = (*Book)(nil)
	_ ownkey.PriceService = (*Book)(nil)
)

// maxWarned bounds the (provider, model) pairs the book remembers having
// warned about: clients choose model names, and memory must not grow with
// them. Beyond it, each unpriced model is logged at every request (Debug).
const maxWarned = 4096

// New returns a book with the built-in prices; Load reads the stored ones.
func New(opts Options) *Book {
	if opts.Builtin == nil {
		opts.Builtin = ownkey.Models
	}
	if opts.Changes == nil {
		opts.Changes = ownkey.NoChanges{}
	}
	if opts.ReloadInterval <= 0 {
		opts.ReloadInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	b := &Book{opts: opts, reload: make(chan struct{}, 1), warned: map[string]bool{}}
	s, _ := build(opts.Builtin, nil)
	b.swap(s)
	return b
}

// Load reads the stored prices and swaps in the catalog they make. Rows
// that cannot be used are logged and left out.
func (b *Book) Load(ctx context.Context) error {
	if b.opts.Store == nil {
		return nil
	}
	b.loadMu.Lock()
	defer b.loadMu.Unlock()
	rows, err := b.opts.Store.ModelPrices(ctx)
	if err != nil {
		return err
	}
	s, errs := build(b.opts.Builtin, rows)
	for _, err := range errs {
		b.opts.Logger.Warn("prices: a stored price was left out of the catalog", "err", err.Error())
	}
	b.swap(s)
	return nil
}

func (b *Book) swap(s *snapshot) {
	b.snap.Store(s)
	if b.opts.Publish != nil {
		b.opts.Publish(s.catalog)
	}
}

// Catalog is the catalog in force.
func (b *Book) Catalog() *ownkey.ModelCatalog { return b.snap.Load().catalog }

// Changed takes a change from the feed: a change of prices, or changes
// that may have been missed, make Run reload. It never blocks.
func (b *Book) Changed(c ownkey.Change) {
	if c.Kind == ownkey.ChangePrices || c.Kind == ownkey.ChangeAll {
		select {
		case b.reload <- struct{}{}:
		default: // a reload is pending already
		}
	}
}

// Run reloads when Changed asks, at most once per ReloadInterval, until
// ctx ends. A failed reload keeps the catalog in force and is tried again
// at the next interval.
func (b *Book) Run(ctx context.Context) {
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.reload:
		case <-retry.C:
		}
		if err := b.Load(ctx); err != nil && ctx.Err() == nil {
			b.opts.Logger.Warn("prices: reloading the price catalog failed; the one in force stays", "err", err.Error())
			retry.Reset(b.opts.ReloadInterval)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(b.opts.ReloadInterval):
		}
	}
}

// Entry is a catalog entry with where its price came from: SourceBuiltin,
// an ownkey.PriceSource, or "" (no price).
type Entry struct {
	ownkey.ModelEntry
	Source string
}

// Entries lists the catalog in force with the source of each price.
func (b *Book) Entries() []Entry {
	s := b.snap.Load()
	es := s.catalog.Entries()
	out := make([]Entry, len(es))
	for i, e := range es {
		out[i] = Entry{ModelEntry: e, Source: s.sources[entryKey(e.Provider, e.Model)]}
	}
	return out
}

// Source says where the price in force of model at provider came from:
// SourceBuiltin, an ownkey.PriceSource, or "" (no price, or no such entry).
func (b *Book) Source(provider, model string) string {
	return b.snap.Load().sources[entryKey(provider, model)]
}

// SetPrice stores the operator's price of model at provider (both input
// and output required) and applies it here and, through the change feed,
// in the other processes. A model the catalog lists (ignoring case) keeps
// the catalog's spelling; canonical, if given, sets its canonical id.
func (b *Book) SetPrice(ctx context.Context, provider, model, canonical string, p ownkey.Prices) (ownkey.ModelEntry, error) {
	if b.opts.Store == nil {
		return ownkey.ModelEntry{}, ownkey.Errorf(ownkey.EINTERNAL, "prices: no store")
	}
	model = b.spelling(provider, model)
	row := ownkey.ModelPrice{Provider: provider, Model: model, Canonical: canonical, Source: ownkey.PriceFromAdmin, Prices: p}
	if err := CheckPrice(row); err != nil {
		return ownkey.ModelEntry{}, err
	}
	if err := b.opts.Store.PutModelPrice(ctx, row); err != nil {
		return ownkey.ModelEntry{}, err
	}
	if err := b.changed(ctx); err != nil {
		return ownkey.ModelEntry{}, err
	}
	e, _ := b.Catalog().Lookup(provider, model)
	return *e, nil
}

// DeletePrice removes the operator's price of model at provider: the
// imported or built-in price applies again. ENOTFOUND if there was none.
func (b *Book) DeletePrice(ctx context.Context, provider, model string) error {
	if b.opts.Store == nil {
		return ownkey.Errorf(ownkey.ENOTFOUND, "no price set for %s at %s", model, provider)
	}
	if err := b.opts.Store.DeleteModelPrice(ctx, provider, b.spelling(provider, model), ownkey.PriceFromAdmin); err != nil {
		if ownkey.ErrorCode(err) == ownkey.ENOTFOUND {
			return ownkey.Errorf(ownkey.ENOTFOUND, "no price was set for %q at %s by the operator", model, provider)
		}
		return err
	}
	return b.changed(ctx)
}

// Import stores rows as the whole of source's prices (the previous import
// of that source goes) and applies them.
func (b *Book) Import(ctx context.Context, source ownkey.PriceSource, rows []ownkey.ModelPrice) error {
	if b.opts.Store == nil {
		return ownkey.Errorf(ownkey.EINTERNAL, "prices: no store")
	}
	if err := b.opts.Store.ReplaceModelPrices(ctx, source, rows); err != nil {
		return err
	}
	return b.changed(ctx)
}

// changed follows a change this process stored: it reloads, and tells the
// other processes. The change stands even if the announcement fails: the
// others reload when their feed reconnects.
func (b *Book) changed(ctx context.Context) error {
	if err := b.Load(ctx); err != nil {
		return err
	}
	if err := ownkey.Announce(ctx, b.opts.Changes, ownkey.Change{Kind: ownkey.ChangePrices}); err != nil {
		b.opts.Logger.Warn("prices: announcing a price change to other replicas failed; they apply it when their change feed reconnects",
			"err", err.Error())
	}
	return nil
}

// spelling is model as the catalog spells it at provider, if it lists it.
func (b *Book) spelling(provider, model string) string {
	if e, ok := b.Catalog().Lookup(provider, model); ok {
		return e.Model
	}
	return model
}

// CheckPrice refuses a price the operator cannot set: an unknown or
// non-model provider, a model id the catalog cannot hold, a canonical id
// not in canonical form, a missing input or output price, a negative one.
func CheckPrice(r ownkey.ModelPrice) error {
	if p, ok := ownkey.LookupProvider(r.Provider); !ok || p.Kind != ownkey.KindModel {
		return &ownkey.Error{Code: ownkey.EINVALID, Param: "provider",
			Message: "unknown model provider; one of: " + strings.Join(ownkey.ModelProviderIDs(), ", ")}
	}
	if err := CheckModelID(r.Model); err != nil {
		return err
	}
	if r.Canonical != "" && ownkey.Canonicalize(r.Canonical) != r.Canonical {
		return ownkey.FieldError("canonical", "canonical id %q is not in canonical form (%q)", r.Canonical, ownkey.Canonicalize(r.Canonical))
	}
	if !r.Prices.Input.Known || !r.Prices.Output.Known {
		return ownkey.FieldError("input", "both the input and the output price are required")
	}
	for _, k := range r.Prices.Kinds() {
		if k.PerMTok < 0 {
			return ownkey.FieldError("input", "prices must not be negative")
		}
	}
	return nil
}
