package prices_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/prices"
)

// usd is a price in USD per million tokens, written as decimal text.
func usd(s string) ownkey.Price {
	n, inexact, err := ownkey.ParseDecimal(s, 9)
	if err != nil || inexact {
		panic(s)
	}
	return ownkey.PriceOf(ownkey.NanoUSD(n))
}

func io(in, out string) ownkey.Prices { return ownkey.Prices{Input: usd(in), Output: usd(out)} }

// goldenCatalog is a small catalog, written for the PriceBook rules and
// independent of the built-in prices.
func goldenCatalog(t testing.TB) *ownkey.ModelCatalog {
	t.Helper()
	c, err := ownkey.NewModelCatalog([]ownkey.ModelEntry{
		{Provider: "openai", Model: "gpt-4o-mini", Maker: "openai", Prices: ownkey.Prices{Input: usd("0.15"), CachedInput: usd("0.075"), Output: usd("0.60")}},
		{Provider: "openai", Model: "gpt-4o", Maker: "openai", Prices: io("2.50", "10")},
		{Provider: "openai", Model: "gpt-4o-2024-05-13", Maker: "openai", Prices: io("5", "15")},
		{Provider: "google", Model: "gemini-2.5-pro", Maker: "google", Prices: io("1.25", "10")},
		{Provider: "vercel", Model: "google/gemini-2.5-pro", Maker: "google", Prices: io("1.30", "10")},
		{Provider: "openrouter", Model: "google/gemini-2.5-pro", Maker: "google", Prices: io("1.50", "12")},
		{Provider: "openrouter", Model: "google/gemini-2.5-pro:free", Maker: "google", Prices: io("0", "0")},
		{Provider: "openrouter", Model: "mystery/model-x:free", Maker: "mystery", Prices: io("0", "0")},
		{Provider: "groq", Model: "llama-3.1-8b-instant", Maker: "meta", Canonical: "llama-3.1-8b-instruct", Prices: io("0.05", "0.08")},
		{Provider: "groq", Model: "openai/gpt-oss-120b", Maker: "openai", Prices: io("0.15", "0.60")},
		{Provider: "groq", Model: "unpriced-model", Maker: "meta"},
		{Provider: "groq", Model: "half-priced", Maker: "meta", Prices: ownkey.Prices{Input: usd("9")}},
		{Provider: "anthropic", Model: "claude-opus-4-1", Maker: "anthropic", Prices: io("15", "75")},
		{Provider: "anthropic", Model: "claude-haiku-4-5", Maker: "anthropic", Prices: io("1", "5")},
		{Provider: "chutes", Model: "deepseek-ai/DeepSeek-V3-0324", Maker: "deepseek"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// logRecorder keeps the log records a test logger writes.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r)
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) warnings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.records {
		if r.Level == slog.LevelWarn {
			var b strings.Builder
			b.WriteString(r.Message)
			r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.Key + "=" + a.Value.String()); return true })
			out = append(out, b.String())
		}
	}
	return out
}

// TestQuoteGolden: the PriceBook rules, case by case, on goldenCatalog.
func TestQuoteGolden(t *testing.T) {
	book := prices.New(prices.Options{Builtin: goldenCatalog(t), Logger: slog.New(&logRecorder{})})
	zero := io("0", "0")
	cases := []struct {
		name                    string
		provider, served, asked string
		basis                   ownkey.PriceBasis
		billedAs                string // Quote.Provider/Model
		atCost, markupBase      ownkey.Prices
	}{
		// Canonical mapping: a dated id finds its model at the provider.
		{"dated served id", "openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini", ownkey.PriceCatalog, "openai/gpt-4o-mini",
			ownkey.Prices{Input: usd("0.15"), CachedInput: usd("0.075"), Output: usd("0.60")}, ownkey.Prices{Input: usd("0.15"), CachedInput: usd("0.075"), Output: usd("0.60")}},
		{"the model served wins over the one asked", "openai", "gpt-4o-mini-2024-07-18", "gpt-4o", ownkey.PriceCatalog, "openai/gpt-4o-mini",
			ownkey.Prices{Input: usd("0.15"), CachedInput: usd("0.075"), Output: usd("0.60")}, ownkey.Prices{Input: usd("0.15"), CachedInput: usd("0.075"), Output: usd("0.60")}},
		{"a snapshot priced apart", "openai", "gpt-4o-2024-05-13", "gpt-4o", ownkey.PriceCatalog, "openai/gpt-4o-2024-05-13", io("5", "15"), io("5", "15")},
		{"no model served: the one asked", "openai", "", "gpt-4o", ownkey.PriceCatalog, "openai/gpt-4o", io("2.50", "10"), io("2.50", "10")},
		{"case ignored", "openai", "GPT-4o", "", ownkey.PriceCatalog, "openai/gpt-4o", io("2.50", "10"), io("2.50", "10")},
		{"the provider's prefix on the model asked", "groq", "", "groq/llama-3.1-8b-instant", ownkey.PriceCatalog, "groq/llama-3.1-8b-instant", io("0.05", "0.08"), io("0.05", "0.08")},
		{"dated Claude id", "anthropic", "claude-haiku-4-5-20251001", "claude-haiku-4-5", ownkey.PriceCatalog, "anthropic/claude-haiku-4-5", io("1", "5"), io("1", "5")},
		// A dated id at the aggregator finds the paid entry before the free one.
		{"paid before free by canonical id", "openrouter", "google/gemini-2.5-pro-20250605", "", ownkey.PriceCatalog, "openrouter/google/gemini-2.5-pro", io("1.50", "12"), io("1.50", "12")},

		// Free model: nothing at cost, the markup on the lowest paid rate
		// of the same model anywhere (google's 1.25+10 beats vercel's
		// 1.30+10 and openrouter's 1.50+12).
		{"free variant", "openrouter", "google/gemini-2.5-pro:free", "google/gemini-2.5-pro:free", ownkey.PriceFreeModel, "google/gemini-2.5-pro", zero, io("1.25", "10")},
		{"free variant answered under its plain id", "openrouter", "google/gemini-2.5-pro", "google/gemini-2.5-pro:free", ownkey.PriceFreeModel, "google/gemini-2.5-pro", zero, io("1.25", "10")},
		{"free, no paid rate anywhere", "openrouter", "mystery/model-x:free", "", ownkey.PriceFreeNoPaidRate, "openrouter/mystery/model-x:free", zero, zero},

		// No price: the provider's most expensive model (gpt-oss-120b's
		// 0.15+0.60 beats 0.05+0.08), flagged; a partial price is none.
		{"listed without a price", "groq", "unpriced-model", "", ownkey.PriceFallback, "groq/openai/gpt-oss-120b", io("0.15", "0.60"), io("0.15", "0.60")},
		{"only an input price", "groq", "half-priced", "", ownkey.PriceFallback, "groq/openai/gpt-oss-120b", io("0.15", "0.60"), io("0.15", "0.60")},
		{"not listed", "groq", "brand-new-model", "brand-new-model", ownkey.PriceFallback, "groq/openai/gpt-oss-120b", io("0.15", "0.60"), io("0.15", "0.60")},
		{"another provider's model", "groq", "gpt-4o", "", ownkey.PriceFallback, "groq/openai/gpt-oss-120b", io("0.15", "0.60"), io("0.15", "0.60")},
		// A provider without any price: the catalog's most expensive.
		{"a provider without prices", "chutes", "deepseek-ai/DeepSeek-V3-0324", "", ownkey.PriceFallback, "anthropic/claude-opus-4-1", io("15", "75"), io("15", "75")},
		{"an unknown provider", "nope", "x", "", ownkey.PriceFallback, "anthropic/claude-opus-4-1", io("15", "75"), io("15", "75")},
	}
	for _, c := range cases {
		q := book.Quote(c.provider, c.served, c.asked)
		if q.Basis != c.basis || q.Provider+"/"+q.Model != c.billedAs || q.AtCost != c.atCost || q.MarkupBase != c.markupBase {
			t.Errorf("%s: Quote(%q, %q, %q) = %+v\nwant basis %s, billed as %s, at cost %+v, markup base %+v",
				c.name, c.provider, c.served, c.asked, q, c.basis, c.billedAs, c.atCost, c.markupBase)
		}
	}
}

// TestQuoteCharges: what the quotes come to with Quote.Charge, by hand.
func TestQuoteCharges(t *testing.T) {
	book := prices.New(prices.Options{Builtin: goldenCatalog(t), Logger: slog.New(&logRecorder{})})
	u := ownkey.Usage{PromptTokens: 1_000_000, CompletionTokens: 1_000_000, Source: ownkey.UsageFromProvider}
	cases := []struct {
		provider, served string
		atCost, charged  ownkey.NanoUSD
		basis            ownkey.PriceBasis
	}{
		// $2.50 + $10 = $12.50 at cost; 5% of it is $0.625.
		{"openai", "gpt-4o", 12_500_000_000, 625_000_000, ownkey.PriceCatalog},
		// Free: $0 at cost; 5% of google's $1.25 + $10 = $0.5625.
		{"openrouter", "google/gemini-2.5-pro:free", 0, 562_500_000, ownkey.PriceFreeModel},
		// Free with no paid rate: nothing, and the basis says why.
		{"openrouter", "mystery/model-x:free", 0, 0, ownkey.PriceFreeNoPaidRate},
		// Fallback: groq's dearest, $0.15 + $0.60 = $0.75; 5% is $0.0375.
		{"groq", "brand-new-model", 750_000_000, 37_500_000, ownkey.PriceFallback},
	}
	for _, c := range cases {
		ch := book.Quote(c.provider, c.served, "").Charge(u, ownkey.DefaultBYOKMarkup)
		if ch.AtCost != c.atCost || ch.Charged != c.charged || ch.Basis != c.basis {
			t.Errorf("%s/%s: %+v, want at cost %d, charged %d, basis %s", c.provider, c.served, ch, c.atCost, c.charged, c.basis)
		}
	}
}

// TestQuoteWarnsOncePerModel: a fallback is logged the first time for each
// provider and model, naming them and what the request was billed as.
func TestQuoteWarnsOncePerModel(t *testing.T) {
	logs := &logRecorder{}
	book := prices.New(prices.Options{Builtin: goldenCatalog(t), Logger: slog.New(logs)})
	for range 3 {
		book.Quote("groq", "brand-new-model", "brand-new-model")
		book.Quote("openai", "gpt-4o", "gpt-4o") // priced: no warning
	}
	book.Quote("groq", "another-new-model", "")
	book.Quote("cerebras", "brand-new-model", "")
	w := logs.warnings()
	if len(w) != 3 {
		t.Fatalf("%d warnings, want 3: %q", len(w), w)
	}
	for _, want := range []string{"provider=groq", "model_served=brand-new-model", "billed_as=groq/openai/gpt-oss-120b", "ownkey prices set"} {
		if !strings.Contains(w[0], want) {
			t.Errorf("warning %q lacks %q", w[0], want)
		}
	}
}

// TestQuoteDoesNotAllocate: the priced paths allocate nothing (Quote runs
// on every request).
func TestQuoteDoesNotAllocate(t *testing.T) {
	book := prices.New(prices.Options{Builtin: goldenCatalog(t), Logger: slog.New(&logRecorder{})})
	for _, c := range [][3]string{
		{"openai", "gpt-4o-mini", "gpt-4o-mini"},
		{"openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"openai", "gpt-4o-mini-2024-07-18", "gpt-4o"},
		{"openai", "GPT-4o", ""},
		{"groq", "", "groq/llama-3.1-8b-instant"},
		{"openrouter", "google/gemini-2.5-pro:free", ""},
		{"openrouter", "google/gemini-2.5-pro", "google/gemini-2.5-pro:free"},
	} {
		if a := testing.AllocsPerRun(100, func() { book.Quote(c[0], c[1], c[2]) }); a != 0 {
			t.Errorf("Quote%q: %v allocations", c, a)
		}
	}
}

// BenchmarkQuote prices requests on the built-in catalog as the chat path
// will: the model served as the provider reports it, and the model asked.
func BenchmarkQuote(b *testing.B) {
	book := prices.New(prices.Options{})
	for _, c := range []struct{ name, provider, served, asked string }{
		{"exact", "openai", "gpt-4o-mini", "gpt-4o-mini"},
		{"dated", "openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"aggregator", "openrouter", "anthropic/claude-sonnet-4.5", "anthropic/claude-sonnet-4.5"},
		{"free", "openrouter", "deepseek/deepseek-chat-v3-0324:free", "deepseek/deepseek-chat-v3-0324:free"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				book.Quote(c.provider, c.served, c.asked)
			}
		})
	}
}
