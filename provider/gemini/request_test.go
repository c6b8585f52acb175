package gemini

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
)

// translate translates body for model, failing t on an error.
func translate(t *testing.T, model, body string, stream bool) *translation {
	t.Helper()
	tr, err := translateRequest(&ownkey.ChatRequest{Model: model, Body: []byte(body), Stream: stream})
	if err != nil {
		t.Fatalf("translateRequest(%s): %v", body, err)
	}
	return tr
}

func TestTranslateConversation(t *testing.T) {
	body := `{"model":"gemini-2.5-flash","messages":[
		{"role":"system","content":"Be brief."},
		{"role":"user","content":[{"type":"text","text":"What is in these?"},
			{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0K","detail":"high"}},
			{"type":"image_url","image_url":{"url":"https://example.com/a/cat.JPG?size=large"}},
			{"type":"image_url","image_url":{"url":"https://example.com/chart"}},
			{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}},
			{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0=","filename":"a.pdf"}}]},
		{"role":"developer","content":[{"type":"text","text":"Use tools."}]},
		{"role":"assistant","content":"Let me look.","tool_calls":[
			{"id":"call_resp-9_0__thought__c2lnLTE+/w==","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},
			{"id":"call_resp-9_1","type":"function","function":{"name":"get_time","arguments":""}}]},
		{"role":"tool","tool_call_id":"call_resp-9_1","content":"12:00"},
		{"role":"tool","tool_call_id":"call_resp-9_0__thought__c2lnLTE+/w==","content":[{"type":"text","text":"{\"temp\": 18,"},{"type":"text","text":" \"sky\": \"clear\"}"}]},
		{"role":"user","content":"Thanks. <b>&</b>"},
		{"role":"assistant","content":null,"refusal":"I can't."},
		{"role":"user","content":""}
	]}`
	tr := translate(t, "gemini-2.5-flash", body, false)
	want := `{"contents":[` +
		`{"role":"user","parts":[{"text":"What is in these?"},{"inlineData":{"mimeType":"image/png","data":"iVBORw0K"}},` +
		`{"fileData":{"mimeType":"image/jpeg","fileUri":"https://example.com/a/cat.JPG?size=large"}},{"fileData":{"fileUri":"https://example.com/chart"}},` +
		`{"inlineData":{"mimeType":"audio/wav","data":"UklGRg=="}},{"inlineData":{"mimeType":"application/pdf","data":"JVBERi0="}}]},` +
		`{"role":"model","parts":[{"text":"Let me look."},{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2lnLTE+/w=="},` +
		`{"functionCall":{"name":"get_time","args":{}}}]},` +
		`{"role":"user","parts":[{"functionResponse":{"name":"get_time","response":{"output":"12:00"}}},` +
		`{"functionResponse":{"name":"get_weather","response":{"temp":18,"sky":"clear"}}},{"text":"Thanks. <b>&</b>"}]},` +
		`{"role":"model","parts":[{"text":"I can't."}]}],` +
		`"systemInstruction":{"parts":[{"text":"Be brief."},{"text":"Use tools."}]}}`
	if string(tr.body) != want {
		t.Fatalf("translated\n%s\nwant\n%s", tr.body, want)
	}
	if tr.path != "/v1beta/models/gemini-2.5-flash:generateContent" {
		t.Fatalf("path %s", tr.path)
	}
}

func TestTranslateModelID(t *testing.T) {
	for model, path := range map[string]string{
		"gemini-2.5-flash":            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
		"models/gemini-2.5-pro":       "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
		"google/gemini-3-pro-preview": "/v1beta/models/gemini-3-pro-preview:streamGenerateContent?alt=sse",
		"google/models/gemini-x":      "/v1beta/models/gemini-x:streamGenerateContent?alt=sse",
		"gemini x:y":                  "/v1beta/models/gemini%20x%3Ay:streamGenerateContent?alt=sse",
	} {
		if tr := translate(t, model, `{"messages":[{"role":"user","content":"hi"}]}`, true); tr.path != path {
			t.Errorf("model %q: path %s, want %s", model, tr.path, path)
		}
	}
	for _, model := range []string{"", "models/", "tunedModels/x", "../x", "a/b", "gemini?alt=json", "gemini#x"} {
		_, err := translateRequest(&ownkey.ChatRequest{Model: model, Body: []byte(`{"messages":[{"role":"user","content":"hi"}]}`)})
		if e, ok := err.(*ownkey.Error); !ok || e.Code != ownkey.EINVALID || e.Param != "model" {
			t.Errorf("model %q: err %v", model, err)
		}
	}
}

func TestTranslateGenerationConfig(t *testing.T) {
	tr := translate(t, "gemini-2.5-flash", `{"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":300,"max_tokens":5,`+
		`"temperature":1.5,"top_p":0.9,"top_k":40,"stop":["END",""],"seed":7,"presence_penalty":0.5,"frequency_penalty":-0.5,`+
		`"parallel_tool_calls":false,"user":"u1","store":true,"metadata":{"a":"b"},"service_tier":"auto","verbosity":"low"}`, false)
	want := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"stopSequences":["END"],"maxOutputTokens":300,` +
		`"temperature":1.5,"topP":0.9,"topK":40,"seed":7,"presencePenalty":0.5,"frequencyPenalty":-0.5}}`
	if string(tr.body) != want {
		t.Fatalf("translated\n%s\nwant\n%s", tr.body, want)
	}
	tr = translate(t, "gemini-2.5-flash", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":5,"stop":"X"}`, false)
	if want := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"stopSequences":["X"],"maxOutputTokens":5}}`; string(tr.body) != want {
		t.Fatalf("translated\n%s\nwant\n%s", tr.body, want)
	}
}

func TestTranslateReasoningEffort(t *testing.T) {
	for _, tc := range []struct{ model, effort, want string }{
		{"gemini-3-pro-preview", "low", `{"includeThoughts":true,"thinkingLevel":"LOW"}`},
		{"gemini-3-flash-preview", "minimal", `{"includeThoughts":true,"thinkingLevel":"MINIMAL"}`},
		{"gemini-3-pro-preview", "medium", `{"includeThoughts":true,"thinkingLevel":"MEDIUM"}`},
		{"gemini-3-pro-preview", "xhigh", `{"includeThoughts":true,"thinkingLevel":"HIGH"}`},
		{"gemini-3.1-pro", "none", `{"thinkingLevel":"MINIMAL"}`},
		{"gemini-2.5-flash", "none", `{"thinkingBudget":0}`},
		{"gemini-2.5-flash", "minimal", `{"includeThoughts":true,"thinkingBudget":512}`},
		{"gemini-2.5-pro", "low", `{"includeThoughts":true,"thinkingBudget":1024}`},
		{"gemini-2.5-pro", "medium", `{"includeThoughts":true,"thinkingBudget":8192}`},
		{"gemini-2.5-pro", "high", `{"includeThoughts":true,"thinkingBudget":24576}`},
		{"gemini-2.5-pro", "max", `{"includeThoughts":true,"thinkingBudget":24576}`},
		{"gemini-2.0-flash", "none", ``},
		{"gemini-2.0-flash", "high", `{"includeThoughts":true,"thinkingBudget":24576}`}, // Gemini's refusal is relayed
	} {
		tr := translate(t, tc.model, `{"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"`+tc.effort+`"}`, false)
		want := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
		if tc.want != "" {
			want = `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"thinkingConfig":` + tc.want + `}}`
		}
		if string(tr.body) != want {
			t.Errorf("%s %s:\n got %s\nwant %s", tc.model, tc.effort, tr.body, want)
		}
	}
}

func TestTranslateTools(t *testing.T) {
	tools := `"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","strict":true,"parameters":` +
		`{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"city":{"type":"string"},"days":{"type":["integer","null"]}},"required":["city","nope"],"additionalProperties":false}}},` +
		`{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{}}}},` +
		`{"type":"function","function":{"name":"ping"}}]`
	decls := `"tools":[{"functionDeclarations":[{"name":"get_weather","description":"Weather in a city","parameters":` +
		`{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","nullable":true}},"required":["city"]}},` +
		`{"name":"get_time"},{"name":"ping"}]}]`
	for _, tc := range []struct{ choice, config string }{
		{``, ``},
		{`,"tool_choice":"auto"`, `,"toolConfig":{"functionCallingConfig":{"mode":"AUTO"}}`},
		{`,"tool_choice":"none"`, `,"toolConfig":{"functionCallingConfig":{"mode":"NONE"}}`},
		{`,"tool_choice":"required"`, `,"toolConfig":{"functionCallingConfig":{"mode":"ANY"}}`},
		{`,"tool_choice":{"type":"function","function":{"name":"get_time"}}`, `,"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_time"]}}`},
	} {
		tr := translate(t, "gemini-2.5-flash", `{"messages":[{"role":"user","content":"hi"}],`+tools+tc.choice+`}`, false)
		if want := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],` + decls + tc.config + `}`; string(tr.body) != want {
			t.Errorf("tool_choice %s:\n got %s\nwant %s", tc.choice, tr.body, want)
		}
	}
	// A tool_choice without tools means nothing.
	tr := translate(t, "gemini-2.5-flash", `{"messages":[{"role":"user","content":"hi"}],"tool_choice":"auto"}`, false)
	if want := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`; string(tr.body) != want {
		t.Fatalf("translated %s", tr.body)
	}
}

func TestTranslateResponseFormat(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{`{"type":"text"}`, ``},
		{`{"type":"json_object"}`, `"generationConfig":{"responseMimeType":"application/json"}`},
		{`{"type":"json_schema","json_schema":{"name":"w","strict":true,"schema":{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"number","format":"float"}},"required":["b","a"],"additionalProperties":false}}}`,
			`"generationConfig":{"responseMimeType":"application/json","responseSchema":{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"number","format":"float"}},"required":["b","a"],"propertyOrdering":["b","a"]}}`},
		{`{"type":"json_schema","json_schema":{"name":"any","schema":{}}}`, `"generationConfig":{"responseMimeType":"application/json"}`},
	} {
		tr := translate(t, "gemini-2.5-flash", `{"messages":[{"role":"user","content":"hi"}],"response_format":`+tc.format+`}`, false)
		want := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
		if tc.want != "" {
			want = strings.TrimSuffix(want, "}") + "," + tc.want + "}"
		}
		if string(tr.body) != want {
			t.Errorf("%s:\n got %s\nwant %s", tc.format, tr.body, want)
		}
	}
}

// Thought signatures come back where Gemini wants them: from the tool call
// id, from Google's extra_content, and for a Gemini 3 model Google's
// placeholder on a step's first call that has none.
func TestTranslateThoughtSignatures(t *testing.T) {
	msgs := func(calls string) string {
		return `{"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[` + calls + `]},` +
			`{"role":"tool","tool_call_id":"a","content":"1"}]}`
	}
	call := func(id, extra string) string {
		return `{"id":"` + id + `","type":"function","function":{"name":"f","arguments":"{}"}` + extra + `}`
	}
	for _, tc := range []struct {
		name, model, calls, want string
	}{
		{"from the id", "gemini-3-pro-preview", call("a__thought__c2ln", ""), `,"thoughtSignature":"c2ln"`},
		{"from extra_content", "gemini-3-pro-preview", call("a", `,"extra_content":{"google":{"thought_signature":"ZXh0cmE="}}`), `,"thoughtSignature":"ZXh0cmE="`},
		{"the id wins", "gemini-3-pro-preview", call("a__thought__c2ln", `,"extra_content":{"google":{"thought_signature":"ZXh0cmE="}}`), `,"thoughtSignature":"c2ln"`},
		{"placeholder on gemini 3", "gemini-3-pro-preview", call("a", ""), `,"thoughtSignature":"skip_thought_signature_validator"`},
		{"no placeholder before gemini 3", "gemini-2.5-flash", call("a", ""), ``},
		{"not a signature", "gemini-2.5-flash", call("a__thought__no spaces!", ""), ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := msgs(tc.calls)
			if strings.Contains(tc.calls, "a__thought__") {
				body = strings.Replace(body, `"tool_call_id":"a"`, `"tool_call_id":"`+strings.Split(strings.Split(tc.calls, `"id":"`)[1], `"`)[0]+`"`, 1)
			}
			tr := translate(t, tc.model, body, false)
			model := strings.Split(strings.Split(string(tr.body), `{"role":"model","parts":[`)[1], `]}`)[0]
			if want := `{"functionCall":{"name":"f","args":{}}` + tc.want + `}`; model != want {
				t.Fatalf("model content %s, want %s", model, want)
			}
		})
	}
	// Parallel calls: only the step's first carries one; the placeholder
	// goes on the first only, and a step that has one gets none.
	tr := translate(t, "gemini-3-pro-preview", `{"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[`+call("a", "")+`,`+call("b", "")+`]},`+
		`{"role":"tool","tool_call_id":"a","content":"1"},{"role":"tool","tool_call_id":"b","content":"2"},`+
		`{"role":"assistant","tool_calls":[`+call("c__thought__c2ln", "")+`,`+call("d", "")+`]},{"role":"tool","tool_call_id":"c__thought__c2ln","content":"3"},{"role":"tool","tool_call_id":"d","content":"4"}]}`, false)
	if got := strings.Count(string(tr.body), "thoughtSignature"); got != 2 || !strings.Contains(string(tr.body),
		`{"role":"model","parts":[{"functionCall":{"name":"f","args":{}},"thoughtSignature":"skip_thought_signature_validator"},{"functionCall":{"name":"f","args":{}}}]}`) ||
		!strings.Contains(string(tr.body), `{"role":"model","parts":[{"functionCall":{"name":"f","args":{}},"thoughtSignature":"c2ln"},{"functionCall":{"name":"f","args":{}}}]}`) {
		t.Fatalf("translated %s", tr.body)
	}
}

func TestToolCallIDs(t *testing.T) {
	if got := toolCallID("resp-1", 3, ""); got != "call_resp-1_3" {
		t.Fatal(got)
	}
	id := toolCallID("resp-1", 0, "Eo0HCooHAb4+9vut/x==")
	if id != "call_resp-1_0__thought__Eo0HCooHAb4+9vut/x==" {
		t.Fatal(id)
	}
	if base, sig := splitToolCallID(id); base != "call_resp-1_0" || sig != "Eo0HCooHAb4+9vut/x==" {
		t.Fatalf("split %q: %q %q", id, base, sig)
	}
	for _, id := range []string{"call_1", "toolu_01", "a__thought__", "a__thought__b c", "__thought__" + strings.Repeat("A", maxSignature+1)} {
		if base, sig := splitToolCallID(id); base != id || sig != "" {
			t.Errorf("split %q: %q %q", id, base, sig)
		}
	}
}

// Every refusal is a 400 naming the field at fault.
func TestTranslateRefusals(t *testing.T) {
	const user = `{"role":"user","content":"hi"}`
	for _, tc := range []struct{ body, param string }{
		{`{"messages":[` + user + `],"n":2}`, "n"},
		{`{"messages":[` + user + `],"logprobs":true}`, "logprobs"},
		{`{"messages":[` + user + `],"top_logprobs":2}`, "top_logprobs"},
		{`{"messages":[` + user + `],"logit_bias":{"1":2}}`, "logit_bias"},
		{`{"messages":[` + user + `],"modalities":["text","audio"]}`, "modalities"},
		{`{"messages":[` + user + `],"functions":[{"name":"f"}]}`, "functions"},
		{`{"messages":[` + user + `],"web_search_options":{}}`, "web_search_options"},
		{`{"messages":[` + user + `],"temperature":2.5}`, "temperature"},
		{`{"messages":[` + user + `],"top_p":1.5}`, "top_p"},
		{`{"messages":[` + user + `],"top_k":0}`, "top_k"},
		{`{"messages":[` + user + `],"presence_penalty":3}`, "presence_penalty"},
		{`{"messages":[` + user + `],"max_tokens":0}`, "max_tokens"},
		{`{"messages":[` + user + `],"max_completion_tokens":0}`, "max_completion_tokens"},
		{`{"messages":[` + user + `],"reasoning_effort":"extreme"}`, "reasoning_effort"},
		{`{"messages":[` + user + `],"stop":7}`, "stop"},
		{`{"messages":[` + user + `],"response_format":{"type":"xml"}}`, "response_format.type"},
		{`{"messages":[` + user + `],"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}`, "response_format.json_schema.schema"},
		{`{"messages":[` + user + `],"tools":[{"type":"custom","custom":{}}]}`, "tools[0].type"},
		{`{"messages":[` + user + `],"tools":[{"type":"function","function":{}}]}`, "tools[0].function.name"},
		{`{"messages":[` + user + `],"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]}`, "tools[0].function.parameters"},
		{`{"messages":[` + user + `],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"$ref":"#/$defs/none"}}}}}]}`, "tools[0].function.parameters.properties.a.$ref"},
		{`{"messages":[` + user + `],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`, "tool_choice.function.name"},
		{`{"messages":[` + user + `],"tool_choice":"sometimes"}`, "tool_choice"},
		{`{"messages":[]}`, "messages"},
		{`{"messages":[{"role":"system","content":"only"}]}`, "messages"},
		{`{"messages":[{"role":"robot","content":"x"}]}`, "messages[0].role"},
		{`{"messages":[{"role":"function","content":"x"}]}`, "messages[0].role"},
		{`{"messages":[{"role":"user","content":7}]}`, "messages[0].content"},
		{`{"messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x"}}]}]}`, "messages[0].content[0].type"},
		{`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x"}}]}]}`, "messages[0].content[0].image_url.url"},
		{`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,notbase64"}}]}]}`, "messages[0].content[0].image_url.url"},
		{`{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, "messages[0].content[0].image_url.url"},
		{`{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x","format":"flac"}}]}]}`, "messages[0].content[0].input_audio.format"},
		{`{"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]}`, "messages[0].content[0].file.file_id"},
		{`{"messages":[{"role":"user","content":[{"type":"video","video":{}}]}]}`, "messages[0].content[0].type"},
		{`{"messages":[` + user + `,{"role":"assistant","tool_calls":[{"id":"","type":"function","function":{"name":"f"}}]}]}`, "messages[1].tool_calls[0].id"},
		{`{"messages":[` + user + `,{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages[1].tool_calls[0].function.arguments"},
		{`{"messages":[` + user + `,{"role":"assistant","function_call":{"name":"f"}}]}`, "messages[1].function_call"},
		{`{"messages":[` + user + `,{"role":"tool","content":"r"}]}`, "messages[1].tool_call_id"},
		{`{"messages":[` + user + `,{"role":"tool","tool_call_id":"nowhere","content":"r"}]}`, "messages[1].tool_call_id"},
		{`{"messages":"hi"}`, "messages"},
	} {
		_, err := translateRequest(&ownkey.ChatRequest{Model: "gemini-2.5-flash", Body: []byte(tc.body)})
		e, ok := err.(*ownkey.Error)
		if !ok || e.Code != ownkey.EINVALID || e.Param != tc.param || e.Message == "" {
			t.Errorf("%s: err %#v, want EINVALID param %s", tc.body, err, tc.param)
		}
	}
}

// The translated body is always valid JSON, also for text that needs
// escaping.
func TestTranslateEscapes(t *testing.T) {
	tr := translate(t, "gemini-2.5-flash", `{"messages":[{"role":"user","content":"\u2028 \"q\" \\ <tag> \ud83d\ude00"}]}`, false)
	var v map[string]any
	if err := json.Unmarshal(tr.body, &v); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(tr.body), `<tag>`) {
		t.Fatalf("HTML escaped: %s", tr.body)
	}
}
