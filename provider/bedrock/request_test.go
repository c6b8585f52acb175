package bedrock

import (
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
)

// translate translates body for model, failing the test on an error.
func translate(t *testing.T, model, body string) string {
	t.Helper()
	tr, err := translateRequest(&ownkey.ChatRequest{Model: model, Body: []byte(body)}, DefaultMaxTokens)
	if err != nil {
		t.Fatalf("translate %s: %v", body, err)
	}
	return string(tr.body)
}

func TestTranslateConversation(t *testing.T) {
	body := `{"model":"m","messages":[
		{"role":"system","content":"Be brief."},
		{"role":"user","content":[{"type":"text","text":"Look:","cache_control":{"type":"ephemeral"}},
			{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}},
			{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0x"}},{"type":"text","text":""}]},
		{"role":"developer","content":[{"type":"text","text":"Use tools."}]},
		{"role":"user","content":"And the weather?"},
		{"role":"assistant","content":"Checking.","tool_calls":[
			{"id":"tooluse_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},
			{"id":"tooluse_2","type":"function","function":{"name":"get_time","arguments":""}}]},
		{"role":"tool","tool_call_id":"tooluse_1","content":"18°C <sunny>"},
		{"role":"user","content":"Thanks"},
		{"role":"tool","tool_call_id":"tooluse_2","content":""},
		{"role":"assistant","content":null}],
		"max_completion_tokens":300,"max_tokens":100,"temperature":0.5,"top_p":0.9,"stop":["END",""],
		"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true},"cache_control":{"type":"ephemeral"}},
			{"type":"function","function":{"name":"get_time"}}],
		"tool_choice":"required","parallel_tool_calls":false,"user":"u-1","seed":7,"frequency_penalty":0.5}`
	want := `{"messages":[` +
		`{"role":"user","content":[{"text":"Look:"},{"cachePoint":{"type":"default"}},{"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}},` +
		`{"document":{"format":"pdf","name":"document-1","source":{"bytes":"JVBERi0x"}}},{"text":"And the weather?"}]},` +
		`{"role":"assistant","content":[{"text":"Checking."},{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"city":"Paris"}}},` +
		`{"toolUse":{"toolUseId":"tooluse_2","name":"get_time","input":{}}}]},` +
		`{"role":"user","content":[{"toolResult":{"toolUseId":"tooluse_1","content":[{"text":"18°C <sunny>"}]}},{"toolResult":{"toolUseId":"tooluse_2","content":[]}},{"text":"Thanks"}]}],` +
		`"system":[{"text":"Be brief."},{"text":"Use tools."}],` +
		`"inferenceConfig":{"maxTokens":300,"temperature":0.5,"topP":0.9,"stopSequences":["END"]},` +
		`"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"Weather","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}}}}}},` +
		`{"cachePoint":{"type":"default"}},{"toolSpec":{"name":"get_time","inputSchema":{"json":{"type":"object","properties":{}}}}}],"toolChoice":{"any":{}}}}`
	if got := translate(t, testModel, body); got != want {
		t.Fatalf("translated\n%s\nwant\n%s", got, want)
	}
}

func TestTranslateToolConfig(t *testing.T) {
	history := `"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"t1","content":"r"}]`
	plain := `"messages":[{"role":"user","content":"q"}]`
	tools := `"tools":[{"type":"function","function":{"name":"f"}}]`
	spec := `{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object","properties":{}}}}}`
	stub := `"toolConfig":{"tools":[{"toolSpec":{"name":"no_tool_available","description":"No tool can be called in this turn. Never call this tool; answer in text.","inputSchema":{"json":{"type":"object","properties":{}}}}}]}`
	for _, tc := range []struct {
		name, body, want string
	}{
		{"auto", `{` + plain + `,` + tools + `,"tool_choice":"auto"}`, `"toolConfig":{"tools":[` + spec + `],"toolChoice":{"auto":{}}}`},
		{"no choice", `{` + plain + `,` + tools + `}`, `"toolConfig":{"tools":[` + spec + `]}`},
		{"named", `{` + plain + `,` + tools + `,"tool_choice":{"type":"function","function":{"name":"f"}}}`, `"toolConfig":{"tools":[` + spec + `],"toolChoice":{"tool":{"name":"f"}}}`},
		// Converse has no "none": the tools are withheld...
		{"none", `{` + plain + `,` + tools + `,"tool_choice":"none"}`, ``},
		// ...but a conversation with tool blocks needs a toolConfig all
		// the same: the stub.
		{"none with tool history", `{` + history + `,` + tools + `,"tool_choice":"none"}`, stub},
		{"tool history without tools", `{` + history + `}`, stub},
		{"tool history with tools", `{` + history + `,` + tools + `}`, `"toolConfig":{"tools":[` + spec + `]}`},
		{"no tools", `{` + plain + `,"tool_choice":"auto"}`, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := translate(t, testModel, tc.body)
			i := strings.Index(got, `"toolConfig"`)
			switch {
			case tc.want == "" && i >= 0:
				t.Fatalf("translated %s: a toolConfig", got)
			case tc.want != "" && (i < 0 || got[i:len(got)-1] != tc.want):
				t.Fatalf("translated\n%s\nwant …,%s}", got, tc.want)
			}
		})
	}
}

func TestTranslateReasoning(t *testing.T) {
	q := `"messages":[{"role":"user","content":"q"}]`
	afterTool := `"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"t1","content":"r"}]`
	for _, tc := range []struct {
		name, model, body, want string
	}{
		{"claude, no limit", testModel, `{` + q + `,"reasoning_effort":"medium"}`,
			`{"messages":[{"role":"user","content":[{"text":"q"}]}],"inferenceConfig":{"maxTokens":12288},"additionalModelRequestFields":{"thinking":{"budget_tokens":8192,"type":"enabled"}}}`},
		{"claude, a limit", "anthropic.claude-3-7-sonnet-20250219-v1:0", `{` + q + `,"reasoning_effort":"high","max_completion_tokens":5000}`,
			`{"messages":[{"role":"user","content":[{"text":"q"}]}],"inferenceConfig":{"maxTokens":5000},"additionalModelRequestFields":{"thinking":{"budget_tokens":2500,"type":"enabled"}}}`},
		{"claude, none", testModel, `{` + q + `,"reasoning_effort":"none"}`, `{"messages":[{"role":"user","content":[{"text":"q"}]}]}`},
		{"claude after a tool call", testModel, `{` + afterTool + `,"reasoning_effort":"low"}`,
			`{"messages":[{"role":"user","content":[{"text":"q"}]},{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"f","input":{}}}]},{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"text":"r"}]}}]}],` +
				`"toolConfig":{"tools":[{"toolSpec":{"name":"no_tool_available","description":"No tool can be called in this turn. Never call this tool; answer in text.","inputSchema":{"json":{"type":"object","properties":{}}}}}]}}`},
		{"claude top_k", "eu.anthropic.claude-haiku-4-5-20251001-v1:0", `{` + q + `,"top_k":40}`,
			`{"messages":[{"role":"user","content":[{"text":"q"}]}],"additionalModelRequestFields":{"top_k":40}}`},
		{"nova 2", "us.amazon.nova-2-lite-v1:0", `{` + q + `,"reasoning_effort":"xhigh"}`,
			`{"messages":[{"role":"user","content":[{"text":"q"}]}],"additionalModelRequestFields":{"reasoningConfig":{"maxReasoningEffort":"high","type":"enabled"}}}`},
		{"nova 2 minimal", "amazon.nova-2-lite-v1:0", `{` + q + `,"reasoning_effort":"minimal"}`,
			`{"messages":[{"role":"user","content":[{"text":"q"}]}],"additionalModelRequestFields":{"reasoningConfig":{"maxReasoningEffort":"low","type":"enabled"}}}`},
		{"another model", "meta.llama3-3-70b-instruct-v1:0", `{` + q + `,"reasoning_effort":"high"}`, `{"messages":[{"role":"user","content":[{"text":"q"}]}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := translate(t, tc.model, tc.body); got != tc.want {
				t.Fatalf("translated\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestTranslateJSONResponseFormat(t *testing.T) {
	q := `"messages":[{"role":"user","content":"q"}]`
	for _, tc := range []struct {
		name, body, want string
	}{
		{"json_object", `{` + q + `,"response_format":{"type":"json_object"}}`,
			`"toolConfig":{"tools":[{"toolSpec":{"name":"json","description":"Give your answer by calling this tool: its input is the answer, a JSON object.","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"tool":{"name":"json"}}}`},
		{"json_schema with tools", `{` + q + `,"tools":[{"type":"function","function":{"name":"f"}}],"response_format":{"type":"json_schema","json_schema":{"name":"w","schema":{"type":"object", "properties":{}}}}}`,
			`"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object","properties":{}}}}},{"toolSpec":{"name":"json","description":"Give your answer by calling this tool: its input is the answer, a JSON value matching the schema w.","inputSchema":{"json":{"type":"object","properties":{}}}}}],"toolChoice":{"any":{}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := translate(t, testModel, tc.body)
			if i := strings.Index(got, `"toolConfig"`); i < 0 || got[i:len(got)-1] != tc.want {
				t.Fatalf("translated\n%s\nwant …,%s}", got, tc.want)
			}
		})
	}
}

// Unsupported or malformed fields are a 400 naming the field.
func TestTranslateRefuses(t *testing.T) {
	q := `"messages":[{"role":"user","content":"q"}]`
	user := func(part string) string { return `{"messages":[{"role":"user","content":[` + part + `]}]}` }
	for _, tc := range []struct {
		name, model, body, param string
	}{
		{"n", testModel, `{` + q + `,"n":2}`, "n"},
		{"logprobs", testModel, `{` + q + `,"logprobs":true}`, "logprobs"},
		{"top_logprobs", testModel, `{` + q + `,"top_logprobs":2}`, "top_logprobs"},
		{"logit_bias", testModel, `{` + q + `,"logit_bias":{"1":2}}`, "logit_bias"},
		{"audio out", testModel, `{` + q + `,"modalities":["text","audio"]}`, "modalities"},
		{"functions", testModel, `{` + q + `,"functions":[{"name":"f"}]}`, "functions"},
		{"web search", testModel, `{` + q + `,"web_search_options":{}}`, "web_search_options"},
		{"top_k elsewhere", "amazon.nova-pro-v1:0", `{` + q + `,"top_k":3}`, "top_k"},
		{"negative top_k", testModel, `{` + q + `,"top_k":-1}`, "top_k"},
		{"zero max_tokens", testModel, `{` + q + `,"max_tokens":0}`, "max_tokens"},
		{"small limit with thinking", testModel, `{` + q + `,"max_completion_tokens":1024,"reasoning_effort":"low"}`, "max_completion_tokens"},
		{"unknown effort", testModel, `{` + q + `,"reasoning_effort":"extreme"}`, "reasoning_effort"},
		{"json with thinking", testModel, `{` + q + `,"reasoning_effort":"low","response_format":{"type":"json_object"}}`, "response_format"},
		{"schema not an object", testModel, `{` + q + `,"response_format":{"type":"json_schema","json_schema":{"schema":{"type":"array"}}}}`, "response_format.json_schema.schema"},
		{"image link", testModel, user(`{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}`), "messages[0].content[0].image_url.url"},
		{"image type", testModel, user(`{"type":"image_url","image_url":{"url":"data:image/tiff;base64,AAAA"}}`), "messages[0].content[0].image_url.url"},
		{"file id", testModel, user(`{"type":"file","file":{"file_id":"file-1"}}`), "messages[0].content[0].file.file_id"},
		{"file type", testModel, user(`{"type":"file","file":{"file_data":"data:application/zip;base64,AAAA"}}`), "messages[0].content[0].file.file_data"},
		{"audio in", testModel, user(`{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}`), "messages[0].content[0]"},
		{"part type", testModel, user(`{"type":"video"}`), "messages[0].content[0].type"},
		{"system image", testModel, `{"messages":[{"role":"system","content":[{"type":"image_url"}]},{"role":"user","content":"q"}]}`, "messages[0].content[0].type"},
		{"function role", testModel, `{"messages":[{"role":"function","content":"x"}]}`, "messages[0].role"},
		{"unknown role", testModel, `{"messages":[{"role":"robot","content":"x"}]}`, "messages[0].role"},
		{"tool without id", testModel, `{"messages":[{"role":"tool","content":"x"}]}`, "messages[0].tool_call_id"},
		{"call without id", testModel, `{"messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f"}}]}]}`, "messages[0].tool_calls[0].id"},
		{"call args", testModel, `{"messages":[{"role":"assistant","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages[0].tool_calls[0].function.arguments"},
		{"tool type", testModel, `{` + q + `,"tools":[{"type":"custom","custom":{"name":"x"}}]}`, "tools[0].type"},
		{"tool parameters", testModel, `{` + q + `,"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]}`, "tools[0].function.parameters"},
		{"tool choice", testModel, `{` + q + `,"tool_choice":"sometimes"}`, "tool_choice"},
		{"system only", testModel, `{"messages":[{"role":"system","content":"s"}]}`, "messages"},
		{"wrong type", testModel, `{"messages":"hi"}`, "messages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := translateRequest(&ownkey.ChatRequest{Model: tc.model, Body: []byte(tc.body)}, DefaultMaxTokens)
			e, ok := err.(*ownkey.Error)
			if !ok || e.Code != ownkey.EINVALID || e.Param != tc.param || e.Message == "" {
				t.Fatalf("err = %#v, want EINVALID on %s", err, tc.param)
			}
		})
	}
}

// The model id is one path segment: ':' and '/' escaped, the geography
// prefix of an inference profile kept.
func TestModelPath(t *testing.T) {
	for model, want := range map[string]string{
		"anthropic.claude-3-haiku-20240307-v1:0":                                      "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
		"us.anthropic.claude-sonnet-4-5-20250929-v1:0":                                "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse",
		"apac.amazon.nova-pro-v1:0":                                                   "/model/apac.amazon.nova-pro-v1%3A0/converse",
		"global.anthropic.claude-haiku-4-5-20251001-v1:0":                             "/model/global.anthropic.claude-haiku-4-5-20251001-v1%3A0/converse",
		"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3": "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fa1b2c3/converse",
	} {
		if got := modelPath(model, false); got != want {
			t.Errorf("modelPath(%s) = %s, want %s", model, got, want)
		}
	}
	if got := modelPath("eu.meta.llama3-2-3b-instruct-v1:0", true); got != "/model/eu.meta.llama3-2-3b-instruct-v1%3A0/converse-stream" {
		t.Errorf("stream path %s", got)
	}
}
