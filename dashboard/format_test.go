package dashboard

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
)

func TestUSD(t *testing.T) {
	for n, want := range map[ownkey.NanoUSD]string{
		0: "$0.00", 1: "$0.000000001", 450_000: "$0.00045", 12_500_000_000: "$12.50", 20_000_000_000: "$20.00",
		-1_234_567_891: "-$1.234567891", 9_223_372_036_854_775_807: "$9223372036.854775807",
	} {
		if got := usd(n); got != want {
			t.Errorf("usd(%d) = %q, want %q", n, got, want)
		}
	}
	if got := percent(50_000); got != "5%" {
		t.Errorf("percent(50000) = %q", got)
	}
	if got := percent(25_500); got != "2.55%" {
		t.Errorf("percent(25500) = %q", got)
	}
	if got := count(1234567); got != "1,234,567" {
		t.Errorf("count = %q", got)
	}
}

func TestMonograms(t *testing.T) {
	want := map[string]string{
		"OpenAI": "OA", "OpenAI Responses": "OR", "AWS Bedrock": "AB", "Z.AI (GLM)": "ZA", "Groq": "Gr",
		"SambaNova": "SN", "NVIDIA": "NV", "Google AI Studio": "GA", "Tavily (Web Search)": "Ta",
	}
	for name, m := range want {
		if got := monogram(name); got != m {
			t.Errorf("monogram(%q) = %q, want %q", name, got, m)
		}
	}
	// Every provider gets one or two letters.
	for _, p := range ownkey.Catalog {
		if m := monogram(p.Name); len([]rune(m)) < 1 || len([]rune(m)) > 2 || m == "?" {
			t.Errorf("%s: monogram %q", p.ID, m)
		}
	}
}

// TestJSONPlaceholders: the JSON providers' placeholders are the exact
// shapes of the reference page, and each names the credential's required
// fields, so a person filling one in sends a credential ParseCredential
// reads.
func TestJSONPlaceholders(t *testing.T) {
	for _, p := range ownkey.Catalog {
		ph, ok := jsonPlaceholders[p.ID]
		if (p.Format == ownkey.FormatJSON) != ok {
			t.Errorf("%s: format %s, placeholder %v", p.ID, p.Format, ok)
			continue
		}
		if !ok {
			continue
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(ph), &m); err != nil {
			t.Errorf("%s: placeholder is not a JSON object of strings: %v", p.ID, err)
		}
		for _, f := range p.Fields {
			if _, has := m[f.Name]; f.Required && !has {
				t.Errorf("%s: placeholder lacks required field %s", p.ID, f.Name)
			}
		}
	}
	if got := jsonPlaceholders["aws"]; got != `{"accessKeyId":"...","secretAccessKey":"...","region":"us-east-1"}` {
		t.Errorf("aws placeholder %s", got)
	}
}

func TestStatusText(t *testing.T) {
	for _, tc := range [][3]string{
		{ownkey.StatusNotConfigured, "", "Not configured"},
		{ownkey.StatusConfigured, "abcd", "Configured ····abcd"},
		{ownkey.StatusDisabled, "", "Disabled"},
		{ownkey.StatusDisabled, "wxyz", "Disabled (key ····wxyz kept)"},
	} {
		if got := statusText(tc[0], tc[1]); got != tc[2] {
			t.Errorf("statusText(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"": "/byok", "/usage": "/usage", "/admin/accounts/3?x=1": "/admin/accounts/3?x=1",
		"//evil.example/": "/byok", "/\\evil.example": "/byok", "https://evil.example/": "/byok",
		"javascript:alert(1)": "/byok", "/a\r\nSet-Cookie: x": "/byok",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestChartGeometry: bars stack their providers exactly, in one order, the
// tallest day fills the plot, and amounts are written exactly.
func TestChartGeometry(t *testing.T) {
	from := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	seg := func(day, provider string, charged, atCost ownkey.NanoUSD, n int64) ownkey.DayProviderUsage {
		return ownkey.DayProviderUsage{Day: day, Provider: provider, UsageTotals: ownkey.UsageTotals{Requests: n, Charged: charged, AtCost: atCost}}
	}
	segments := []ownkey.DayProviderUsage{
		seg("2025-03-11", "anthropic", 300_000_000, 6_000_000_000, 2),
		seg("2025-03-11", "openai", 100_000_000, 2_000_000_000, 1),
		seg("2025-03-12", "openai", 200_000_000, 4_000_000_000, 5),
		seg("2025-03-13", "groq", 1, 20, 1),      // a sliver still drawn
		seg("2025-03-20", "openai", 999, 999, 1), // outside the 7 days: left out
	}
	c := buildChart(from, 7, segments, metricCharged)
	if len(c.Bars) != 7 || c.Bars[0].Day != "2025-03-10" || c.Bars[6].Day != "2025-03-16" {
		t.Fatalf("bars: %+v", c.Bars)
	}
	if c.Max != "$0.40" || c.Total != "$0.600000001" || c.Empty {
		t.Fatalf("max %s, total %s", c.Max, c.Total)
	}
	// 03-11: anthropic (the dearest provider overall) at the bottom, 3/4 of
	// the plot; openai above it, the last quarter.
	b := c.Bars[1]
	if len(b.Segments) != 2 {
		t.Fatalf("03-11 segments: %+v", b.Segments)
	}
	an, oa := b.Segments[0], b.Segments[1]
	if an.Hue != hue("anthropic") || oa.Hue != hue("openai") {
		t.Fatalf("stack order: %+v", b.Segments)
	}
	if an.H != plotHeight*3/4 || an.Y+an.H != c.BaseY || oa.Y+oa.H != an.Y || oa.H != plotHeight/4 {
		t.Fatalf("03-11 geometry: %+v %+v (base %d)", an, oa, c.BaseY)
	}
	if !strings.Contains(an.Title, "Anthropic: $0.30 (2 requests)") {
		t.Fatalf("title %q", an.Title)
	}
	if s := c.Bars[2].Segments; len(s) != 1 || s[0].H != plotHeight/2 {
		t.Fatalf("03-12: %+v", s)
	}
	if s := c.Bars[3].Segments; len(s) != 1 || s[0].H != 1 || s[0].Y != c.BaseY-1 {
		t.Fatalf("a sliver: %+v", s)
	}
	if len(c.Bars[0].Segments) != 0 || c.Bars[0].Total != "$0.00" {
		t.Fatalf("an empty day: %+v", c.Bars[0])
	}
	names := []string{}
	for _, l := range c.Legend {
		names = append(names, l.Name+" "+l.Total)
	}
	if !slices.Equal(names, []string{"Anthropic $0.30", "OpenAI $0.30", "Groq $0.000000001"}) &&
		!slices.Equal(names, []string{"OpenAI $0.30", "Anthropic $0.30", "Groq $0.000000001"}) {
		t.Fatalf("legend: %v", names)
	}
	// At cost: the other column.
	ac := buildChart(from, 7, segments, metricAtCost)
	if ac.Max != "$8.00" || ac.Bars[3].Total != "$0.00000002" {
		t.Fatalf("at cost: max %s, 03-13 %s", ac.Max, ac.Bars[3].Total)
	}
	// Nothing: an empty chart, no division by zero.
	if e := buildChart(from, 30, nil, metricCharged); !e.Empty || len(e.Bars) != 30 || e.Max != "$0.00" {
		t.Fatalf("empty: %+v", e)
	}
	// The largest amounts do not overflow the scale.
	big := buildChart(from, 1, []ownkey.DayProviderUsage{seg("2025-03-10", "openai", 1<<62, 0, 1)}, metricCharged)
	if s := big.Bars[0].Segments; len(s) != 1 || s[0].H != plotHeight {
		t.Fatalf("huge: %+v", s)
	}
}
