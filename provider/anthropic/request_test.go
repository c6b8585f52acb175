package anthropic

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// translate runs the request translation on an OpenAI body.
func translate(t *testing.T, body string, stream bool, defaultMax int64) (string, *translation, error) {
	t.Helper()
	req := &ownkey.ChatRequest{Model: "claude-x", Body: []byte(body), Stream: stream}
	tr, err := translateRequest(req, (&Adapter{DefaultMaxTokens: defaultMax}).defaultMaxTokens())
	if err != nil {
		return "", nil, err
	}
	return string(tr.body), tr, nil
}

func TestTranslateConversation(t *testing.T) {
	body := `{"model":"claude-x","messages":[
		{"role":"system","content":"You are terse."},
		{"role":"developer","content":[{"type":"text","text":"Answer in English.","cache_control":{"type":"ephemeral"}}]},
		{"role":"user","content":"Weather in Paris and Rome?"},
		{"role":"user","content":[{"type":"text","text":"Also this:"},{"type":"text","text":""},
			{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
			{"type":"image_url","image_url":{"url":"https://example.com/a.jpg","detail":"high"}},
			{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0="}}]},
		{"role":"assistant","content":"Checking.","tool_calls":[
			{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},
			{"id":"toolu_2","type":"function","function":{"name":"get_time","arguments":""}}]},
		{"role":"tool","tool_call_id":"toolu_1","content":"18C"},
		{"role":"tool","tool_call_id":"toolu_2","content":[{"type":"text","text":"12:00"}]},
		{"role":"user","content":"Thanks <b>&</b>"},
		{"role":"assistant","content":null,"refusal":"I can't."},
		{"role":"assistant","content":""}
	],
	"max_completion_tokens":300,"max_tokens":50,"temperature":0.5,"top_p":0.9,"top_k":40,"stop":"END","user":"user-42",
	"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":true}},
		{"type":"function","function":{"name":"get_time"}}],
	"tool_choice":"auto","parallel_tool_calls":false,
	"frequency_penalty":0.2,"presence_penalty":0.1,"seed":7,"store":true,"n":1,"logprobs":false,"logit_bias":{},"modalities":["text"],
	"service_tier":"auto","prompt_cache_key":"k","verbosity":"low","metadata":{"a":"b"},
	"stream":true,"stream_options":{"include_usage":true}}`
	want := `{"model":"claude-x","max_tokens":300,` +
		`"system":[{"type":"text","text":"You are terse."},{"type":"text","text":"Answer in English.","cache_control":{"type":"ephemeral"}}],` +
		`"messages":[` +
		`{"role":"user","content":[{"type":"text","text":"Weather in Paris and Rome?"},{"type":"text","text":"Also this:"},` +
		`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},` +
		`{"type":"image","source":{"type":"url","url":"https://example.com/a.jpg"}},` +
		`{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}}]},` +
		`{"role":"assistant","content":[{"type":"text","text":"Checking."},` +
		`{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},` +
		`{"type":"tool_use","id":"toolu_2","name":"get_time","input":{}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"18C"},` +
		`{"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"12:00"}]},` +
		`{"type":"text","text":"Thanks <b>&</b>"}]},` +
		`{"role":"assistant","content":[{"type":"text","text":"I can't."}]}],` +
		`"temperature":0.5,"top_p":0.9,"top_k":40,"stop_sequences":["END"],"stream":true,` +
		`"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},` +
		`{"name":"get_time","input_schema":{"type":"object","properties":{}}}],` +
		`"tool_choice":{"type":"auto","disable_parallel_tool_use":true},"metadata":{"user_id":"user-42"}}`
	got, tr, err := translate(t, body, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("translated:\n%s\nwant:\n%s", got, want)
	}
	if tr.jsonMode {
		t.Fatal("json mode without a response_format")
	}
}

func TestTranslateToolResultsComeFirst(t *testing.T) {
	// A user text between the tool call and its result: Anthropic wants
	// the results first in the merged turn.
	body := `{"messages":[{"role":"user","content":"go"},
		{"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}"}}]},
		{"role":"user","content":"(also, hurry)"},
		{"role":"tool","tool_call_id":"t1","content":"done"}]}`
	want := `{"model":"claude-x","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"go"}]},` +
		`{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"done"},{"type":"text","text":"(also, hurry)"}]}]}`
	got, _, err := translate(t, body, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("translated:\n%s\nwant:\n%s", got, want)
	}
}

func TestTranslateMaxTokensAndStop(t *testing.T) {
	cases := []struct {
		name, fields string
		defaultMax   int64
		want         string
	}{
		{"default", ``, 0, `"max_tokens":4096`},
		{"adapter default", ``, 1000, `"max_tokens":1000`},
		{"legacy max_tokens", `,"max_tokens":77`, 0, `"max_tokens":77`},
		{"max_completion_tokens wins", `,"max_tokens":77,"max_completion_tokens":88`, 0, `"max_tokens":88`},
		{"stop array", `,"stop":["a","","b"]`, 0, `"max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stop_sequences":["a","b"]`},
		{"null fields", `,"stop":null,"temperature":null,"tool_choice":null,"response_format":null,"audio":null`, 0, `"max_tokens":4096`},
		{"safety_identifier over user", `,"user":"u","safety_identifier":"s"`, 0, `"metadata":{"user_id":"s"}`},
		{"temperature bounds", `,"temperature":1,"top_p":0`, 0, `"temperature":1,"top_p":0`},
		{"tool_choice without tools is dropped", `,"tool_choice":"auto","parallel_tool_calls":false`, 0, `"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := translate(t, `{"messages":[{"role":"user","content":"hi"}]`+tc.fields+`}`, false, tc.defaultMax)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("translated %s, want it to contain %s", got, tc.want)
			}
		})
	}
}

func TestTranslateReasoningEffort(t *testing.T) {
	cases := []struct {
		effort, max string
		want        string // "" means no thinking
		wantMax     string
	}{
		{"none", ``, ``, `"max_tokens":4096`},
		{"minimal", ``, `{"type":"enabled","budget_tokens":1024}`, `"max_tokens":5120`},
		{"low", ``, `{"type":"enabled","budget_tokens":2048}`, `"max_tokens":6144`},
		{"medium", ``, `{"type":"enabled","budget_tokens":8192}`, `"max_tokens":12288`},
		{"high", ``, `{"type":"enabled","budget_tokens":16384}`, `"max_tokens":20480`},
		{"xhigh", ``, `{"type":"enabled","budget_tokens":24576}`, `"max_tokens":28672`},
		{"max", ``, `{"type":"enabled","budget_tokens":24576}`, `"max_tokens":28672`},
		// A client limit: at most half of it, at least 1024.
		{"high", `,"max_completion_tokens":10000`, `{"type":"enabled","budget_tokens":5000}`, `"max_tokens":10000`},
		{"low", `,"max_tokens":30000`, `{"type":"enabled","budget_tokens":2048}`, `"max_tokens":30000`},
		{"medium", `,"max_tokens":1500`, `{"type":"enabled","budget_tokens":1024}`, `"max_tokens":1500`},
	}
	for _, tc := range cases {
		t.Run(tc.effort+tc.max, func(t *testing.T) {
			got, _, err := translate(t, `{"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"`+tc.effort+`"`+tc.max+`}`, false, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got, tc.wantMax) {
				t.Fatalf("translated %s, want %s", got, tc.wantMax)
			}
			if tc.want == "" {
				if strings.Contains(got, "thinking") {
					t.Fatalf("thinking on in %s", got)
				}
			} else if !strings.HasSuffix(got, `"thinking":`+tc.want+`}`) {
				t.Fatalf("translated %s, want thinking %s", got, tc.want)
			}
		})
	}

	t.Run("off in a tool loop", func(t *testing.T) {
		body := `{"reasoning_effort":"high","messages":[{"role":"user","content":"go"},
			{"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}"}}]},
			{"role":"tool","tool_call_id":"t1","content":"done"}],"tools":[{"type":"function","function":{"name":"f"}}]}`
		got, _, err := translate(t, body, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(got, "thinking") || !strings.Contains(got, `"max_tokens":4096`) {
			t.Fatalf("translated %s: want no thinking and the plain default", got)
		}
	})
}

func TestTranslateToolChoice(t *testing.T) {
	tools := `,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{}}}}]`
	cases := []struct{ choice, want string }{
		{`"auto"`, `{"type":"auto"}`},
		{`"none"`, `{"type":"none"}`},
		{`"required"`, `{"type":"any"}`},
		{`{"type":"function","function":{"name":"f"}}`, `{"type":"tool","name":"f"}`},
		{`"required","parallel_tool_calls":false`, `{"type":"any","disable_parallel_tool_use":true}`},
		{`{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false`, `{"type":"tool","name":"f","disable_parallel_tool_use":true}`},
		{`"none","parallel_tool_calls":false`, `{"type":"none"}`},
		{`"auto","parallel_tool_calls":true`, `{"type":"auto"}`},
	}
	for _, tc := range cases {
		t.Run(tc.choice, func(t *testing.T) {
			got, _, err := translate(t, `{"messages":[{"role":"user","content":"hi"}]`+tools+`,"tool_choice":`+tc.choice+`}`, false, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(got, `"tool_choice":`+tc.want+`}`) {
				t.Fatalf("translated %s, want tool_choice %s", got, tc.want)
			}
		})
	}
}

func TestTranslateResponseFormat(t *testing.T) {
	schema := `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}`
	jsonTool := `{"name":"json","description":"Give your answer by calling this tool: its input is the answer, a JSON value matching the schema city_info. A city.","input_schema":` + schema + `}`
	clientTool := `{"name":"f","input_schema":{"type":"object","properties":{}}}`
	cases := []struct {
		name, fields string
		wantTools    string
		wantChoice   string
		wantJSON     bool
	}{
		{"json_schema", ``, `[` + jsonTool + `]`, `{"type":"tool","name":"json"}`, true},
		{"json_schema with tools", `,"tools":[{"type":"function","function":{"name":"f"}}]`, `[` + clientTool + `,` + jsonTool + `]`, `{"type":"any"}`, true},
		{"json_schema with tool_choice none", `,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none"`, `[` + jsonTool + `]`, `{"type":"tool","name":"json"}`, true},
		{"json_schema with tool_choice required", `,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"`, `[` + clientTool + `]`, `{"type":"any"}`, false},
		{"json_schema, no parallel calls", `,"parallel_tool_calls":false`, `[` + jsonTool + `]`, `{"type":"tool","name":"json","disable_parallel_tool_use":true}`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"city_info","description":"A city.","strict":true,"schema":` + schema + `}}` + tc.fields + `}`
			got, tr, err := translate(t, body, false, 0)
			if err != nil {
				t.Fatal(err)
			}
			if want := `"tools":` + tc.wantTools + `,"tool_choice":` + tc.wantChoice + `}`; !strings.HasSuffix(got, want) {
				t.Fatalf("translated\n%s\nwant it to end in\n%s", got, want)
			}
			if tr.jsonMode != tc.wantJSON {
				t.Fatalf("jsonMode = %v", tr.jsonMode)
			}
		})
	}
	t.Run("json_object", func(t *testing.T) {
		got, tr, err := translate(t, `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}`, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := `"tools":[{"name":"json","description":"Give your answer by calling this tool: its input is the answer, a JSON object.","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"json"}}`
		if !strings.HasSuffix(got, want) || !tr.jsonMode {
			t.Fatalf("translated %s", got)
		}
	})
	t.Run("text", func(t *testing.T) {
		got, tr, err := translate(t, `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"text"}}`, false, 0)
		if err != nil || strings.Contains(got, "tools") || tr.jsonMode {
			t.Fatalf("translated %s, %v", got, err)
		}
	})
}

func TestTranslateRejects(t *testing.T) {
	user := `{"role":"user","content":"hi"}`
	withMsgs := func(msgs string) string { return `{"messages":[` + msgs + `]}` }
	withField := func(f string) string { return `{"messages":[` + user + `],` + f + `}` }
	cases := []struct{ name, body, param string }{
		{"n", withField(`"n":2`), "n"},
		{"logprobs", withField(`"logprobs":true`), "logprobs"},
		{"top_logprobs", withField(`"top_logprobs":3`), "top_logprobs"},
		{"logit_bias", withField(`"logit_bias":{"50256":-100}`), "logit_bias"},
		{"audio", withField(`"audio":{"voice":"alloy","format":"mp3"}`), "modalities"},
		{"audio modality", withField(`"modalities":["text","audio"]`), "modalities"},
		{"functions", withField(`"functions":[{"name":"f"}]`), "functions"},
		{"web search", withField(`"web_search_options":{}`), "web_search_options"},
		{"temperature above 1", withField(`"temperature":1.5`), "temperature"},
		{"negative temperature", withField(`"temperature":-0.1`), "temperature"},
		{"top_p", withField(`"top_p":2`), "top_p"},
		{"temperature type", withField(`"temperature":"hot"`), "temperature"},
		{"zero max_tokens", withField(`"max_tokens":0`), "max_tokens"},
		{"reasoning_effort", withField(`"reasoning_effort":"extreme"`), "reasoning_effort"},
		{"reasoning budget too small", withField(`"reasoning_effort":"low","max_completion_tokens":1024`), "max_completion_tokens"},
		{"json with thinking", withField(`"reasoning_effort":"low","response_format":{"type":"json_object"}`), "response_format"},
		{"json tool name taken", withField(`"response_format":{"type":"json_object"},"tools":[{"type":"function","function":{"name":"json"}}]`), "response_format"},
		{"schema root not object", withField(`"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"array"}}}`), "response_format.json_schema.schema"},
		{"response_format type", withField(`"response_format":{"type":"yaml"}`), "response_format.type"},
		{"custom tool", withField(`"tools":[{"type":"custom","custom":{"name":"x"}}]`), "tools[0].type"},
		{"tool without name", withField(`"tools":[{"type":"function","function":{}}]`), "tools[0].function.name"},
		{"allowed_tools", withField(`"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"allowed_tools","allowed_tools":{}}`), "tool_choice.type"},
		{"bad tool_choice", withField(`"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes"`), "tool_choice"},
		{"stop type", withField(`"stop":5`), "stop"},
		{"invalid arguments", withMsgs(user + `,{"role":"assistant","content":"ok"},` + user + `,{"role":"assistant","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{\"city\": "}}]}`), "messages[3].tool_calls[0].function.arguments"},
		{"array arguments", withMsgs(user + `,{"role":"assistant","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"[1]"}}]}`), "messages[1].tool_calls[0].function.arguments"},
		{"tool call without id", withMsgs(user + `,{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}`), "messages[1].tool_calls[0].id"},
		{"tool message without id", withMsgs(user + `,{"role":"tool","content":"x"}`), "messages[1].tool_call_id"},
		{"ftp image", withMsgs(`{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/a.png"}}]}`), "messages[0].content[0].image_url.url"},
		{"data URL not base64", withMsgs(`{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}`), "messages[0].content[0].image_url.url"},
		{"audio input", withMsgs(`{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}`), "messages[0].content[0]"},
		{"file id", withMsgs(`{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}`), "messages[0].content[0].file.file_id"},
		{"non-PDF file", withMsgs(`{"role":"user","content":[{"type":"file","file":{"file_data":"data:text/csv;base64,YQ=="}}]}`), "messages[0].content[0].file.file_data"},
		{"unknown part", withMsgs(`{"role":"user","content":[{"type":"video"}]}`), "messages[0].content[0].type"},
		{"image in system", withMsgs(`{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x"}}]},` + user), "messages[0].content[0].type"},
		{"content number", withMsgs(`{"role":"user","content":5}`), "messages[0].content"},
		{"function role", withMsgs(user + `,{"role":"function","name":"f","content":"x"}`), "messages[1].role"},
		{"unknown role", withMsgs(`{"role":"narrator","content":"x"}`), "messages[0].role"},
		{"legacy function_call", withMsgs(user + `,{"role":"assistant","function_call":{"name":"f","arguments":"{}"}}`), "messages[1].function_call"},
		{"system only", withMsgs(`{"role":"system","content":"x"}`), "messages"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := translate(t, tc.body, false, 0)
			var e *ownkey.Error
			if !errors.As(err, &e) || e.Code != ownkey.EINVALID || e.Param != tc.param || e.Message == "" {
				t.Fatalf("err = %#v, want EINVALID with param %s", err, tc.param)
			}
		})
	}
}

func TestRequestSentUpstream(t *testing.T) {
	for _, tc := range []struct {
		name     string
		foundry  bool
		stream   bool
		wantPath string
	}{
		{"anthropic stream", false, true, "/v1/messages"},
		{"anthropic", false, false, "/v1/messages"},
		{"foundry stream", true, true, "/anthropic/v1/messages"},
		{"foundry", true, false, "/anthropic/v1/messages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.stream {
					sseReply(events(msgStart, msgDelta("end_turn", `{"output_tokens":1}`), msgStop))(w, r)
				} else {
					providertest.JSONReply(200, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x-1","content":[],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}`)(w, r)
				}
			})
			opts := []reqOpt{withBody(`{"model":"claude-x","messages":[{"role":"user","content":"hi"}],"max_tokens":10,"stream":` + map[bool]string{true: "true", false: "false"}[tc.stream] + `}`)}
			if !tc.stream {
				opts = append(opts, nonStream)
			}
			if tc.foundry {
				opts = append(opts, foundry(t, up.URL))
			}
			req := chatRequest(t, up.URL, opts...)
			if _, _, err := run(t, req); err != nil {
				t.Fatal(err)
			}
			got := up.Only(t)
			if got.Method != http.MethodPost || got.Path != tc.wantPath {
				t.Fatalf("request = %s %s", got.Method, got.Path)
			}
			wantBody := `{"model":"claude-x","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]` +
				map[bool]string{true: `,"stream":true}`, false: `}`}[tc.stream]
			if string(got.Body) != wantBody {
				t.Fatalf("body\n%s\nwant\n%s", got.Body, wantBody)
			}
			accept := map[bool]string{true: "text/event-stream", false: "application/json"}[tc.stream]
			h := got.Header
			if h.Get("X-Api-Key") != testKey || h.Get("Anthropic-Version") != "2023-06-01" || h.Get("Content-Type") != "application/json" ||
				h.Get("Accept") != accept || h.Get("User-Agent") != "ownkey-test/1" || h.Get("Authorization") != "" {
				t.Fatalf("headers = %v", h)
			}
			if wantAPIKey := map[bool]string{true: testKey, false: ""}[tc.foundry]; h.Get("Api-Key") != wantAPIKey {
				t.Fatalf("api-key header = %q, want %q", h.Get("Api-Key"), wantAPIKey)
			}
		})
	}
}

// A Foundry endpoint comes from the user, so it must go through the guarded
// client, which refuses internal addresses.
func TestFoundryUsesGuardedClient(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, `{}`))
	req := chatRequest(t, up.URL, foundry(t, up.URL))
	a := &Adapter{Clients: egress.New(egress.Options{})}
	res, err := a.Chat(t.Context(), req, nil)
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != ownkey.EUNAVAILABLE || e.Message != "could not reach Azure Anthropic: "+provider.EndpointNotAllowed {
		t.Fatalf("err = %v, want the guarded client's refusal", err)
	}
	if len(up.Requests()) != 0 || res.Started || res.ErrorCode != provider.CodeUpstreamUnavail {
		t.Fatalf("upstream reached, or result %+v", res)
	}
}

func TestInvalidRequestNotSent(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, `{}`))
	req := chatRequest(t, up.URL, withBody(`{"model":"claude-x","messages":[{"role":"user","content":"hi"}],"temperature":1.7}`))
	res, rec, err := run(t, req)
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Param != "temperature" || res.Status != 400 || res.Started || rec.Body.Len() != 0 {
		t.Fatalf("err = %v, result %+v", err, res)
	}
	if len(up.Requests()) != 0 {
		t.Fatal("an invalid request reached the provider")
	}
}
