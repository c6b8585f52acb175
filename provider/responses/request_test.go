package responses

import (
	"encoding/json"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
)

func translate(t *testing.T, body string, stream bool) (string, error) {
	t.Helper()
	out, err := translateRequest(&ownkey.ChatRequest{Model: "gpt-5", Body: []byte(body), Stream: stream})
	return string(out), err
}

// Each case is the client's body and the exact Responses body sent.
func TestTranslateRequest(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{
			name: "system, developer and user messages, in place",
			in:   `{"model":"x","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"},{"role":"developer","content":[{"type":"text","text":"Use "},{"type":"text","text":"French."}]}]}`,
			want: `{"model":"gpt-5","input":[{"role":"system","content":[{"type":"input_text","text":"Be brief."}]},{"role":"user","content":[{"type":"input_text","text":"hi"}]},` +
				`{"role":"developer","content":[{"type":"input_text","text":"Use French."}]}],"store":false}`,
		},
		{
			name: "images and files",
			in: `{"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}},` +
				`{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}},{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBE"}},` +
				`{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBE","filename":"a.pdf"}},{"type":"file","file":{"file_id":"file-1"}},{"type":"text","text":""}]}]}`,
			want: `{"model":"gpt-5","input":[{"role":"user","content":[{"type":"input_text","text":"What is this?"},{"type":"input_image","image_url":"https://example.com/a.png","detail":"auto"},` +
				`{"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"},{"type":"input_file","file_data":"data:application/pdf;base64,JVBE","filename":"part-3.pdf"},` +
				`{"type":"input_file","file_data":"data:application/pdf;base64,JVBE","filename":"a.pdf"},{"type":"input_file","file_id":"file-1"}]}],"store":false}`,
		},
		{
			name: "a tool round trip",
			in: `{"messages":[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":"Let me look.","tool_calls":[` +
				`{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_2","type":"function","function":{"name":"get_time","arguments":""}}]},` +
				`{"role":"tool","tool_call_id":"call_1","content":"18°C"},{"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"noon"}]},` +
				`{"role":"assistant","content":null,"refusal":"No."},{"role":"tool","tool_call_id":"call_3","content":""}],` +
				`"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}},` +
				`{"type":"function","function":{"name":"get_time"}}],"tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false}`,
			want: `{"model":"gpt-5","input":[{"role":"user","content":[{"type":"input_text","text":"Weather in Paris?"}]},` +
				`{"role":"assistant","content":[{"type":"output_text","text":"Let me look."}]},` +
				`{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},` +
				`{"type":"function_call","call_id":"call_2","name":"get_time","arguments":"{}"},` +
				`{"type":"function_call_output","call_id":"call_1","output":"18°C"},{"type":"function_call_output","call_id":"call_2","output":"noon"},` +
				`{"role":"assistant","content":[{"type":"output_text","text":"No."}]},{"type":"function_call_output","call_id":"call_3","output":""}],"store":false,` +
				`"tools":[{"type":"function","name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true},` +
				`{"type":"function","name":"get_time","parameters":{"type":"object","properties":{}},"strict":false}],` +
				`"tool_choice":{"type":"function","name":"get_weather"},"parallel_tool_calls":false}`,
		},
		{
			name: "json_schema, limits, reasoning and hints",
			in: `{"messages":[{"role":"user","content":"q"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":50,"max_completion_tokens":500,` +
				`"temperature":0.2,"top_p":0.9,"reasoning_effort":"high","verbosity":"low","user":"u1","safety_identifier":"s1","prompt_cache_key":"k","prompt_cache_retention":"24h",` +
				`"service_tier":"flex","metadata":{"a":"b"},"store":true,"seed":7,"frequency_penalty":0.5,"top_k":3,"tool_choice":"required",` +
				`"response_format":{"type":"json_schema","json_schema":{"name":"w","description":"d","schema":{"type":"object"},"strict":true}}}`,
			want: `{"model":"gpt-5","input":[{"role":"user","content":[{"type":"input_text","text":"q"}]}],"stream":true,"store":false,"max_output_tokens":500,"temperature":0.2,"top_p":0.9,` +
				`"text":{"format":{"type":"json_schema","name":"w","description":"d","schema":{"type":"object"},"strict":true},"verbosity":"low"},"reasoning":{"effort":"high"},` +
				`"safety_identifier":"s1","user":"u1","prompt_cache_key":"k","prompt_cache_retention":"24h","service_tier":"flex","metadata":{"a":"b"}}`,
		},
		{
			name: "json_object, a schema without a name, max_tokens, reasoning summaries",
			in:   `{"messages":[{"role":"user","content":"q"}],"max_tokens":50,"response_format":{"type":"json_object"},"reasoning":{"effort":"low","summary":"auto"},"stop":["",""]}`,
			want: `{"model":"gpt-5","input":[{"role":"user","content":[{"type":"input_text","text":"q"}]}],"store":false,"max_output_tokens":50,"text":{"format":{"type":"json_object"}},"reasoning":{"effort":"low","summary":"auto"}}`,
		},
		{
			name: "unnamed schema",
			in:   `{"messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object"}}},"response_format_extra":1,"reasoning_effort":"low","reasoning":{"effort":"low"}}`,
			want: `{"model":"gpt-5","input":[{"role":"user","content":[{"type":"input_text","text":"q"}]}],"store":false,"text":{"format":{"type":"json_schema","name":"response","schema":{"type":"object"}}},"reasoning":{"effort":"low"}}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stream := json.Valid([]byte(tc.in)) && containsStreamTrue(tc.in)
			got, err := translate(t, tc.in, stream)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func containsStreamTrue(body string) bool {
	var v struct{ Stream bool }
	_ = json.Unmarshal([]byte(body), &v)
	return v.Stream
}

// Refused fields come back as a 400 naming the field.
func TestTranslateRequestRefuses(t *testing.T) {
	const user = `"messages":[{"role":"user","content":"q"}]`
	for _, tc := range []struct{ body, param string }{
		{`{` + user + `,"stop":"END"}`, "stop"},
		{`{` + user + `,"stop":5}`, "stop"},
		{`{` + user + `,"n":2}`, "n"},
		{`{` + user + `,"logprobs":true}`, "logprobs"},
		{`{` + user + `,"top_logprobs":3}`, "top_logprobs"},
		{`{` + user + `,"logit_bias":{"1":2}}`, "logit_bias"},
		{`{` + user + `,"modalities":["text","audio"]}`, "modalities"},
		{`{` + user + `,"functions":[{"name":"f"}]}`, "functions"},
		{`{` + user + `,"web_search_options":{}}`, "web_search_options"},
		{`{` + user + `,"max_tokens":0}`, "max_tokens"},
		{`{` + user + `,"max_completion_tokens":-1}`, "max_completion_tokens"},
		{`{` + user + `,"tools":[{"type":"custom","custom":{"name":"x"}}]}`, "tools[0].type"},
		{`{` + user + `,"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]}`, "tools[0].function.parameters"},
		{`{` + user + `,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"allowed_tools"}}`, "tool_choice.type"},
		{`{` + user + `,"response_format":{"type":"yaml"}}`, "response_format.type"},
		{`{` + user + `,"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}`, "response_format.json_schema.schema"},
		{`{` + user + `,"reasoning":"high"}`, "reasoning"},
		{`{` + user + `,"reasoning_effort":"high","reasoning":{"effort":"low"}}`, "reasoning_effort"},
		{`{` + user + `,"verbosity":3}`, "verbosity"},
		{`{"messages":[]}`, "messages"},
		{`{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA","format":"wav"}}]}]}`, "messages[0].content[0]"},
		{`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x","detail":"max"}}]}]}`, "messages[0].content[0].image_url.detail"},
		{`{"messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"not a data url"}}]}]}`, "messages[0].content[0].file.file_data"},
		{`{"messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x"}}]}]}`, "messages[0].content[0].type"},
		{`{"messages":[{"role":"assistant","content":"a","tool_calls":[{"id":"","type":"function","function":{"name":"f"}}]}]}`, "messages[0].tool_calls[0].id"},
		{`{"messages":[{"role":"tool","content":"r"}]}`, "messages[0].tool_call_id"},
		{`{"messages":[{"role":"function","content":"r"}]}`, "messages[0].role"},
		{`{"messages":[{"role":"narrator","content":"r"}]}`, "messages[0].role"},
	} {
		t.Run(tc.param, func(t *testing.T) {
			_, err := translate(t, tc.body, false)
			e, ok := err.(*ownkey.Error)
			if !ok || e.Code != ownkey.EINVALID || e.Param != tc.param {
				t.Fatalf("%s: err = %v, want EINVALID on %s", tc.body, err, tc.param)
			}
		})
	}
}

// What the client sends reaches the provider translated, by the family's
// path and key.
func TestRequestSent(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, textResponse))
	req := chatRequest(t, up.URL, nonStream, withBody(`{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}`))
	if _, _, err := run(t, req); err != nil {
		t.Fatal(err)
	}
	got := up.Only(t)
	if got.Method != "POST" || got.Path != "/v1/responses" || got.Header.Get("Content-Type") != "application/json" ||
		got.Header.Get("Authorization") != "Bearer "+testKey || got.Header.Get("User-Agent") != "ownkey-test/1" {
		t.Fatalf("upstream got %s %s %v", got.Method, got.Path, got.Header)
	}
	if want := `{"model":"gpt-5","input":[{"role":"user","content":[{"type":"input_text","text":"hi"}]}],"store":false}`; string(got.Body) != want {
		t.Fatalf("body %s", got.Body)
	}
}

// A request that cannot be translated is refused before anything is sent.
func TestBadRequestIsNotSent(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, textResponse))
	res, rec, err := run(t, chatRequest(t, up.URL, withBody(`{"messages":[{"role":"user","content":"q"}],"stop":"x"}`)))
	if e, ok := err.(*ownkey.Error); !ok || e.Param != "stop" || res.Status != 400 || rec.Body.Len() != 0 {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if n := len(up.Requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}
