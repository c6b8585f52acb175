package ownkey

import (
	"slices"
	"strings"
	"testing"
)

func TestCanonicalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"gemini-2.5-pro", "gemini-2.5-pro"},
		{"google/gemini-2.5-pro", "gemini-2.5-pro"},
		{"google/gemini-2.5-pro:free", "gemini-2.5-pro"},
		{"openai/gpt-4o:online", "gpt-4o"},
		{"gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"openai/gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
		{"anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"},
		{"claude-3-7-sonnet-latest", "claude-3-7-sonnet"},
		{"claude-3-7-sonnet-20250219", "claude-3-7-sonnet"},
		{"claude-sonnet-4@20250514", "claude-sonnet-4"},           // Vertex
		{"claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet-v2"}, // Vertex
		{"gemini-2.0-flash-001", "gemini-2.0-flash-001"},          // a version, not a date
		{"accounts/fireworks/models/gpt-oss-120b", "gpt-oss-120b"},
		{"Pro/deepseek-ai/DeepSeek-R1", "deepseek-r1"},
		{"meta-llama/Llama-3.3-70B-Instruct", "llama-3.3-70b-instruct"},
		{"deepseek-ai/DeepSeek-V3-0324", "deepseek-v3-0324"},                    // -MMDD stays
		{"Qwen/Qwen3-235B-A22B-Instruct-2507", "qwen3-235b-a22b-instruct-2507"}, // -YYMM stays
		{"gpt-4o-2024-13-01", "gpt-4o-2024-13-01"},                              // no month 13
		{"model-12345678", "model-12345678"},                                    // not a date
		{"gemini-2.5-pro-20250101-latest", "gemini-2.5-pro"},
		{"GPT-4O", "gpt-4o"},
		{"gpt-4.1", "gpt-4.1"}, // dots stay outside claude
		{"x-latest-2024-07-18-latest", "x"},
		{"latest", "latest"},
		{"-latest", "-latest"},
		{"", ""},
		{"openai/", ""},
		{"-20250101", "-20250101"}, // a date alone is not a suffix
		{strings.Repeat("x", 200) + "-2024-07-18", strings.Repeat("x", 200)},
	}
	for _, c := range cases {
		if got := Canonicalize(c.in); got != c.want {
			t.Errorf("Canonicalize(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := Canonicalize(c.want); got != c.want {
			t.Errorf("Canonicalize is not idempotent on %q: %q", c.want, got)
		}
	}
}

// TestModelsKeepTheModelLists: the catalog holds the model lists that
// ModelCatalog held as a map before it carried makers and prices, with the
// same models in the same order, plus the main models of the providers
// that had none (openrouter, aws, the three azure ones, vercel), added with
// the built-in prices, and nothing for other providers.
func TestModelsKeepTheModelLists(t *testing.T) {
	want := map[string][]string{
		"openai": {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-5", "gpt-5-mini", "gpt-5-nano",
			"o3", "o3-mini", "o4-mini", "gpt-oss-120b"},
		"openrouter": {"openai/gpt-4o", "openai/gpt-4o-mini", "openai/gpt-5", "anthropic/claude-sonnet-4.5",
			"anthropic/claude-opus-4.5", "anthropic/claude-haiku-4.5", "google/gemini-2.5-pro", "google/gemini-2.5-flash",
			"deepseek/deepseek-chat-v3-0324:free", "meta-llama/llama-3.3-70b-instruct:free"},
		"aws": {"global.anthropic.claude-sonnet-4-5-20250929-v1:0", "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
			"global.anthropic.claude-haiku-4-5-20251001-v1:0", "us.anthropic.claude-haiku-4-5-20251001-v1:0",
			"global.anthropic.claude-opus-4-5-20251101-v1:0", "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
			"amazon.nova-pro-v1:0", "amazon.nova-lite-v1:0", "amazon.nova-micro-v1:0",
			"us.meta.llama3-3-70b-instruct-v1:0", "openai.gpt-oss-120b-1:0"},
		"azure":                   {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-5", "gpt-5-mini", "o3", "o4-mini"},
		"azure-responses":         {"gpt-4o", "gpt-4.1", "gpt-5", "gpt-5-mini", "o3", "o4-mini"},
		"azure-anthropic-foundry": {"claude-opus-4-1", "claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5"},
		"vercel": {"openai/gpt-4o", "openai/gpt-4o-mini", "openai/gpt-5", "anthropic/claude-sonnet-4.5",
			"anthropic/claude-sonnet-4", "google/gemini-2.5-pro", "google/gemini-2.5-flash", "meta/llama-3.3-70b",
			"deepseek/deepseek-v3"},
		"openai-responses": {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-5", "gpt-5-mini", "o3", "o4-mini"},
		"anthropic": {"claude-opus-4-1", "claude-opus-4-5", "claude-sonnet-4-5", "claude-sonnet-4-0", "claude-haiku-4-5",
			"claude-3-7-sonnet-latest", "claude-3-5-haiku-latest"},
		"google": {"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.0-flash", "gemini-3-pro-preview"},
		"groq": {"llama-3.3-70b-versatile", "llama-3.1-8b-instant", "openai/gpt-oss-120b", "openai/gpt-oss-20b",
			"moonshotai/kimi-k2-instruct", "qwen/qwen3-32b", "meta-llama/llama-4-scout-17b-16e-instruct"},
		"cerebras":    {"llama-3.3-70b", "llama3.1-8b", "gpt-oss-120b", "qwen-3-32b", "qwen-3-235b-a22b-instruct-2507"},
		"sambanova":   {"Meta-Llama-3.3-70B-Instruct", "Meta-Llama-3.1-8B-Instruct", "DeepSeek-V3.1", "DeepSeek-R1", "gpt-oss-120b"},
		"zai":         {"glm-4.6", "glm-4.7", "glm-4.5", "glm-4.5-air"},
		"nvidia":      {"meta/llama-3.3-70b-instruct", "nvidia/llama-3.1-nemotron-70b-instruct", "deepseek-ai/deepseek-r1"},
		"deepinfra":   {"meta-llama/Llama-3.3-70B-Instruct", "deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-32B"},
		"together":    {"meta-llama/Llama-3.3-70B-Instruct-Turbo", "deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-235B-A22B-Instruct-2507-tput"},
		"fireworks":   {"accounts/fireworks/models/llama-v3p3-70b-instruct", "accounts/fireworks/models/gpt-oss-120b", "accounts/fireworks/models/deepseek-v3"},
		"hyperbolic":  {"meta-llama/Meta-Llama-3.1-70B-Instruct", "deepseek-ai/DeepSeek-V3"},
		"siliconflow": {"deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-32B", "Pro/deepseek-ai/DeepSeek-R1"},
		"chutes":      {"deepseek-ai/DeepSeek-V3-0324", "Qwen/Qwen3-32B", "zai-org/GLM-4.6"},
		"novita":      {"deepseek/deepseek-v3-0324", "meta-llama/llama-3.3-70b-instruct"},
		"gmicloud":    {"deepseek-ai/DeepSeek-V3-0324", "zai-org/GLM-4.6"},
		"meganova":    {"Qwen/Qwen3-235B-A22B-Instruct-2507", "zai-org/GLM-4.7-Flash"},
		"akash":       {"meta-llama/Llama-3.3-70B-Instruct", "MiniMaxAI/MiniMax-M2.5"},
		"morpheus":    {"kimi-k2.5", "glm-5", "gpt-oss-120b"},
	}
	total := 0
	for _, p := range Catalog {
		var got []string
		for _, e := range Models.OfProvider(p.ID) {
			if e.Provider != p.ID {
				t.Errorf("OfProvider(%s) has an entry of %s", p.ID, e.Provider)
			}
			got = append(got, e.Model)
		}
		if !slices.Equal(got, want[p.ID]) {
			t.Errorf("%s: models %q, want %q", p.ID, got, want[p.ID])
		}
		total += len(got)
	}
	if n := len(Models.Entries()); n != total {
		t.Errorf("Entries: %d, want %d", n, total)
	}
}

// TestModelsEntriesAreConsistent: every entry names its maker, its
// canonical id is in canonical form, and the maker agrees with the routing
// rule's maker wherever that rule names one.
func TestModelsEntriesAreConsistent(t *testing.T) {
	for _, e := range Models.Entries() {
		if e.Maker == "" || e.Canonical == "" || Canonicalize(e.Canonical) != e.Canonical {
			t.Errorf("%s/%s: maker %q canonical %q", e.Provider, e.Model, e.Maker, e.Canonical)
		}
		for _, id := range []string{e.Model, e.Canonical} {
			if m := MakerOf(id); m != "" && m != e.Maker {
				t.Errorf("%s/%s: maker %q, MakerOf(%q) = %q", e.Provider, e.Model, e.Maker, id, m)
			}
		}
	}
}

// unpricedBuiltins are the built-in models without a public per-token list
// price that could be checked (model_prices.go): billed at the fallback,
// flagged, until the operator adds a price. Every other built-in model has
// its input and output price.
var unpricedBuiltins = map[string][]string{
	"openai":      {"gpt-oss-120b"},
	"chutes":      {"deepseek-ai/DeepSeek-V3-0324", "Qwen/Qwen3-32B", "zai-org/GLM-4.6"},
	"siliconflow": {"deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-32B", "Pro/deepseek-ai/DeepSeek-R1"},
	"gmicloud":    {"zai-org/GLM-4.6"},
	"meganova":    {"Qwen/Qwen3-235B-A22B-Instruct-2507", "zai-org/GLM-4.7-Flash"},
	"akash":       {"meta-llama/Llama-3.3-70B-Instruct", "MiniMaxAI/MiniMax-M2.5"},
	"morpheus":    {"kimi-k2.5", "glm-5", "gpt-oss-120b"},
}

// TestBuiltinPrices: every built-in model is priced (input and output
// known) but the documented exceptions, every price row names a built-in
// model, and a few prices read as written.
func TestBuiltinPrices(t *testing.T) {
	for _, e := range Models.Entries() {
		priced := e.Prices.Input.Known && e.Prices.Output.Known
		if unpriced := slices.Contains(unpricedBuiltins[e.Provider], e.Model); priced == unpriced {
			t.Errorf("%s/%s: priced %v, listed as unpriced %v: %+v", e.Provider, e.Model, priced, unpriced, e.Prices)
		}
		if !priced && e.Prices != (Prices{}) {
			t.Errorf("%s/%s: a partial price: %+v", e.Provider, e.Model, e.Prices)
		}
	}
	for _, l := range builtinPriceLists {
		if _, ok := LookupProvider(l.provider); !ok || len(l.taken) != len("2006-01-02") || l.source == "" {
			t.Errorf("price list %q: taken %q source %q", l.provider, l.taken, l.source)
		}
		for _, p := range l.prices {
			if e, ok := Models.Lookup(l.provider, p.model); !ok || e.Model != p.model {
				t.Errorf("%s/%s: priced but not a built-in model", l.provider, p.model)
			}
		}
	}
	for _, c := range []struct {
		provider, model string
		want            Prices
	}{
		{"openai", "gpt-4o-mini", Prices{Input: PriceOf(150_000_000), CachedInput: PriceOf(75_000_000), Output: PriceOf(600_000_000)}},
		{"anthropic", "claude-sonnet-4-5", Prices{Input: PriceOf(3_000_000_000), CachedInput: PriceOf(300_000_000),
			CacheWrite: PriceOf(3_750_000_000), Output: PriceOf(15_000_000_000)}},
		{"aws", "us.anthropic.claude-haiku-4-5-20251001-v1:0", Prices{Input: PriceOf(1_100_000_000), CachedInput: PriceOf(110_000_000),
			CacheWrite: PriceOf(1_375_000_000), Output: PriceOf(5_500_000_000)}},
		{"azure", "gpt-4o-mini", Prices{Input: PriceOf(165_000_000), CachedInput: PriceOf(75_000_000), Output: PriceOf(660_000_000)}},
		{"nvidia", "meta/llama-3.3-70b-instruct", Prices{Input: PriceOf(0), Output: PriceOf(0)}},
		{"openrouter", "deepseek/deepseek-chat-v3-0324:free", Prices{Input: PriceOf(0), Output: PriceOf(0)}},
	} {
		e, ok := Models.Lookup(c.provider, c.model)
		switch {
		case !ok && c.want != (Prices{}):
			t.Errorf("%s/%s: not found", c.provider, c.model)
		case ok && e.Prices != c.want:
			t.Errorf("%s/%s: %+v, want %+v", c.provider, c.model, e.Prices, c.want)
		}
	}
	if taken, source, ok := BuiltinPriceSource("groq"); !ok || taken != "2026-07-24" || source == "" {
		t.Errorf("BuiltinPriceSource(groq) = %q %q %v", taken, source, ok)
	}
	if _, _, ok := BuiltinPriceSource("chutes"); ok {
		t.Error("chutes has no built-in prices")
	}
}

func providersOf(entries []*ModelEntry) []string {
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.Provider)
	}
	return ids
}

func TestModelCatalogLookups(t *testing.T) {
	serving := []struct {
		model string
		want  []string
	}{
		{"gpt-oss-120b", []string{"openai", "sambanova", "cerebras", "morpheus"}},
		{"GPT-OSS-120B", []string{"openai", "sambanova", "cerebras", "morpheus"}},
		{"deepseek-ai/DeepSeek-V3", []string{"siliconflow", "deepinfra", "hyperbolic", "together"}},
		{"deepseek-ai/deepseek-v3", []string{"siliconflow", "deepinfra", "hyperbolic", "together"}},
		{"\u212Aimi-k2.5", []string{"morpheus"}}, // Kelvin sign: strings.EqualFold matches it to k
		{"kimi-k2.5\u00e9", nil},
		{"\xffgpt-4o", nil},
		{"gpt-4o-mini-2024-07-18", nil}, // routing needs the id the provider knows
		{"", nil},
		{strings.Repeat("x", 300), nil},
	}
	for _, c := range serving {
		if got := providersOf(Models.Serving(c.model)); !slices.Equal(got, c.want) {
			t.Errorf("Serving(%q) = %q, want %q", c.model, got, c.want)
		}
	}

	// What the lookups return is clipped: a caller's append copies instead
	// of writing into the catalog.
	for name, n := range map[string][2]int{
		"Serving":     {len(Models.Serving("gpt-oss-120b")), cap(Models.Serving("gpt-oss-120b"))},
		"ByCanonical": {len(Models.ByCanonical("llama-3.3-70b-instruct")), cap(Models.ByCanonical("llama-3.3-70b-instruct"))},
		"OfProvider":  {len(Models.OfProvider("groq")), cap(Models.OfProvider("groq"))},
		"Entries":     {len(Models.Entries()), cap(Models.Entries())},
	} {
		if n[0] != n[1] {
			t.Errorf("%s: len %d cap %d", name, n[0], n[1])
		}
	}

	if e, ok := Models.Lookup("sambanova", "meta-llama-3.3-70b-instruct"); !ok || e.Model != "Meta-Llama-3.3-70B-Instruct" || e.Maker != "meta" || e.Canonical != "llama-3.3-70b-instruct" {
		t.Errorf("Lookup sambanova: %+v %v", e, ok)
	}
	if e, ok := Models.Lookup("groq", "openai/gpt-oss-120b"); !ok || e.Maker != "openai" || e.Canonical != "gpt-oss-120b" {
		t.Errorf("Lookup groq: %+v %v", e, ok)
	}
	for _, c := range [][2]string{{"openai", "llama-3.3-70b"}, {"nope", "gpt-4o"}, {"groq", "gpt-oss-120b"}} {
		if e, ok := Models.Lookup(c[0], c[1]); ok {
			t.Errorf("Lookup(%q, %q) = %+v", c[0], c[1], e)
		}
	}

	canonical := []struct {
		id   string
		want []string
	}{
		{"gpt-4o-mini-2024-07-18", []string{"openai", "openai-responses", "openrouter", "azure", "vercel"}},
		{"openai/gpt-oss-120b", []string{"openai", "aws", "groq", "sambanova", "cerebras", "morpheus", "fireworks"}},
		{"google/gemini-2.5-pro:free", []string{"openrouter", "vercel", "google"}},
		{"anthropic/claude-sonnet-4", []string{"anthropic", "vercel"}}, // claude-sonnet-4-0
		{"claude-sonnet-4-20250514", []string{"anthropic", "vercel"}},
		{"anthropic/claude-3.7-sonnet", []string{"anthropic", "aws"}},
		{"meta-llama/llama-3.3-70b-instruct", []string{"openrouter", "aws", "groq", "sambanova", "vercel", "novita", "akash", "nvidia",
			"cerebras", "deepinfra", "fireworks", "together"}},
		{"Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", nil},
		{"mistral-large", nil},
	}
	for _, c := range canonical {
		if got := providersOf(Models.ByCanonical(c.id)); !slices.Equal(got, c.want) {
			t.Errorf("ByCanonical(%q) = %q, want %q", c.id, got, c.want)
		}
	}
}

// TestModelsServingMatchesEqualFold: the index answers exactly what a scan
// with strings.EqualFold over every entry, the lookup it replaced, answers.
func TestModelsServingMatchesEqualFold(t *testing.T) {
	scan := func(model string) []string {
		var ids []string
		for _, e := range Models.Entries() {
			if strings.EqualFold(e.Model, model) {
				ids = append(ids, e.Provider)
			}
		}
		return ids
	}
	var probes []string
	for _, e := range Models.Entries() {
		probes = append(probes, e.Model, strings.ToUpper(e.Model), strings.ToLower(e.Model), e.Canonical,
			strings.ReplaceAll(e.Model, "k", "\u212A"), strings.ReplaceAll(e.Model, "s", "\u017F"), e.Model+"x")
	}
	for _, m := range probes {
		if got, want := providersOf(Models.Serving(m)), scan(m); !slices.Equal(got, want) {
			t.Errorf("Serving(%q) = %q, scan says %q", m, got, want)
		}
	}
}

func TestNewModelCatalog(t *testing.T) {
	gpt := ModelEntry{Provider: "openai", Model: "gpt-4o", Maker: "openai"}
	bad := []struct {
		name    string
		entries []ModelEntry
		want    string
	}{
		{"unknown provider", []ModelEntry{{Provider: "nope", Model: "m"}}, `"nope" is not a model provider`},
		{"web search provider", []ModelEntry{{Provider: "tavily", Model: "m"}}, `"tavily" is not a model provider`},
		{"empty model", []ModelEntry{{Provider: "openai"}}, "non-empty printable ASCII"},
		{"non-ASCII model", []ModelEntry{{Provider: "openai", Model: "gpt-4é"}}, "non-empty printable ASCII"},
		{"twice", []ModelEntry{gpt, {Provider: "openai", Model: "GPT-4o"}}, `openai lists "GPT-4o" twice`},
		{"not canonical", []ModelEntry{{Provider: "openai", Model: "gpt-4o", Canonical: "GPT-4o"}}, "not in canonical form"},
		{"negative price", []ModelEntry{{Provider: "openai", Model: "gpt-4o", Prices: Prices{Output: PriceOf(-1)}}}, "negative price"},
	}
	for _, c := range bad {
		_, err := NewModelCatalog(c.entries)
		if err == nil || ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}

	// Entries come out in provider Catalog order, each provider's in the
	// order given; the catalog keeps its own copy; prices are carried.
	in := []ModelEntry{
		{Provider: "groq", Model: "b", Maker: "meta"},
		{Provider: "openai", Model: "gpt-4o-2024-08-06", Maker: "openai", Prices: Prices{Input: PriceOf(2_500_000_000), CachedInput: PriceOf(0)}},
		{Provider: "groq", Model: "a", Maker: "meta"},
	}
	c, err := NewModelCatalog(in)
	if err != nil {
		t.Fatal(err)
	}
	in[1].Model = "changed"
	var order []string
	for _, e := range c.Entries() {
		order = append(order, e.Provider+"/"+e.Model)
	}
	if want := []string{"openai/gpt-4o-2024-08-06", "groq/b", "groq/a"}; !slices.Equal(order, want) {
		t.Fatalf("order %q, want %q", order, want)
	}
	e, ok := c.Lookup("openai", "gpt-4o-2024-08-06")
	if !ok || e.Canonical != "gpt-4o" {
		t.Fatalf("lookup: %+v %v", e, ok)
	}
	p := e.Prices
	if !p.Input.Known || p.Input.PerMTok != 2_500_000_000 || p.Input.Free() || !p.CachedInput.Free() || p.Output.Known || p.Output.Free() {
		t.Fatalf("prices: %+v", p)
	}
	if got := providersOf(c.ByCanonical("gpt-4o")); !slices.Equal(got, []string{"openai"}) {
		t.Fatalf("ByCanonical: %q", got)
	}
	if got := c.OfProvider("anthropic"); len(got) != 0 {
		t.Fatalf("OfProvider(anthropic): %v", got)
	}
}

// TestModelLookupsDoNotAllocate: the lookups on the routing path allocate
// nothing for plain ids, mixed-case ones included, and routing by the
// catalog allocates only the Route it returns.
func TestModelLookupsDoNotAllocate(t *testing.T) {
	checks := []struct {
		name string
		f    func()
	}{
		{"Serving", func() { Models.Serving("llama-3.3-70b") }},
		{"Serving mixed case", func() { Models.Serving("deepseek-ai/DeepSeek-V3") }},
		{"Lookup", func() { Models.Lookup("deepinfra", "deepseek-ai/DeepSeek-V3") }},
		{"ByCanonical", func() { Models.ByCanonical("google/gemini-2.5-pro:free") }},
		{"ByCanonical dated", func() { Models.ByCanonical("Claude-Sonnet-4-5-20250929") }},
		{"MakerOf", func() { MakerOf("GPT-4o-mini") }},
	}
	for _, c := range checks {
		if n := testing.AllocsPerRun(100, c.f); n != 0 {
			t.Errorf("%s: %v allocations per lookup", c.name, n)
		}
	}
	for _, c := range []struct{ model, key string }{
		{"llama-3.3-70b", "cerebras"},
		{"deepseek-ai/DeepSeek-V3", "deepinfra"},
		{"GPT-4o-mini", "openai"},
	} {
		configured := func(id string) bool { return id == c.key }
		n := testing.AllocsPerRun(100, func() {
			if _, err := RouteModel(c.model, "", configured); err != nil {
				t.Fatal(err)
			}
		})
		if n != 1 {
			t.Errorf("RouteModel(%q): %v allocations, want 1 (the Route)", c.model, n)
		}
	}
}
