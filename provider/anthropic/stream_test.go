package anthropic

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/openaicompat"
	"github.com/ownkey/ownkey/provider/providertest"
)

const usage12x30 = `{"prompt_tokens":12,"completion_tokens":30,"total_tokens":42,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0}}`

var want12x30 = ownkey.Usage{PromptTokens: 12, CompletionTokens: 30, Source: ownkey.UsageFromProvider}

func TestStreamText(t *testing.T) {
	upstream := events(msgStart, textStart(0), ping, textDelta(0, "Hello"), textDelta(0, ""), textDelta(0, " w\u00f6rld\n<&>"), ping, blockStop(0),
		msgDelta("end_turn", `{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":30}`), msgStop)
	for _, tc := range []struct {
		name string
		opts []reqOpt
		want string
	}{
		{"client asked for usage", []reqOpt{withUsage},
			providertest.Frames(roleChunk, delta(`{"content":"Hello"}`), delta(`{"content":" wörld\n<&>"}`), finishChunk("stop"), usageChunk(usage12x30), done)},
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
			h := rec.Header()
			if rec.Code != 200 || h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-cache" || h.Get("X-Accel-Buffering") != "no" {
				t.Fatalf("status %d, headers %v", rec.Code, h)
			}
			if res.Status != 200 || !res.Started || res.ModelServed != "claude-x-1" || res.FinishReason != "stop" || res.Usage != want12x30 ||
				res.ErrorCode != "" || res.ClientGone || string(res.OutputSample) != "Hello wörld\n<&>" || res.OutputBytes != int64(len("Hello wörld\n<&>")) {
				t.Fatalf("result = %+v", res)
			}
		})
	}
}

func TestStreamTools(t *testing.T) {
	// A text block, a tool with its input in fragments, and a tool with no
	// arguments (a single empty fragment).
	upstream := events(msgStart,
		textStart(0), textDelta(0, "I'll check."), blockStop(0),
		toolStart(1, "toolu_a", "get_weather"), jsonDelta(1, ""), jsonDelta(1, `{"city`), ping, jsonDelta(1, `": "Par`), jsonDelta(1, `is"}`), blockStop(1),
		toolStart(2, "toolu_b", "get_time"), jsonDelta(2, ""), blockStop(2),
		toolStart(3, "toolu_c", "get_weather"), jsonDelta(3, `{"city": "Rome"}`), blockStop(3),
		msgDelta("tool_use", `{"output_tokens":89}`), msgStop)
	up := providertest.NewUpstream(t, sseReply(upstream))
	res, rec, err := run(t, chatRequest(t, up.URL, withUsage))
	if err != nil {
		t.Fatal(err)
	}
	want := providertest.Frames(roleChunk,
		delta(`{"content":"I'll check."}`),
		delta(`{"tool_calls":[{"index":0,"id":"toolu_a","type":"function","function":{"name":"get_weather","arguments":""}}]}`),
		delta(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city"}}]}`),
		delta(`{"tool_calls":[{"index":0,"function":{"arguments":"\": \"Par"}}]}`),
		delta(`{"tool_calls":[{"index":0,"function":{"arguments":"is\"}"}}]}`),
		delta(`{"tool_calls":[{"index":1,"id":"toolu_b","type":"function","function":{"name":"get_time","arguments":""}}]}`),
		delta(`{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}`),
		delta(`{"tool_calls":[{"index":2,"id":"toolu_c","type":"function","function":{"name":"get_weather","arguments":""}}]}`),
		delta(`{"tool_calls":[{"index":2,"function":{"arguments":"{\"city\": \"Rome\"}"}}]}`),
		finishChunk("tool_calls"),
		usageChunk(`{"prompt_tokens":12,"completion_tokens":89,"total_tokens":101,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0}}`),
		done)
	providertest.CompareFrames(t, rec.Body.String(), want)
	if res.FinishReason != "tool_calls" || res.ErrorCode != "" {
		t.Fatalf("result = %+v", res)
	}
	if got, want := string(res.OutputSample), `I'll check.get_weather{"city": "Paris"}get_time{}get_weather{"city": "Rome"}`; got != want || res.OutputToolCalls != 3 {
		t.Fatalf("output sample %q (%d tool calls), want %q (3)", got, res.OutputToolCalls, want)
	}
}

func TestStreamThinking(t *testing.T) {
	upstream := events(msgStart,
		`{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think"}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":" about \"it\"."}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCkYIBxgCKkB"}}`,
		blockStop(0),
		`{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy"}}`,
		blockStop(1),
		textStart(2), textDelta(2, "42"), blockStop(2),
		msgDelta("end_turn", `{"output_tokens":30}`), msgStop)
	up := providertest.NewUpstream(t, sseReply(upstream))
	res, rec, err := run(t, chatRequest(t, up.URL))
	if err != nil {
		t.Fatal(err)
	}
	want := providertest.Frames(roleChunk,
		delta(`{"reasoning_content":"Let me think"}`),
		delta(`{"reasoning_content":" about \"it\"."}`),
		delta(`{"content":"42"}`),
		finishChunk("stop"), done)
	providertest.CompareFrames(t, rec.Body.String(), want)
	if got := string(res.OutputSample); got != `Let me think about "it".42` {
		t.Fatalf("output sample %q", got)
	}
}

func TestStreamStopReasons(t *testing.T) {
	for _, tc := range []struct{ stop, finish string }{
		{"refusal", "content_filter"},
		{"max_tokens", "length"},
		{"model_context_window_exceeded", "length"},
		{"stop_sequence", "stop"},
		{"pause_turn", "stop"},
		{"end_turn", "stop"},
		{"something_new", "stop"},
	} {
		t.Run(tc.stop, func(t *testing.T) {
			upstream := events(msgStart, ping, textStart(0), textDelta(0, "Partial"), blockStop(0),
				`{"type":"message_delta","delta":{"stop_reason":"`+tc.stop+`","stop_sequence":null,"stop_details":{"type":"refusal","category":"cyber"}},"usage":{"output_tokens":5}}`, msgStop)
			up := providertest.NewUpstream(t, sseReply(upstream))
			res, rec, err := run(t, chatRequest(t, up.URL))
			if err != nil {
				t.Fatal(err)
			}
			providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(`{"content":"Partial"}`), finishChunk(tc.finish), done))
			if res.FinishReason != tc.finish {
				t.Fatalf("FinishReason = %q", res.FinishReason)
			}
		})
	}
}

func TestStreamJSONResponseFormat(t *testing.T) {
	body := `{"model":"claude-x","messages":[{"role":"user","content":"cities"}],"stream":true,"response_format":{"type":"json_schema","json_schema":{"name":"c","schema":{"type":"object"}}}}`
	upstream := events(msgStart, textStart(0), textDelta(0, "Here:"), blockStop(0),
		toolStart(1, "toolu_j", "json"), jsonDelta(1, ""), ping, jsonDelta(1, `{"elements": [`), jsonDelta(1, `1]}`), blockStop(1),
		msgDelta("tool_use", `{"output_tokens":47}`), msgStop)
	up := providertest.NewUpstream(t, sseReply(upstream))
	res, rec, err := run(t, chatRequest(t, up.URL, withBody(body)))
	if err != nil {
		t.Fatal(err)
	}
	providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(`{"content":"{\"elements\": ["}`), delta(`{"content":"1]}"}`), finishChunk("stop"), done))
	if res.FinishReason != "stop" {
		t.Fatalf("result = %+v", res)
	}
	// An empty input still answers with a JSON object.
	up = providertest.NewUpstream(t, sseReply(events(msgStart, toolStart(0, "toolu_j", "json"), jsonDelta(0, ""), blockStop(0), msgDelta("tool_use", `{"output_tokens":4}`), msgStop)))
	_, rec, err = run(t, chatRequest(t, up.URL, withBody(body)))
	if err != nil {
		t.Fatal(err)
	}
	providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(`{"content":"{}"}`), finishChunk("stop"), done))
}

func TestStreamUsage(t *testing.T) {
	// message_delta's counts are cumulative and override message_start's,
	// input tokens included; fields it leaves out keep their value.
	start := `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x-1","content":[],"stop_reason":null,` +
		`"usage":{"input_tokens":43,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":1}}}`
	for _, tc := range []struct {
		name, deltaUsage string
		want             ownkey.Usage
	}{
		{"delta overrides input tokens", `{"input_tokens":61,"output_tokens":2}`,
			ownkey.Usage{PromptTokens: 61 + 100 + 2000, CompletionTokens: 2, CachedTokens: 2000, CacheWriteTokens: 100, Source: ownkey.UsageFromProvider}},
		{"delta overrides cache counts", `{"input_tokens":43,"cache_creation_input_tokens":0,"cache_read_input_tokens":2100,"output_tokens":7}`,
			ownkey.Usage{PromptTokens: 43 + 0 + 2100, CompletionTokens: 7, CachedTokens: 2100, Source: ownkey.UsageFromProvider}},
		{"output only, nulls ignored", `{"output_tokens":9,"input_tokens":null}`,
			ownkey.Usage{PromptTokens: 43 + 100 + 2000, CompletionTokens: 9, CachedTokens: 2000, CacheWriteTokens: 100, Source: ownkey.UsageFromProvider}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, sseReply(events(start, textStart(0), textDelta(0, "pong"), blockStop(0), msgDelta("end_turn", tc.deltaUsage), msgStop)))
			res, rec, err := run(t, chatRequest(t, up.URL, withUsage))
			if err != nil {
				t.Fatal(err)
			}
			if res.Usage != tc.want {
				t.Fatalf("usage = %+v, want %+v", res.Usage, tc.want)
			}
			if u := openaicompat.ParseUsage([]byte(usageOf(t, rec.Body.String()))); u != tc.want {
				t.Fatalf("usage chunk reads back as %+v, want %+v", u, tc.want)
			}
			if n := strings.Count(rec.Body.String(), `"usage"`); n != 1 {
				t.Fatalf("%d chunks carry usage, want 1", n)
			}
		})
	}
}

func TestStreamMidStreamError(t *testing.T) {
	upstream := events(msgStart, textStart(0), textDelta(0, "Hel"),
		`{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded (key `+testKey+`)"}   }`)
	up := providertest.NewUpstream(t, sseReply(upstream))
	res, rec, err := run(t, chatRequest(t, up.URL, withUsage))
	if err != nil {
		t.Fatal(err)
	}
	want := providertest.Frames(roleChunk, delta(`{"content":"Hel"}`),
		`{"error":{"message":"Overloaded (key [REDACTED])","type":"overloaded_error","param":null,"code":"stream_error"}}`)
	providertest.CompareFrames(t, rec.Body.String(), want)
	if res.ErrorCode != provider.CodeStreamError || res.Status != 200 || !res.Started || res.ClientGone {
		t.Fatalf("result = %+v", res)
	}
	// What was consumed is still reported: message_start's counts.
	if want := (ownkey.Usage{PromptTokens: 12, CompletionTokens: 1, Source: ownkey.UsageFromProvider}); res.Usage != want {
		t.Fatalf("usage = %+v, want %+v", res.Usage, want)
	}
}

func TestStreamBroken(t *testing.T) {
	for _, tc := range []struct {
		name, upstream string
		want           []string
		code           string
		usage          *ownkey.Usage
	}{
		{
			name:     "ends mid-message",
			upstream: events(msgStart, textStart(0), textDelta(0, "Hel")),
			want: []string{roleChunk, delta(`{"content":"Hel"}`),
				`{"error":{"message":"Anthropic ended the stream before the response was complete","type":"upstream_error","param":null,"code":"stream_truncated"}}`},
			code: provider.CodeStreamTruncated,
		},
		{
			name:     "ends without message_stop",
			upstream: events(msgStart, textStart(0), textDelta(0, "Hello"), blockStop(0), msgDelta("end_turn", `{"output_tokens":2}`)),
			want: []string{roleChunk, delta(`{"content":"Hello"}`),
				`{"error":{"message":"Anthropic ended the stream before the response was complete","type":"upstream_error","param":null,"code":"stream_truncated"}}`},
			code: provider.CodeStreamTruncated,
		},
		{
			name:     "empty stream",
			upstream: "",
			want:     []string{`{"error":{"message":"Anthropic ended the stream before the response was complete","type":"upstream_error","param":null,"code":"stream_truncated"}}`},
			code:     provider.CodeStreamTruncated,
		},
		{
			name:     "duplicate message_start is ignored",
			upstream: events(msgStart, strings.Replace(msgStart, `"input_tokens":12`, `"input_tokens":99`, 1), textStart(0), textDelta(0, "ok"), blockStop(0), msgDelta("end_turn", `{"output_tokens":2}`), msgStop),
			want:     []string{roleChunk, delta(`{"content":"ok"}`), finishChunk("stop"), done},
			usage:    &ownkey.Usage{PromptTokens: 12, CompletionTokens: 2, Source: ownkey.UsageFromProvider},
		},
		{
			name:     "spliced message_start",
			upstream: events(msgStart, textStart(0), textDelta(0, "ok"), strings.Replace(msgStart, `"msg_1"`, `"msg_2"`, 1), textStart(0), textDelta(0, "other")),
			want: []string{roleChunk, delta(`{"content":"ok"}`),
				`{"error":{"message":"Anthropic started a second message in the same stream","type":"upstream_error","param":null,"code":"stream_error"}}`},
			code: provider.CodeStreamError,
		},
		{
			name:     "content before message_start",
			upstream: events(textStart(0), textDelta(0, "ok")),
			want:     []string{`{"error":{"message":"Anthropic sent content_block_start before message_start","type":"upstream_error","param":null,"code":"stream_error"}}`},
			code:     provider.CodeStreamError,
		},
		{
			name:     "not JSON",
			upstream: events(msgStart) + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\n\n",
			want:     []string{roleChunk, `{"error":{"message":"Anthropic sent a stream event that is not valid JSON","type":"upstream_error","param":null,"code":"stream_error"}}`},
			code:     provider.CodeStreamError,
		},
		{
			name:     "delta for a block never started",
			upstream: events(msgStart, textDelta(3, "ok")),
			want: []string{roleChunk,
				`{"error":{"message":"Anthropic sent a delta for a content block it had not started","type":"upstream_error","param":null,"code":"stream_error"}}`},
			code: provider.CodeStreamError,
		},
		{
			name:     "hostile block index",
			upstream: events(msgStart, textStart(1<<30)),
			want: []string{roleChunk,
				`{"error":{"message":"Anthropic sent a content block with an invalid index","type":"upstream_error","param":null,"code":"stream_error"}}`},
			code: provider.CodeStreamError,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, sseReply(tc.upstream))
			res, rec, err := run(t, chatRequest(t, up.URL))
			if err != nil {
				t.Fatal(err)
			}
			providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(tc.want...))
			if res.ErrorCode != tc.code || res.Status != 200 || !res.Started {
				t.Fatalf("result = %+v", res)
			}
			if tc.usage != nil && res.Usage != *tc.usage {
				t.Fatalf("usage = %+v, want %+v", res.Usage, *tc.usage)
			}
		})
	}
}

// Events arriving without event lines (as some compatible servers and the
// vercel fixtures send them) are read by their type field.
func TestStreamWithoutEventLines(t *testing.T) {
	up := providertest.NewUpstream(t, sseReply(providertest.Frames(msgStart, textStart(0), textDelta(0, "hi"), blockStop(0), msgDelta("end_turn", `{"output_tokens":30}`), msgStop)))
	_, rec, err := run(t, chatRequest(t, up.URL))
	if err != nil {
		t.Fatal(err)
	}
	providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(`{"content":"hi"}`), finishChunk("stop"), done))
}

func TestStreamAnsweredWithJSON(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, `{"type":"error","error":{"type":"invalid_request_error","message":"stream is not supported here"}}`))
	res, rec, err := run(t, chatRequest(t, up.URL))
	if ownkey.ErrorCode(err) != ownkey.EUPSTREAM || res.Started || res.Status != 502 || rec.Body.Len() != 0 {
		t.Fatalf("err = %v, result %+v", err, res)
	}
}

// Every chunk reaches the client before the adapter waits for the next
// upstream event: the fake sends the rest of the stream only once the
// client has the first text.
func TestStreamFlushesEachEvent(t *testing.T) {
	clientHasHello := make(chan struct{})
	up := providertest.NewUpstream(t, providertest.GatedReply("text/event-stream",
		events(msgStart, textStart(0), textDelta(0, "Hello")),
		events(blockStop(0), msgDelta("end_turn", `{"output_tokens":3}`), msgStop), clientHasHello))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := chatRequest(t, up.URL)
	res, rec, err := providertest.ChatWhenFlushed(t, ctx, testAdapter(), req, `"content":"Hello"`, func() { close(clientHasHello) })
	if err != nil || res.ErrorCode != "" {
		t.Fatalf("err %v, result %+v (a chunk waited for the next event?)", err, res)
	}
	providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(`{"content":"Hello"}`), finishChunk("stop"), done))
}

// A client that goes away cancels the upstream request at once, and the
// usage reported so far is kept.
func TestStreamClientDisconnect(t *testing.T) {
	reply, upstreamCancelled := providertest.StallAfter(events(msgStart, textStart(0), textDelta(0, "Hello")))
	up := providertest.NewUpstream(t, reply)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := chatRequest(t, up.URL, withUsage)
	res, rec, err := providertest.ChatWhenFlushed(t, ctx, testAdapter(), req, `"content":"Hello"`, cancel)
	if err != nil {
		t.Fatal(err)
	}
	providertest.WaitCancelled(t, upstreamCancelled, 20*time.Second)
	if !res.ClientGone || res.ErrorCode != provider.CodeClientDisconnected || !res.Started || res.Status != 200 {
		t.Fatalf("result = %+v", res)
	}
	if want := (ownkey.Usage{PromptTokens: 12, CompletionTokens: 1, Source: ownkey.UsageFromProvider}); res.Usage != want {
		t.Fatalf("usage = %+v, want %+v", res.Usage, want)
	}
	if string(res.OutputSample) != "Hello" || strings.Contains(rec.Body.String(), done) {
		t.Fatalf("sample %q, body %q", res.OutputSample, rec.Body.String())
	}
}

// A provider that goes silent mid-stream (not even a ping) is cut off after
// the idle timeout with an upstream_timeout error event, and the upstream
// request is cancelled; what was consumed is still reported.
func TestStreamIdleTimeout(t *testing.T) {
	reply, upstreamCancelled := providertest.StallAfter(events(msgStart, textStart(0), textDelta(0, "Hel")))
	up := providertest.NewUpstream(t, reply)
	a := testAdapter()
	a.StreamIdleTimeout = 50 * time.Millisecond
	res, rec, err := providertest.Run(t, a, chatRequest(t, up.URL, withUsage))
	if err != nil {
		t.Fatal(err)
	}
	providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(`{"content":"Hel"}`),
		`{"error":{"message":"Anthropic sent nothing for 50ms; the stream was ended before the response was complete","type":"upstream_error","param":null,"code":"upstream_timeout"}}`))
	if res.ErrorCode != provider.CodeUpstreamTimeout || res.ClientGone || !res.Started {
		t.Fatalf("result = %+v", res)
	}
	if want := (ownkey.Usage{PromptTokens: 12, CompletionTokens: 1, Source: ownkey.UsageFromProvider}); res.Usage != want {
		t.Fatalf("usage = %+v, want %+v", res.Usage, want)
	}
	providertest.WaitCancelled(t, upstreamCancelled, 5*time.Second)
}
