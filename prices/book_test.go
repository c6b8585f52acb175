package prices_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/changetest"
	"github.com/ownkey/ownkey/prices"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

// memStore is an ownkey.PriceStore in memory, for tests that need no
// database.
type memStore struct {
	mu   sync.Mutex
	rows []ownkey.ModelPrice
	now  int64
}

func (m *memStore) ModelPrices(context.Context) ([]ownkey.ModelPrice, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.rows), nil
}

// stamp gives each write a later time, as a clock would.
func (m *memStore) stamp(p *ownkey.ModelPrice) {
	m.now++
	p.UpdatedAt = time.Unix(1_700_000_000+m.now, 0).UTC()
}

func (m *memStore) ReplaceModelPrices(_ context.Context, source ownkey.PriceSource, rows []ownkey.ModelPrice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows = slices.DeleteFunc(m.rows, func(p ownkey.ModelPrice) bool { return p.Source == source })
	for _, r := range rows {
		if r.Source != source {
			return ownkey.Errorf(ownkey.EINVALID, "wrong source")
		}
		m.stamp(&r)
		m.rows = append(m.rows, r)
	}
	return nil
}

func (m *memStore) PutModelPrice(_ context.Context, p ownkey.ModelPrice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows = slices.DeleteFunc(m.rows, func(r ownkey.ModelPrice) bool {
		return r.Provider == p.Provider && r.Model == p.Model && r.Source == p.Source
	})
	m.stamp(&p)
	m.rows = append(m.rows, p)
	return nil
}

func (m *memStore) DeleteModelPrice(_ context.Context, provider, model string, source ownkey.PriceSource) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.rows)
	m.rows = slices.DeleteFunc(m.rows, func(r ownkey.ModelPrice) bool {
		return r.Provider == provider && r.Model == model && r.Source == source
	})
	if len(m.rows) == n {
		return ownkey.Errorf(ownkey.ENOTFOUND, "price not found")
	}
	return nil
}

// clock makes ownkey.Now step a second per call, so that the store's
// updated_at orders the writes of a test (restored at its end).
func clock(t *testing.T) {
	t.Helper()
	old := ownkey.Now
	var mu sync.Mutex
	now := time.Date(2026, 7, 24, 12, 0, 0, 0, time.UTC)
	ownkey.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	t.Cleanup(func() { ownkey.Now = old })
}

func row(provider, model string, source ownkey.PriceSource, in, out string) ownkey.ModelPrice {
	return ownkey.ModelPrice{Provider: provider, Model: model, Source: source, Prices: io(in, out)}
}

// TestPrecedence: per model and provider, the operator's price, then the
// newest import, then the built-in one; each change reaches the catalog,
// the routing table (Publish) and the other processes (the change feed).
func TestPrecedence(t *testing.T) {
	clock(t)
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		changes := &changetest.Recorder{}
		var published atomic.Pointer[ownkey.ModelCatalog]
		book := prices.New(prices.Options{Store: db, Changes: changes, Publish: func(c *ownkey.ModelCatalog) { published.Store(c) },
			Logger: slog.New(&logRecorder{})})
		if err := book.Load(ctx); err != nil {
			t.Fatal(err)
		}
		price := func(provider, model string) (ownkey.Prices, string) {
			t.Helper()
			for _, e := range book.Entries() {
				if e.Provider == provider && strings.EqualFold(e.Model, model) {
					if published.Load() != book.Catalog() {
						t.Fatal("the catalog in force was not published")
					}
					if src := book.Source(provider, strings.ToUpper(model)); src != e.Source {
						t.Fatalf("Source(%s, %s) = %q, Entries says %q", provider, model, src, e.Source)
					}
					return e.Prices, e.Source
				}
			}
			return ownkey.Prices{}, "absent"
		}
		want := func(what, provider, model string, p ownkey.Prices, source string) {
			t.Helper()
			if got, src := price(provider, model); got != p || src != source {
				t.Fatalf("%s: %s/%s is %+v from %q, want %+v from %q", what, provider, model, got, src, p, source)
			}
		}
		builtin := ownkey.Models
		e, _ := builtin.Lookup("groq", "llama-3.1-8b-instant")
		want("built-in", "groq", "llama-3.1-8b-instant", e.Prices, prices.SourceBuiltin)

		// LiteLLM's import, then OpenRouter's: the newer import wins where
		// both price a model.
		if err := book.Import(ctx, ownkey.PriceFromLiteLLM, []ownkey.ModelPrice{
			row("groq", "llama-3.1-8b-instant", ownkey.PriceFromLiteLLM, "0.06", "0.09"),
			row("openrouter", "google/gemini-2.5-pro", ownkey.PriceFromLiteLLM, "1.25", "10"),
			row("groq", "brand-new-model", ownkey.PriceFromLiteLLM, "0.5", "0.5"),
		}); err != nil {
			t.Fatal(err)
		}
		if err := book.Import(ctx, ownkey.PriceFromOpenRouter, []ownkey.ModelPrice{
			row("openrouter", "google/gemini-2.5-pro", ownkey.PriceFromOpenRouter, "1.30", "11"),
		}); err != nil {
			t.Fatal(err)
		}
		want("import over built-in", "groq", "llama-3.1-8b-instant", io("0.06", "0.09"), "import:litellm")
		want("the newer import", "openrouter", "google/gemini-2.5-pro", io("1.30", "11"), "import:openrouter")
		want("an imported model", "groq", "brand-new-model", io("0.5", "0.5"), "import:litellm")
		// The imported model joins the catalog routing reads.
		if e, ok := published.Load().Lookup("groq", "brand-new-model"); !ok || e.Canonical != "brand-new-model" {
			t.Fatalf("published catalog: %+v %v", e, ok)
		}

		// The operator's price wins over both; deleting it brings back
		// the import's. The model keeps the catalog's spelling.
		if _, err := book.SetPrice(ctx, "openrouter", "GOOGLE/gemini-2.5-pro", "", io("2", "20")); err != nil {
			t.Fatal(err)
		}
		want("the operator's", "openrouter", "google/gemini-2.5-pro", io("2", "20"), "admin")
		if q := book.Quote("openrouter", "google/gemini-2.5-pro", ""); q.AtCost != io("2", "20") {
			t.Fatalf("quote after the operator's price: %+v", q)
		}
		// A newer import does not override the operator.
		if err := book.Import(ctx, ownkey.PriceFromLiteLLM, []ownkey.ModelPrice{
			row("openrouter", "google/gemini-2.5-pro", ownkey.PriceFromLiteLLM, "1", "1"),
		}); err != nil {
			t.Fatal(err)
		}
		want("the operator's after an import", "openrouter", "google/gemini-2.5-pro", io("2", "20"), "admin")
		want("the import replaced whole", "groq", "llama-3.1-8b-instant", e.Prices, prices.SourceBuiltin)
		want("an imported model the new import lacks", "groq", "brand-new-model", ownkey.Prices{}, "absent")

		if err := book.DeletePrice(ctx, "openrouter", "google/gemini-2.5-pro"); err != nil {
			t.Fatal(err)
		}
		want("after the operator's is deleted", "openrouter", "google/gemini-2.5-pro", io("1", "1"), "import:litellm")
		if err := book.DeletePrice(ctx, "openrouter", "google/gemini-2.5-pro"); ownkey.ErrorCode(err) != ownkey.ENOTFOUND {
			t.Fatalf("second delete: %v", err)
		}

		// The operator may price a model the catalog lacks, and name its
		// canonical id.
		if e, err := book.SetPrice(ctx, "together", "org/Custom-Model-v2", "custom-model", io("0.1", "0.2")); err != nil ||
			e.Canonical != "custom-model" || e.Model != "org/Custom-Model-v2" {
			t.Fatalf("SetPrice of a new model: %+v %v", e, err)
		}
		for _, bad := range []struct {
			provider, model, canonical string
			p                          ownkey.Prices
		}{
			{"tavily", "x", "", io("1", "1")},
			{"nope", "x", "", io("1", "1")},
			{"groq", "", "", io("1", "1")},
			{"groq", "x\n", "", io("1", "1")},
			{"groq", ":free", "", io("1", "1")},
			{"groq", "x", "Not-Canonical", io("1", "1")},
			{"groq", "x", "", ownkey.Prices{Input: usd("1")}},
			{"groq", "x", "", ownkey.Prices{Input: usd("1"), Output: ownkey.PriceOf(-1)}},
		} {
			if _, err := book.SetPrice(ctx, bad.provider, bad.model, bad.canonical, bad.p); ownkey.ErrorCode(err) != ownkey.EINVALID {
				t.Errorf("SetPrice(%q, %q, %q, %+v): %v, want EINVALID", bad.provider, bad.model, bad.canonical, bad.p, err)
			}
		}

		// Every stored change was announced.
		n := 0
		for _, c := range changes.Changes() {
			if c.Kind != ownkey.ChangePrices {
				t.Fatalf("announced %+v", c)
			}
			n++
		}
		if n != 6 {
			t.Fatalf("%d changes announced, want 6", n)
		}
	})
}

// TestOtherReplicaReloads: a book that shares the store reloads when the
// change feed tells it, once per burst.
func TestOtherReplicaReloads(t *testing.T) {
	db := sqltest.NewSQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	writer := prices.New(prices.Options{Store: db, Logger: slog.New(&logRecorder{})})
	reader := prices.New(prices.Options{Store: db, ReloadInterval: 10 * time.Millisecond, Logger: slog.New(&logRecorder{})})
	done := make(chan struct{})
	go func() { defer close(done); reader.Run(ctx) }()

	if _, err := writer.SetPrice(ctx, "groq", "llama-3.1-8b-instant", "", io("7", "7")); err != nil {
		t.Fatal(err)
	}
	if q := reader.Quote("groq", "llama-3.1-8b-instant", ""); q.AtCost == io("7", "7") {
		t.Fatal("the other replica saw the price before it was told")
	}
	reader.Changed(ownkey.Change{Kind: ownkey.ChangeCredential}) // not about prices
	reader.Changed(ownkey.Change{Kind: ownkey.ChangePrices})
	reader.Changed(ownkey.Change{Kind: ownkey.ChangeAll})
	deadline := time.Now().Add(5 * time.Second)
	for reader.Quote("groq", "llama-3.1-8b-instant", "").AtCost != io("7", "7") {
		if time.Now().After(deadline) {
			t.Fatal("the other replica did not reload")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

// TestPublishedCatalogRoutes: with ownkey.SetActiveModels as Publish, an
// imported model is reached by auto-mapping.
func TestPublishedCatalogRoutes(t *testing.T) {
	t.Cleanup(func() { ownkey.SetActiveModels(nil) })
	has := func(id string) bool { return id == "deepinfra" }
	if _, err := ownkey.RouteModel("acme/brand-new-model", "", has); err == nil {
		t.Fatal("routed before the import")
	}
	book := prices.New(prices.Options{Store: &memStore{}, Publish: ownkey.SetActiveModels})
	if err := book.Import(context.Background(), ownkey.PriceFromLiteLLM, []ownkey.ModelPrice{
		row("deepinfra", "acme/brand-new-model", ownkey.PriceFromLiteLLM, "1", "2"),
	}); err != nil {
		t.Fatal(err)
	}
	r, err := ownkey.RouteModel("acme/brand-new-model", "", has)
	if err != nil || r.Provider.ID != "deepinfra" || r.How != "catalog" {
		t.Fatalf("route after the import: %+v %v", r, err)
	}
}
