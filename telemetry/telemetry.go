// Package telemetry is ownkey's OpenTelemetry tracing: one server span per
// HTTP request (httpapi) and, for a chat request that reaches a provider, a
// child client span for the upstream call (chat), with the attributes of
// the GenAI semantic conventions. Tracing is off unless
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is
// set; then spans are exported over OTLP/HTTP (FromEnv).
//
// When off, nothing here creates a span or allocates: httpapi holds no
// tracer, and StartUpstream finds no recording span in the context.
//
// No attribute ever holds a key (an ownkey API key, a provider key) or
// message content: only ids, model names, token counts, statuses and error
// codes.
package telemetry

import (
	"context"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ownkey/ownkey"
)

// TracerName is the instrumentation scope of ownkey's spans.
const TracerName = "github.com/ownkey/ownkey"

// Attribute keys of ownkey's own (the GenAI and HTTP ones are semconv's).
const (
	RequestIDKey   = attribute.Key("ownkey.request_id")
	AccountIDKey   = attribute.Key("ownkey.account_id")
	ProviderKey    = attribute.Key("ownkey.provider")
	BYOKKey        = attribute.Key("ownkey.byok")
	StreamKey      = attribute.Key("ownkey.stream")
	UsageSourceKey = attribute.Key("ownkey.usage.source")
	ErrorCodeKey   = attribute.Key("ownkey.error_code")
	ChargedKey     = attribute.Key("ownkey.charged_nano_usd")
	// GenAISystemKey is gen_ai.system, which gen_ai.provider.name
	// replaced in the conventions; older backends still read it.
	GenAISystemKey = attribute.Key("gen_ai.system")
)

// genAIProviders are the GenAI conventions' well-known provider names for
// ownkey's provider ids; any other provider is named by its ownkey id.
var genAIProviders = map[string]string{
	"openai":                  "openai",
	"openai-responses":        "openai",
	"anthropic":               "anthropic",
	"aws":                     "aws.bedrock",
	"azure":                   "azure.ai.openai",
	"azure-responses":         "azure.ai.openai",
	"azure-anthropic-foundry": "azure.ai.inference",
	"google":                  "gcp.gemini",
	"groq":                    "groq",
	"perplexity":              "perplexity",
}

// GenAIProvider is gen_ai.provider.name for an ownkey provider id.
func GenAIProvider(id string) string {
	if n, ok := genAIProviders[id]; ok {
		return n
	}
	return id
}

// maxText bounds a client-chosen string (a model id) put in an attribute.
const maxText = 200

// SafeText makes a client-chosen string fit for an attribute or a log
// field: at most 200 bytes, and never anything holding an ownkey API key
// (a key pasted into the model field).
func SafeText(s string) string {
	if strings.Contains(s, ownkey.APIKeyPrefix) {
		return "[redacted]"
	}
	if len(s) > maxText {
		return s[:maxText]
	}
	return s
}

// StartUpstream starts the client span of the upstream call to provider p
// for model, as a child of the request's span, when ctx holds a recording
// span; otherwise it returns ctx and a nil span, having created nothing.
func StartUpstream(ctx context.Context, p *ownkey.Provider, model, baseURL string, stream bool) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, nil
	}
	model = SafeText(model)
	attrs := []attribute.KeyValue{
		semconv.GenAIOperationNameChat,
		semconv.GenAIProviderNameKey.String(GenAIProvider(p.ID)),
		GenAISystemKey.String(GenAIProvider(p.ID)),
		semconv.GenAIRequestModel(model),
		ProviderKey.String(p.ID),
		StreamKey.Bool(stream),
	}
	// The host only: an operator's base URL may carry credentials in its
	// user info, and its path says nothing useful.
	if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" {
		attrs = append(attrs, semconv.ServerAddress(u.Hostname()))
	}
	return parent.TracerProvider().Tracer(TracerName).Start(ctx, "chat "+model,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// EndUpstream ends span (nil: nothing) with what the call came to: the
// model the provider served, the tokens, the finish reason, and on failure
// the error code (error.type) and an error status.
func EndUpstream(span trace.Span, res *ownkey.ChatResult, err error) {
	if span == nil {
		return
	}
	if res != nil {
		span.SetAttributes(outcomeAttrs(res.ModelServed, res.Usage, res.FinishReason, res.Status)...)
		if res.ErrorCode != "" {
			span.SetAttributes(semconv.ErrorTypeKey.String(res.ErrorCode))
			span.SetStatus(codes.Error, res.ErrorCode)
		}
	} else if err != nil {
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

func outcomeAttrs(served string, u ownkey.Usage, finish string, status int) []attribute.KeyValue {
	var a []attribute.KeyValue
	if served != "" {
		a = append(a, semconv.GenAIResponseModel(SafeText(served)))
	}
	if !u.IsZero() {
		a = append(a, semconv.GenAIUsageInputTokens(int(u.PromptTokens)), semconv.GenAIUsageOutputTokens(int(u.CompletionTokens)))
		if u.CachedTokens > 0 {
			a = append(a, semconv.GenAIUsageCacheReadInputTokens(int(u.CachedTokens)))
		}
		if u.CacheWriteTokens > 0 {
			a = append(a, semconv.GenAIUsageCacheCreationInputTokens(int(u.CacheWriteTokens)))
		}
		if u.ReasoningTokens > 0 {
			a = append(a, semconv.GenAIUsageReasoningOutputTokens(int(u.ReasoningTokens)))
		}
		a = append(a, UsageSourceKey.String(string(u.Source)))
	}
	if finish != "" {
		a = append(a, semconv.GenAIResponseFinishReasons(finish))
	}
	if status != 0 {
		a = append(a, semconv.HTTPResponseStatusCode(status))
	}
	return a
}

// ChatAttrs are the server span's attributes for a chat call's outcome.
func ChatAttrs(o *ownkey.ChatOutcome) []attribute.KeyValue {
	if o.Provider == "" {
		return nil
	}
	a := []attribute.KeyValue{
		semconv.GenAIOperationNameChat,
		semconv.GenAIProviderNameKey.String(GenAIProvider(o.Provider)),
		semconv.GenAIRequestModel(SafeText(o.Model)),
		ProviderKey.String(o.Provider),
		BYOKKey.Bool(o.BYOK),
	}
	a = append(a, outcomeAttrs(o.ModelServed, o.Usage, "", 0)...)
	if o.ErrorCode != "" {
		a = append(a, ErrorCodeKey.String(o.ErrorCode))
	}
	if o.Charged != 0 {
		a = append(a, ChargedKey.Int64(int64(o.Charged)))
	}
	return a
}
