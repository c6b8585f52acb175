package anthropic

import (
	"errors"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/openaicompat"
	"github.com/ownkey/ownkey/provider/providertest"
)

func TestCompletion(t *testing.T) {
	cases := []struct {
		name     string
		body     string // the client's request, "" for the default
		message  string // Anthropic's answer
		want     string // the chat.completion the client gets
		usage    ownkey.Usage
		finish   string
		output   string // what OutputSample must hold
		outBytes int64
		calls    int // tool calls counted
	}{
		{
			name: "text, thinking and tools",
			message: `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x-1","content":[
				{"type":"thinking","thinking":"The user wants weather.","signature":"EqQBCkYIBxgC"},
				{"type":"redacted_thinking","data":"xyz"},
				{"type":"text","text":"Let me check <both> & \"more\"."},
				{"type":"tool_use","id":"toolu_a","name":"get_weather","input":{ "city": "Paris" }},
				{"type":"tool_use","id":"toolu_b","name":"get_time","input":{}}],
				"stop_reason":"tool_use","stop_sequence":null,
				"usage":{"input_tokens":100,"cache_creation_input_tokens":20,"cache_read_input_tokens":30,"cache_creation":{"ephemeral_5m_input_tokens":20,"ephemeral_1h_input_tokens":0},"output_tokens":40,"service_tier":"standard"}}`,
			want: `{"id":"msg_1","object":"chat.completion","created":1700000000,"model":"claude-x-1","choices":[{"index":0,"message":{"role":"assistant",` +
				`"content":"Let me check <both> & \"more\".","reasoning_content":"The user wants weather.",` +
				`"tool_calls":[{"id":"toolu_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},` +
				`{"id":"toolu_b","type":"function","function":{"name":"get_time","arguments":"{}"}}],"refusal":null},"logprobs":null,"finish_reason":"tool_calls"}],` +
				`"usage":{"prompt_tokens":150,"completion_tokens":40,"total_tokens":190,"prompt_tokens_details":{"cached_tokens":30,"cache_write_tokens":20}}}` + "\n",
			usage:    ownkey.Usage{PromptTokens: 150, CompletionTokens: 40, CachedTokens: 30, CacheWriteTokens: 20, Source: ownkey.UsageFromProvider},
			finish:   "tool_calls",
			output:   `The user wants weather.Let me check <both> & "more".get_weather{"city":"Paris"}get_time{}`,
			outBytes: 89, calls: 2,
		},
		{
			name:    "tool only: content null",
			message: `{"id":"msg_1","type":"message","model":"claude-x-1","content":[{"type":"tool_use","id":"t","name":"f","input":{}}],"stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":6}}`,
			want: `{"id":"msg_1","object":"chat.completion","created":1700000000,"model":"claude-x-1","choices":[{"index":0,"message":{"role":"assistant","content":null,` +
				`"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}],"refusal":null},"logprobs":null,"finish_reason":"tool_calls"}],` +
				`"usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0}}}` + "\n",
			usage:  ownkey.Usage{PromptTokens: 5, CompletionTokens: 6, Source: ownkey.UsageFromProvider},
			finish: "tool_calls", output: "f{}", outBytes: 3, calls: 1,
		},
		{
			name:    "refusal",
			message: `{"id":"msg_1","type":"message","model":"claude-x-1","content":[],"stop_reason":"refusal","stop_details":{"type":"refusal","category":"cyber"},"usage":{"input_tokens":18,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":5}}`,
			want: `{"id":"msg_1","object":"chat.completion","created":1700000000,"model":"claude-x-1","choices":[{"index":0,"message":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":"content_filter"}],` +
				`"usage":{"prompt_tokens":18,"completion_tokens":5,"total_tokens":23,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0}}}` + "\n",
			usage:  ownkey.Usage{PromptTokens: 18, CompletionTokens: 5, Source: ownkey.UsageFromProvider},
			finish: "content_filter",
		},
		{
			name:    "max_tokens",
			message: `{"id":"msg_1","type":"message","model":"claude-x-1","content":[{"type":"text","text":"Once upon"},{"type":"text","text":" a time"}],"stop_reason":"max_tokens","usage":{"input_tokens":3,"output_tokens":4}}`,
			want: `{"id":"msg_1","object":"chat.completion","created":1700000000,"model":"claude-x-1","choices":[{"index":0,"message":{"role":"assistant","content":"Once upon a time","refusal":null},"logprobs":null,"finish_reason":"length"}],` +
				`"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0}}}` + "\n",
			usage:  ownkey.Usage{PromptTokens: 3, CompletionTokens: 4, Source: ownkey.UsageFromProvider},
			finish: "length", output: "Once upon a time", outBytes: 16,
		},
		{
			name: "json response_format",
			body: `{"model":"claude-x","messages":[{"role":"user","content":"weather?"}],"response_format":{"type":"json_schema","json_schema":{"name":"w","schema":{"type":"object"}}}}`,
			message: `{"id":"msg_1","type":"message","model":"claude-x-1","content":[{"type":"tool_use","id":"toolu_j","name":"json","input":{"elements": [{"location": "San Francisco", "temperature": -5}]}}],` +
				`"stop_reason":"tool_use","usage":{"input_tokens":1151,"output_tokens":87}}`,
			want: `{"id":"msg_1","object":"chat.completion","created":1700000000,"model":"claude-x-1","choices":[{"index":0,"message":{"role":"assistant",` +
				`"content":"{\"elements\":[{\"location\":\"San Francisco\",\"temperature\":-5}]}","refusal":null},"logprobs":null,"finish_reason":"stop"}],` +
				`"usage":{"prompt_tokens":1151,"completion_tokens":87,"total_tokens":1238,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0}}}` + "\n",
			usage:  ownkey.Usage{PromptTokens: 1151, CompletionTokens: 87, Source: ownkey.UsageFromProvider},
			finish: "stop", output: `{"elements":[{"location":"San Francisco","temperature":-5}]}`, outBytes: 60,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(200, tc.message))
			body := tc.body
			if body == "" {
				body = `{"model":"claude-x","messages":[{"role":"user","content":"hi"}]}`
			}
			res, rec, err := run(t, chatRequest(t, up.URL, nonStream, withBody(body)))
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.Body.String(); got != tc.want {
				t.Fatalf("client got:\n%s\nwant:\n%s", got, tc.want)
			}
			if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Content-Length") != itoa(len(tc.want)) {
				t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
			}
			if res.Status != 200 || !res.Started || res.ModelServed != "claude-x-1" || res.FinishReason != tc.finish ||
				res.Usage != tc.usage || res.ErrorCode != "" || res.ClientGone {
				t.Fatalf("result = %+v", res)
			}
			if string(res.OutputSample) != tc.output || res.OutputBytes != tc.outBytes || res.OutputToolCalls != tc.calls {
				t.Fatalf("output sample %q (%d bytes, %d tool calls), want %q (%d, %d)", res.OutputSample, res.OutputBytes, res.OutputToolCalls, tc.output, tc.outBytes, tc.calls)
			}
			// The gateway reads usage objects with ParseUsage: the one
			// written must read back as what the result says.
			if u := openaicompat.ParseUsage([]byte(usageOf(t, rec.Body.String()))); u != tc.usage {
				t.Fatalf("usage written reads back as %+v, want %+v", u, tc.usage)
			}
		})
	}
}

func TestCompletionErrorBodyWith200(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`))
	res, rec, err := run(t, chatRequest(t, up.URL, nonStream))
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EUPSTREAM || e.Status != 502 || e.Type != "api_error" || e.Message != "Internal server error" {
		t.Fatalf("err = %#v", err)
	}
	if res.Started || res.Status != 502 || res.ErrorCode != provider.CodeUpstreamError || rec.Body.Len() != 0 {
		t.Fatalf("result %+v, body %q", res, rec.Body.String())
	}
}

func TestCompletionNotAMessage(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, `<html>gateway</html>`))
	res, _, err := run(t, chatRequest(t, up.URL, nonStream))
	if ownkey.ErrorCode(err) != ownkey.EUPSTREAM || res.Status != 502 || res.Started {
		t.Fatalf("err = %v, result %+v", err, res)
	}
}
