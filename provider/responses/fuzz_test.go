package responses

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// FuzzTranslateRequest: any client body is either refused with an
// EINVALID naming a field, or becomes a Responses request that is valid
// JSON with the routed model, store false and at least one input item.
func FuzzTranslateRequest(f *testing.F) {
	for _, s := range []string{
		helloBody,
		`{"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"high"}},{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBE"}}]}],"max_tokens":10,"temperature":0.5}`,
		`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":[1,{\"b\":null}]}"}}]},{"role":"tool","tool_call_id":"c1","content":"r"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"},"strict":true}}],"tool_choice":"required","parallel_tool_calls":false}`,
		`{"messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object"},"strict":true}},"reasoning_effort":"low","reasoning":{"summary":"auto"},"verbosity":"low"}`,
		`{"messages":[],"n":2}`, `[]`, `{"messages":[{"role":"user","content":[[[[[[]]]]]]}]}`, `{"messages":[{"role":"user","content":"q"}],"stop":[""]}`,
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, stream bool) {
		out, err := translateRequest(&ownkey.ChatRequest{Model: "gpt-5", Body: body, Stream: stream})
		if err != nil {
			if e, ok := err.(*ownkey.Error); !ok || e.Code != ownkey.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		var got struct {
			Model  string            `json:"model"`
			Input  []json.RawMessage `json:"input"`
			Stream bool              `json:"stream"`
			Store  *bool             `json:"store"`
		}
		if !json.Valid(out) {
			t.Fatalf("translated body is not valid JSON: %s", out)
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("translated body: %v\n%s", err, out)
		}
		if got.Model != "gpt-5" || len(got.Input) == 0 || got.Stream != stream || got.Store == nil || *got.Store {
			t.Fatalf("translated body %s", out)
		}
	})
}

// runStream translates a Responses event stream given as raw bytes, in
// process, and returns what the client got.
func runStream(t testing.TB, raw []byte, includeUsage bool) (*ownkey.ChatResult, string) {
	req := &ownkey.ChatRequest{
		RequestID: "req-1", Provider: providertest.Catalog(t, "openai-responses"), Model: "gpt-5", Stream: true, IncludeUsage: includeUsage,
		Credential: &ownkey.Credential{Provider: "openai-responses", APIKey: ownkey.NewSecret(testKey)},
	}
	res, got, err := providertest.Translate(t, req, "text/event-stream", raw, respond)
	if err != nil {
		t.Fatalf("respond: %v", err)
	}
	return res, got
}

// FuzzStreamTranslation: whatever the provider sends, the client gets a
// well-formed OpenAI stream: every event a JSON object (or [DONE], only
// last), ending in [DONE] or an error event, tool calls opened once each
// in order, and never the key.
func FuzzStreamTranslation(f *testing.F) {
	f.Add([]byte(events(created, messageAdded(0), textDelta(0, "Hel"), textDelta(0, "lo"), messageDone(0, "Hello"), completed(usageJSON))), true)
	f.Add([]byte(events(created, reasoningAdded(0), summaryDelta(0, 0, "a"), summaryDelta(0, 1, "b"), callAdded(1, "c1", "f"), argsDelta(1, `{"a":`),
		argsDelta(1, `1}`), callDone(1, "c1", "f", `{"a":1}`), callAdded(2, "c2", "g"), callDone(2, "c2", "g", ""), incomplete("max_output_tokens", usageJSON))), false)
	f.Add([]byte(events(created, `{"type":"error","code":"server_error","message":"`+providertest.EscapedKey(testKey)+`"}`)), false)
	f.Add([]byte(events(created, `{"type":"response.failed","response":{"id":"resp_1","error":{"code":"x","message":"y"}}}`)), true)
	f.Add([]byte("event: response.created\ndata: "+strings.Repeat("[", 300)+"\n\n"), false)
	f.Add([]byte("data: {\"type\":\"response.created\",\"response\":{\"id\":1}}\r\n\r\ndata: {"), true)
	f.Fuzz(func(t *testing.T, raw []byte, includeUsage bool) {
		res, got := runStream(t, raw, includeUsage)
		payloads := providertest.CheckStream(t, res, got, testKey)
		opened := 0
		for _, p := range payloads {
			if p == done {
				continue
			}
			var c struct {
				Choices []struct {
					Delta struct {
						ToolCalls []struct {
							Index int    `json:"index"`
							ID    string `json:"id"`
						} `json:"tool_calls"`
					} `json:"delta"`
				} `json:"choices"`
			}
			_ = json.Unmarshal([]byte(p), &c)
			for _, ch := range c.Choices {
				for _, tc := range ch.Delta.ToolCalls {
					if tc.ID != "" || tc.Index == opened {
						if tc.Index != opened {
							t.Fatalf("tool call %d opened as the %d-th: %s", tc.Index, opened, p)
						}
						opened++
					} else if tc.Index >= opened {
						t.Fatalf("arguments for tool call %d, not opened: %s", tc.Index, p)
					}
				}
			}
		}
	})
}

// FuzzDecodeResponse: whatever a non-streaming answer holds, the client
// gets a chat.completion that is valid JSON, or an upstream error before
// anything is written; never the key.
func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte(textResponse))
	f.Add([]byte(`{"object":"response","status":"completed","output":[{"type":"reasoning","summary":[{"type":"summary_text","text":"a"}]},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"message","content":[{"type":"refusal","refusal":"no"}]}],"usage":{"input_tokens":1,"output_tokens":2}}`))
	f.Add([]byte(`{"object":"response","status":"failed","error":{"code":"x","message":"` + providertest.EscapedKey(testKey) + `"}}`))
	f.Add([]byte(`{"error":{"message":"m","type":"t","param":"p","code":"c"}}`))
	f.Add([]byte(`{"output":[` + strings.Repeat("[", 200) + `]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := &ownkey.ChatRequest{
			RequestID: "req-1", Provider: providertest.Catalog(t, "openai-responses"), Model: "gpt-5",
			Credential: &ownkey.Credential{Provider: "openai-responses", APIKey: ownkey.NewSecret(testKey)},
		}
		res, got, err := providertest.Translate(t, req, "application/json", body, respond)
		if err != nil {
			if e, ok := err.(*ownkey.Error); !ok || e.Code != ownkey.EUPSTREAM || got != "" || res.Started {
				t.Fatalf("err %v, result %+v, wrote %q", err, res, got)
			}
			if providertest.ErrorLeaks(t, err, got, testKey) {
				t.Fatalf("the key reached the client: %v", err)
			}
			return
		}
		var c struct {
			Object  string `json:"object"`
			Choices []struct {
				FinishReason string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(got), &c); err != nil || c.Object != "chat.completion" || len(c.Choices) != 1 || c.Choices[0].FinishReason == "" {
			t.Fatalf("client got %q (%v)", got, err)
		}
		if providertest.Leaks(got, testKey) && !bytes.Contains(body, []byte(testKey)) && !strings.Contains(string(body), providertest.EscapedKey(testKey)) {
			t.Fatalf("the key reached the client:\n%s", got)
		}
		if res.ErrorCode != "" && res.ErrorCode != provider.CodeClientDisconnected {
			t.Fatalf("result %+v", res)
		}
	})
}

// TestDeepStreamEventIsRefused: an event nested past the limit ends the
// stream with an error, without a recursive parser seeing it.
func TestDeepStreamEventIsRefused(t *testing.T) {
	raw := []byte(events(created) + "event: response.output_text.delta\ndata: " + strings.Repeat("[", 8<<20) + "\n\n")
	res, got := runStream(t, raw, false)
	payloads := providertest.Payloads(got)
	want := `{"error":{"message":"OpenAI Responses sent a stream event nested deeper than 128 levels","type":"upstream_error","param":null,"code":"stream_error"}}`
	if last := payloads[len(payloads)-1]; last != want || res.ErrorCode != provider.CodeStreamError {
		t.Fatalf("last event %s, result %+v", last, res)
	}
}
