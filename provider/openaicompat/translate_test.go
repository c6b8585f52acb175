package openaicompat

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// A client of another dialect (here a recorder) gets an OpenAI-compatible
// provider's answer translated into ChatSink calls, with the text as the
// JSON literals the provider sent: the adapter needs no change for it.

func TestAnotherDialectStream(t *testing.T) {
	head := `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-x-2025","choices":[{"index":0,"delta":`
	upstream := providertest.Frames(oaRole,
		head+`{"reasoning_content":"Think \"twice\""},"finish_reason":null}]}`,
		oaHello, oaWorld,
		head+`{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`,
		head+`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}`,
		head+`{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":null}]}`,
		head+`{},"finish_reason":"tool_calls"}]}`,
		oaUsage, done)
	up := providertest.NewUpstream(t, providertest.SSEReply(upstream))
	sink := &providertest.Recorder{}
	res, err := testAdapter().Chat(context.Background(), chatRequest(t, base(up), withUsage), sink)
	if err != nil {
		t.Fatal(err)
	}
	sink.Check(t,
		"stream",
		"start chatcmpl-1 gpt-x-2025 1700000000",
		`reasoning "Think \"twice\""`,
		`text "Hello"`,
		`text " w\u00f6rld\n"`,
		`tool 0 call_a get_weather ""`,
		`args 0 "{\"city\":"`,
		`tool 1 call_b f "{}"`,
		"end tool_calls 16/3",
		"flush",
	)
	wantUsage := ownkey.Usage{PromptTokens: 16, CompletionTokens: 3, CachedTokens: 4, Source: ownkey.UsageFromProvider}
	if res.Status != 200 || !res.Started || res.ModelServed != "gpt-x-2025" || res.FinishReason != "tool_calls" || res.ErrorCode != "" || res.Usage != wantUsage {
		t.Fatalf("result = %+v", res)
	}
	if got, want := string(res.OutputSample), "Think \"twice\"Hello w\u00f6rld\nget_weather{\"city\":f{}"; got != want || res.OutputBytes != int64(len(want)) || res.OutputToolCalls != 2 {
		t.Fatalf("output %q (%d bytes, %d tool calls), want %q", got, res.OutputBytes, res.OutputToolCalls, want)
	}
}

func TestAnotherDialectStreamError(t *testing.T) {
	upstream := providertest.Frames(oaHello, `{"error":{"message":"overloaded, key `+testKey+`","type":"server_error"}}`)
	up := providertest.NewUpstream(t, providertest.SSEReply(upstream))
	sink := &providertest.Recorder{}
	res, err := testAdapter().Chat(context.Background(), chatRequest(t, base(up)), sink)
	if err != nil {
		t.Fatal(err)
	}
	if res.ErrorCode != provider.CodeStreamError || len(sink.Calls) != 5 || providertest.Leaks(strings.Join(sink.Calls, "\n"), testKey) ||
		!strings.HasPrefix(sink.Calls[3], "fail stream_error server_error overloaded, key ") {
		t.Fatalf("result %+v, sink got %q", res, sink.Calls)
	}
}

func TestAnotherDialectStreamCut(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(oaHello)))
	sink := &providertest.Recorder{}
	res, err := testAdapter().Chat(context.Background(), chatRequest(t, base(up)), sink)
	if err != nil {
		t.Fatal(err)
	}
	sink.Check(t,
		"stream", "start chatcmpl-1 gpt-x-2025 1700000000", `text "Hello"`,
		"fail stream_truncated upstream_error OpenAI ended the stream before the response was complete", "flush",
	)
	if res.ErrorCode != provider.CodeStreamTruncated {
		t.Fatalf("result = %+v", res)
	}
}

func TestAnotherDialectComplete(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, `{"id":"chatcmpl-9","object":"chat.completion","created":1700000005,"model":"gpt-x-2025",`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Caf\u00e9","reasoning_content":"hm","tool_calls":[`+
		`{"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"}],`+
		`"usage":{"prompt_tokens":7,"completion_tokens":5,"total_tokens":12}}`))
	sink := &providertest.Recorder{}
	res, err := testAdapter().Chat(context.Background(), chatRequest(t, base(up), nonStream), sink)
	if err != nil {
		t.Fatal(err)
	}
	sink.Check(t,
		"start chatcmpl-9 gpt-x-2025 1700000005",
		`text "Caf\u00e9"`,
		`reasoning "hm"`,
		`tool 0 call_a f "{\"a\":1}"`,
		"end tool_calls 7/5",
	)
	if res.Status != 200 || !res.Started || res.Usage.PromptTokens != 7 || res.OutputBytes != int64(len(`Caféhmf{"a":1}`)) || res.OutputToolCalls != 1 {
		t.Fatalf("result = %+v", res)
	}

	// A 200 holding only an error is an error, written by nobody.
	up = providertest.NewUpstream(t, providertest.JSONReply(200, `{"error":{"message":"nope","type":"invalid_request_error"}}`))
	sink = &providertest.Recorder{}
	res, err = testAdapter().Chat(context.Background(), chatRequest(t, base(up), nonStream), sink)
	if e, ok := err.(*ownkey.Error); !ok || e.Status != 502 || e.Message != "nope" || res.Started || len(sink.Calls) != 0 {
		t.Fatalf("err %#v, result %+v, sink got %q", err, res, sink.Calls)
	}
}

// FuzzTranslate: whatever a provider streams, a client of another dialect
// gets a well-formed sequence: one start before any delta, text and
// arguments that are JSON strings, and an end or a failure last (no key in
// a failure), then nothing.
func FuzzTranslate(f *testing.F) {
	f.Add([]byte(providertest.Frames(oaRole, oaHello, oaWorld, oaFinish, oaUsage, done)))
	f.Add([]byte(providertest.Frames(oaHello, `{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{\"a\":"}},{"index":0,"function":{"arguments":"1}"}}]},"finish_reason":"tool_calls"}]}`)))
	f.Add([]byte(providertest.Frames(oaHello, `{"error":{"message":"bad key `+providertest.EscapedKey(testKey)+`"}}`)))
	f.Add([]byte("data: " + strings.Repeat("[", 300) + "\n\ndata: {\"choices\":[{\"delta\":{\"content\":7}}]}\n\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		req := chatRequest(t, "http://unused")
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(raw))}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sink := &providertest.Recorder{}
		res, err := respond(ctx, cancel, req, &ownkey.ChatResult{}, resp, sink)
		if err != nil {
			t.Fatal(err)
		}
		calls := sink.Calls
		if len(calls) < 3 || calls[0] != "stream" || calls[len(calls)-1] != "flush" {
			t.Fatalf("sink got %q", calls)
		}
		last := calls[len(calls)-2]
		if !strings.HasPrefix(last, "end ") && !strings.HasPrefix(last, "fail ") {
			t.Fatalf("the answer neither ends nor fails: %q", calls)
		}
		if strings.HasPrefix(last, "fail ") && (res.ErrorCode == "" || providertest.Leaks(last, testKey)) {
			t.Fatalf("failure %q, error code %q", last, res.ErrorCode)
		}
		for i, c := range calls[1 : len(calls)-2] {
			if kind, _, _ := strings.Cut(c, " "); (kind == "start") != (i == 0) {
				t.Fatalf("not one start before all else: %q", calls)
			}
		}
		for _, lit := range sink.Literals {
			var s string
			if json.Unmarshal([]byte(lit), &s) != nil {
				t.Fatalf("%s is not a JSON string; calls %q", lit, calls)
			}
		}
	})
}
