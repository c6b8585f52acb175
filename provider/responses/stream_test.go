package responses

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
	upstream := events(created, inProgress, messageAdded(0),
		`{"type":"response.content_part.added","sequence_number":3,"item_id":"msg_0","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}}`,
		textDelta(0, "Hello"), textDelta(0, ""), textDelta(0, " w\u00f6rld\n<&>"),
		`{"type":"response.output_text.done","sequence_number":12,"item_id":"msg_0","output_index":0,"content_index":0,"text":"Hello wörld\n<&>","logprobs":[]}`,
		messageDone(0, "Hello wörld\n<&>"), completed(usageJSON))
	for _, tc := range []struct {
		name string
		opts []reqOpt
		want string
	}{
		{"client asked for usage", []reqOpt{withUsage},
			providertest.Frames(roleChunk, delta(`{"content":"Hello"}`), delta(`{"content":" wörld\n<&>"}`), finishChunk("stop"), usageChunk(wantUsage), done)},
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
			if res.Status != 200 || !res.Started || res.ModelServed != "gpt-5-x" || res.FinishReason != "stop" || res.Usage != usage40x300 ||
				res.ErrorCode != "" || string(res.OutputSample) != "Hello wörld\n<&>" {
				t.Fatalf("result = %+v", res)
			}
			got := up.Only(t)
			if got.Path != "/v1/responses" || got.Header.Get("Authorization") != "Bearer "+testKey {
				t.Fatalf("upstream got %s with Authorization %q", got.Path, got.Header.Get("Authorization"))
			}
			if want := `{"model":"gpt-5","input":[{"role":"user","content":[{"type":"input_text","text":"hi"}]}],"stream":true,"store":false}`; string(got.Body) != want {
				t.Fatalf("upstream body %s\nwant %s", got.Body, want)
			}
		})
	}
}

func TestStreamTools(t *testing.T) {
	// Reasoning first, then text, a call with its arguments in fragments,
	// a call with none, and a call whose arguments come only whole.
	upstream := events(created,
		reasoningAdded(0), summaryDelta(0, 0, "Weather"), summaryDelta(0, 0, " first."), summaryDelta(0, 1, "Then time."),
		`{"type":"response.output_item.done","sequence_number":9,"output_index":0,"item":{"id":"rs_0","type":"reasoning","summary":[{"type":"summary_text","text":"Weather first."},{"type":"summary_text","text":"Then time."}]}}`,
		messageAdded(1), textDelta(1, "I'll check."), messageDone(1, "I'll check."),
		callAdded(2, "call_a", "get_weather"), argsDelta(2, `{"city`), argsDelta(2, `": "Par`), argsDelta(2, `is"}`),
		`{"type":"response.function_call_arguments.done","sequence_number":16,"item_id":"fc_2","output_index":2,"arguments":"{\"city\": \"Paris\"}"}`,
		callDone(2, "call_a", "get_weather", `{"city": "Paris"}`),
		callAdded(3, "call_b", "get_time"), callDone(3, "call_b", "get_time", ""),
		callAdded(4, "call_c", "get_weather"), callDone(4, "call_c", "get_weather", `{"city":"Rome"}`),
		completed(usageJSON))
	up := providertest.NewUpstream(t, sseReply(upstream))
	res, rec, err := run(t, chatRequest(t, up.URL, withUsage))
	if err != nil {
		t.Fatal(err)
	}
	want := providertest.Frames(roleChunk,
		delta(`{"reasoning_content":"Weather"}`),
		delta(`{"reasoning_content":" first."}`),
		delta(`{"reasoning_content":"\n\n"}`),
		delta(`{"reasoning_content":"Then time."}`),
		delta(`{"content":"I'll check."}`),
		delta(`{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]}`),
		delta(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city"}}]}`),
		delta(`{"tool_calls":[{"index":0,"function":{"arguments":"\": \"Par"}}]}`),
		delta(`{"tool_calls":[{"index":0,"function":{"arguments":"is\"}"}}]}`),
		delta(`{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":""}}]}`),
		delta(`{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}`),
		delta(`{"tool_calls":[{"index":2,"id":"call_c","type":"function","function":{"name":"get_weather","arguments":""}}]}`),
		delta(`{"tool_calls":[{"index":2,"function":{"arguments":"{\"city\":\"Rome\"}"}}]}`),
		finishChunk("tool_calls"), usageChunk(wantUsage), done)
	providertest.CompareFrames(t, rec.Body.String(), want)
	if res.FinishReason != "tool_calls" || res.ErrorCode != "" || res.OutputToolCalls != 3 {
		t.Fatalf("result = %+v", res)
	}
}

func TestStreamFinishReasons(t *testing.T) {
	for _, tc := range []struct {
		name, terminal, finish string
		refusal                bool
	}{
		{"max_output_tokens", incomplete("max_output_tokens", usageJSON), "length", false},
		{"content_filter", incomplete("content_filter", usageJSON), "content_filter", false},
		{"another reason", incomplete("max_messages", usageJSON), "length", false},
		{"refusal", completed(usageJSON), "content_filter", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := textDelta(0, "Hel")
			if tc.refusal {
				d = `{"type":"response.refusal.delta","sequence_number":4,"item_id":"msg_0","output_index":0,"content_index":0,"delta":"I can't help with that."}`
			}
			up := providertest.NewUpstream(t, sseReply(events(created, messageAdded(0), d, tc.terminal)))
			res, rec, err := run(t, chatRequest(t, up.URL))
			if err != nil {
				t.Fatal(err)
			}
			text := `{"content":"Hel"}`
			if tc.refusal {
				text = `{"content":"I can't help with that."}`
			}
			providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(text), finishChunk(tc.finish), done))
			if res.FinishReason != tc.finish || res.Usage != usage40x300 {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

// The first terminal event ends the answer: the client has [DONE] while
// the provider still holds the stream open.
func TestStreamEndsAtTheTerminalEvent(t *testing.T) {
	clientHasDone := make(chan struct{})
	up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, events(created, messageAdded(0), textDelta(0, "Hi"), completed(usageJSON)))
		w.(http.Flusher).Flush()
		select {
		case <-clientHasDone:
		case <-r.Context().Done():
			return
		}
		// What comes after the terminal event is never relayed.
		_, _ = io.WriteString(w, events(textDelta(0, " again"), completed(usageJSON)))
	})
	rec := providertest.NewFlushRecorder()
	go func() {
		for body := range rec.Flushed {
			if strings.Contains(body, "data: [DONE]") {
				close(clientHasDone)
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := chatRequest(t, up.URL, withUsage)
	res, err := testAdapter().Chat(ctx, req, providertest.Writer(t, rec, req))
	if err != nil || res.ErrorCode != "" {
		t.Fatalf("err %v, result %+v (did [DONE] wait for the end of the upstream body?)", err, res)
	}
	providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(`{"content":"Hi"}`), finishChunk("stop"), usageChunk(wantUsage), done))
}

func TestStreamErrors(t *testing.T) {
	quota := `{"type":"error","sequence_number":2,"error":{"type":"insufficient_quota","code":"insufficient_quota","message":"You exceeded your current quota (key ` + testKey + `).","param":null}}`
	for _, tc := range []struct {
		name, upstream string
		want           []string
		code           string
		usage          ownkey.Usage
	}{
		{
			name:     "error event, as recorded",
			upstream: events(created, inProgress, quota, lifecycle("response.failed", "failed", "")),
			want:     []string{roleChunk, `{"error":{"message":"You exceeded your current quota (key [REDACTED]).","type":"insufficient_quota","param":null,"code":"stream_error"}}`},
			code:     provider.CodeStreamError,
		},
		{
			name:     "error event, as documented",
			upstream: events(created, messageAdded(0), textDelta(0, "Hel"), `{"type":"error","sequence_number":5,"code":"server_error","message":"The server had an error.","param":null}`),
			want:     []string{roleChunk, delta(`{"content":"Hel"}`), `{"error":{"message":"The server had an error.","type":"server_error","param":null,"code":"stream_error"}}`},
			code:     provider.CodeStreamError,
		},
		{
			name: "response.failed with usage",
			upstream: events(created, messageAdded(0), textDelta(0, "Hel"), strings.Replace(strings.Replace(lifecycle("response.failed", "failed", ""),
				`"error":null`, `"error":{"code":"server_error","message":"The model failed."}`, 1), `"usage":null`, `"usage":`+usageJSON, 1)),
			want:  []string{roleChunk, delta(`{"content":"Hel"}`), `{"error":{"message":"The model failed.","type":"server_error","param":null,"code":"stream_error"}}`},
			code:  provider.CodeStreamError,
			usage: usage40x300,
		},
		{
			name:     "ends before the terminal event",
			upstream: events(created, messageAdded(0), textDelta(0, "Hel")),
			want:     []string{roleChunk, delta(`{"content":"Hel"}`), `{"error":{"message":"OpenAI Responses ended the stream before the response was complete","type":"upstream_error","param":null,"code":"stream_truncated"}}`},
			code:     provider.CodeStreamTruncated,
		},
		{
			name: "empty stream",
			want: []string{`{"error":{"message":"OpenAI Responses ended the stream before the response was complete","type":"upstream_error","param":null,"code":"stream_truncated"}}`},
			code: provider.CodeStreamTruncated,
		},
		{
			name:     "a second response",
			upstream: events(created, messageAdded(0), textDelta(0, "ok"), strings.Replace(created, `"resp_1"`, `"resp_2"`, 1)),
			want:     []string{roleChunk, delta(`{"content":"ok"}`), `{"error":{"message":"OpenAI Responses started a second response in the same stream","type":"upstream_error","param":null,"code":"stream_error"}}`},
			code:     provider.CodeStreamError,
		},
		{
			name:     "arguments for a call never started",
			upstream: events(created, argsDelta(3, `{}`)),
			want:     []string{roleChunk, `{"error":{"message":"OpenAI Responses sent arguments for a function call it had not started","type":"upstream_error","param":null,"code":"stream_error"}}`},
			code:     provider.CodeStreamError,
		},
		{
			name:     "hostile output index",
			upstream: events(created, callAdded(1<<30, "c", "f")),
			want:     []string{roleChunk, `{"error":{"message":"OpenAI Responses sent an output item with an invalid index","type":"upstream_error","param":null,"code":"stream_error"}}`},
			code:     provider.CodeStreamError,
		},
		{
			name:     "not JSON",
			upstream: events(created) + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\n\n",
			want:     []string{roleChunk, `{"error":{"message":"OpenAI Responses sent a stream event that is not valid JSON","type":"upstream_error","param":null,"code":"stream_error"}}`},
			code:     provider.CodeStreamError,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, sseReply(tc.upstream))
			res, rec, err := run(t, chatRequest(t, up.URL, withUsage))
			if err != nil {
				t.Fatal(err)
			}
			providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(tc.want...))
			if res.ErrorCode != tc.code || res.Status != 200 || !res.Started || res.FinishReason != "" || res.Usage != tc.usage {
				t.Fatalf("result = %+v", res)
			}
		})
	}
}

// Servers that send items only whole (in output_item.done, or only in the
// terminal response), or skip response.created, still give the whole
// answer, once.
func TestStreamWholeItems(t *testing.T) {
	final := strings.Replace(completed(usageJSON), `"output":[]`, `"output":[{"type":"reasoning","id":"rs_0","summary":[{"type":"summary_text","text":"Think."}]},`+
		`{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Hi \"there\""}]},`+
		`{"type":"function_call","id":"fc_2","call_id":"call_z","name":"f","arguments":"{\"a\":1}"}]`, 1)
	for _, tc := range []struct {
		name, upstream string
		want           []string
	}{
		{"only the terminal response", events(created, final), []string{roleChunk,
			delta(`{"reasoning_content":"Think."}`), delta(`{"content":"Hi \"there\""}`),
			delta(`{"tool_calls":[{"index":0,"id":"call_z","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}`),
			finishChunk("tool_calls"), done}},
		{"items only done, no response.created", events(messageDone(0, "Hi"), callDone(1, "call_y", "g", "")), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			upstream, want := tc.upstream, tc.want
			if want == nil {
				upstream += events(final) // its output is not sent again
				req := chatRequest(t, "")
				head := strings.NewReplacer(`"id":"resp_1"`, `"id":"resp_`+req.RequestID+`"`, `"created":1765552659`, `"created":1700000000`, `"model":"gpt-5-x"`, `"model":"gpt-5"`)
				want = []string{head.Replace(roleChunk), head.Replace(delta(`{"content":"Hi"}`)),
					head.Replace(delta(`{"tool_calls":[{"index":0,"id":"call_y","type":"function","function":{"name":"g","arguments":"{}"}}]}`)),
					head.Replace(finishChunk("tool_calls")), done}
			}
			up := providertest.NewUpstream(t, sseReply(upstream))
			res, rec, err := run(t, chatRequest(t, up.URL))
			if err != nil || res.ErrorCode != "" {
				t.Fatal(err, res.ErrorCode)
			}
			providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(want...))
		})
	}
}

// Events arriving without event lines are read by their type field.
func TestStreamWithoutEventLines(t *testing.T) {
	up := providertest.NewUpstream(t, sseReply(providertest.Frames(created, messageAdded(0), textDelta(0, "hi"), completed(usageJSON))))
	_, rec, err := run(t, chatRequest(t, up.URL))
	if err != nil {
		t.Fatal(err)
	}
	providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(`{"content":"hi"}`), finishChunk("stop"), done))
}

func TestStreamAnsweredWithJSON(t *testing.T) {
	for name, body := range map[string]string{
		"error":  `{"error":{"message":"stream is not supported here","type":"invalid_request_error","param":"stream","code":null}}`,
		"failed": `{"id":"resp_1","object":"response","status":"failed","error":{"code":"server_error","message":"The model failed."},"output":[],"usage":` + usageJSON + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(200, body))
			res, rec, err := run(t, chatRequest(t, up.URL))
			if ownkey.ErrorCode(err) != ownkey.EUPSTREAM || res.Started || res.Status != 502 || rec.Body.Len() != 0 {
				t.Fatalf("err = %v, result %+v", err, res)
			}
			if name == "failed" && (err.(*ownkey.Error).Message != "The model failed." || res.Usage != usage40x300) {
				t.Fatalf("err = %v, usage %+v", err, res.Usage)
			}
		})
	}
}

// Every chunk reaches the client before the adapter waits for the next
// upstream event.
func TestStreamFlushesEachEvent(t *testing.T) {
	clientHasHello := make(chan struct{})
	up := providertest.NewUpstream(t, providertest.GatedReply("text/event-stream",
		events(created, messageAdded(0), textDelta(0, "Hello")),
		events(messageDone(0, "Hello"), completed(usageJSON)), clientHasHello))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := chatRequest(t, up.URL)
	res, rec, err := providertest.ChatWhenFlushed(t, ctx, testAdapter(), req, `"content":"Hello"`, func() { close(clientHasHello) })
	if err != nil || res.ErrorCode != "" {
		t.Fatalf("err %v, result %+v (a chunk waited for the next event?)", err, res)
	}
	providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(`{"content":"Hello"}`), finishChunk("stop"), done))
}

// A client that goes away cancels the upstream request at once.
func TestStreamClientDisconnect(t *testing.T) {
	reply, upstreamCancelled := providertest.StallAfter(events(created, messageAdded(0), textDelta(0, "Hello")))
	up := providertest.NewUpstream(t, reply)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := chatRequest(t, up.URL, withUsage)
	res, rec, err := providertest.ChatWhenFlushed(t, ctx, testAdapter(), req, `"content":"Hello"`, cancel)
	if err != nil {
		t.Fatal(err)
	}
	providertest.WaitCancelled(t, upstreamCancelled, 20*time.Second)
	if !res.ClientGone || res.ErrorCode != provider.CodeClientDisconnected || !res.Started {
		t.Fatalf("result = %+v", res)
	}
	if string(res.OutputSample) != "Hello" || strings.Contains(rec.Body.String(), done) {
		t.Fatalf("sample %q, body %q", res.OutputSample, rec.Body.String())
	}
}

// A provider that goes silent mid-stream is cut off after the idle
// timeout with an upstream_timeout error event.
func TestStreamIdleTimeout(t *testing.T) {
	reply, upstreamCancelled := providertest.StallAfter(events(created, messageAdded(0), textDelta(0, "Hel")))
	up := providertest.NewUpstream(t, reply)
	a := testAdapter()
	a.StreamIdleTimeout = 50 * time.Millisecond
	res, rec, err := providertest.Run(t, a, chatRequest(t, up.URL, withUsage))
	if err != nil {
		t.Fatal(err)
	}
	providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(`{"content":"Hel"}`),
		`{"error":{"message":"OpenAI Responses sent nothing for 50ms; the stream was ended before the response was complete","type":"upstream_error","param":null,"code":"upstream_timeout"}}`))
	if res.ErrorCode != provider.CodeUpstreamTimeout || !res.Started {
		t.Fatalf("result = %+v", res)
	}
	providertest.WaitCancelled(t, upstreamCancelled, 5*time.Second)
}

// The item table is bounded: output_index maxItems-1 is served,
// maxItems is a stream error.
func TestStreamOutputIndexBound(t *testing.T) {
	for _, tc := range []struct {
		index int
		code  string
	}{{maxItems - 1, ""}, {maxItems, provider.CodeStreamError}} {
		up := providertest.NewUpstream(t, sseReply(events(created, callAdded(tc.index, "c", "f"), callDone(tc.index, "c", "f", "{}"), completed(usageJSON))))
		res, _, err := run(t, chatRequest(t, up.URL))
		if err != nil || res.ErrorCode != tc.code {
			t.Fatalf("output_index %d: err %v, result %+v", tc.index, err, res)
		}
	}
}
