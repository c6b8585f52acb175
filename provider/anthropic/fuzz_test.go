package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	messages "github.com/ownkey/ownkey/dialect/anthropic"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
	"github.com/ownkey/ownkey/sse"
)

// FuzzTranslateRequest: any client body is either refused with an
// EINVALID naming a field, or becomes a Messages request that is valid
// JSON with the routed model, at least one message and max_tokens.
func FuzzTranslateRequest(f *testing.F) {
	for _, s := range []string{
		helloBody,
		`{"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}],"max_tokens":10,"temperature":0.5,"stop":["x"]}`,
		`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":[1,{\"b\":null}]}"}}]},{"role":"tool","tool_call_id":"c1","content":"r"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"required","parallel_tool_calls":false}`,
		`{"messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object","properties":{"a":{"type":"array","items":{"type":"object"}}}}}},"reasoning_effort":"low"}`,
		`{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"high","max_completion_tokens":5000}`,
		`{"messages":[],"n":2}`, `[]`, `{"messages":[{"role":"user","content":[[[[[[]]]]]]}]}`,
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, stream bool) {
		req := &ownkey.ChatRequest{Model: "claude-x", Body: body, Stream: stream}
		tr, err := translateRequest(req, DefaultMaxTokens)
		if err != nil {
			if ownkey.ErrorCode(err) != ownkey.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		var out struct {
			Model     string            `json:"model"`
			MaxTokens int64             `json:"max_tokens"`
			Messages  []json.RawMessage `json:"messages"`
			Stream    bool              `json:"stream"`
		}
		if !json.Valid(tr.body) {
			t.Fatalf("translated body is not valid JSON: %s", tr.body)
		}
		if err := json.Unmarshal(tr.body, &out); err != nil {
			t.Fatalf("translated body: %v\n%s", err, tr.body)
		}
		if out.Model != "claude-x" || out.MaxTokens <= 0 || out.Stream != stream {
			t.Fatalf("translated body %s", tr.body)
		}
	})
}

// runStream translates an Anthropic event stream given as raw bytes, in
// process, and returns what the client got.
func runStream(t testing.TB, raw []byte, includeUsage bool) (*ownkey.ChatResult, string) {
	req := &ownkey.ChatRequest{
		RequestID: "req-1", Provider: providertest.Catalog(t, "anthropic"), Model: "claude-x", Stream: true, IncludeUsage: includeUsage,
		Credential: &ownkey.Credential{Provider: "anthropic", APIKey: ownkey.NewSecret(testKey)},
	}
	res, got, err := providertest.Translate(t, req, "text/event-stream", raw, responder(&translation{}))
	if err != nil {
		t.Fatalf("respond: %v", err)
	}
	return res, got
}

// FuzzStreamTranslation: whatever Anthropic sends, the client gets a
// well-formed OpenAI stream: every event a JSON object (or [DONE], only
// last), ending in [DONE] or an error event, and never the key.
func FuzzStreamTranslation(f *testing.F) {
	f.Add([]byte(events(msgStart, ping, textStart(0), textDelta(0, "Hel"), textDelta(0, "lo"), blockStop(0),
		msgDelta("end_turn", `{"output_tokens":5}`), msgStop)), true)
	f.Add([]byte(events(msgStart, toolStart(0, "t1", "f"), jsonDelta(0, `{"a":`), jsonDelta(0, `1}`), blockStop(0),
		msgDelta("tool_use", `{"output_tokens":5}`), msgStop)), false)
	f.Add([]byte(events(msgStart, `{"type":"error","error":{"type":"overloaded_error","message":"`+providertest.EscapedKey(testKey)+`"}}`)), false)
	f.Add([]byte("event: message_start\ndata: "+strings.Repeat("[", 300)+"\n\n"), false)
	f.Add([]byte("data: {\"type\":\"message_start\",\"message\":{\"id\":1}}\r\n\r\ndata: {"), true)
	f.Fuzz(func(t *testing.T, raw []byte, includeUsage bool) {
		res, got := runStream(t, raw, includeUsage)
		providertest.CheckStream(t, res, got, testKey)
	})
}

// TestDeepStreamEventIsRefused: an event nested past the limit ends the
// stream with an error (gjson.Valid, used before, recursed once per level:
// an event of millions of '[' would have killed the process).
func TestDeepStreamEventIsRefused(t *testing.T) {
	raw := []byte(events(msgStart) + "event: content_block_delta\ndata: " + strings.Repeat("[", 8<<20) + "\n\n")
	res, got := runStream(t, raw, false)
	payloads := providertest.Payloads(got)
	want := `{"error":{"message":"Anthropic sent a stream event nested deeper than 128 levels","type":"upstream_error","param":null,"code":"stream_error"}}`
	if last := payloads[len(payloads)-1]; last != want || res.ErrorCode != provider.CodeStreamError {
		t.Fatalf("last event %s, result %+v", last, res)
	}
}

func TestDeepResponseIsRefused(t *testing.T) {
	body := `{"type":"message","id":"m","model":"claude-x","role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{"a":` +
		strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}}`
	up := providertest.NewUpstream(t, providertest.JSONReply(200, body))
	_, _, err := run(t, chatRequest(t, up.URL, nonStream))
	if e, ok := err.(*ownkey.Error); !ok || e.Code != ownkey.EUPSTREAM || e.Message != "the Anthropic response is nested deeper than 128 levels" {
		t.Fatalf("err = %#v", err)
	}
	up = providertest.NewUpstream(t, providertest.JSONReply(200, body))
	if _, _, err := run(t, chatRequest(t, up.URL, nonStream, func(r *ownkey.ChatRequest) { r.MaxJSONDepth = 300 })); err != nil {
		t.Fatalf("with the limit at 300: %v", err)
	}
}

// FuzzRelayStream: whatever Anthropic sends to a Messages client, the
// pass-through relays each event's type and data as they came (an error
// event less any echo of the key), and either the stream ends with
// message_stop, complete, or the client is told it failed by an error
// event; the usage read is never negative.
func FuzzRelayStream(f *testing.F) {
	f.Add([]byte(events(thinkingStream...)))
	f.Add([]byte(events(msgStart, ping, textStart(0), textDelta(0, "Hel"), blockStop(0), msgDelta("end_turn", `{"output_tokens":5}`), msgStop)))
	f.Add([]byte(events(msgStart, `{"type":"error","error":{"type":"overloaded_error","message":"`+providertest.EscapedKey(testKey)+`"}}`)))
	f.Add([]byte("event: content_block_delta\ndata: " + strings.Repeat("[", 300) + "\n\n"))
	f.Add([]byte("data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":-5,\"input_tokens\":1e30}}\r\n\r\ndata: {\"type\":\"message_stop\"}\n\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		req := &ownkey.ChatRequest{
			RequestID: "req-1", Provider: providertest.Catalog(t, "anthropic"), Model: "claude-x", Stream: true,
			Credential: &ownkey.Credential{Provider: "anthropic", APIKey: ownkey.NewSecret(testKey)},
		}
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(raw))}
		rec := httptest.NewRecorder()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		wr := messages.NewWriter(rec, true)
		defer wr.Finish()
		res, err := respondRelay(ctx, cancel, req, &ownkey.ChatResult{}, resp, wr)
		if err != nil {
			t.Fatalf("respond: %v", err)
		}
		u := res.Usage
		if u.PromptTokens < 0 || u.CompletionTokens < 0 || u.CachedTokens < 0 || u.CacheWriteTokens < 0 || res.OutputBytes < 0 {
			t.Fatalf("usage %+v", res)
		}
		got := rec.Body.String()
		switch {
		case res.ErrorCode == "":
			if !strings.HasSuffix(got, string(sse.AppendData(nil, []byte(lastData(raw))))) || res.FinishReason == "" {
				t.Fatalf("complete stream ends\n%q\nresult %+v", got, res)
			}
		case !strings.Contains(got, "event: error\n"):
			t.Fatalf("failed (%s) without an error event:\n%q", res.ErrorCode, got)
		}
		// Error events are relayed less the key (others as they came).
		rd := sse.NewReader(strings.NewReader(got), 0)
		for {
			ev, err := rd.Next()
			if err != nil {
				break
			}
			if string(ev.Type) == "error" && providertest.Leaks(string(ev.Data), testKey) {
				t.Fatalf("an error event with the key: %s", ev.Data)
			}
		}
	})
}

// lastData is the data of the last whole event of an SSE stream, as the
// SSE reader reads it.
func lastData(raw []byte) string {
	rd := sse.NewReader(bytes.NewReader(raw), 0)
	var last string
	for {
		ev, err := rd.Next()
		if err != nil {
			return last
		}
		last = string(ev.Data)
	}
}
