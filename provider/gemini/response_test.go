package gemini

import (
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
)

func TestCompleteText(t *testing.T) {
	body := `{"candidates":[{"content":{"parts":[{"text":"**Thinking** about it","thought":true},{"text":"Hello "},{"text":"w\u00f6rld \"q\""},` +
		`{"inlineData":{"mimeType":"image/png","data":"iVBO"}},{"executableCode":{"language":"PYTHON","code":"print(1)"}}],"role":"model"},` +
		`"finishReason":"STOP","index":0,"safetyRatings":[]}],` +
		`"usageMetadata":{"promptTokenCount":5000,"candidatesTokenCount":4,"totalTokenCount":5054,"cachedContentTokenCount":4096,"thoughtsTokenCount":50},` +
		`"modelVersion":"gemini-2.5-flash-001","responseId":"resp-1"}`
	up := providertest.NewUpstream(t, providertest.JSONReply(200, body))
	res, rec, err := run(t, chatRequest(t, up.URL, nonStream, withBody(`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`)))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"resp-1","object":"chat.completion","created":1700000000,"model":"gemini-2.5-flash-001","choices":[{"index":0,` +
		`"message":{"role":"assistant","content":"Hello wörld \"q\"","reasoning_content":"**Thinking** about it","refusal":null},` +
		`"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":5000,"completion_tokens":54,"total_tokens":5054,` +
		`"prompt_tokens_details":{"cached_tokens":4096,"cache_write_tokens":0},"completion_tokens_details":{"reasoning_tokens":50}}}`
	if rec.Body.String() != want+"\n" {
		t.Fatalf("client got\n%s\nwant\n%s", rec.Body.String(), want)
	}
	got := up.Only(t)
	if got.Path != "/v1beta/models/gemini-2.5-flash:generateContent" || got.RawQuery != "" || got.Header.Get("X-Goog-Api-Key") != testKey ||
		got.Header.Get("Accept") != "application/json" {
		t.Fatalf("upstream saw %s?%s %v", got.Path, got.RawQuery, got.Header)
	}
	wantUsage := ownkey.Usage{PromptTokens: 5000, CachedTokens: 4096, CompletionTokens: 54, ReasoningTokens: 50, Source: ownkey.UsageFromProvider}
	if res.Usage != wantUsage || res.FinishReason != "stop" || res.ModelServed != "gemini-2.5-flash-001" || res.Status != 200 {
		t.Fatalf("result %+v", res)
	}
}

func TestCompleteToolCalls(t *testing.T) {
	body := `{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"EskgCsYg+b/="},` +
		`{"functionCall":{"name":"get_time","args":{}}},{"functionCall":{"id":"fc-7","name":"noop"}}],"role":"model"},"finishReason":"STOP","index":0,` +
		`"finishMessage":"Model generated function call(s)."}],"usageMetadata":{"promptTokenCount":29,"candidatesTokenCount":15,"totalTokenCount":937,"thoughtsTokenCount":893},` +
		`"modelVersion":"gemini-3-pro-preview","responseId":"m36LaZGy"}`
	up := providertest.NewUpstream(t, providertest.JSONReply(200, body))
	res, rec, err := run(t, chatRequest(t, up.URL, nonStream))
	if err != nil {
		t.Fatal(err)
	}
	want := `"message":{"role":"assistant","content":null,"tool_calls":[` +
		`{"id":"call_m36LaZGy_0__thought__EskgCsYg+b/=","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},` +
		`{"id":"call_m36LaZGy_1","type":"function","function":{"name":"get_time","arguments":"{}"}},` +
		`{"id":"fc-7","type":"function","function":{"name":"noop","arguments":"{}"}}],"refusal":null},"logprobs":null,"finish_reason":"tool_calls"}]`
	if !strings.Contains(rec.Body.String(), want) {
		t.Fatalf("client got\n%s\nwant it to hold\n%s", rec.Body.String(), want)
	}
	if res.FinishReason != "tool_calls" || res.OutputToolCalls != 3 || res.Usage.CompletionTokens != 908 || res.Usage.ReasoningTokens != 893 {
		t.Fatalf("result %+v", res)
	}
}

// A blocked prompt: no candidates, content_filter, the prompt's usage.
func TestCompleteBlockedPrompt(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, `{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8},"modelVersion":"gemini-2.5-flash-001","responseId":"resp-1"}`))
	res, rec, err := run(t, chatRequest(t, up.URL, nonStream))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"resp-1","object":"chat.completion","created":1700000000,"model":"gemini-2.5-flash-001","choices":[{"index":0,` +
		`"message":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":"content_filter"}],` +
		`"usage":{"prompt_tokens":8,"completion_tokens":0,"total_tokens":8,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0}}}`; rec.Body.String() != want+"\n" {
		t.Fatalf("client got\n%s\nwant\n%s", rec.Body.String(), want)
	}
	if res.FinishReason != "content_filter" || res.Usage.PromptTokens != 8 {
		t.Fatalf("result %+v", res)
	}
	// Output blocked: the candidate says SAFETY.
	up = providertest.NewUpstream(t, providertest.JSONReply(200, chunk(textPart("Partial"), "SAFETY", usageMeta(3, 1, 0, 0))))
	res, rec, err = run(t, chatRequest(t, up.URL, nonStream))
	if err != nil || !strings.Contains(rec.Body.String(), `"content":"Partial"`) || res.FinishReason != "content_filter" {
		t.Fatalf("err %v, result %+v, body %s", err, res, rec.Body.String())
	}
}

// A 200 that is not a response is an error before anything is written.
func TestCompleteNotAResponse(t *testing.T) {
	for _, tc := range []struct {
		name, body, msg string
		status          int
	}{
		{"error object", `{"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL"}}`, "Internal error encountered.", 502},
		{"not json", `<html>oops</html>`, "Google AI Studio answered with something other than a response", 502},
		{"array", `[{"candidates":[]}]`, "Google AI Studio answered with something other than a response", 502},
		{"other object", `{"kind":"x"}`, "Google AI Studio answered with something other than a response", 502},
		{"candidates not an array", `{"candidates":{}}`, "Google AI Studio answered with something other than a response", 502},
		{"too deep", `{"candidates":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`, "the Google AI Studio response is nested deeper than 128 levels", 502},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(200, tc.body))
			res, rec, err := run(t, chatRequest(t, up.URL, nonStream))
			e, ok := err.(*ownkey.Error)
			if !ok || e.Code != ownkey.EUPSTREAM || ownkey.StatusOf(e) != tc.status || e.Message != tc.msg || res.Started || rec.Body.Len() != 0 {
				t.Fatalf("err %#v, result %+v", err, res)
			}
		})
	}
}
