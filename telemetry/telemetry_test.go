package telemetry

import (
	"context"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ownkey/ownkey"
)

// Without a recording span in the context (tracing off), StartUpstream
// creates nothing and allocates nothing: the chat path pays one context
// lookup.
func TestStartUpstreamOffCostsNothing(t *testing.T) {
	p, _ := ownkey.LookupProvider("groq")
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		c, span := StartUpstream(ctx, p, "llama-3.3-70b-versatile", "https://api.groq.com/openai/v1", false)
		if span != nil || c != ctx {
			t.Fatal("a span without tracing")
		}
		EndUpstream(span, &ownkey.ChatResult{}, nil)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per call with tracing off", allocs)
	}
}

// With a recording parent, the child names the operation and model, and
// carries the conventions' attributes; the base URL gives the host only.
func TestStartUpstream(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	p, _ := ownkey.LookupProvider("aws")
	_, span := StartUpstream(ctx, p, "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "https://user:secret@bedrock-runtime.us-east-1.amazonaws.com/x", true)
	EndUpstream(span, &ownkey.ChatResult{Status: 200, ModelServed: "claude", FinishReason: "stop",
		Usage: ownkey.Usage{PromptTokens: 10, CompletionTokens: 5, CacheWriteTokens: 2, ReasoningTokens: 1, Source: ownkey.UsageFromProvider}}, nil)
	parent.End()
	spans := exp.GetSpans()
	if len(spans) != 2 || spans[0].Name != "chat us.anthropic.claude-sonnet-4-5-20250929-v1:0" {
		t.Fatalf("spans %v", spans)
	}
	got := map[string]string{}
	for _, kv := range spans[0].Attributes {
		got[string(kv.Key)] = kv.Value.String()
	}
	for k, want := range map[string]string{
		"gen_ai.provider.name": "aws.bedrock", "gen_ai.operation.name": "chat", "server.address": "bedrock-runtime.us-east-1.amazonaws.com",
		"gen_ai.usage.input_tokens": "10", "gen_ai.usage.output_tokens": "5", "gen_ai.usage.cache_creation.input_tokens": "2",
		"gen_ai.usage.reasoning.output_tokens": "1", "ownkey.usage.source": "provider", "ownkey.stream": "true",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	for k, v := range got {
		if strings.Contains(v, "secret") {
			t.Errorf("%s holds the base URL's password", k)
		}
	}
}

func TestSafeText(t *testing.T) {
	if SafeText("gpt-4o") != "gpt-4o" || SafeText("x"+ownkey.APIKeyPrefix+"abc") != "[redacted]" || len(SafeText(strings.Repeat("a", 500))) != 200 {
		t.Fatal("SafeText")
	}
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if tp, err := FromEnv(context.Background(), env(nil), "v"); tp != nil || err != nil {
		t.Fatalf("off by default: %v %v", tp, err)
	}
	for _, m := range []map[string]string{
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"},
	} {
		if Enabled(env(m)) {
			t.Fatalf("enabled with %v", m)
		}
	}
	_, err := FromEnv(context.Background(), env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}), "v")
	if err == nil || !strings.Contains(err.Error(), "http/protobuf") {
		t.Fatalf("grpc: %v", err)
	}
	// The exporter connects lazily: building it sends nothing.
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:1/v1/traces")
	tp, err := FromEnv(context.Background(), env(map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}), "v")
	if err != nil || tp == nil {
		t.Fatalf("FromEnv: %v %v", tp, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // nothing to flush; do not wait on the unreachable collector
	_ = tp.Shutdown(ctx)
}

// benchKey is the benchmark's context key.
type benchKey struct{}

// BenchmarkStartUpstreamOff is what the chat path pays per request for
// tracing when it is off.
func BenchmarkStartUpstreamOff(b *testing.B) {
	p, _ := ownkey.LookupProvider("groq")
	ctx := context.WithValue(context.Background(), benchKey{}, 1) // a request's context is a chain
	res := &ownkey.ChatResult{}
	b.ReportAllocs()
	for b.Loop() {
		_, span := StartUpstream(ctx, p, "llama-3.3-70b-versatile", "https://api.groq.com/openai/v1", false)
		EndUpstream(span, res, nil)
	}
}
