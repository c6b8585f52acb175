package httpapi

import (
	"context"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ownkey/ownkey/telemetry"
)

// Tracing (Config.Tracer set): one server span per request, started in
// observe, under the client's W3C traceparent when it sent one, and ended
// with the route, the status and, for a chat request, what the chat service
// reported; the chat service adds the upstream call as a child span
// (telemetry.StartUpstream). Health checks and /metrics are not traced.
// Without a tracer none of this runs.

var traceContext propagation.TraceContext

// traced says whether a path gets a span: not the probes and scrapes that
// hit a server every few seconds.
func traced(path string) bool {
	return path != "/healthz" && path != "/readyz" && path != "/metrics"
}

func (s *Server) startSpan(ctx context.Context, r *http.Request, rid string) (context.Context, trace.Span) {
	ctx = traceContext.Extract(ctx, propagation.HeaderCarrier(r.Header))
	return s.cfg.Tracer.Start(ctx, safeMethod(r.Method), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			semconv.HTTPRequestMethodKey.String(safeMethod(r.Method)),
			semconv.URLPath(redactPath(r.URL.Path)),
			telemetry.RequestIDKey.String(rid),
		))
}

// endSpan names the span after its route ("POST /v1/chat/completions"),
// as the conventions ask (the path may hold ids; a request no route matched
// keeps the method alone), and ends it.
func endSpan(span trace.Span, r *http.Request, route string, status int, st *requestState) {
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if route != "unmatched" {
		// The mux's pattern is "METHOD /path/{id}": the route is the path.
		if i := strings.IndexByte(route, ' '); i >= 0 {
			route = route[i+1:]
		}
		span.SetName(safeMethod(r.Method) + " " + route)
		span.SetAttributes(semconv.HTTPRoute(route))
	}
	if p := st.principal; p != nil {
		span.SetAttributes(telemetry.AccountIDKey.Int64(p.Account.ID))
	}
	if c := &st.chat; c.served {
		span.SetAttributes(telemetry.StreamKey.Bool(c.stream))
		span.SetAttributes(telemetry.ChatAttrs(&c.outcome)...)
	}
	code := st.errCode
	if code == "" {
		code = st.chat.outcome.ErrorCode
	}
	if code == "" {
		code = st.errKind
	}
	if code != "" {
		span.SetAttributes(semconv.ErrorTypeKey.String(code))
	}
	if status >= 500 {
		span.SetStatus(codes.Error, code)
	}
	span.End()
}
