package httpapi

import (
	"sync"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/prometheus/client_golang/prometheus"
)

// chatMetrics are the chat requests' metrics, observed once per request as
// it ends (observe), from the call's outcome and the handler's total time.
//
// Labels are bounded: provider is a catalog provider id ("none" for a
// request refused before a provider was chosen); model is the id of a model
// of the catalog in force (built-in, imported or priced by the operator)
// at that provider, "other" for any other model a client names; outcome is
// one of chatOutcomes; kind one of tokenKinds; key byok or platform.
type chatMetrics struct {
	requests *prometheus.CounterVec
	tokens   *prometheus.CounterVec
	ttfb     *prometheus.HistogramVec
	upstream *prometheus.HistogramVec
	overhead *prometheus.HistogramVec
	charged  *prometheus.CounterVec

	// series caches each (provider, model)'s counters and observers: a
	// map lookup per request instead of hashing label values.
	mu     sync.RWMutex
	series map[chatKey]*chatSeries
}

type chatKey struct{ provider, model string }

// The outcome label's values.
const (
	outcomeOK      = iota // the provider answered and the answer is whole
	outcomeRefused        // ownkey refused it before sending it upstream (no key, limits, balance, …)
	outcomeKeyRejected
	outcomeUpstreamError
	outcomeUpstreamUnavailable
	outcomeUpstreamTimeout
	outcomeStreamError
	outcomeStreamTruncated
	outcomeClientDisconnected
	outcomeError // anything else
	numOutcomes
)

var chatOutcomes = [numOutcomes]string{
	"ok", "refused", "provider_auth_failed", "upstream_error", "upstream_unavailable", "upstream_timeout",
	"stream_error", "stream_truncated", "client_disconnected", "error",
}

// tokenKinds are the token counters' kind label: prompt and completion
// tokens in OpenAI's meaning (prompt includes cached and cache-write
// tokens, completion includes reasoning tokens), and those parts.
var tokenKinds = [...]string{"prompt", "completion", "cached", "cache_write", "reasoning"}

type chatSeries struct {
	outcomes [numOutcomes]prometheus.Counter
	tokens   [len(tokenKinds)]prometheus.Counter
	ttfb     prometheus.Observer
	upstream prometheus.Observer
	overhead [2]prometheus.Observer // non-streaming, streaming
	charged  [2]prometheus.Counter  // platform key, account's own key
}

func newChatMetrics(reg prometheus.Registerer) *chatMetrics {
	m := &chatMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ownkey_chat_requests_total",
			Help: "Chat requests by provider, model (a catalog model, else \"other\") and outcome: ok, refused (by ownkey, before the provider: no key, limits, balance), provider_auth_failed (the provider refused the stored key), upstream_error, upstream_unavailable, upstream_timeout, stream_error, stream_truncated, client_disconnected, error.",
		}, []string{"provider", "model", "outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ownkey_chat_tokens_total",
			Help: "Tokens of chat requests by provider, model and kind: prompt (includes cached and cache_write), completion (includes reasoning), cached, cache_write, reasoning; provider-reported, or ownkey's estimate when the provider reported none.",
		}, []string{"provider", "model", "kind"}),
		ttfb: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ownkey_chat_upstream_ttfb_seconds",
			Help:    "Time from sending a chat request to its provider to the provider's response headers.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"provider", "model"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ownkey_chat_upstream_duration_seconds",
			Help:    "Time from sending a chat request to its provider to the end of the provider's response (its last byte read, or the failure).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"provider", "model"}),
		overhead: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ownkey_chat_gateway_overhead_seconds",
			Help:    "Time a chat request spent in ownkey outside the provider: the handler's total time (request headers read to the response's end) minus ownkey_chat_upstream_duration_seconds. Requests sent to a provider only.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"provider", "stream"}),
		charged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ownkey_chat_charged_nano_usd_total",
			Help: "What chat requests were charged (usage.cost), in nano-USD, by provider and whose key served them (byok, platform). A float: exact up to 2^53 nano-USD (about 9 million USD) per series.",
		}, []string{"provider", "key"}),
		series: map[chatKey]*chatSeries{},
	}
	reg.MustRegister(m.requests, m.tokens, m.ttfb, m.upstream, m.overhead, m.charged)
	return m
}

// modelLabel bounds the model label: the catalog's id of model at
// provider, or "other".
func modelLabel(provider, model string) string {
	if provider == "" {
		return "other"
	}
	if e, ok := ownkey.ActiveModels().Lookup(provider, model); ok {
		return e.Model
	}
	return "other"
}

func (m *chatMetrics) of(provider, model string) *chatSeries {
	k := chatKey{provider, model}
	m.mu.RLock()
	s := m.series[k]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s = m.series[k]; s != nil {
		return s
	}
	s = &chatSeries{
		ttfb:     m.ttfb.WithLabelValues(provider, model),
		upstream: m.upstream.WithLabelValues(provider, model),
		overhead: [2]prometheus.Observer{m.overhead.WithLabelValues(provider, "false"), m.overhead.WithLabelValues(provider, "true")},
		charged:  [2]prometheus.Counter{m.charged.WithLabelValues(provider, "platform"), m.charged.WithLabelValues(provider, "byok")},
	}
	for i, o := range chatOutcomes {
		s.outcomes[i] = m.requests.WithLabelValues(provider, model, o)
	}
	for i, k := range tokenKinds {
		s.tokens[i] = m.tokens.WithLabelValues(provider, model, k)
	}
	m.series[k] = s
	return s
}

// outcomeOf classifies a chat request for the outcome label; status is the
// response's.
func outcomeOf(o *ownkey.ChatOutcome, status int) int {
	switch o.ErrorCode {
	case "":
		switch {
		case o.Upstream && status >= 200 && status < 300:
			return outcomeOK
		case !o.Upstream:
			return outcomeRefused
		}
		return outcomeError
	case "provider_auth_failed":
		return outcomeKeyRejected
	case "upstream_error":
		return outcomeUpstreamError
	case "upstream_unavailable":
		return outcomeUpstreamUnavailable
	case "upstream_timeout":
		return outcomeUpstreamTimeout
	case "stream_error":
		return outcomeStreamError
	case "stream_truncated":
		return outcomeStreamTruncated
	case "client_disconnected":
		return outcomeClientDisconnected
	}
	return outcomeError
}

// observe counts one chat request that ended with status after total (the
// handler's whole time).
func (m *chatMetrics) observe(o *ownkey.ChatOutcome, stream bool, status int, total time.Duration) {
	provider := o.Provider
	if provider == "" {
		provider = "none"
	}
	s := m.of(provider, modelLabel(o.Provider, o.Model))
	s.outcomes[outcomeOf(o, status)].Inc()
	if u := o.Usage; !u.IsZero() {
		for i, n := range [...]int64{u.PromptTokens, u.CompletionTokens, u.CachedTokens, u.CacheWriteTokens, u.ReasoningTokens} {
			if n > 0 {
				s.tokens[i].Add(float64(n))
			}
		}
	}
	if o.Charged > 0 {
		s.charged[b2i(o.BYOK)].Add(float64(o.Charged))
	}
	if !o.Upstream {
		return
	}
	if o.TTFB > 0 {
		s.ttfb.Observe(o.TTFB.Seconds())
	}
	s.upstream.Observe(o.UpstreamLatency.Seconds())
	s.overhead[b2i(stream)].Observe(max(total-o.UpstreamLatency, 0).Seconds())
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
