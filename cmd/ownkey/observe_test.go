package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ownkey/ownkey"
)

// streamWithUsage is a plain streamed answer ending with Groq's usage
// chunk.
var streamWithUsage = []string{
	`data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}`,
	`data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}`,
	`data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"llama-3.3-70b-versatile","choices":[],"usage":{"prompt_tokens":30,"completion_tokens":7,"total_tokens":37,"prompt_tokens_details":{"cached_tokens":10},"completion_tokens_details":{"reasoning_tokens":3}}}`,
	`data: [DONE]`,
}

const invalidKeyJSON = `{"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}`

// scriptedGroq answers as Groq does, by what the request asks: "fail500"
// in the body is a server error, "badkey" Groq's 401, a stream the stream
// above, anything else completionJSON.
func scriptedGroq(t *testing.T) *fakeOpenAI {
	return newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch {
		case bytes.Contains(body, []byte("fail500")):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(500)
			io.WriteString(w, `{"error":{"message":"Internal server error","type":"internal_server_error"}}`)
		case bytes.Contains(body, []byte("badkey")):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			io.WriteString(w, invalidKeyJSON)
		case bytes.Contains(body, []byte(`"stream":true`)):
			sseReply(streamWithUsage, "\n\n")(w, r, body)
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, completionJSON)
		}
	})
}

// chatJSON is a chat request body for model saying text.
func chatJSON(model, text string, stream bool) string {
	b, _ := json.Marshal(map[string]any{"model": model, "stream": stream,
		"messages": []any{map[string]any{"role": "user", "content": text}}})
	return string(b)
}

// scrape reads /metrics (with the bearer token, if any) into its families.
func scrape(t *testing.T, url, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("scrape: %d %s", res.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// metric finds the series of family name with exactly labels (name=value
// pairs); nil if there is none.
func metric(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels)/2 {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	return nil
}

func counter(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	m := metric(fams, name, labels...)
	if m == nil {
		t.Fatalf("no series %s%v", name, labels)
	}
	return m.GetCounter().GetValue()
}

func histCount(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) uint64 {
	t.Helper()
	m := metric(fams, name, labels...)
	if m == nil {
		t.Fatalf("no series %s%v", name, labels)
	}
	return m.GetHistogram().GetSampleCount()
}

// TestChatMetricsAfterRequests: real requests through a fake Groq, then a
// scrape: requests by provider, model and outcome; tokens by kind; the
// upstream and overhead histograms; the charged amount equal to what the
// usage records hold; a model outside the catalog counted as "other"; a
// request refused before routing under provider "none".
func TestChatMetricsAfterRequests(t *testing.T) {
	up := scriptedGroq(t)
	g, key, id := chatGateway(t, up.srv.URL, nil)
	const llama = "llama-3.3-70b-versatile"
	client := sdkClient(g, key)
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")}

	if _, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "groq/" + llama, Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{Model: "groq/" + llama, Messages: msgs})
	for stream.Next() {
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "groq/" + llama,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("fail500")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
		t.Fatalf("upstream 500: %v", err)
	}
	// A fine-tune the catalog does not list: its label is "other".
	if _, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "groq/ft:my-own-llama", Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	// No anthropic key: refused before any provider.
	_, err = client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "claude-sonnet-4-5", Messages: msgs})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Fatalf("no key: %v", err)
	}

	recs := g.usageRecords(t, id, 4)
	var charged ownkey.NanoUSD
	for _, r := range recs {
		charged += r.Charge.Charged
	}
	fams := scrape(t, g.srv.URL+"/metrics", "")
	req := "ownkey_chat_requests_total"
	for _, c := range []struct {
		model, outcome string
		want           float64
	}{
		{llama, "ok", 2}, {llama, "upstream_error", 1}, {llama, "refused", 0}, {"other", "ok", 1},
	} {
		if got := counter(t, fams, req, "provider", "groq", "model", c.model, "outcome", c.outcome); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.model, c.outcome, got, c.want)
		}
	}
	if got := counter(t, fams, req, "provider", "none", "model", "other", "outcome", "refused"); got != 1 {
		t.Errorf("refused before routing: %v", got)
	}
	tok := "ownkey_chat_tokens_total"
	for _, c := range []struct {
		kind string
		want float64
	}{{"prompt", 21 + 30}, {"completion", 4 + 7}, {"cached", 5 + 10}, {"reasoning", 3}, {"cache_write", 0}} {
		if got := counter(t, fams, tok, "provider", "groq", "model", llama, "kind", c.kind); got != c.want {
			t.Errorf("%s tokens: %v, want %v", c.kind, got, c.want)
		}
	}
	// Three requests reached Groq as llama (the failed one too).
	if n := histCount(t, fams, "ownkey_chat_upstream_ttfb_seconds", "provider", "groq", "model", llama); n != 3 {
		t.Errorf("ttfb observations: %d", n)
	}
	if n := histCount(t, fams, "ownkey_chat_upstream_duration_seconds", "provider", "groq", "model", llama); n != 3 {
		t.Errorf("upstream duration observations: %d", n)
	}
	if n := histCount(t, fams, "ownkey_chat_gateway_overhead_seconds", "provider", "groq", "stream", "false"); n != 3 {
		t.Errorf("overhead observations, not streamed: %d", n)
	}
	if n := histCount(t, fams, "ownkey_chat_gateway_overhead_seconds", "provider", "groq", "stream", "true"); n != 1 {
		t.Errorf("overhead observations, streamed: %d", n)
	}
	if m := metric(fams, "ownkey_chat_gateway_overhead_seconds", "provider", "none", "stream", "false"); m != nil && m.GetHistogram().GetSampleCount() != 0 {
		t.Error("a request that reached no provider was counted as overhead")
	}
	if got := counter(t, fams, "ownkey_chat_charged_nano_usd_total", "provider", "groq", "key", "byok"); charged == 0 || got != float64(charged) {
		t.Errorf("charged: %v, the usage records say %d", got, charged)
	}
	if metric(fams, "ownkey_usage_queue_length") == nil {
		t.Error("no usage backlog gauge")
	}
}

// TestMetricsToken: with OWNKEY_METRICS_TOKEN, /metrics answers only to
// that bearer token; a short token or a bad address refuses to start.
func TestMetricsToken(t *testing.T) {
	const token = "metrics-token-0123456789abcdef"
	g := newTestGatewayWith(t, map[string]string{"OWNKEY_METRICS_TOKEN": token}, func(c *config) {
		if err := c.readObservability(); err != nil {
			t.Fatal(err)
		}
	})
	for _, bad := range []string{"", "wrong-token-0123456789abcdef", g.adminKey} {
		req, _ := http.NewRequest("GET", g.srv.URL+"/metrics", nil)
		if bad != "" {
			req.Header.Set("Authorization", "Bearer "+bad)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r := readResponse(t, res)
		if r.Status != 401 || !strings.Contains(r.Header.Get("WWW-Authenticate"), "Bearer") || strings.Contains(string(r.Body), "ownkey_http") {
			t.Fatalf("token %q: %d %s", bad, r.Status, r.Body)
		}
		if _, _, code, _ := errorOf(t, r); code != "metrics_token_required" {
			t.Fatalf("code %q", code)
		}
	}
	if fams := scrape(t, g.srv.URL+"/metrics", token); fams["ownkey_http_requests_total"] == nil {
		t.Fatal("no HTTP metrics with the token")
	}
	if strings.Contains(g.logs.String(), token) {
		t.Fatal("the metrics token reached the log")
	}

	for env, want := range map[string]string{
		"OWNKEY_METRICS_TOKEN": "at least 16",
		"OWNKEY_METRICS_ADDR":  "not a listen address",
	} {
		t.Run(env, func(t *testing.T) {
			t.Setenv("OWNKEY_METRICS_TOKEN", "")
			t.Setenv(env, "short")
			err := (&config{}).readObservability()
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// TestMetricsOnTheirOwnAddress: with OWNKEY_METRICS_ADDR the API's listener
// no longer serves /metrics, the metrics listener serves only it.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	g := newTestGatewayWith(t, nil, func(c *config) { c.MetricsAddr = "127.0.0.1:0" })
	if r := g.send("GET", "/metrics", "", ""); r.Status != 404 {
		t.Fatalf("the API still serves /metrics: %d", r.Status)
	}
	srv, addr, err := serveMetrics("127.0.0.1:0", g.app.server, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if fams := scrape(t, "http://"+addr.String()+"/metrics", ""); fams["ownkey_http_requests_total"] == nil {
		t.Fatal("the metrics listener serves no metrics")
	}
	res, err := http.Get("http://" + addr.String() + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("the metrics listener serves the API: %d", res.StatusCode)
	}
}

// logLines returns the JSON log lines that carry request id rid.
func logLines(t *testing.T, g *testGateway, rid string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(g.logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["request_id"] == rid {
			out = append(out, m)
		}
	}
	return out
}

// TestAccessLogOneLinePerChatRequest: every chat request, whole or failed,
// logs exactly one line, the access line, with the provider, model,
// stream, status, tokens, usage source and, for a failure, its error code
// (and for a 5xx the message).
func TestAccessLogOneLinePerChatRequest(t *testing.T) {
	up := scriptedGroq(t)
	g, key, _ := chatGateway(t, up.srv.URL, nil)
	cases := []struct {
		name, body   string
		status       int
		want         map[string]any
		wantAbsent   []string
		wantErrorMsg bool
	}{
		{"whole", chatJSON("groq/llama-3.3-70b-versatile", "Say hello", false), 200, map[string]any{
			"msg": "request", "level": "INFO", "provider": "groq", "model": "groq/llama-3.3-70b-versatile", "stream": false, "byok": true,
			"status": 200.0, "prompt_tokens": 21.0, "completion_tokens": 4.0, "cached_tokens": 5.0, "usage_source": "provider",
		}, []string{"error_code", "error"}, false},
		{"streamed", chatJSON("groq/llama-3.3-70b-versatile", "Say hello", true), 200, map[string]any{
			"provider": "groq", "stream": true, "status": 200.0, "prompt_tokens": 30.0, "completion_tokens": 7.0, "reasoning_tokens": 3.0,
			"usage_source": "provider",
		}, []string{"error_code"}, false},
		{"upstream 500", chatJSON("groq/llama-3.3-70b-versatile", "fail500", false), 500, map[string]any{
			"level": "WARN", "provider": "groq", "status": 500.0, "error_code": "upstream_error", "usage_source": "none",
		}, nil, true},
		{"key refused", chatJSON("groq/llama-3.3-70b-versatile", "badkey", false), 401, map[string]any{
			"provider": "groq", "status": 401.0, "error_code": "byok_provider_auth_failed",
		}, nil, false},
		{"no key", chatJSON("claude-sonnet-4-5", "hi", false), 400, map[string]any{
			"model": "claude-sonnet-4-5", "status": 400.0, "error_code": "byok_no_provider_for_model",
		}, []string{"provider", "prompt_tokens"}, false},
		{"bad body", `{"model":"x"}`, 400, map[string]any{"status": 400.0, "error_code": "invalid"}, []string{"provider", "model"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := g.send("POST", "/v1/chat/completions", key, c.body, "x-use-byok", "true", "Content-Type", "application/json")
			if r.Status != c.status {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			rid := r.Header.Get("X-Request-ID")
			var lines []map[string]any
			// The access line is the request's last word: once it is
			// there, anything else the request logs is too.
			until(t, "the access line is written", func() bool {
				lines = logLines(t, g, rid)
				return slices.ContainsFunc(lines, func(l map[string]any) bool { return l["msg"] == "request" })
			})
			if len(lines) != 1 {
				t.Fatalf("%d log lines for one request:\n%v", len(lines), lines)
			}
			line := lines[0]
			for k, v := range c.want {
				if line[k] != v {
					t.Errorf("%s = %#v, want %#v (%v)", k, line[k], v, line)
				}
			}
			for _, k := range c.wantAbsent {
				if _, ok := line[k]; ok {
					t.Errorf("%s present: %v", k, line)
				}
			}
			if msg, _ := line["error"].(string); c.wantErrorMsg != (msg != "") {
				t.Errorf("error message %q", msg)
			}
			for _, k := range []string{"duration_us", "account_id", "api_key_id", "path", "method"} {
				if _, ok := line[k]; !ok {
					t.Errorf("no %s: %v", k, line)
				}
			}
		})
	}
	for _, gone := range []string{"chat request failed", `"msg":"request failed"`, `"msg":"internal error"`} {
		if strings.Contains(g.logs.String(), gone) {
			t.Errorf("a line of its own: %s", gone)
		}
	}
}

// spanByName waits for the exporter to hold a span named name.
func spanByName(t *testing.T, exp *tracetest.InMemoryExporter, name string) tracetest.SpanStub {
	t.Helper()
	var found tracetest.SpanStub
	defer func() {
		if found.Name == "" {
			for _, s := range exp.GetSpans() {
				t.Logf("span %q", s.Name)
			}
		}
	}()
	until(t, "span "+name, func() bool {
		for _, s := range exp.GetSpans() {
			if s.Name == name {
				found = s
				return true
			}
		}
		return false
	})
	return found
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// TestTraces: with a tracer provider (an in-memory exporter here; OTLP in
// production), a chat request is one server span, under the client's
// traceparent, with the upstream call as a client child span carrying the
// GenAI attributes; a failure is an error span; no attribute holds a key
// or the conversation; health checks are not traced.
func TestTraces(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	up := scriptedGroq(t)
	g := newTestGatewayWith(t, map[string]string{"OWNKEY_GROQ_BASE_URL": up.srv.URL + "/openai/v1"}, func(c *config) { c.Tracing = tp })
	_, key := g.createAccount("traced")
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "key": groqKey}); r.Status != 200 {
		t.Fatalf("store groq key: %d %s", r.Status, r.Body)
	}

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	client := sdkClient(g, key, option.WithHeader("traceparent", "00-"+traceID+"-"+parentID+"-01"))
	if _, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "groq/llama-3.3-70b-versatile",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")}}); err != nil {
		t.Fatal(err)
	}
	server := spanByName(t, exp, "POST /v1/chat/completions")
	child := spanByName(t, exp, "chat llama-3.3-70b-versatile")
	if server.SpanKind != trace.SpanKindServer || server.SpanContext.TraceID().String() != traceID || server.Parent.SpanID().String() != parentID {
		t.Fatalf("server span: kind %v trace %s parent %s", server.SpanKind, server.SpanContext.TraceID(), server.Parent.SpanID())
	}
	if child.SpanKind != trace.SpanKindClient || child.Parent.SpanID() != server.SpanContext.SpanID() || child.SpanContext.TraceID() != server.SpanContext.TraceID() {
		t.Fatal("the upstream span is not the request span's child")
	}
	ca := attrs(child)
	for k, want := range map[attribute.Key]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "groq", "gen_ai.system": "groq",
		"gen_ai.request.model": "llama-3.3-70b-versatile", "gen_ai.response.model": "llama-3.3-70b-versatile",
		"gen_ai.usage.input_tokens": int64(21), "gen_ai.usage.output_tokens": int64(4), "gen_ai.usage.cache_read.input_tokens": int64(5),
		"http.response.status_code": int64(200), "server.address": "127.0.0.1", "ownkey.provider": "groq",
	} {
		if got := ca[k].AsInterface(); got != want {
			t.Errorf("child %s = %#v, want %#v", k, got, want)
		}
	}
	if fr := ca["gen_ai.response.finish_reasons"].AsStringSlice(); len(fr) != 1 || fr[0] != "stop" {
		t.Errorf("finish reasons %v", fr)
	}
	sa := attrs(server)
	for k, want := range map[attribute.Key]any{
		"http.request.method": "POST", "http.route": "/v1/chat/completions", "http.response.status_code": int64(200),
		"gen_ai.request.model": "llama-3.3-70b-versatile", "ownkey.byok": true, "ownkey.stream": false,
	} {
		if got := sa[k].AsInterface(); got != want {
			t.Errorf("server %s = %#v, want %#v", k, got, want)
		}
	}

	// A failure: the spans say so.
	exp.Reset()
	_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "groq/llama-3.3-70b-versatile",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("fail500")}})
	if err == nil {
		t.Fatal("no error")
	}
	server = spanByName(t, exp, "POST /v1/chat/completions")
	child = spanByName(t, exp, "chat llama-3.3-70b-versatile")
	if server.Status.Code != codes.Error || child.Status.Code != codes.Error || attrs(child)["error.type"].AsString() != "upstream_error" {
		t.Fatalf("failure spans: %v %v %v", server.Status, child.Status, attrs(child)["error.type"])
	}

	// Not traced: the probes.
	exp.Reset()
	g.send("GET", "/healthz", "", "")
	if r := g.send("GET", "/v1/models", key, ""); r.Status != 200 {
		t.Fatal(r.Status)
	}
	spanByName(t, exp, "GET /v1/models")
	for _, s := range exp.GetSpans() {
		if strings.Contains(s.Name, "healthz") {
			t.Fatal("/healthz was traced")
		}
	}

	// Nothing secret or said, in any span of any request above.
	for _, s := range exp.GetSpans() {
		for _, kv := range s.Attributes {
			v := kv.Value.String()
			for _, secret := range []string{groqKey, key, "Say hello", "fail500", "Hello from groq"} {
				if strings.Contains(v, secret) {
					t.Errorf("span %s attribute %s holds %q", s.Name, kv.Key, secret)
				}
			}
		}
	}
}
