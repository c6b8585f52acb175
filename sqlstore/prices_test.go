package sqlstore_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

func modelPrices(t *testing.T, db *sqlstore.DB) []ownkey.ModelPrice {
	t.Helper()
	ps, err := db.ModelPrices(ctx)
	if err != nil {
		t.Fatalf("ModelPrices: %v", err)
	}
	slices.SortFunc(ps, func(a, b ownkey.ModelPrice) int {
		return strings.Compare(a.Provider+"/"+a.Model+"/"+string(a.Source), b.Provider+"/"+b.Model+"/"+string(b.Source))
	})
	return ps
}

func TestModelPrices(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		wantEqual(t, "empty", modelPrices(t, db), []ownkey.ModelPrice(nil))

		// Unknown (NULL) and zero (free) prices both read back as they were.
		free := ownkey.ModelPrice{Provider: "openrouter", Model: "google/gemini-2.5-pro:free", Source: ownkey.PriceFromOpenRouter,
			Prices: ownkey.Prices{Input: ownkey.PriceOf(0), Output: ownkey.PriceOf(0)}, UpdatedAt: t0}
		paid := ownkey.ModelPrice{Provider: "openrouter", Model: "google/gemini-2.5-pro", Source: ownkey.PriceFromOpenRouter,
			Prices: ownkey.Prices{Input: ownkey.PriceOf(1_250_000_000), CachedInput: ownkey.PriceOf(310_000_000),
				CacheWrite: ownkey.PriceOf(1_625_000_000), Output: ownkey.PriceOf(10_000_000_000), Reasoning: ownkey.PriceOf(1)},
			UpdatedAt: t0}
		if err := db.ReplaceModelPrices(ctx, ownkey.PriceFromOpenRouter, []ownkey.ModelPrice{free, paid}); err != nil {
			t.Fatal(err)
		}
		free.UpdatedAt, paid.UpdatedAt = stored(t0), stored(t0)
		wantEqual(t, "after import", modelPrices(t, db), []ownkey.ModelPrice{paid, free})

		// The operator's price sits beside the import's; a second put
		// replaces it.
		admin := ownkey.ModelPrice{Provider: "openrouter", Model: "google/gemini-2.5-pro", Canonical: "gemini-2.5-pro",
			Source: ownkey.PriceFromAdmin, Prices: ownkey.Prices{Input: ownkey.PriceOf(1), Output: ownkey.PriceOf(2)}, UpdatedAt: t0}
		if err := db.PutModelPrice(ctx, admin); err != nil {
			t.Fatal(err)
		}
		admin.Prices.Output = ownkey.PriceOf(3)
		if err := db.PutModelPrice(ctx, admin); err != nil {
			t.Fatal(err)
		}
		admin.UpdatedAt = stored(t0)
		wantEqual(t, "with the operator's", modelPrices(t, db), []ownkey.ModelPrice{admin, paid, free})

		// A new import replaces only its own source's rows, all of them.
		other := ownkey.ModelPrice{Provider: "groq", Model: "llama-3.1-8b-instant", Source: ownkey.PriceFromOpenRouter,
			Prices: ownkey.Prices{Input: ownkey.PriceOf(50_000_000), Output: ownkey.PriceOf(80_000_000)}}
		if err := db.ReplaceModelPrices(ctx, ownkey.PriceFromOpenRouter, []ownkey.ModelPrice{other}); err != nil {
			t.Fatal(err)
		}
		got := modelPrices(t, db)
		if len(got) != 2 || got[0].Model != other.Model || got[0].Prices != other.Prices || got[0].UpdatedAt.IsZero() {
			t.Fatalf("after the second import: %+v", got)
		}
		wantEqual(t, "the operator's kept", got[1], admin)

		wantCode(t, db.DeleteModelPrice(ctx, "openrouter", "google/gemini-2.5-pro", ownkey.PriceFromLiteLLM), ownkey.ENOTFOUND)
		if err := db.DeleteModelPrice(ctx, "openrouter", "google/gemini-2.5-pro", ownkey.PriceFromAdmin); err != nil {
			t.Fatal(err)
		}
		wantCode(t, db.DeleteModelPrice(ctx, "openrouter", "google/gemini-2.5-pro", ownkey.PriceFromAdmin), ownkey.ENOTFOUND)
		wantEqual(t, "after delete", len(modelPrices(t, db)), 1)
	})
}

func TestReplaceModelPricesIsAtomic(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		// More rows than one INSERT holds.
		var rows []ownkey.ModelPrice
		for i := range 450 {
			rows = append(rows, ownkey.ModelPrice{Provider: "deepinfra", Model: fmt.Sprintf("m-%d", i),
				Source: ownkey.PriceFromLiteLLM, Prices: ownkey.Prices{Input: ownkey.PriceOf(ownkey.NanoUSD(i)), Output: ownkey.PriceOf(1)}})
		}
		if err := db.ReplaceModelPrices(ctx, ownkey.PriceFromLiteLLM, rows); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "rows", len(modelPrices(t, db)), 450)

		// A bad row anywhere leaves the previous import whole.
		bad := slices.Clone(rows[:300])
		bad[250].Prices.Output = ownkey.PriceOf(-1)
		wantCode(t, db.ReplaceModelPrices(ctx, ownkey.PriceFromLiteLLM, bad), ownkey.EINVALID)
		dup := []ownkey.ModelPrice{rows[0], rows[0]}
		wantCode(t, db.ReplaceModelPrices(ctx, ownkey.PriceFromLiteLLM, dup), ownkey.ECONFLICT)
		wantEqual(t, "rows after refused imports", len(modelPrices(t, db)), 450)

		// Rows must be of the source they replace; sources are known ones.
		wantCode(t, db.ReplaceModelPrices(ctx, ownkey.PriceFromOpenRouter, rows[:1]), ownkey.EINVALID)
		wantCode(t, db.ReplaceModelPrices(ctx, "import:other", nil), ownkey.EINVALID)
		wantCode(t, db.PutModelPrice(ctx, ownkey.ModelPrice{Provider: "groq", Model: "x", Source: "builtin"}), ownkey.EINVALID)
		wantCode(t, db.PutModelPrice(ctx, ownkey.ModelPrice{Provider: "groq", Model: "", Source: ownkey.PriceFromAdmin}), ownkey.EINVALID)

		// An empty import removes the source's prices.
		if err := db.ReplaceModelPrices(ctx, ownkey.PriceFromLiteLLM, nil); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "rows after an empty import", len(modelPrices(t, db)), 0)
	})
}
