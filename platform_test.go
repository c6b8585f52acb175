package ownkey

import (
	"slices"
	"strings"
	"testing"
)

func keySet(ids ...string) func(string) bool {
	return func(id string) bool { return slices.Contains(ids, id) }
}

// TestRouteKeys: the BYOK switch × whose keys exist. A platform key serves
// only what the account's own keys cannot, and never under x-use-byok:
// true; the account's keys never under x-use-byok: false.
func TestRouteKeys(t *testing.T) {
	cases := []struct {
		name          string
		model, forced string
		choice        KeyChoice
		own, platform []string
		provider      string // "" for an error
		byok          bool
		reason        string
	}{
		// Auto: own key first, else the platform's, else a 400.
		{"auto own", "gpt-4o-mini", "", KeyAuto, []string{"openai"}, []string{"openai"}, "openai", true, ""},
		{"auto platform", "gpt-4o-mini", "", KeyAuto, nil, []string{"openai"}, "openai", false, ""},
		{"auto neither", "gpt-4o-mini", "", KeyAuto, []string{"groq"}, []string{"anthropic"}, "", false, "no_provider_for_model"},
		// The account's own key serves the model at another provider:
		// used, though the platform holds the maker's key.
		{"auto own elsewhere", "llama-3.3-70b-versatile", "", KeyAuto, []string{"groq"}, []string{"openai", "cerebras"}, "groq", true, ""},
		{"auto platform by catalog", "llama-3.3-70b-versatile", "", KeyAuto, []string{"openai"}, []string{"groq"}, "groq", false, ""},
		{"auto forced own", "m", "groq", KeyAuto, []string{"groq"}, []string{"groq"}, "groq", true, ""},
		{"auto forced platform", "m", "groq", KeyAuto, []string{"openai"}, []string{"groq"}, "groq", false, ""},
		{"auto forced neither", "m", "groq", KeyAuto, []string{"openai"}, []string{"openai"}, "", false, "no_key_for_provider"},
		{"auto unknown forced", "m", "nope", KeyAuto, nil, nil, "", false, "byok_unknown_provider"},
		{"auto unknown model", "mystery-model", "", KeyAuto, []string{"openai"}, []string{"groq"}, "", false, "no_provider_for_model"},
		// x-use-byok: true: the account's keys only.
		{"own", "gpt-4o-mini", "", KeyOwn, []string{"openai"}, []string{"openai"}, "openai", true, ""},
		{"own never falls back", "gpt-4o-mini", "", KeyOwn, nil, []string{"openai"}, "", true, "byok_no_provider_for_model"},
		{"own forced never falls back", "m", "groq", KeyOwn, nil, []string{"groq"}, "", true, "byok_no_key_for_provider"},
		// x-use-byok: false: the platform's keys only.
		{"platform", "gpt-4o-mini", "", KeyPlatform, []string{"openai"}, []string{"openai"}, "openai", false, ""},
		{"platform never the user's", "gpt-4o-mini", "", KeyPlatform, []string{"openai"}, nil, "", false, "platform_no_provider_for_model"},
		{"platform forced never the user's", "m", "groq", KeyPlatform, []string{"groq"}, []string{"openai"}, "", false, "platform_no_key_for_provider"},
		{"platform routes among its own", "llama-3.3-70b-versatile", "", KeyPlatform, []string{"groq"}, []string{"openai", "groq"}, "groq", false, ""},
	}
	for _, c := range cases {
		platformAsked := false
		platform := func(id string) bool { platformAsked = true; return keySet(c.platform...)(id) }
		r, byok, err := RouteKeys(c.model, c.forced, c.choice, keySet(c.own...), platform)
		if c.reason != "" {
			e, ok := err.(*Error)
			if !ok || e.Reason != c.reason || StatusOf(err) != 400 {
				t.Errorf("%s: %v, want %s", c.name, err, c.reason)
			}
			continue
		}
		if err != nil || r.Provider.ID != c.provider || byok != c.byok {
			t.Errorf("%s: %+v byok=%v %v, want %s byok=%v", c.name, r, byok, err, c.provider, c.byok)
		}
		if c.choice == KeyOwn || (c.choice == KeyAuto && byok) {
			if platformAsked {
				t.Errorf("%s: the platform's keys were looked at", c.name)
			}
		}
	}
}

// TestRouteKeysMessages: the 400 names the provider whose key to add and
// where to add it, for each choice.
func TestRouteKeysMessages(t *testing.T) {
	cases := []struct {
		model, forced string
		choice        KeyChoice
		want          []string
	}{
		{"gpt-4o", "", KeyAuto, []string{`"gpt-4o"`, "openai", "BYOK page", `POST /api/user/provider-keys {"provider":"openai"`, "ownkey platform-keys set openai"}},
		{"m", "groq", KeyAuto, []string{"Groq", "BYOK page", `{"provider":"groq"`, "ownkey platform-keys set groq"}},
		{"gpt-4o", "", KeyPlatform, []string{`"gpt-4o"`, "ownkey platform-keys set openai", "x-use-byok: true"}},
		{"m", "groq", KeyPlatform, []string{"Groq", "ownkey platform-keys set groq", "x-use-byok: true"}},
		{"gpt-4o", "", KeyOwn, []string{`"gpt-4o"`, "openai", "BYOK page"}},
		{"mystery-model", "", KeyAuto, []string{`"mystery-model"`, "x-byok-provider", "groq/llama-3.3-70b-versatile"}},
	}
	for _, c := range cases {
		_, _, err := RouteKeys(c.model, c.forced, c.choice, keySet(), keySet())
		msg := ErrorMessage(err)
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s/%s/%s: message lacks %q: %s", c.model, c.forced, c.choice, w, msg)
			}
		}
	}
	for _, choice := range []KeyChoice{KeyAuto, KeyOwn, KeyPlatform} {
		_, _, want := RouteKeys("m", "groq", choice, keySet(), keySet())
		p, _ := LookupProvider("groq")
		if got := NoKeyError(p, choice); got.Error() != want.Error() {
			t.Errorf("%s: NoKeyError %v, RouteKeys %v", choice, got, want)
		}
	}
}

func TestChargeFor(t *testing.T) {
	p := Prices{Input: usd(0.15), CachedInput: usd(0.075), Output: usd(0.60)}
	q := Quote{Basis: PriceCatalog, AtCost: p, MarkupBase: p}
	// 600×0.15 + 400×0.075 + 200×0.60 = 240 µ$ (TestQuoteChargeGolden).
	u := Usage{PromptTokens: 1000, CachedTokens: 400, CompletionTokens: 200, Source: UsageFromProvider}
	cases := []struct {
		name             string
		byok             bool
		markup           PPM
		charged          NanoUSD
		wantBYOKInRecord bool
	}{
		{"byok 5%: the markup only", true, DefaultBYOKMarkup, 12_000, true},
		{"platform at cost (margin 0)", false, 0, 240_000, false},
		{"platform + 10% margin", false, 100_000, 264_000, false},
		// 240000 × 0.000001 = 0.24 n$, rounded up to 1.
		{"platform + 1 ppm: rounded up once", false, 1, 240_001, false},
	}
	for _, c := range cases {
		got := q.ChargeFor(u, c.byok, c.markup)
		if got.AtCost != 240_000 || got.Charged != c.charged || got.BYOK != c.wantBYOKInRecord || got.Markup != c.markup {
			t.Errorf("%s: %+v, want charged %d", c.name, got, c.charged)
		}
	}
	// A free model via the platform's key: nothing at cost, the margin on
	// the lowest paid rate, as the BYOK markup would be.
	free := Quote{Basis: PriceFreeModel, AtCost: Prices{Input: usd(0), Output: usd(0)}, MarkupBase: p}
	if got := free.ChargeFor(u, false, 100_000); got.AtCost != 0 || got.Charged != 24_000 {
		t.Errorf("free model on the platform key: %+v", got)
	}
	if addSaturating(1<<62, 1<<62) != 1<<63-1 {
		t.Error("addSaturating wraps")
	}
	m := Markups{BYOK: 50_000, Platform: 7}
	if m.For(true) != 50_000 || m.For(false) != 7 {
		t.Errorf("Markups.For: %+v", m)
	}
}
