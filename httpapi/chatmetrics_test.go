package httpapi

import (
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Counting a chat request allocates nothing once its series exist, and the
// labels stay bounded: a model outside the catalog is "other", a request
// refused before routing is provider "none".
func TestChatMetricsObserve(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newChatMetrics(reg)
	ok := &ownkey.ChatOutcome{Provider: "groq", Model: "llama-3.3-70b-versatile", BYOK: true, Upstream: true, Status: 200,
		Usage: ownkey.Usage{PromptTokens: 10, CompletionTokens: 5, CachedTokens: 2}, Charged: 1234,
		TTFB: 100 * time.Millisecond, UpstreamLatency: 400 * time.Millisecond}
	m.observe(ok, false, 200, 405*time.Millisecond)
	n := 1.0
	if !raceEnabled { // the race detector allocates
		if allocs := testing.AllocsPerRun(100, func() { m.observe(ok, false, 200, 405*time.Millisecond) }); allocs != 0 {
			t.Fatalf("observe allocates %v times", allocs)
		}
		n += 101 // AllocsPerRun runs it once more to warm up
	}
	m.observe(&ownkey.ChatOutcome{Provider: "groq", Model: "My-Own-Model", Upstream: true, ErrorCode: "stream_truncated"}, true, 200, time.Second)
	m.observe(&ownkey.ChatOutcome{Model: "x"}, false, 400, time.Millisecond)
	m.observe(&ownkey.ChatOutcome{Provider: "groq", Model: "LLAMA-3.3-70B-VERSATILE", Upstream: true, ErrorCode: "provider_auth_failed"}, false, 401, time.Millisecond)
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"groq", "llama-3.3-70b-versatile", "ok"}, n},
		{[]string{"groq", "other", "stream_truncated"}, 1},
		{[]string{"none", "other", "refused"}, 1},
		{[]string{"groq", "llama-3.3-70b-versatile", "provider_auth_failed"}, 1},
	} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(c.labels...)); got != c.want {
			t.Errorf("%v: %v, want %v", c.labels, got, c.want)
		}
	}
	if got := testutil.ToFloat64(m.charged.WithLabelValues("groq", "byok")); got != n*1234 {
		t.Errorf("charged %v", got)
	}
	if got := testutil.ToFloat64(m.tokens.WithLabelValues("groq", "llama-3.3-70b-versatile", "cached")); got != n*2 {
		t.Errorf("cached tokens %v", got)
	}
}

func BenchmarkChatMetricsObserve(b *testing.B) {
	m := newChatMetrics(prometheus.NewRegistry())
	o := &ownkey.ChatOutcome{Provider: "groq", Model: "llama-3.3-70b-versatile", BYOK: true, Upstream: true, Status: 200,
		Usage: ownkey.Usage{PromptTokens: 10, CompletionTokens: 5}, TTFB: time.Millisecond, UpstreamLatency: 2 * time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		m.observe(o, false, 200, 3*time.Millisecond)
	}
}
