package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
	"github.com/ownkey/ownkey"
)

// fakeOpenAI is an OpenAI-compatible upstream that records what it received
// and answers with a scripted reply.
type fakeOpenAI struct {
	srv   *httptest.Server
	mu    sync.Mutex
	reqs  []recorded
	reply func(w http.ResponseWriter, r *http.Request, body []byte)
}

type recorded struct {
	Path   string
	Header http.Header
	Body   string
}

func newFakeOpenAI(t *testing.T, reply func(w http.ResponseWriter, r *http.Request, body []byte)) *fakeOpenAI {
	f := &fakeOpenAI{reply: reply}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{r.URL.Path, r.Header.Clone(), string(b)})
		f.mu.Unlock()
		f.reply(w, r, b)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOpenAI) last(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("upstream received nothing")
	}
	return f.reqs[len(f.reqs)-1]
}

// sse writes events with the given separator and flushes after each.
func sseReply(events []string, sep string) func(w http.ResponseWriter, r *http.Request, body []byte) {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range events {
			io.WriteString(w, e+sep)
			w.(http.Flusher).Flush()
		}
	}
}

const groqKey = "gsk_test_groq_key_0123456789"

// chatGateway is a test gateway with an account that holds a groq key whose
// base URL points at upstream.
func chatGateway(t testing.TB, upstream string, extra map[string]string) (*testGateway, string, int64) {
	env := map[string]string{"OWNKEY_GROQ_BASE_URL": upstream + "/openai/v1"}
	for k, v := range extra {
		env[k] = v
	}
	g := newTestGateway(t, env)
	id, key := g.createAccount("dev")
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "key": groqKey}); r.Status != 200 {
		t.Fatalf("store groq key: %d %s", r.Status, r.Body)
	}
	return g, key, id
}

func sdkClient(g *testGateway, key string, extra ...option.RequestOption) openai.Client {
	opts := append([]option.RequestOption{
		option.WithBaseURL(g.srv.URL + "/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0),
		option.WithHeader("x-use-byok", "true"),
	}, extra...)
	return openai.NewClient(opts...)
}

// usageRecords returns the account's stored usage records once there are
// want of them. The handler records after the response is complete, so a
// client can finish reading before the record exists: poll, with a deadline.
func (g *testGateway) usageRecords(t *testing.T, accountID int64, want int) []*ownkey.UsageRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if err := g.app.usage.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		recs, err := g.app.usageStore.UsageRecords(ctx, accountID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) >= want || ctx.Err() != nil {
			if len(recs) != want {
				t.Fatalf("%d usage records, want %d", len(recs), want)
			}
			return recs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const completionJSON = `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from groq"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":21,"completion_tokens":4,"total_tokens":25,"prompt_tokens_details":{"cached_tokens":5}}}`

func TestChatNonStreamingWithSDK(t *testing.T) {
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, completionJSON)
	})
	g, key, id := chatGateway(t, up.srv.URL, nil)
	client := sdkClient(g, key)

	resp, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model:    "groq/llama-3.3-70b-versatile",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "Hello from groq" || resp.Usage.PromptTokens != 21 || resp.Usage.CompletionTokens != 4 {
		t.Fatalf("response: %+v", resp)
	}
	got := up.last(t)
	if got.Path != "/openai/v1/chat/completions" || got.Header.Get("Authorization") != "Bearer "+groqKey {
		t.Fatalf("upstream saw path %s auth %q", got.Path, got.Header.Get("Authorization"))
	}
	if !strings.Contains(got.Body, `"model":"llama-3.3-70b-versatile"`) || strings.Contains(got.Body, "groq/") {
		t.Fatalf("upstream body: %s", got.Body)
	}
	// The ownkey key never travels upstream.
	for k, v := range got.Header {
		if strings.Contains(strings.Join(v, ","), key) {
			t.Fatalf("ownkey key forwarded in %s", k)
		}
	}
	recs := g.usageRecords(t, id, 1)
	if len(recs) != 1 {
		t.Fatalf("%d usage records", len(recs))
	}
	u := recs[0]
	if u.Provider != "groq" || u.ModelRequested != "groq/llama-3.3-70b-versatile" || u.ModelServed != "llama-3.3-70b-versatile" ||
		u.Usage.PromptTokens != 21 || u.Usage.CompletionTokens != 4 || u.Usage.CachedTokens != 5 ||
		u.Usage.Source != ownkey.UsageFromProvider || u.Status != 200 || u.Stream {
		t.Fatalf("usage record: %+v", u)
	}
	if u.RequestID == "" || u.APIKeyID == 0 {
		t.Fatalf("record lacks ids: %+v", u)
	}
}

// streamEvents is a tool-calling stream: two tool calls streamed in
// fragments by index, a finish chunk, and OpenAI's separate usage chunk.
var streamEvents = []string{
	`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"role":"assistant","content":null},"finish_reason":null}],"usage":null}`,
	`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}],"usage":null}`,
	`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}],"usage":null}`,
	`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}],"usage":null}`,
	`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{\"tz\":\"CET\"}"}}]},"finish_reason":null}],"usage":null}`,
	`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null}`,
	`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"llama-3.3-70b-versatile","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":30,"total_tokens":80}}`,
	`data: [DONE]`,
}

func TestChatStreamingToolsWithSDK(t *testing.T) {
	up := newFakeOpenAI(t, sseReply(streamEvents, "\n\n"))
	g, key, id := chatGateway(t, up.srv.URL, nil)
	client := sdkClient(g, key, option.WithHeader("x-byok-provider", "groq"))

	stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:    "llama-3.3-70b-versatile",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather and time in Paris?")},
		Tools: []openai.ChatCompletionToolUnionParam{
			openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather"}),
			openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_time"}),
		},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	acc := openai.ChatCompletionAccumulator{}
	usageChunks := 0
	for stream.Next() {
		c := stream.Current()
		acc.AddChunk(c)
		if c.Usage.TotalTokens > 0 {
			usageChunks++
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	tc := acc.Choices[0].Message.ToolCalls
	if len(tc) != 2 || tc[0].ID != "call_a" || tc[0].Function.Name != "get_weather" || tc[0].Function.Arguments != `{"city":"Paris"}` ||
		tc[1].ID != "call_b" || tc[1].Function.Arguments != `{"tz":"CET"}` {
		t.Fatalf("tool calls: %+v", tc)
	}
	if acc.Choices[0].FinishReason != "tool_calls" || acc.Usage.PromptTokens != 50 || acc.Usage.CompletionTokens != 30 || usageChunks != 1 {
		t.Fatalf("finish %q usage %+v usage chunks %d", acc.Choices[0].FinishReason, acc.Usage, usageChunks)
	}
	if body := up.last(t).Body; !strings.Contains(body, `"include_usage":true`) || !strings.Contains(body, `"tools"`) {
		t.Fatalf("upstream body: %s", body)
	}
	recs := g.usageRecords(t, id, 1)
	if len(recs) != 1 || !recs[0].Stream || recs[0].Usage.PromptTokens != 50 || recs[0].Usage.CompletionTokens != 30 || recs[0].Usage.Source != ownkey.UsageFromProvider {
		t.Fatalf("usage: %+v", recs)
	}
}

// A client that did not ask for usage gets no usage chunk, though ownkey
// forced include_usage upstream and recorded the numbers.
func TestChatStreamHidesForcedUsage(t *testing.T) {
	up := newFakeOpenAI(t, sseReply([]string{
		`: OPENROUTER PROCESSING`,
		`data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}`,
		`data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":1,"total_tokens":8}}`,
		`data: [DONE]`,
	}, "\r\n\r\n"))
	g, key, id := chatGateway(t, up.srv.URL, nil)
	body := `{"model":"llama-3.3-70b-versatile","stream":true,"messages":[{"role":"user","content":"hi"}],"byok":{"enabled":true,"provider":"groq"}}`
	req, _ := http.NewRequest("POST", g.srv.URL+"/api/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := string(out)
	if strings.Contains(s, `"usage"`) || strings.Contains(s, "OPENROUTER") || !strings.HasSuffix(s, "data: [DONE]\n\n") || !strings.Contains(s, `"content":"Hi"`) {
		t.Fatalf("client stream:\n%s", s)
	}
	up1 := up.last(t).Body
	if !strings.Contains(up1, `"include_usage":true`) || strings.Contains(up1, "byok") {
		t.Fatalf("upstream body: %s", up1)
	}
	if recs := g.usageRecords(t, id, 1); len(recs) != 1 || recs[0].Usage.PromptTokens != 7 || recs[0].Usage.CompletionTokens != 1 {
		t.Fatalf("usage: %+v", recs[0])
	}
}

func TestChatUpstreamErrorWithSDK(t *testing.T) {
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(429)
		io.WriteString(w, `{"error":{"message":"Rate limit reached for key `+groqKey+`","type":"tokens","code":"rate_limit_exceeded"}}`)
	})
	g, key, id := chatGateway(t, up.srv.URL, nil)
	client := sdkClient(g, key, option.WithHeader("x-byok-provider", "groq"))
	_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: "llama-3.3-70b-versatile", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %T %v", err, err)
	}
	if apiErr.StatusCode != 429 || apiErr.Code != "rate_limit_exceeded" || apiErr.Type != "tokens" ||
		!strings.Contains(apiErr.Message, "Rate limit reached") || strings.Contains(apiErr.Message, groqKey) {
		t.Fatalf("error: %d %q %q %q", apiErr.StatusCode, apiErr.Code, apiErr.Type, apiErr.Message)
	}
	if apiErr.Response.Header.Get("Retry-After") != "7" {
		t.Fatalf("retry-after %q", apiErr.Response.Header.Get("Retry-After"))
	}
	recs := g.usageRecords(t, id, 1)
	if len(recs) != 1 || recs[0].Status != 429 || recs[0].Usage.Source != ownkey.UsageNone || recs[0].ErrorCode == "" {
		t.Fatalf("usage: %+v", recs[0])
	}
	if strings.Contains(g.logs.String(), groqKey) {
		t.Fatal("provider key in logs")
	}
}

// No usage reported: ownkey estimates, and says so.
func TestChatEstimatesMissingUsage(t *testing.T) {
	up := newFakeOpenAI(t, sseReply([]string{
		`data: {"id":"c3","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"The quick brown fox jumps over the lazy dog."},"finish_reason":null}]}`,
		`data: {"id":"c3","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		`data: [DONE]`,
	}, "\n\n"))
	g, key, id := chatGateway(t, up.srv.URL, nil)
	client := sdkClient(g, key, option.WithHeader("x-byok-provider", "groq"))
	stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model: "llama-3.3-70b-versatile", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me about foxes")},
	})
	for stream.Next() {
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	recs := g.usageRecords(t, id, 1)
	if len(recs) != 1 {
		t.Fatalf("%d records; logs:\n%s", len(recs), g.logs.String())
	}
	u := recs[0].Usage
	// "The quick brown fox jumps over the lazy dog." is 10 tokens in o200k;
	// the prompt is 4 + 4 (message overhead) + 3 (priming) at least.
	if u.Source != ownkey.UsageEstimated || u.CompletionTokens < 10 || u.PromptTokens < 11 {
		t.Fatalf("estimate: %+v", u)
	}
}

// A client that goes away mid-stream cancels the upstream request at once,
// and what was consumed is still recorded.
func TestChatClientDisconnectCancelsUpstream(t *testing.T) {
	canceled := make(chan struct{})
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"id":"c4","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"first"},"finish_reason":null}]}`+"\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(canceled)
	})
	g, key, id := chatGateway(t, up.srv.URL, nil)
	ctx, cancel := context.WithCancel(t.Context())
	body := `{"model":"groq/llama-3.3-70b-versatile","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	req, _ := http.NewRequestWithContext(ctx, "POST", g.srv.URL+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("x-use-byok", "true")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(res.Body).ReadString('\n')
	if !strings.Contains(line, `"first"`) {
		t.Fatalf("first event: %q", line)
	}
	cancel()
	res.Body.Close()
	select {
	case <-canceled:
	case <-time.After(10 * time.Second):
		t.Fatal("upstream request was not cancelled after the client left")
	}
	recs := g.usageRecords(t, id, 1)
	if !recs[0].ClientDisconnected || recs[0].Usage.CompletionTokens == 0 {
		t.Fatalf("record: %+v", recs[0])
	}
}

func TestChatRoutingErrors(t *testing.T) {
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) { io.WriteString(w, completionJSON) })
	g, key, _ := chatGateway(t, up.srv.URL, map[string]string{"OWNKEY_DISABLED_PROVIDERS": "cerebras"})
	post := func(body string, headers ...string) *response {
		return g.send("POST", "/api/v1/chat/completions", key, body, headers...)
	}
	msgs := `"messages":[{"role":"user","content":"x"}]`
	cases := []struct {
		name, body string
		headers    []string
		status     int
		param      string
		code       string
	}{
		// No switch and no key for the model, the account's or the
		// platform's: a 400 naming the key to add.
		{"no byok", `{"model":"gpt-4o",` + msgs + `}`, nil, 400, "model", "no_provider_for_model"},
		{"bad switch", `{"model":"gpt-4o",` + msgs + `}`, []string{"x-use-byok", "maybe"}, 400, "x-use-byok", ""},
		{"switch disagrees", `{"model":"gpt-4o",` + msgs + `,"byok":{"enabled":false}}`, []string{"x-use-byok", "true"}, 400, "byok.enabled", ""},
		{"platform only", `{"model":"llama-3.3-70b-versatile",` + msgs + `}`, []string{"x-use-byok", "false"}, 400, "model", "platform_no_provider_for_model"},
		{"no model", `{` + msgs + `}`, []string{"x-use-byok", "true"}, 400, "model", ""},
		{"no messages", `{"model":"gpt-4o"}`, []string{"x-use-byok", "true"}, 400, "messages", ""},
		{"bad json", `{"model":`, []string{"x-use-byok", "true"}, 400, "", ""},
		{"unmapped model", `{"model":"claude-sonnet-4-5",` + msgs + `}`, []string{"x-use-byok", "true"}, 400, "model", "byok_no_provider_for_model"},
		{"forced without key", `{"model":"gpt-4o",` + msgs + `}`, []string{"x-use-byok", "true", "x-byok-provider", "openai"}, 400, "x-byok-provider", "byok_no_key_for_provider"},
		{"disabled", `{"model":"llama-3.3-70b",` + msgs + `}`, []string{"x-use-byok", "true", "x-byok-provider", "cerebras"}, 403, "x-byok-provider", "provider_disabled"},
		{"conflicting", `{"model":"m",` + msgs + `,"byok":{"enabled":true,"provider":"openai"}}`, []string{"x-byok-provider", "groq"}, 400, "byok.provider", ""},
	}
	for _, c := range cases {
		r := post(c.body, c.headers...)
		if r.Status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, r.Status, c.status, r.Body)
			continue
		}
		_, _, code, param := errorOf(t, r)
		if param != c.param || (c.code != "" && code != c.code) {
			t.Errorf("%s: param %q code %q: %s", c.name, param, code, r.Body)
		}
	}
	// Auto-mapping from the catalog reaches groq without any hint.
	if r := post(`{"model":"llama-3.3-70b-versatile",`+msgs+`}`, "x-use-byok", "true"); r.Status != 200 {
		t.Fatalf("auto-mapped: %d %s", r.Status, r.Body)
	}
	// Models list: what the stored keys reach, owned_by = provider.
	m := g.do("GET", "/v1/models", key, nil).json(t)
	found := false
	for _, e := range m["data"].([]any) {
		e := e.(map[string]any)
		if e["id"] == "llama-3.3-70b-versatile" && e["owned_by"] == "groq" {
			found = true
		}
		if e["owned_by"] != "groq" {
			t.Fatalf("model from a provider without a key: %v", e)
		}
	}
	if !found || m["object"] != "list" {
		t.Fatalf("models: %v", m)
	}
}

// TestChatRepeatedClientRequestIDRecordsEveryRequest: a client that sends
// the same X-Request-ID twice made two upstream requests and must have two
// usage records, each under ownkey's own request id.
// chatRequest is a minimal chat request for chatGateway's groq key.
func (g *testGateway) chatRequest(key string) *http.Request {
	req, _ := http.NewRequest("POST", g.srv.URL+"/api/v1/chat/completions",
		strings.NewReader(`{"model":"groq/llama-3.3-70b-versatile","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("x-use-byok", "true")
	return req
}

// sendChat sends a chat request and reads the answer to its end.
func sendChat(client *http.Client, req *http.Request) (*http.Response, error) {
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res, nil
}

// mustChat is sendChat for a request that must succeed.
func mustChat(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	res, err := sendChat(http.DefaultClient, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("chat: status %d", res.StatusCode)
	}
	return res
}

func TestChatRepeatedClientRequestIDRecordsEveryRequest(t *testing.T) {
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, completionJSON)
	})
	g, key, id := chatGateway(t, up.srv.URL, nil)
	served := map[string]bool{}
	for range 2 {
		req := g.chatRequest(key)
		req.Header.Set("X-Request-ID", "retry-1")
		res := mustChat(t, req)
		served[res.Header.Get("X-Request-ID")] = true
	}
	recs := g.usageRecords(t, id, 2)
	for _, r := range recs {
		if !served[r.RequestID] || r.Usage.PromptTokens != 21 {
			t.Fatalf("usage record %s (%d prompt tokens) does not match a served request id %v", r.RequestID, r.Usage.PromptTokens, served)
		}
	}
	if recs[0].RequestID == recs[1].RequestID {
		t.Fatalf("both records share request id %s", recs[0].RequestID)
	}
}
