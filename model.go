package ownkey

import (
	"cmp"
	"slices"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// Price is a rate in nano-USD per million tokens. The zero Price is unknown,
// which is not the same as free: billing must tell "no price yet" (a
// fallback rate, flagged) from "priced at zero" (a :free variant).
type Price struct {
	PerMTok NanoUSD
	Known   bool
}

// PriceOf is a known price of n nano-USD per million tokens.
func PriceOf(n NanoUSD) Price { return Price{PerMTok: n, Known: true} }

// Free reports whether the price is known to be zero.
func (p Price) Free() bool { return p.Known && p.PerMTok == 0 }

// Prices are what a provider charges for a model, per kind of token. A
// provider that does not price a kind separately leaves it unknown.
type Prices struct {
	Input       Price
	CachedInput Price // prompt tokens read from the provider's cache
	CacheWrite  Price // prompt tokens written to the cache (Anthropic)
	Output      Price
	Reasoning   Price // when priced apart from output
}

// PriceKinds is the number of kinds of token Prices prices apart.
const PriceKinds = 5

// Kinds returns p's prices in a fixed order: input, cached input, cache
// write, output, reasoning; the order the store's columns and the price
// tables use.
func (p *Prices) Kinds() [PriceKinds]*Price {
	return [PriceKinds]*Price{&p.Input, &p.CachedInput, &p.CacheWrite, &p.Output, &p.Reasoning}
}

// ModelEntry is one model at one provider.
type ModelEntry struct {
	Provider string // provider id, as in Catalog
	Model    string // the id the provider serves it under, exactly
	// Maker is the company that made the model: openai, anthropic, google,
	// meta, deepseek, alibaba, zai, ... (for makers that are also providers,
	// their provider id).
	Maker string
	// Canonical names the model across providers: gemini-2.5-pro at google,
	// google/gemini-2.5-pro at openrouter and google/gemini-2.5-pro:free all
	// have canonical id gemini-2.5-pro. It is always in Canonicalize's form.
	Canonical string
	Prices    Prices
}

// ModelCatalog is the table of known models: which provider serves which
// model under which id, who made it, what it is across providers and what
// it costs. Auto-mapping reads it to find a provider the account holds a key
// for, /v1/models lists it, billing prices requests from it. It is built
// once and never changed: a catalog with other prices is a new catalog.
// Lookups take no lock and, for ids up to foldBufLen bytes, allocate nothing.
// The slices they return belong to the catalog (clipped, so an append
// copies): callers read them and never modify them.
type ModelCatalog struct {
	entries     []ModelEntry // grouped by provider, in provider Catalog order
	byProvider  map[string][]ModelEntry
	byModel     map[string][]*ModelEntry // key: model id in ASCII lower case
	byCanonical map[string][]*ModelEntry
}

// Models is the built-in catalog. It is deliberately a short list of
// widely-used models: any model can still be reached by forcing a provider
// or by prefixing the model with a provider id. Its prices are the
// providers' list prices as of the date in builtinPriceLists
// (model_prices.go); imported and operator-set prices make a new catalog,
// ActiveModels.
var Models = mustModelCatalog(builtinModels())

// activeModels is the catalog requests are routed and priced with.
var activeModels atomic.Pointer[ModelCatalog]

// ActiveModels returns the catalog in force: Models with the imported and
// operator-set models and prices (package prices builds it and calls
// SetActiveModels), or Models until then. Routing reads it on every
// request: one atomic load, no lock.
func ActiveModels() *ModelCatalog {
	if c := activeModels.Load(); c != nil {
		return c
	}
	return Models
}

// SetActiveModels replaces the catalog in force, atomically: a request
// routes and prices with either the old catalog or the new one, never a
// mix. nil goes back to Models.
func SetActiveModels(c *ModelCatalog) { activeModels.Store(c) }

// builtinModels are the built-in entries, per provider. An empty canonical
// id is Canonicalize(model); it is written out where the provider's id
// names the model its own way (llama-3.3-70b-versatile is Llama 3.3 70B
// Instruct).
func builtinModels() []ModelEntry {
	type m struct{ model, maker, canonical string }
	table := []struct {
		provider string
		models   []m
	}{
		{"openai", []m{{"gpt-4o", "openai", ""}, {"gpt-4o-mini", "openai", ""}, {"gpt-4.1", "openai", ""},
			{"gpt-4.1-mini", "openai", ""}, {"gpt-4.1-nano", "openai", ""}, {"gpt-5", "openai", ""},
			{"gpt-5-mini", "openai", ""}, {"gpt-5-nano", "openai", ""}, {"o3", "openai", ""},
			{"o3-mini", "openai", ""}, {"o4-mini", "openai", ""}, {"gpt-oss-120b", "openai", ""}}},
		{"openai-responses", []m{{"gpt-4o", "openai", ""}, {"gpt-4o-mini", "openai", ""}, {"gpt-4.1", "openai", ""},
			{"gpt-5", "openai", ""}, {"gpt-5-mini", "openai", ""}, {"o3", "openai", ""}, {"o4-mini", "openai", ""}}},
		{"openrouter", []m{{"openai/gpt-4o", "openai", ""}, {"openai/gpt-4o-mini", "openai", ""}, {"openai/gpt-5", "openai", ""},
			{"anthropic/claude-sonnet-4.5", "anthropic", ""}, {"anthropic/claude-opus-4.5", "anthropic", ""},
			{"anthropic/claude-haiku-4.5", "anthropic", ""}, {"google/gemini-2.5-pro", "google", ""},
			{"google/gemini-2.5-flash", "google", ""},
			// OpenRouter's free variants: billed on the lowest paid rate
			// of the same model elsewhere.
			{"deepseek/deepseek-chat-v3-0324:free", "deepseek", "deepseek-v3-0324"},
			{"meta-llama/llama-3.3-70b-instruct:free", "meta", ""}}},
		{"anthropic", []m{{"claude-opus-4-1", "anthropic", ""}, {"claude-opus-4-5", "anthropic", ""},
			{"claude-sonnet-4-5", "anthropic", ""},
			{"claude-sonnet-4-0", "anthropic", "claude-sonnet-4"}, // alias of claude-sonnet-4-20250514
			{"claude-haiku-4-5", "anthropic", ""},
			{"claude-3-7-sonnet-latest", "anthropic", ""}, {"claude-3-5-haiku-latest", "anthropic", ""}}},
		{"aws", []m{
			// Newer Claude models are served through inference profiles
			// only: global (list price) and geographic (us., 10% more).
			{"global.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic", "claude-sonnet-4-5"},
			{"us.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic", "claude-sonnet-4-5"},
			{"global.anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic", "claude-haiku-4-5"},
			{"us.anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic", "claude-haiku-4-5"},
			{"global.anthropic.claude-opus-4-5-20251101-v1:0", "anthropic", "claude-opus-4-5"},
			{"us.anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic", "claude-3-7-sonnet"},
			{"amazon.nova-pro-v1:0", "amazon", "nova-pro"}, {"amazon.nova-lite-v1:0", "amazon", "nova-lite"},
			{"amazon.nova-micro-v1:0", "amazon", "nova-micro"},
			{"us.meta.llama3-3-70b-instruct-v1:0", "meta", "llama-3.3-70b-instruct"},
			{"openai.gpt-oss-120b-1:0", "openai", "gpt-oss-120b"}}},
		// Azure serves OpenAI's models under the user's deployment names;
		// these are the model ids its answers report.
		{"azure", []m{{"gpt-4o", "openai", ""}, {"gpt-4o-mini", "openai", ""}, {"gpt-4.1", "openai", ""},
			{"gpt-4.1-mini", "openai", ""}, {"gpt-5", "openai", ""}, {"gpt-5-mini", "openai", ""},
			{"o3", "openai", ""}, {"o4-mini", "openai", ""}}},
		{"azure-responses", []m{{"gpt-4o", "openai", ""}, {"gpt-4.1", "openai", ""}, {"gpt-5", "openai", ""},
			{"gpt-5-mini", "openai", ""}, {"o3", "openai", ""}, {"o4-mini", "openai", ""}}},
		{"azure-anthropic-foundry", []m{{"claude-opus-4-1", "anthropic", ""}, {"claude-opus-4-5", "anthropic", ""},
			{"claude-sonnet-4-5", "anthropic", ""}, {"claude-haiku-4-5", "anthropic", ""}}},
		{"vercel", []m{{"openai/gpt-4o", "openai", ""}, {"openai/gpt-4o-mini", "openai", ""}, {"openai/gpt-5", "openai", ""},
			{"anthropic/claude-sonnet-4.5", "anthropic", ""}, {"anthropic/claude-sonnet-4", "anthropic", ""},
			{"google/gemini-2.5-pro", "google", ""}, {"google/gemini-2.5-flash", "google", ""},
			{"meta/llama-3.3-70b", "meta", "llama-3.3-70b-instruct"}, {"deepseek/deepseek-v3", "deepseek", ""}}},
		{"google", []m{{"gemini-2.5-pro", "google", ""}, {"gemini-2.5-flash", "google", ""},
			{"gemini-2.5-flash-lite", "google", ""}, {"gemini-2.0-flash", "google", ""},
			{"gemini-3-pro-preview", "google", ""}}},
		{"groq", []m{{"llama-3.3-70b-versatile", "meta", "llama-3.3-70b-instruct"},
			{"llama-3.1-8b-instant", "meta", "llama-3.1-8b-instruct"},
			{"openai/gpt-oss-120b", "openai", ""}, {"openai/gpt-oss-20b", "openai", ""},
			{"moonshotai/kimi-k2-instruct", "moonshotai", ""}, {"qwen/qwen3-32b", "alibaba", ""},
			{"meta-llama/llama-4-scout-17b-16e-instruct", "meta", ""}}},
		{"cerebras", []m{{"llama-3.3-70b", "meta", "llama-3.3-70b-instruct"},
			{"llama3.1-8b", "meta", "llama-3.1-8b-instruct"}, {"gpt-oss-120b", "openai", ""},
			{"qwen-3-32b", "alibaba", "qwen3-32b"},
			{"qwen-3-235b-a22b-instruct-2507", "alibaba", "qwen3-235b-a22b-instruct-2507"}}},
		{"sambanova", []m{{"Meta-Llama-3.3-70B-Instruct", "meta", "llama-3.3-70b-instruct"},
			{"Meta-Llama-3.1-8B-Instruct", "meta", "llama-3.1-8b-instruct"},
			{"DeepSeek-V3.1", "deepseek", ""}, {"DeepSeek-R1", "deepseek", ""}, {"gpt-oss-120b", "openai", ""}}},
		{"zai", []m{{"glm-4.6", "zai", ""}, {"glm-4.7", "zai", ""}, {"glm-4.5", "zai", ""}, {"glm-4.5-air", "zai", ""}}},
		{"nvidia", []m{{"meta/llama-3.3-70b-instruct", "meta", ""},
			{"nvidia/llama-3.1-nemotron-70b-instruct", "nvidia", ""}, {"deepseek-ai/deepseek-r1", "deepseek", ""}}},
		{"deepinfra", []m{{"meta-llama/Llama-3.3-70B-Instruct", "meta", ""}, {"deepseek-ai/DeepSeek-V3", "deepseek", ""},
			{"Qwen/Qwen3-32B", "alibaba", ""}}},
		{"together", []m{{"meta-llama/Llama-3.3-70B-Instruct-Turbo", "meta", "llama-3.3-70b-instruct"},
			{"deepseek-ai/DeepSeek-V3", "deepseek", ""},
			{"Qwen/Qwen3-235B-A22B-Instruct-2507-tput", "alibaba", "qwen3-235b-a22b-instruct-2507"}}},
		{"fireworks", []m{{"accounts/fireworks/models/llama-v3p3-70b-instruct", "meta", "llama-3.3-70b-instruct"},
			{"accounts/fireworks/models/gpt-oss-120b", "openai", ""}, {"accounts/fireworks/models/deepseek-v3", "deepseek", ""}}},
		{"hyperbolic", []m{{"meta-llama/Meta-Llama-3.1-70B-Instruct", "meta", "llama-3.1-70b-instruct"},
			{"deepseek-ai/DeepSeek-V3", "deepseek", ""}}},
		{"siliconflow", []m{{"deepseek-ai/DeepSeek-V3", "deepseek", ""}, {"Qwen/Qwen3-32B", "alibaba", ""},
			{"Pro/deepseek-ai/DeepSeek-R1", "deepseek", ""}}},
		{"chutes", []m{{"deepseek-ai/DeepSeek-V3-0324", "deepseek", ""}, {"Qwen/Qwen3-32B", "alibaba", ""},
			{"zai-org/GLM-4.6", "zai", ""}}},
		{"novita", []m{{"deepseek/deepseek-v3-0324", "deepseek", ""}, {"meta-llama/llama-3.3-70b-instruct", "meta", ""}}},
		{"gmicloud", []m{{"deepseek-ai/DeepSeek-V3-0324", "deepseek", ""}, {"zai-org/GLM-4.6", "zai", ""}}},
		{"meganova", []m{{"Qwen/Qwen3-235B-A22B-Instruct-2507", "alibaba", ""}, {"zai-org/GLM-4.7-Flash", "zai", ""}}},
		{"akash", []m{{"meta-llama/Llama-3.3-70B-Instruct", "meta", ""}, {"MiniMaxAI/MiniMax-M2.5", "minimax", ""}}},
		{"morpheus", []m{{"kimi-k2.5", "moonshotai", ""}, {"glm-5", "zai", ""}, {"gpt-oss-120b", "openai", ""}}},
	}
	prices := builtinPrices()
	var out []ModelEntry
	for _, p := range table {
		for _, e := range p.models {
			out = append(out, ModelEntry{Provider: p.provider, Model: e.model, Maker: e.maker, Canonical: e.canonical,
				Prices: prices[p.provider+"\x00"+e.model]})
		}
	}
	return out
}

func mustModelCatalog(entries []ModelEntry) *ModelCatalog {
	c, err := NewModelCatalog(entries)
	if err != nil {
		panic(err)
	}
	return c
}

// NewModelCatalog builds a catalog from entries and its indexes. Entries are
// kept in provider Catalog order, each provider's in the order given. An
// empty Canonical is filled with Canonicalize(Model). It refuses an entry
// for an unknown or non-model provider, an empty or non-ASCII model id, a
// model listed twice at one provider (ignoring case), a canonical id not in
// canonical form, and a negative price.
func NewModelCatalog(entries []ModelEntry) (*ModelCatalog, error) {
	c := &ModelCatalog{
		entries:     slices.Clone(entries),
		byProvider:  map[string][]ModelEntry{},
		byModel:     map[string][]*ModelEntry{},
		byCanonical: map[string][]*ModelEntry{},
	}
	for i := range c.entries {
		e := &c.entries[i]
		if p, ok := LookupProvider(e.Provider); !ok || p.Kind != KindModel {
			return nil, Errorf(EINVALID, "model catalog: %q is not a model provider id", e.Provider)
		}
		if e.Model == "" || !isPrintableASCII(e.Model) {
			return nil, Errorf(EINVALID, "model catalog: %s: model id %q must be non-empty printable ASCII", e.Provider, e.Model)
		}
		if e.Canonical == "" {
			e.Canonical = Canonicalize(e.Model)
		}
		if want := Canonicalize(e.Canonical); want != e.Canonical {
			return nil, Errorf(EINVALID, "model catalog: %s/%s: canonical id %q is not in canonical form (%q)", e.Provider, e.Model, e.Canonical, want)
		}
		for _, p := range e.Prices.Kinds() {
			if p.PerMTok < 0 {
				return nil, Errorf(EINVALID, "model catalog: %s/%s: negative price", e.Provider, e.Model)
			}
		}
	}
	slices.SortStableFunc(c.entries, func(a, b ModelEntry) int {
		return cmp.Compare(providerIndex[a.Provider], providerIndex[b.Provider])
	})
	for i := range c.entries {
		e := &c.entries[i]
		key := strings.ToLower(e.Model)
		for _, o := range c.byModel[key] {
			if o.Provider == e.Provider {
				return nil, Errorf(EINVALID, "model catalog: %s lists %q twice", e.Provider, e.Model)
			}
		}
		c.byModel[key] = append(c.byModel[key], e)
		c.byCanonical[e.Canonical] = append(c.byCanonical[e.Canonical], e)
	}
	for _, index := range []map[string][]*ModelEntry{c.byModel, c.byCanonical} {
		for k, v := range index {
			index[k] = slices.Clip(v)
		}
	}
	for start := 0; start < len(c.entries); {
		end := start + 1
		for end < len(c.entries) && c.entries[end].Provider == c.entries[start].Provider {
			end++
		}
		c.byProvider[c.entries[start].Provider] = c.entries[start:end:end]
		start = end
	}
	return c, nil
}

// providerIndex is each provider's position in Catalog.
var providerIndex = func() map[string]int {
	m := make(map[string]int, len(Catalog))
	for i, p := range Catalog {
		m[p.ID] = i
	}
	return m
}()

// Entries returns every entry, grouped by provider in provider Catalog order.
func (c *ModelCatalog) Entries() []ModelEntry { return c.entries[:len(c.entries):len(c.entries)] }

// OfProvider returns provider's models in catalog order.
func (c *ModelCatalog) OfProvider(provider string) []ModelEntry { return c.byProvider[provider] }

// Serving returns the entries that serve model under exactly that id,
// ignoring case as providers do, in provider Catalog order.
func (c *ModelCatalog) Serving(model string) []*ModelEntry {
	if !needsFold(model) {
		return c.byModel[model]
	}
	var buf [foldBufLen]byte
	key, ok := appendFold(buf[:0], model)
	if !ok {
		return nil
	}
	return c.byModel[string(key)]
}

// Lookup returns the entry for model at provider (model ignoring case).
func (c *ModelCatalog) Lookup(provider, model string) (*ModelEntry, bool) {
	for _, e := range c.Serving(model) {
		if e.Provider == provider {
			return e, true
		}
	}
	return nil, false
}

// ByCanonical returns the entries of the same model across providers: those
// whose canonical id is Canonicalize(id), in provider Catalog order. id may
// be any provider's spelling (google/gemini-2.5-pro:free, a dated id).
func (c *ModelCatalog) ByCanonical(id string) []*ModelEntry {
	var buf [foldBufLen]byte
	return c.byCanonical[string(appendCanonical(buf[:0], id))]
}

// foldBufLen is the longest id the lookups handle on the stack; longer ids
// work too, at the cost of one allocation.
const foldBufLen = 128

// Canonicalize maps a provider's model id to the model's canonical id, so
// that the same model is found across providers:
//
//   - the provider or vendor prefix goes: everything up to the last '/'
//     (google/gemini-2.5-pro, accounts/fireworks/models/x, Pro/deepseek-ai/x);
//   - so does a variant or version suffix from the first ':' or '@'
//     (:free, :online, :nitro; Vertex's claude-sonnet-4@20250514);
//   - ASCII letters are lower-cased;
//   - Claude ids get dashes for dots (aggregators write claude-sonnet-4.5
//     for Anthropic's claude-sonnet-4-5);
//   - a trailing snapshot date goes: -YYYY-MM-DD (gpt-4o-mini-2024-07-18)
//     or -YYYYMMDD (claude-sonnet-4-5-20250929), and so does -latest, the
//     alias of the newest snapshot, as often as they end the id.
//
// Other version suffixes (-0324, -2507, -001) stay: they name different
// weights or prices.
func Canonicalize(id string) string {
	var buf [foldBufLen]byte
	c := appendCanonical(buf[:0], id)
	if string(c) == id {
		return id
	}
	return string(c)
}

// AppendCanonical appends Canonicalize(id) to dst: the canonical id
// without a string, for lookups that must not allocate.
func AppendCanonical(dst []byte, id string) []byte { return appendCanonical(dst, id) }

func appendCanonical(dst []byte, id string) []byte {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	if i := strings.IndexAny(id, ":@"); i >= 0 {
		id = id[:i]
	}
	start := len(dst)
	for i := 0; i < len(id); i++ {
		dst = append(dst, lowerASCII(id[i]))
	}
	out := dst[start:]
	if hasPrefix(out, "claude-") {
		for i, b := range out {
			if b == '.' {
				out[i] = '-'
			}
		}
	}
	// Trim until nothing changes, so that a canonical id is its own
	// canonical id (x-20250101-latest is x).
	for n := -1; n != len(out); {
		n = len(out)
		out = trimDate(out)
		if k := len(out) - len("-latest"); k > 0 && string(out[k:]) == "-latest" {
			out = out[:k]
		}
	}
	return dst[:start+len(out)]
}

// trimDate removes a trailing -YYYY-MM-DD or -YYYYMMDD.
func trimDate(s []byte) []byte {
	for _, layout := range []string{"-dddd-dd-dd", "-dddddddd"} {
		n := len(s) - len(layout)
		if n <= 0 {
			continue
		}
		tail, ok := s[n:], true
		var digits [8]byte
		nd := 0
		for i := range layout {
			if layout[i] == 'd' {
				ok = ok && tail[i] >= '0' && tail[i] <= '9'
				digits[nd] = tail[i]
				nd++
			} else {
				ok = ok && tail[i] == layout[i]
			}
		}
		if ok && plausibleDate(digits) {
			return s[:n]
		}
	}
	return s
}

// plausibleDate reports whether 8 digits YYYYMMDD could be a snapshot date,
// so that an id ending in other long numbers keeps them.
func plausibleDate(d [8]byte) bool {
	num := func(b []byte) int {
		n := 0
		for _, c := range b {
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, m, day := num(d[:4]), num(d[4:6]), num(d[6:8])
	return y >= 2000 && y <= 2099 && m >= 1 && m <= 12 && day >= 1 && day <= 31
}

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// needsFold reports whether s has anything but lower-case ASCII, so that a
// plain id is looked up as it is.
func needsFold(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// appendFold appends s folded to the lower-case ASCII id it equals under
// strings.EqualFold. Catalog ids are ASCII, so a rune whose case folds
// reach no ASCII letter (anything but the Kelvin sign and the long s) can
// match none of them: ok is false.
func appendFold(dst []byte, s string) (_ []byte, ok bool) {
	for _, r := range s {
		for f := r; f >= utf8.RuneSelf; {
			if f = unicode.SimpleFold(f); f == r {
				return dst, false
			}
			if f < utf8.RuneSelf {
				r = f
			}
		}
		dst = append(dst, lowerASCII(byte(r)))
	}
	return dst, true
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
