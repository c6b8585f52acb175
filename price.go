package ownkey

import (
	"context"
	"time"
)

// PriceSource says where a stored model price came from. Built-in prices
// (Models) are not stored; the stored ones take precedence over them, the
// operator's over imported ones (package prices).
type PriceSource string

const (
	PriceFromLiteLLM    PriceSource = "import:litellm"    // ownkey prices import --format litellm
	PriceFromOpenRouter PriceSource = "import:openrouter" // ownkey prices import --format openrouter
	PriceFromAdmin      PriceSource = "admin"             // PUT /api/admin/prices/…, ownkey prices set
)

// Valid reports whether s is one of the sources above.
func (s PriceSource) Valid() bool {
	return s == PriceFromLiteLLM || s == PriceFromOpenRouter || s == PriceFromAdmin
}

// ModelPrice is one stored price: a model at a provider, from one source.
// A model unknown to the built-in catalog joins it with its price.
type ModelPrice struct {
	Provider string
	Model    string // the id the provider serves it under
	// Canonical names the model across providers; empty means
	// Canonicalize(Model) (or the built-in entry's canonical id).
	Canonical string
	Source    PriceSource
	Prices    Prices
	UpdatedAt time.Time
}

// PriceStore keeps the imported and operator-set prices (sqlstore,
// migration 0005). Every method is one transaction.
type PriceStore interface {
	// ModelPrices returns every stored price.
	ModelPrices(ctx context.Context) ([]ModelPrice, error)
	// ReplaceModelPrices makes rows the whole of source's prices: those of
	// source not in rows are deleted (an import is a snapshot of its
	// table). Each row's Source must be source.
	ReplaceModelPrices(ctx context.Context, source PriceSource, rows []ModelPrice) error
	// PutModelPrice inserts or replaces one price (by provider, model and
	// source).
	PutModelPrice(ctx context.Context, p ModelPrice) error
	// DeleteModelPrice removes one price; ENOTFOUND if there was none.
	DeleteModelPrice(ctx context.Context, provider, model string, source PriceSource) error
}

// PriceService is the price catalog as the HTTP layer sees it (package
// prices): the catalog in force and the operator's overrides.
type PriceService interface {
	// Catalog is the catalog in force (ActiveModels of this process).
	Catalog() *ModelCatalog
	// SetPrice stores the operator's price for model at provider and
	// applies it to the catalog here and, through the change feed, in the
	// other processes. It returns the entry as the catalog now has it.
	SetPrice(ctx context.Context, provider, model, canonical string, p Prices) (ModelEntry, error)
	// DeletePrice removes the operator's price: the imported or built-in
	// one applies again. ENOTFOUND if the operator set none.
	DeletePrice(ctx context.Context, provider, model string) error
}
