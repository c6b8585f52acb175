package responses

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
)

const textResponse = `{"id":"resp_1","object":"response","created_at":1765552659,"status":"completed","error":null,"incomplete_details":null,` +
	`"model":"gpt-5-x","output":[{"id":"msg_1","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Hello \"world\"\n<&>"}],"role":"assistant"}],` +
	`"store":false,"usage":{"input_tokens":40,"input_tokens_details":{"cached_tokens":16},"output_tokens":300,"output_tokens_details":{"reasoning_tokens":256},"total_tokens":340}}`

func TestCompleteText(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, textResponse))
	res, rec, err := run(t, chatRequest(t, up.URL, nonStream))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"resp_1","object":"chat.completion","created":1765552659,"model":"gpt-5-x","choices":[{"index":0,"message":{"role":"assistant","content":"Hello \"world\"\n<&>","refusal":null},` +
		`"logprobs":null,"finish_reason":"stop"}],"usage":` + wantUsage + `}`
	if got := strings.TrimSpace(rec.Body.String()); got != want {
		t.Fatalf("client got\n%s\nwant\n%s", got, want)
	}
	if res.Status != 200 || !res.Started || res.FinishReason != "stop" || res.Usage != usage40x300 || res.ModelServed != "gpt-5-x" {
		t.Fatalf("result %+v", res)
	}
}

// Reasoning summaries, text and function calls, in one response.
func TestCompleteToolsAndReasoning(t *testing.T) {
	body := strings.Replace(textResponse, `"output":[`, `"output":[{"id":"rs_0","type":"reasoning","encrypted_content":"gAAAA","summary":[`+
		`{"type":"summary_text","text":"**Plan**\n\nLook it up."},{"type":"summary_text","text":"Then answer."}]},`, 1)
	body = strings.Replace(body, `"role":"assistant"}]`, `"role":"assistant"},{"id":"ws_1","type":"web_search_call","status":"completed"},`+
		`{"id":"fc_1","type":"function_call","status":"completed","arguments":"{\"city\":\"Paris\"}","call_id":"call_1","name":"get_weather"},`+
		`{"id":"fc_2","type":"function_call","status":"completed","arguments":"","call_id":"call_2","name":"get_time"}]`, 1)
	up := providertest.NewUpstream(t, providertest.JSONReply(200, body))
	res, rec, err := run(t, chatRequest(t, up.URL, nonStream))
	if err != nil {
		t.Fatal(err)
	}
	got := providertest.ReadAnswer(t, rec.Body.String(), false)
	if got.Content != "Hello \"world\"\n<&>" || got.Reasoning != "**Plan**\n\nLook it up.\n\nThen answer." || got.Finish != "tool_calls" || got.Usage != usage40x300 {
		t.Fatalf("client got %+v", got)
	}
	if len(got.Tools) != 2 || got.Tools[0] != (providertest.Call{ID: "call_1", Name: "get_weather", Args: `{"city":"Paris"}`}) ||
		got.Tools[1] != (providertest.Call{ID: "call_2", Name: "get_time", Args: "{}"}) {
		t.Fatalf("tool calls %+v", got.Tools)
	}
	if res.FinishReason != "tool_calls" || res.OutputToolCalls != 2 {
		t.Fatalf("result %+v", res)
	}
}

func TestCompleteStatuses(t *testing.T) {
	for _, tc := range []struct {
		name, from, to, finish, refusal string
	}{
		{"max_output_tokens", `"status":"completed","error":null,"incomplete_details":null`, `"status":"incomplete","error":null,"incomplete_details":{"reason":"max_output_tokens"}`, "length", ""},
		{"content_filter", `"status":"completed","error":null,"incomplete_details":null`, `"status":"incomplete","error":null,"incomplete_details":{"reason":"content_filter"}`, "content_filter", ""},
		{"refusal", `{"type":"output_text","annotations":[],"logprobs":[],"text":"Hello \"world\"\n<&>"}`, `{"type":"refusal","refusal":"I can't."}`, "content_filter", "I can't."},
		{"no status", `"status":"completed",`, ``, "stop", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(200, strings.Replace(textResponse, tc.from, tc.to, 1)))
			res, rec, err := run(t, chatRequest(t, up.URL, nonStream))
			if err != nil {
				t.Fatal(err)
			}
			got := providertest.ReadAnswer(t, rec.Body.String(), false)
			if got.Finish != tc.finish || res.FinishReason != tc.finish || tc.refusal != "" && got.Content != tc.refusal {
				t.Fatalf("client got %+v", got)
			}
		})
	}
}

// A 200 that holds an error, a failed or unfinished response, or no
// response at all is an error before anything is written.
func TestCompleteRefused(t *testing.T) {
	for _, tc := range []struct{ name, body, msg, reason string }{
		{"failed", strings.Replace(textResponse, `"status":"completed","error":null`, `"status":"failed","error":{"code":"server_error","message":"The model failed (`+testKey+`)."}`, 1),
			"The model failed ([REDACTED]).", "server_error"},
		{"in progress", strings.Replace(textResponse, `"status":"completed"`, `"status":"in_progress"`, 1), "OpenAI Responses answered with a response that is in_progress, not complete", ""},
		{"odd status", strings.Replace(textResponse, `"status":"completed"`, `"status":"\u001b[31m"`, 1), "OpenAI Responses answered with a response that is of no known status, not complete", ""},
		{"an error", `{"error":{"message":"Something broke.","type":"server_error","param":null,"code":null}}`, "Something broke.", ""},
		{"not a response", `{"choices":[]}`, "OpenAI Responses answered with something other than a response", ""},
		{"not JSON", `{"output":[`, "OpenAI Responses answered with something other than a response", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(200, tc.body))
			res, rec, err := run(t, chatRequest(t, up.URL, nonStream))
			e, ok := err.(*ownkey.Error)
			if !ok || e.Code != ownkey.EUPSTREAM || e.Message != tc.msg || e.Reason != tc.reason || res.Status != 502 || res.Started || rec.Body.Len() != 0 {
				t.Fatalf("err %#v, result %+v", err, res)
			}
		})
	}
}

func TestDeepResponseIsRefused(t *testing.T) {
	body := strings.Replace(textResponse, `"error":null`, `"error":null,"x":`+strings.Repeat("[", 200)+strings.Repeat("]", 200), 1)
	up := providertest.NewUpstream(t, providertest.JSONReply(200, body))
	_, _, err := run(t, chatRequest(t, up.URL, nonStream))
	if e, ok := err.(*ownkey.Error); !ok || e.Code != ownkey.EUPSTREAM || e.Message != "the OpenAI Responses response is nested deeper than 128 levels" {
		t.Fatalf("err = %#v", err)
	}
	up = providertest.NewUpstream(t, providertest.JSONReply(200, body))
	if _, _, err := run(t, chatRequest(t, up.URL, nonStream, func(r *ownkey.ChatRequest) { r.MaxJSONDepth = 300 })); err != nil {
		t.Fatalf("with the limit at 300: %v", err)
	}
}

func TestUsageOf(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want ownkey.Usage
	}{
		{usageJSON, usage40x300},
		{`{"input_tokens":5,"output_tokens":-3}`, ownkey.Usage{PromptTokens: 5, Source: ownkey.UsageFromProvider}},
		{`{"input_tokens":"5","output_tokens":0}`, ownkey.Usage{}},
		{`null`, ownkey.Usage{}},
	} {
		if got := usageOf(gjson.Parse(tc.raw)); got != tc.want {
			t.Errorf("usageOf(%s) = %+v, want %+v", tc.raw, got, tc.want)
		}
	}
}
