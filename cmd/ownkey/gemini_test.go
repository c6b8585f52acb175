package main

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
)

// The official openai-go client against the whole gateway (real wiring,
// real chat handler and error writing) with a fake Gemini upstream that
// frames its streams as Gemini does (\r\n\r\n, no [DONE]): what a client
// of a gemini-* model sees, end to end.

const geminiKey = "AIzaSyTest-gemini-0123456789abcdefGHIJK"

// geminiGateway is a test gateway whose google base URL is up, with an
// account holding a Google AI Studio key, and an SDK client of that
// account (gemini-* models route to google by their maker).
func geminiGateway(t *testing.T, up *providertest.Upstream, extra ...map[string]string) (*testGateway, openai.Client, int64, string) {
	t.Helper()
	env := map[string]string{"OWNKEY_GOOGLE_BASE_URL": up.URL}
	for _, e := range extra {
		for k, v := range e {
			env[k] = v
		}
	}
	return familyGateway(t, env, "gemini-user", "google", geminiKey)
}

// geminiStream answers with Gemini's framing: a data: line per chunk, and
// \r\n\r\n between them.
func geminiStream(chunks ...string) func(http.ResponseWriter, *http.Request) {
	var b strings.Builder
	for _, c := range chunks {
		b.WriteString("data: " + c + "\r\n\r\n")
	}
	return providertest.SSEReply(b.String())
}

// geminiChunk is a GenerateContentResponse of response resp-1: the parts
// (JSON objects, comma-separated), the finish reason ("" for none) and the
// usageMetadata ("" for none).
func geminiChunk(parts, finish, usage string) string {
	c := `{"candidates":[{"content":{"parts":[` + parts + `],"role":"model"}`
	if finish != "" {
		c += `,"finishReason":"` + finish + `"`
	}
	c += `,"index":0}]`
	if usage != "" {
		c += `,"usageMetadata":` + usage
	}
	return c + `,"modelVersion":"gemini-2.5-flash","responseId":"resp-1"}`
}

const (
	// The usage of the answers below: prompt 1200 of which 1000 cached,
	// 30 candidate tokens and 170 of thoughts. In OpenAI's meaning:
	// prompt_tokens 1200, cached_tokens 1000, completion_tokens 30 + 170 =
	// 200, reasoning_tokens 170.
	geminiUsage = `{"promptTokenCount":1200,"candidatesTokenCount":30,"totalTokenCount":1400,"cachedContentTokenCount":1000,"thoughtsTokenCount":170}`
	signature   = "EqUCCqICAb4+9vsh8Pd5taZVoPzSvjWW/wz="
)

var geminiUsageWant = ownkey.Usage{PromptTokens: 1200, CachedTokens: 1000, CompletionTokens: 200, ReasoningTokens: 170, Source: ownkey.UsageFromProvider}

func TestGeminiSDKText(t *testing.T) {
	t.Run("non-stream", func(t *testing.T) {
		up := providertest.NewUpstream(t, providertest.JSONReply(200, geminiChunk(`{"text":"Hello from Gemini"}`, "STOP", geminiUsage)))
		g, client, id, _ := geminiGateway(t, up)
		resp, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model:               "gemini-2.5-flash",
			Messages:            []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Say hello")},
			MaxCompletionTokens: openai.Int(256),
			Temperature:         openai.Float(0.2),
		})
		if err != nil {
			t.Fatal(err)
		}
		c := resp.Choices[0]
		u := resp.Usage
		if resp.ID != "resp-1" || resp.Model != "gemini-2.5-flash" || c.Message.Content != "Hello from Gemini" || c.FinishReason != "stop" ||
			u.PromptTokens != 1200 || u.CompletionTokens != 200 || u.TotalTokens != 1400 || u.PromptTokensDetails.CachedTokens != 1000 ||
			u.CompletionTokensDetails.ReasoningTokens != 170 {
			t.Fatalf("response: %s", resp.RawJSON())
		}
		got := up.Only(t)
		if got.Path != "/v1beta/models/gemini-2.5-flash:generateContent" || got.Header.Get("X-Goog-Api-Key") != geminiKey || strings.Contains(got.RequestURI, geminiKey) {
			t.Fatalf("upstream saw %s with headers %v", got.RequestURI, got.Header)
		}
		if want := `{"contents":[{"role":"user","parts":[{"text":"Say hello"}]}],"systemInstruction":{"parts":[{"text":"Be brief."}]},` +
			`"generationConfig":{"maxOutputTokens":256,"temperature":0.2}}`; string(got.Body) != want {
			t.Fatalf("upstream got %s\nwant %s", got.Body, want)
		}
		rec := g.usageRecords(t, id, 1)[0]
		if rec.Provider != "google" || rec.ModelServed != "gemini-2.5-flash" || rec.Usage != geminiUsageWant || rec.Status != 200 {
			t.Fatalf("usage record %+v", rec)
		}
	})
	t.Run("stream", func(t *testing.T) {
		up := providertest.NewUpstream(t, geminiStream(
			geminiChunk(`{"text":"Hello"}`, "", `{"promptTokenCount":1200,"candidatesTokenCount":2,"totalTokenCount":1372,"cachedContentTokenCount":1000,"thoughtsTokenCount":170}`),
			geminiChunk(`{"text":" from Gemini"}`, "", ""),
			geminiChunk(`{"text":"","thoughtSignature":"`+signature+`"}`, "STOP", geminiUsage)))
		g, client, id, _ := geminiGateway(t, up)
		stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
			Model:         "gemini-2.5-flash",
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		acc, usageChunks := readSDKStream(t, stream)
		if acc.Choices[0].Message.Content != "Hello from Gemini" || acc.Choices[0].FinishReason != "stop" || usageChunks != 1 ||
			acc.Usage.PromptTokens != 1200 || acc.Usage.CompletionTokens != 200 || acc.Usage.PromptTokensDetails.CachedTokens != 1000 {
			t.Fatalf("accumulated %+v, %d usage chunks", acc.ChatCompletion, usageChunks)
		}
		if got := up.Only(t); got.Path != "/v1beta/models/gemini-2.5-flash:streamGenerateContent" || got.RawQuery != "alt=sse" {
			t.Fatalf("upstream saw %s", got.RequestURI)
		}
		if rec := g.usageRecords(t, id, 1)[0]; rec.Usage != geminiUsageWant || !rec.Stream {
			t.Fatalf("usage record %+v", rec)
		}
	})
}

// A tool round trip through the SDK: Gemini calls a function with a thought
// signature, the client runs it and sends back the message the SDK made of
// the answer (ToParam) and the result; the signature reaches Gemini again
// on its function call, and the result is named after the function.
func TestGeminiSDKToolRoundTrip(t *testing.T) {
	up := providertest.NewUpstream(t,
		providertest.JSONReply(200, geminiChunk(`{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"`+signature+`"}`, "STOP", geminiUsage)),
		geminiStream(geminiChunk(`{"text":"It is 18°C in Paris."}`, "STOP", geminiUsage)))
	_, client, _, _ := geminiGateway(t, up)
	params := openai.ChatCompletionNewParams{
		Model:    "gemini-3-pro-preview",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
		Tools:    weatherTools,
	}
	first, err := client.Chat.Completions.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	msg := first.Choices[0].Message
	if first.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 {
		t.Fatalf("first answer: %s", first.RawJSON())
	}
	call := msg.ToolCalls[0]
	if call.ID != "call_resp-1_0__thought__"+signature || call.Function.Name != "get_weather" || call.Function.Arguments != `{"city":"Paris"}` {
		t.Fatalf("tool call %+v", call)
	}
	params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage("18°C, sunny", call.ID))
	acc, _ := readSDKStream(t, client.Chat.Completions.NewStreaming(t.Context(), params))
	if acc.Choices[0].Message.Content != "It is 18°C in Paris." || acc.Choices[0].FinishReason != "stop" {
		t.Fatalf("second answer %+v", acc.ChatCompletion)
	}
	reqs := up.Requests()
	if len(reqs) != 2 || reqs[1].Path != "/v1beta/models/gemini-3-pro-preview:streamGenerateContent" {
		t.Fatalf("%d upstream requests", len(reqs))
	}
	tools := `"tools":[{"functionDeclarations":[{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},{"name":"get_time"}]}]`
	want := `{"contents":[{"role":"user","parts":[{"text":"Weather in Paris?"}]},` +
		`{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"` + signature + `"}]},` +
		`{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"output":"18°C, sunny"}}}]}],` + tools + `}`
	if string(reqs[1].Body) != want {
		t.Fatalf("second request translated as\n%s\nwant\n%s", reqs[1].Body, want)
	}
}

// Streamed tool calls: Gemini sends each call whole; the SDK sees each at a
// stable index, finished with its arguments, and finish_reason tool_calls.
func TestGeminiSDKStreamingTools(t *testing.T) {
	up := providertest.NewUpstream(t, geminiStream(
		geminiChunk(`{"text":"Checking both."}`, "", ""),
		geminiChunk(`{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"`+signature+`"},{"functionCall":{"name":"get_time","args":{}}}`, "", ""),
		geminiChunk(`{"text":""}`, "STOP", geminiUsage)))
	_, client, _, _ := geminiGateway(t, up)
	stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:         "gemini-2.5-flash",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather and time in Paris?")},
		Tools:         weatherTools,
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	acc := checkStreamedTools(t, stream, sdkCall{"call_resp-1_0__thought__" + signature, "get_weather", `{"city":"Paris"}`}, sdkCall{"call_resp-1_1", "get_time", "{}"})
	if acc.Usage.CompletionTokens != 200 || acc.Usage.CompletionTokensDetails.ReasoningTokens != 170 {
		t.Fatalf("usage %+v", acc.Usage)
	}
}

// Thoughts: reasoning_content deltas (never content), reasoning_effort
// asking for them, and the usage by the formula: completion_tokens =
// candidates + thoughts, reasoning_tokens = thoughts.
func TestGeminiSDKReasoning(t *testing.T) {
	up := providertest.NewUpstream(t, geminiStream(
		geminiChunk(`{"text":"**Counting** the r's","thought":true}`, "", ""),
		geminiChunk(`{"text":"There are 3.","thoughtSignature":"`+signature+`"}`, "STOP", geminiUsage)))
	g, client, id, _ := geminiGateway(t, up)
	stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:           "gemini-2.5-flash",
		Messages:        []openai.ChatCompletionMessageParamUnion{openai.UserMessage("How many r's in strawberry?")},
		ReasoningEffort: "low",
		StreamOptions:   openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	acc := openai.ChatCompletionAccumulator{}
	reasoning := ""
	for stream.Next() {
		c := stream.Current()
		acc.AddChunk(c)
		if len(c.Choices) > 0 {
			reasoning += gjson.Get(c.Choices[0].Delta.RawJSON(), "reasoning_content").Str
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if reasoning != "**Counting** the r's" || acc.Choices[0].Message.Content != "There are 3." {
		t.Fatalf("reasoning %q, content %q", reasoning, acc.Choices[0].Message.Content)
	}
	u := acc.Usage
	if u.PromptTokens != 1200 || u.CompletionTokens != 30+170 || u.CompletionTokensDetails.ReasoningTokens != 170 || u.TotalTokens != 1400 {
		t.Fatalf("usage %+v", u)
	}
	if body := string(up.Only(t).Body); !strings.Contains(body, `"generationConfig":{"thinkingConfig":{"includeThoughts":true,"thinkingBudget":1024}}`) {
		t.Fatalf("upstream body %s", body)
	}
	if rec := g.usageRecords(t, id, 1)[0]; rec.Usage != geminiUsageWant {
		t.Fatalf("usage record %+v", rec)
	}
}

// Errors as the real chat handler writes them, read by the SDK.
func TestGeminiSDKErrors(t *testing.T) {
	t.Run("429 with RetryInfo", func(t *testing.T) {
		up := providertest.NewUpstream(t, providertest.JSONReply(429, `{"error":{"code":429,"message":"You exceeded your current quota, please check your plan.",`+
			`"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"34.4s"}]}}`))
		g, client, id, _ := geminiGateway(t, up)
		for _, stream := range []bool{false, true} {
			params := openai.ChatCompletionNewParams{Model: "gemini-2.5-flash", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
			var err error
			if stream {
				s := client.Chat.Completions.NewStreaming(t.Context(), params)
				for s.Next() {
				}
				err = s.Err()
			} else {
				_, err = client.Chat.Completions.New(t.Context(), params)
			}
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Message != "You exceeded your current quota, please check your plan." ||
				apiErr.Type != "RESOURCE_EXHAUSTED" || apiErr.Response.Header.Get("Retry-After") != "35" {
				t.Fatalf("stream %t: err = %v", stream, err)
			}
		}
		for _, rec := range g.usageRecords(t, id, 2) {
			if rec.Status != 429 || rec.ErrorCode != "upstream_error" {
				t.Fatalf("usage record %+v", rec)
			}
		}
	})
	// Overloaded, or throttled, after the answer began: the SDK's stream
	// ends with Gemini's message as its error, after what was relayed.
	for _, e := range []struct{ name, event, message string }{
		{"mid-stream overload", `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`, "The model is overloaded"},
		{"mid-stream throttling", `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`, "Resource has been exhausted"},
	} {
		t.Run(e.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, geminiStream(
				geminiChunk(`{"text":"Hel"}`, "", `{"promptTokenCount":12,"candidatesTokenCount":1,"totalTokenCount":13}`), e.event))
			g, client, id, _ := geminiGateway(t, up)
			stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
				Model: "gemini-2.5-flash", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			})
			content := ""
			for stream.Next() {
				if c := stream.Current(); len(c.Choices) > 0 {
					content += c.Choices[0].Delta.Content
				}
			}
			if err := stream.Err(); err == nil || !strings.Contains(err.Error(), e.message) || content != "Hel" {
				t.Fatalf("stream ended with err %v after %q; want %q reported", err, content, e.message)
			}
			if rec := g.usageRecords(t, id, 1)[0]; rec.ErrorCode != "stream_error" || rec.Usage.PromptTokens != 12 {
				t.Fatalf("usage record %+v", rec)
			}
		})
	}
	t.Run("bad request", func(t *testing.T) {
		up := providertest.NewUpstream(t, providertest.JSONReply(200, `{}`))
		_, client, _, _ := geminiGateway(t, up)
		_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model: "gemini-2.5-flash", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}, N: openai.Int(2),
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "n" || len(up.Requests()) != 0 {
			t.Fatalf("err = %v", err)
		}
	})
}

// Gemini's own resource name (models/…) and the google/ prefix reach
// Gemini as the plain id, routed by the name or forced.
func TestGeminiModelsPrefix(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, geminiChunk(`{"text":"ok"}`, "STOP", geminiUsage)))
	g, client, _, key := geminiGateway(t, up)
	forced := sdkClient(g, key, option.WithHeader("x-byok-provider", "google"))
	for _, c := range []openai.Client{client, forced} {
		for _, model := range []string{"models/gemini-2.5-flash", "google/gemini-2.5-flash"} {
			if _, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
				Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			}); err != nil {
				t.Fatalf("%s: %v", model, err)
			}
		}
	}
	if n := len(up.Requests()); n != 4 {
		t.Fatalf("%d upstream requests", n)
	}
	for _, r := range up.Requests() {
		if r.Path != "/v1beta/models/gemini-2.5-flash:generateContent" {
			t.Fatalf("upstream saw %s", r.Path)
		}
	}
}

// With a Google key stored, /v1/models lists the Gemini models, owned by
// google, and their google/ ids.
func TestGeminiModelsList(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, `{}`))
	g, _, _, key := geminiGateway(t, up)
	r := g.do("GET", "/v1/models", key, nil)
	if r.Status != 200 {
		t.Fatalf("models: %d %s", r.Status, r.Body)
	}
	owned := map[string]string{}
	for _, m := range gjson.GetBytes(r.Body, "data").Array() {
		owned[m.Get("id").Str] = m.Get("owned_by").Str
	}
	for _, id := range []string{"gemini-2.5-pro", "gemini-2.5-flash", "gemini-3-pro-preview", "google/gemini-2.5-flash"} {
		if owned[id] != "google" {
			t.Fatalf("%s owned by %q in %s", id, owned[id], r.Body)
		}
	}
}

// The key check: a GET of one model with the key in x-goog-api-key; a key
// Google refuses (400 API_KEY_INVALID, the key echoed) is invalid, and the
// echo does not reach the user.
func TestGeminiKeyValidation(t *testing.T) {
	up := providertest.NewUpstream(t,
		providertest.JSONReply(200, `{"models":[{"name":"models/gemini-2.5-flash"}],"nextPageToken":"x"}`),
		providertest.JSONReply(400, `{"error":{"code":400,"message":"API key not valid: `+geminiKey+`","status":"INVALID_ARGUMENT",`+
			`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}`))
	g, _, _, key := geminiGateway(t, up)
	for i, wantValid := range []bool{true, false} {
		r := g.do("POST", "/api/user/provider-keys/validate", key, map[string]any{"provider": "google", "key": geminiKey})
		if r.Status != 200 || r.json(t)["valid"] != wantValid || strings.Contains(string(r.Body), geminiKey) {
			t.Fatalf("validate %d: %d %s", i, r.Status, r.Body)
		}
		got := up.Requests()[i]
		if got.Method != "GET" || got.Path != "/v1beta/models" || got.RawQuery != "pageSize=1" || got.Header.Get("X-Goog-Api-Key") != geminiKey {
			t.Fatalf("key check %s %s?%s %v", got.Method, got.Path, got.RawQuery, got.Header)
		}
	}

}

// Validation with a model asks Google for that model: a model Google does
// not serve (404 NOT_FOUND) is not reported valid.
func TestGeminiKeyValidationWithModel(t *testing.T) {
	up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1beta/models/gemini-2.5-pro" {
			providertest.JSONReply(200, `{"name":"models/gemini-2.5-pro","version":"2.5","displayName":"Gemini 2.5 Pro"}`)(w, r)
			return
		}
		providertest.JSONReply(404, `{"error":{"code":404,"message":"models/gemini-9 is not found for API version v1beta","status":"NOT_FOUND"}}`)(w, r)
	})
	g, _, _, key := geminiGateway(t, up)
	for _, c := range []struct {
		model, path string
		valid       bool
	}{{"google/gemini-2.5-pro", "/v1beta/models/gemini-2.5-pro", true}, {"gemini-9", "/v1beta/models/gemini-9", false}} {
		r := g.do("POST", "/api/user/provider-keys/validate", key, map[string]any{"provider": "google", "key": geminiKey, "model": c.model})
		m := r.json(t)
		if r.Status != 200 || m["valid"] != c.valid {
			t.Fatalf("%s: %d %s", c.model, r.Status, r.Body)
		}
		if !c.valid && (m["code"] != "model_not_found" || !strings.Contains(m["error"].(string), `does not serve model "gemini-9"`)) {
			t.Fatalf("%s: %s", c.model, r.Body)
		}
		if got := up.Requests()[len(up.Requests())-1]; got.Path != c.path || got.Header.Get("X-Goog-Api-Key") != geminiKey {
			t.Fatalf("%s: checked at %s", c.model, got.Path)
		}
	}
}

// canaryGoogle is a Google AI Studio key that must never leave the vault
// except towards Google, in its header.
const canaryGoogle = "AIzaCanaryGOOGLE-Rt7Wq2Lm9Xv4Nb8Kc3Hj6Yp"

// TestGeminiSecretsNeverLeak stores a canary Google key and drives chat
// (whole, streamed, failing before and during the stream), the key check
// and the model list against a Gemini that echoes the key everywhere it
// can (its message, status, reason, Retry-After, a mid-stream error), with
// debug logging on; then scans the logs, every response and the raw
// database for any 8-character piece of it, and checks that the key went
// only in x-goog-api-key, never in a URL.
func TestGeminiSecretsNeverLeak(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) {
		k := r.Header.Get("X-Goog-Api-Key")
		body := `{"error":{"code":400,"message":"API key not valid: ` + k + ` (` + providertest.EscapedKey(k) + `)","status":"` + k + `",` +
			`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"` + k + `"},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"` + k + `"}]}}`
		if r.URL.Query().Get("alt") == "sse" && strings.Contains(r.URL.Path, "flash-lite") {
			// A stream that fails mid-way, the key in the error event.
			geminiStream(geminiChunk(`{"text":"Hel"}`, "", ""), body)(w, r)
			return
		}
		providertest.JSONReply(400, body, "Retry-After", k, "X-Debug", k)(w, r)
	}
	up := providertest.NewUpstream(t, echo)
	g := newTestGateway(t, map[string]string{"OWNKEY_GOOGLE_BASE_URL": up.URL})
	_, key := g.createAccount("alice")
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "google", "key": canaryGoogle}); r.Status != 200 {
		t.Fatalf("store: %d %s", r.Status, r.Body)
	}
	for _, tc := range []struct {
		model  string
		stream bool
		status int
	}{{"gemini-2.5-flash", false, 400}, {"gemini-2.5-flash", true, 400}, {"gemini-2.5-flash-lite", true, 200}} {
		r := g.do("POST", "/api/v1/chat/completions", key, map[string]any{"model": tc.model, "stream": tc.stream,
			"messages": []any{map[string]any{"role": "user", "content": "hi"}}})
		if r.Status != tc.status || !strings.Contains(string(r.Body), "API key not valid") {
			t.Fatalf("chat %s stream %t: %d %s", tc.model, tc.stream, r.Status, r.Body)
		}
	}
	if r := g.do("POST", "/api/user/provider-keys/validate", key, map[string]any{"provider": "google", "key": canaryGoogle}); r.Status != 200 || r.json(t)["valid"] != false {
		t.Fatalf("validate: %d %s", r.Status, r.Body)
	}
	g.do("GET", "/v1/models", key, nil)
	g.do("GET", "/api/user/provider-keys", key, nil)
	g.app.accounts.Close() // flush last-used writes before reading the files

	haystacks := map[string][]byte{"logs": []byte(g.logs.String()), "responses": g.transcript.Bytes()}
	for p, b := range g.rawFiles("master.key") {
		haystacks[p] = b
	}
	for name, hay := range haystacks {
		if leak := findPiece(hay, canaryGoogle); leak != "" {
			t.Errorf("%s contains %q, a piece of the canary Google key", name, leak)
		}
	}
	reqs := up.Requests()
	if len(reqs) != 4 {
		t.Fatalf("upstream saw %d requests", len(reqs))
	}
	for _, r := range reqs {
		if strings.Contains(r.RequestURI, canaryGoogle[4:12]) || r.Header.Get("X-Goog-Api-Key") != canaryGoogle || r.Header.Get("Authorization") != "" {
			t.Fatalf("upstream request %s with headers %v", r.RequestURI, r.Header)
		}
	}
}

// Gemini, thoughts and a cached prompt, billed through the whole path at
// the built-in gemini-2.5-flash prices ($0.30 input, $0.03 cached input,
// $2.50 output; reasoning not priced apart, so at the output rate):
// promptTokenCount 10000 of which cachedContentTokenCount 8000,
// candidatesTokenCount 500, thoughtsTokenCount 1500 → prompt_tokens 10000,
// cached_tokens 8000, completion_tokens 500 + 1500 = 2000:
// 2000×0.30 + 8000×0.03 + 2000×2.50 = 600 + 240 + 5000 = 5840 µ$ at cost;
// 5% = 292 µ$ charged.
func TestBillingGoldenGemini(t *testing.T) {
	const usage = `{"promptTokenCount":10000,"candidatesTokenCount":500,"totalTokenCount":12000,"cachedContentTokenCount":8000,"thoughtsTokenCount":1500}`
	up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("alt") == "sse" {
			geminiStream(geminiChunk(`{"text":"Thinking…","thought":true}`, "", ""), geminiChunk(`{"text":"Bonjour"}`, "STOP", usage))(w, r)
			return
		}
		providertest.JSONReply(200, geminiChunk(`{"text":"Bonjour"}`, "STOP", usage))(w, r)
	})
	g := newTestGatewayWith(t, map[string]string{"OWNKEY_GOOGLE_BASE_URL": up.URL, "OWNKEY_STARTING_CREDIT_USD": "10"}, nil)
	flash := ownkey.Prices{Input: usd("0.30"), CachedInput: usd("0.03"), Output: usd("2.50")}
	if q := g.app.prices.Quote("google", "gemini-2.5-flash", "gemini-2.5-flash"); q.AtCost != flash || q.Basis != ownkey.PriceCatalog {
		t.Fatalf("the price book quotes google/gemini-2.5-flash at %+v (%s); the test assumes %+v", q.AtCost, q.Basis, flash)
	}
	id, key := g.createAccount("payer")
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "google", "key": geminiKey}); r.Status != 200 {
		t.Fatalf("store google key: %d %s", r.Status, r.Body)
	}
	const msgs = `"messages":[{"role":"user","content":"hi"}],"max_tokens":4000`
	whole := g.chatBody(t, key, `{"model":"gemini-2.5-flash",`+msgs+`}`)
	u := usageOf(t, whole)
	checkCost(t, whole, u, "0.000292", "0.00584")
	details := u["completion_tokens_details"].(map[string]any)
	if u["prompt_tokens"] != 10000.0 || u["completion_tokens"] != 2000.0 || details["reasoning_tokens"] != 1500.0 ||
		u["prompt_tokens_details"].(map[string]any)["cached_tokens"] != 8000.0 {
		t.Fatalf("usage %v", u)
	}
	stream := g.chatBody(t, key, `{"model":"gemini-2.5-flash","stream":true,"stream_options":{"include_usage":true},`+msgs+`}`)
	checkCost(t, stream, usageOf(t, stream), "0.000292", "0.00584")
	checkRecords(t, g, id, 2, 5_840_000, 292_000)
	for _, r := range g.usageRecords(t, id, 2) {
		if r.Usage != (ownkey.Usage{PromptTokens: 10000, CachedTokens: 8000, CompletionTokens: 2000, ReasoningTokens: 1500, Source: ownkey.UsageFromProvider}) {
			t.Fatalf("record usage %+v", r.Usage)
		}
	}
	if b := g.balance(t, key); b != "9.999416000" {
		t.Fatalf("balance %s after two requests of $0.000292", b)
	}
}
