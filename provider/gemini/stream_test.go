package gemini

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

func TestStreamText(t *testing.T) {
	// \r\n\r\n between events, as Gemini frames them, and no [DONE].
	upstream := frames(
		chunk(textPart("Hello"), "", usageMeta(12, 2, 0, 0)),
		chunk(textPart("")+","+textPart(" w\u00f6rld\n<&>"), "", usageMeta(12, 6, 0, 0)),
		chunk(`{"text":"","thoughtSignature":"c2lnbmF0dXJl"}`, "STOP", usageMeta(12, 30, 0, 0)))
	const usage = `{"prompt_tokens":12,"completion_tokens":30,"total_tokens":42,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0}}`
	for _, tc := range []struct {
		name string
		opts []reqOpt
		want string
	}{
		{"client asked for usage", []reqOpt{withUsage},
			providertest.Frames(roleChunk, delta(`{"content":"Hello"}`), delta(`{"content":" wörld\n<&>"}`), finishChunk("stop"), usageChunk(usage), done)},
		{"client did not ask", nil,
			providertest.Frames(roleChunk, delta(`{"content":"Hello"}`), delta(`{"content":" wörld\n<&>"}`), finishChunk("stop"), done)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, sseReply(upstream))
			res, rec, err := run(t, chatRequest(t, up.URL, tc.opts...))
			if err != nil {
				t.Fatal(err)
			}
			providertest.CompareFrames(t, rec.Body.String(), tc.want)
			if h := rec.Header(); rec.Code != 200 || h.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("status %d, headers %v", rec.Code, h)
			}
			want := ownkey.Usage{PromptTokens: 12, CompletionTokens: 30, Source: ownkey.UsageFromProvider}
			if res.Status != 200 || !res.Started || res.ModelServed != "gemini-2.5-flash-001" || res.FinishReason != "stop" || res.Usage != want ||
				res.ErrorCode != "" || string(res.OutputSample) != "Hello wörld\n<&>" {
				t.Fatalf("result = %+v", res)
			}
			// The request: the streaming method with alt=sse, the key in
			// its header and nowhere in the URL.
			got := up.Only(t)
			if got.Method != "POST" || got.Path != "/v1beta/models/gemini-2.5-flash:streamGenerateContent" || got.RawQuery != "alt=sse" ||
				got.Header.Get("X-Goog-Api-Key") != testKey || got.Header.Get("Authorization") != "" || strings.Contains(got.RequestURI, testKey) {
				t.Fatalf("upstream saw %s %s?%s, headers %v", got.Method, got.Path, got.RawQuery, got.Header)
			}
			if string(got.Body) != `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}` {
				t.Fatalf("upstream body %s", got.Body)
			}
		})
	}
}

// Function calls come whole, without ids: each gets the next index, a
// stable id carrying its thought signature, and its whole arguments in its
// opening delta; finish_reason is tool_calls though Gemini says STOP.
func TestStreamToolCalls(t *testing.T) {
	upstream := frames(
		chunk(textPart("Checking both."), "", ""),
		chunk(callPart("get_weather", `{ "city": "Paris", "units": ["c"] }`, "c2lnLTE+/w==")+","+callPart("get_time", `{}`, ""), "", ""),
		chunk(callPart("get_weather", `{"city":"Rome"}`, ""), "", ""),
		chunk(textPart(""), "STOP", usageMeta(40, 25, 100, 0)))
	up := providertest.NewUpstream(t, sseReply(upstream))
	res, rec, err := run(t, chatRequest(t, up.URL, withUsage))
	if err != nil {
		t.Fatal(err)
	}
	want := providertest.Frames(roleChunk,
		delta(`{"content":"Checking both."}`),
		delta(`{"tool_calls":[{"index":0,"id":"call_resp-1_0__thought__c2lnLTE+/w==","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"units\":[\"c\"]}"}}]}`),
		delta(`{"tool_calls":[{"index":1,"id":"call_resp-1_1","type":"function","function":{"name":"get_time","arguments":"{}"}}]}`),
		delta(`{"tool_calls":[{"index":2,"id":"call_resp-1_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]}`),
		finishChunk("tool_calls"),
		usageChunk(`{"prompt_tokens":40,"completion_tokens":125,"total_tokens":165,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"completion_tokens_details":{"reasoning_tokens":100}}`),
		done)
	providertest.CompareFrames(t, rec.Body.String(), want)
	if res.FinishReason != "tool_calls" || res.OutputToolCalls != 3 || res.ErrorCode != "" {
		t.Fatalf("result = %+v", res)
	}
}

// A signature that cannot be one (not base64, or over the 64 KiB bound)
// is not carried in the id.
func TestStreamOddSignatures(t *testing.T) {
	upstream := frames(chunk(callPart("f", `{}`, "not base64!")+","+callPart("g", `{}`, strings.Repeat("A", maxSignature+1))+","+
		callPart("h", `{}`, strings.Repeat("A", maxSignature)), "STOP", ""))
	req := chatRequest(t, "http://unused")
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(strings.NewReader(upstream))}
	sink := &providertest.Recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := respond(ctx, cancel, req, &ownkey.ChatResult{}, resp, sink); err != nil {
		t.Fatal(err)
	}
	sink.Check(t, "stream", "start resp-1 gemini-2.5-flash-001 1700000000", `tool 0 call_resp-1_0 f "{}"`, `tool 1 call_resp-1_1 g "{}"`,
		`tool 2 call_resp-1_2__thought__`+strings.Repeat("A", maxSignature)+` h "{}"`, "end tool_calls 0/0", "flush")
}

// Thoughts are reasoning_content, never content.
func TestStreamThoughts(t *testing.T) {
	upstream := frames(
		chunk(thoughtPart("**Counting**\nLet me count the \"r\"s."), "", usageMeta(9, 0, 120, 0)),
		chunk(thoughtPart(" Three."), "", usageMeta(9, 0, 185, 0)),
		chunk(textPart("There are 3."), "STOP", usageMeta(9, 5, 185, 0)))
	up := providertest.NewUpstream(t, sseReply(upstream))
	res, rec, err := run(t, chatRequest(t, up.URL, withUsage))
	if err != nil {
		t.Fatal(err)
	}
	want := providertest.Frames(roleChunk,
		delta(`{"reasoning_content":"**Counting**\nLet me count the \"r\"s."}`),
		delta(`{"reasoning_content":" Three."}`),
		delta(`{"content":"There are 3."}`),
		finishChunk("stop"),
		usageChunk(`{"prompt_tokens":9,"completion_tokens":190,"total_tokens":199,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"completion_tokens_details":{"reasoning_tokens":185}}`),
		done)
	providertest.CompareFrames(t, rec.Body.String(), want)
	if want := (ownkey.Usage{PromptTokens: 9, CompletionTokens: 190, ReasoningTokens: 185, Source: ownkey.UsageFromProvider}); res.Usage != want {
		t.Fatalf("usage %+v", res.Usage)
	}
}

// cachedContentTokenCount is part of promptTokenCount: prompt_tokens is the
// prompt count as it is, cached_tokens the cached count. No public
// recording has a non-zero one; this is the formula, by hand.
func TestStreamCachedUsage(t *testing.T) {
	upstream := frames(
		chunk(textPart("Hi"), "", usageMeta(5000, 1, 0, 4096)),
		chunk(textPart("!"), "STOP", `{"promptTokenCount":5000,"candidatesTokenCount":2,"totalTokenCount":5052,"cachedContentTokenCount":4096,"thoughtsTokenCount":50,"toolUsePromptTokenCount":0}`))
	up := providertest.NewUpstream(t, sseReply(upstream))
	res, rec, err := run(t, chatRequest(t, up.URL, withUsage))
	if err != nil {
		t.Fatal(err)
	}
	payloads := providertest.Payloads(rec.Body.String())
	if got, want := payloads[len(payloads)-2], usageChunk(`{"prompt_tokens":5000,"completion_tokens":52,"total_tokens":5052,"prompt_tokens_details":{"cached_tokens":4096,"cache_write_tokens":0},"completion_tokens_details":{"reasoning_tokens":50}}`); got != want {
		t.Fatalf("usage chunk\n got %s\nwant %s", got, want)
	}
	if want := (ownkey.Usage{PromptTokens: 5000, CachedTokens: 4096, CompletionTokens: 52, ReasoningTokens: 50, Source: ownkey.UsageFromProvider}); res.Usage != want {
		t.Fatalf("usage %+v", res.Usage)
	}
}

func TestStreamFinishReasons(t *testing.T) {
	for _, tc := range []struct {
		reason string
		call   bool
		finish string
	}{
		{"STOP", false, "stop"},
		{"STOP", true, "tool_calls"},
		{"MAX_TOKENS", false, "length"},
		{"MAX_TOKENS", true, "length"},
		{"SAFETY", false, "content_filter"},
		{"RECITATION", false, "content_filter"},
		{"BLOCKLIST", false, "content_filter"},
		{"PROHIBITED_CONTENT", false, "content_filter"},
		{"SPII", false, "content_filter"},
		{"IMAGE_SAFETY", false, "content_filter"},
		{"MALFORMED_FUNCTION_CALL", false, "stop"},
		{"OTHER", false, "stop"},
		{"LANGUAGE", false, "stop"},
		{"TOO_MANY_TOOL_CALLS", true, "tool_calls"},
		{"FINISH_REASON_UNSPECIFIED", false, "stop"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			part := textPart("x")
			if tc.call {
				part = callPart("f", `{}`, "")
			}
			up := providertest.NewUpstream(t, sseReply(frames(chunk(part, "", ""), chunk(textPart(""), tc.reason, usageMeta(1, 1, 0, 0)))))
			res, rec, err := run(t, chatRequest(t, up.URL))
			if err != nil {
				t.Fatal(err)
			}
			payloads := providertest.Payloads(rec.Body.String())
			if got := payloads[len(payloads)-2]; got != finishChunk(tc.finish) || res.FinishReason != tc.finish {
				t.Fatalf("finish chunk %s, result %q; want %s", got, res.FinishReason, tc.finish)
			}
		})
	}
}

// A blocked prompt is a whole answer: no content, content_filter, the
// prompt's usage.
func TestStreamBlockedPrompt(t *testing.T) {
	up := providertest.NewUpstream(t, sseReply(frames(
		`{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":7,"totalTokenCount":7},"modelVersion":"gemini-2.5-flash-001","responseId":"resp-1"}`)))
	res, rec, err := run(t, chatRequest(t, up.URL, withUsage))
	if err != nil {
		t.Fatal(err)
	}
	want := providertest.Frames(roleChunk, finishChunk("content_filter"),
		usageChunk(`{"prompt_tokens":7,"completion_tokens":0,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0}}`), done)
	providertest.CompareFrames(t, rec.Body.String(), want)
	if res.FinishReason != "content_filter" || res.ErrorCode != "" || res.Usage.PromptTokens != 7 {
		t.Fatalf("result %+v", res)
	}
}

// An error event mid-stream ends the stream with an OpenAI error event, in
// Gemini's words, and no [DONE]; the usage so far is kept.
func TestStreamErrorEvent(t *testing.T) {
	up := providertest.NewUpstream(t, sseReply(frames(
		chunk(textPart("Hel"), "", usageMeta(12, 1, 0, 0)),
		`{"error":{"code":503,"message":"The model is overloaded. Please try again later. (key `+providertest.EscapedKey(testKey)+`)","status":"UNAVAILABLE"}}`)))
	res, rec, err := run(t, chatRequest(t, up.URL))
	if err != nil {
		t.Fatal(err)
	}
	want := providertest.Frames(roleChunk, delta(`{"content":"Hel"}`),
		`{"error":{"message":"The model is overloaded. Please try again later. (key [REDACTED])","type":"UNAVAILABLE","param":null,"code":"stream_error"}}`)
	providertest.CompareFrames(t, rec.Body.String(), want)
	if res.ErrorCode != provider.CodeStreamError || res.Usage.PromptTokens != 12 || providertest.Leaks(rec.Body.String(), testKey) {
		t.Fatalf("result %+v", res)
	}
}

// A stream that ends before any chunk gave a finish reason is cut short,
// and the client must not take it for a whole answer.
func TestStreamTruncated(t *testing.T) {
	for name, raw := range map[string]string{
		"after text":  frames(chunk(textPart("Hel"), "", usageMeta(12, 1, 0, 0))),
		"half event":  frames(chunk(textPart("Hel"), "", "")) + "data: {\"candidates\":[",
		"nothing":     "",
		"only blanks": "\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			up := providertest.NewUpstream(t, sseReply(raw))
			res, rec, err := run(t, chatRequest(t, up.URL))
			if err != nil {
				t.Fatal(err)
			}
			payloads := providertest.Payloads(rec.Body.String())
			last := payloads[len(payloads)-1]
			if !strings.HasPrefix(last, `{"error":{"message":"Google AI Studio ended the stream before the response was complete"`) &&
				!strings.HasPrefix(last, `{"error":{"message":"Google AI Studio sent a stream event that is not valid JSON"`) {
				t.Fatalf("last event %s", last)
			}
			if res.ErrorCode == "" || strings.Contains(rec.Body.String(), done) {
				t.Fatalf("result %+v, body %s", res, rec.Body.String())
			}
		})
	}
}

// Events that are not responses end the stream with an error.
func TestStreamGarbage(t *testing.T) {
	for name, tc := range map[string]struct{ raw, msg string }{
		"not json":   {"data: {not json\r\n\r\n", "Google AI Studio sent a stream event that is not valid JSON"},
		"array":      {"data: [1]\r\n\r\n", "Google AI Studio sent a stream event that is not a response"},
		"too deep":   {"data: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\r\n\r\n", "Google AI Studio sent a stream event nested deeper than 128 levels"},
		"deep later": {frames(chunk(textPart("a"), "", "")) + "data: {\"a\":" + strings.Repeat("[", 300) + "\r\n\r\n", "Google AI Studio sent a stream event nested deeper than 128 levels"},
	} {
		t.Run(name, func(t *testing.T) {
			up := providertest.NewUpstream(t, sseReply(tc.raw))
			res, rec, err := run(t, chatRequest(t, up.URL))
			if err != nil {
				t.Fatal(err)
			}
			payloads := providertest.Payloads(rec.Body.String())
			want := `{"error":{"message":"` + tc.msg + `","type":"upstream_error","param":null,"code":"stream_error"}}`
			if last := payloads[len(payloads)-1]; last != want || res.ErrorCode != provider.CodeStreamError {
				t.Fatalf("last event %s, result %+v", last, res)
			}
		})
	}
}

// The client leaving mid-stream cancels the upstream request at once; what
// was counted is kept.
func TestStreamClientGone(t *testing.T) {
	reply, upstreamCancelled := providertest.StallAfter(frames(chunk(textPart("Hello"), "", usageMeta(12, 1, 0, 0))))
	up := providertest.NewUpstream(t, reply)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := chatRequest(t, up.URL, withUsage)
	res, _, err := providertest.ChatWhenFlushed(t, ctx, testAdapter(), req, `"content":"Hello"`, cancel)
	if err != nil {
		t.Fatal(err)
	}
	providertest.WaitCancelled(t, upstreamCancelled, 20*time.Second)
	if !res.ClientGone || res.ErrorCode != provider.CodeClientDisconnected || !res.Started || res.Usage.PromptTokens != 12 ||
		string(res.OutputSample) != "Hello" {
		t.Fatalf("result = %+v", res)
	}
}

// A JSON error with a 200 status answering a stream is an error before
// anything is written, with the status the error names.
func TestStreamAnsweredWithJSON(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, `[{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}]`))
	res, rec, err := run(t, chatRequest(t, up.URL))
	e, ok := err.(*ownkey.Error)
	if !ok || e.Status != 429 || e.Message != "Quota exceeded" || e.Type != "RESOURCE_EXHAUSTED" || res.Started || rec.Body.Len() != 0 {
		t.Fatalf("err %#v, result %+v", err, res)
	}
	// A response instead of a stream: its usage is kept.
	up = providertest.NewUpstream(t, providertest.JSONReply(200, chunk(textPart("x"), "STOP", usageMeta(3, 4, 0, 0))))
	res, _, err = run(t, chatRequest(t, up.URL))
	if err == nil || res.Started || res.Usage.PromptTokens != 3 || res.Usage.CompletionTokens != 4 {
		t.Fatalf("err %v, result %+v", err, res)
	}
}

// The neutral sink calls a Gemini stream becomes, as any client dialect
// gets them.
func TestStreamToRecorder(t *testing.T) {
	raw := frames(
		chunk(thoughtPart("hmm"), "", ""),
		chunk(textPart("Hi")+","+callPart("f", `{"a":1}`, "c2ln"), "STOP", usageMeta(3, 4, 5, 2)))
	req := chatRequest(t, "http://unused")
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(strings.NewReader(raw))}
	sink := &providertest.Recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := respond(ctx, cancel, req, &ownkey.ChatResult{}, resp, sink); err != nil {
		t.Fatal(err)
	}
	sink.Check(t, "stream", "start resp-1 gemini-2.5-flash-001 1700000000", `reasoning "hmm"`, `text "Hi"`,
		`tool 0 call_resp-1_0__thought__c2ln f "{\"a\":1}"`, "end tool_calls 3/9", "flush")
}
