package responses

import (
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/openaichat"
)

func TestChatRequest(t *testing.T) {
	for _, c := range []struct {
		name, provider string
		stream         bool
		in, want       string
	}{
		{"string input", "groq", false,
			`{"model":"groq/llama","input":"Hi <there> & you","instructions":"Be brief.","store":false}`,
			`{"model":"llama","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi <there> & you"}]}`},
		{"streamed, with usage", "groq", true,
			`{"model":"m","input":"Hi","stream":true}`,
			`{"model":"llama","messages":[{"role":"user","content":"Hi"}],"stream":true,"stream_options":{"include_usage":true}}`},
		{"items and parts", "groq", false,
			`{"model":"m","input":[{"role":"developer","content":"Rules."},{"type":"message","role":"user","content":[{"type":"input_text","text":"Look:"},` +
				`{"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"},{"type":"input_file","file_data":"data:application/pdf;base64,JVBE","filename":"a.pdf"},{"type":"input_file","file_id":"file-1"}]},` +
				`{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"hmm"}],"encrypted_content":"gAAA"},` +
				`{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Let me check."}]},` +
				`{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},` +
				`{"type":"function_call","call_id":"call_2","name":"get_time","arguments":"{}"},` +
				`{"type":"function_call_output","call_id":"call_1","output":"18°C"},` +
				`{"type":"function_call_output","call_id":"call_2","output":[{"type":"input_text","text":"noon"}]},` +
				`{"role":"assistant","content":"Done."},{"type":"function_call","call_id":"call_3","name":"x","arguments":""}]}`,
			`{"model":"llama","messages":[{"role":"system","content":"Rules."},{"role":"user","content":[{"type":"text","text":"Look:"},` +
				`{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}},{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBE","filename":"a.pdf"}},{"type":"file","file":{"file_id":"file-1"}}]},` +
				`{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},` +
				`{"role":"tool","content":"18°C","tool_call_id":"call_1"},{"role":"tool","content":"noon","tool_call_id":"call_2"},` +
				`{"role":"assistant","content":"Done.","tool_calls":[{"id":"call_3","type":"function","function":{"name":"x","arguments":""}}]}]}`},
		{"a call with no text before it", "groq", false,
			`{"model":"m","input":[{"role":"user","content":"Hi"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":"ok"}]}`,
			`{"model":"llama","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","content":"ok","tool_call_id":"c"}]}`},
		{"OpenAI keeps developer and takes max_completion_tokens", "openai", false,
			`{"model":"m","input":[{"role":"developer","content":[{"type":"input_text","text":"Rules."}]},{"role":"user","content":"Hi"}],"max_output_tokens":300}`,
			`{"model":"llama","messages":[{"role":"developer","content":"Rules."},{"role":"user","content":"Hi"}],"max_completion_tokens":300}`},
		{"the other settings", "anthropic", false,
			`{"model":"m","input":"Hi","max_output_tokens":300,"temperature":0.70,"top_p":1,"parallel_tool_calls":false,` +
				`"tools":[{"type":"function","name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true},{"type":"function","name":"noop"}],` +
				`"tool_choice":{"type":"function","name":"get_weather"},"text":{"format":{"type":"json_schema","name":"w","schema":{"type":"object"},"strict":true},"verbosity":"low"},` +
				`"reasoning":{"effort":"high","summary":"auto"},"user":"u1","safety_identifier":"s1","prompt_cache_key":"k","service_tier":"flex",` +
				`"metadata":{"a":"b"},"truncation":"auto","include":["reasoning.encrypted_content"],"max_tool_calls":3,"byok":{"provider":"anthropic"}}`,
			`{"model":"llama","messages":[{"role":"user","content":"Hi"}],"max_tokens":300,"temperature":0.70,"top_p":1,` +
				`"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}},{"type":"function","function":{"name":"noop"}}],` +
				`"tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false,"response_format":{"type":"json_schema","json_schema":{"name":"w","schema":{"type":"object"},"strict":true}},` +
				`"reasoning_effort":"high","verbosity":"low","user":"u1","safety_identifier":"s1","prompt_cache_key":"k","service_tier":"flex"}`},
		{"json_object, tool_choice without tools", "groq", false,
			`{"model":"m","input":"Hi","text":{"format":{"type":"json_object"}},"tool_choice":"auto"}`,
			`{"model":"llama","messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_object"}}`},
		{"text format text, tool_choice required", "groq", false,
			`{"model":"m","input":"Hi","text":{"format":{"type":"text"}},"tools":[{"type":"function","name":"f"}],"tool_choice":"required"}`,
			`{"model":"llama","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ChatRequest([]byte(c.in), "llama", c.provider, c.stream)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("got\n%s\nwant\n%s", got, c.want)
			}
			// What the translating families read: it decodes.
			if _, err := openaichat.Decode(got); err != nil {
				t.Fatalf("openaichat cannot read it: %v", err)
			}
		})
	}
}

func TestChatRequestRefuses(t *testing.T) {
	for _, c := range []struct{ in, param string }{
		{`{"input":"Hi","tools":[{"type":"web_search"}]}`, "tools[0].type"},
		{`{"input":"Hi","tools":[{"type":"function","name":"f"},{"type":"file_search","vector_store_ids":["v"]}]}`, "tools[1].type"},
		{`{"input":"Hi","tools":[{"type":"computer_use_preview"}]}`, "tools[0].type"},
		{`{"input":"Hi","tools":[{"type":"function"}]}`, "tools[0].name"},
		{`{"input":"Hi","tools":[{"type":"function","name":"f","parameters":[]}]}`, "tools[0].parameters"},
		{`{"input":"Hi","tool_choice":{"type":"web_search_preview"}}`, "tool_choice.type"},
		{`{"input":"Hi","tool_choice":{"type":"allowed_tools","tools":[]}}`, "tool_choice.type"},
		{`{"input":"Hi","tool_choice":{"type":"function"}}`, "tool_choice.name"},
		{`{"input":"Hi","tool_choice":"sometimes"}`, "tool_choice"},
		{`{"input":[{"type":"web_search_call","id":"ws_1"}]}`, "input[0].type"},
		{`{"input":[{"role":"user","content":"Hi"},{"type":"item_reference","id":"msg_1"}]}`, "input[1].type"},
		{`{"input":[{"role":"tool","content":"x"}]}`, "input[0].role"},
		{`{"input":[{"role":"user","content":[{"type":"input_audio"}]}]}`, "input[0].content[0].type"},
		{`{"input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]}`, "input[0].content[0].image_url"},
		{`{"input":[{"role":"user","content":[{"type":"input_image","image_url":"https://x","detail":"max"}]}]}`, "input[0].content[0].detail"},
		{`{"input":[{"role":"user","content":[{"type":"input_file","file_url":"https://x/a.pdf"}]}]}`, "input[0].content[0].file_data"},
		{`{"input":[{"role":"system","content":[{"type":"input_image","image_url":"https://x"}]}]}`, "input[0].content[0].type"},
		{`{"input":[{"role":"user","content":7}]}`, "input[0].content"},
		{`{"input":[{"role":"user","content":"x","type":7}]}`, "input[0].type"},
		{`{"input":[7]}`, "input[0]"},
		{`{"input":[{"type":"function_call","name":"f"}]}`, "input[0].call_id"},
		{`{"input":[{"type":"function_call","call_id":"c"}]}`, "input[0].name"},
		{`{"input":[{"type":"function_call_output","output":"x"}]}`, "input[0].call_id"},
		{`{"input":[{"type":"function_call_output","call_id":"c","output":{"a":1}}]}`, "input[0].output"},
		{`{"input":7}`, "input"},
		{`{"input":""}`, "input"},
		{`{"instructions":"x"}`, "input"},
		{`{"input":[]}`, "input"},
		{`{"input":"Hi","instructions":7}`, "instructions"},
		{`{"input":"Hi","max_output_tokens":0}`, "max_output_tokens"},
		{`{"input":"Hi","max_output_tokens":"5"}`, "max_output_tokens"},
		{`{"input":"Hi","temperature":"hot"}`, "temperature"},
		{`{"input":"Hi","top_p":true}`, "top_p"},
		{`{"input":"Hi","text":{"format":{"type":"xml"}}}`, "text.format.type"},
		{`{"input":"Hi","text":{"format":{"type":"json_schema","name":"x"}}}`, "text.format.schema"},
		{`{"input":"Hi","text":{"format":{"type":"json_schema","schema":{}}}}`, "text.format.name"},
		{`{"input":"Hi","prompt":{"id":"pmpt_1"}}`, "prompt"},
		{`{"input":"Hi","top_logprobs":3}`, "top_logprobs"},
		{`{"input":"Hi","include":["reasoning.encrypted_content","message.output_text.logprobs"]}`, "include[1]"},
	} {
		_, err := ChatRequest([]byte(c.in), "m", "groq", false)
		var e *ownkey.Error
		if err == nil || !asError(err, &e) || e.Code != ownkey.EINVALID || e.Param != c.param {
			t.Errorf("%s: %v (param %q), want a 400 naming %s", c.in, err, paramOf(e), c.param)
		}
	}
}

func asError(err error, e **ownkey.Error) bool {
	x, ok := err.(*ownkey.Error)
	*e = x
	return ok
}

func paramOf(e *ownkey.Error) string {
	if e == nil {
		return ""
	}
	return e.Param
}
