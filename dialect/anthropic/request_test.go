package anthropic

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/openaichat"
)

func provider(t *testing.T, id string) *ownkey.Provider {
	t.Helper()
	p, ok := ownkey.LookupProvider(id)
	if !ok {
		t.Fatalf("no provider %s", id)
	}
	return p
}

func translate(t *testing.T, providerID, body string) (string, error) {
	t.Helper()
	out, err := Translate([]byte(body), Target{Provider: provider(t, providerID), Model: "the-model"})
	if err != nil {
		return "", err
	}
	// What every translating family reads must read it.
	if _, err := openaichat.Decode(out); err != nil {
		t.Fatalf("the translation does not decode as OpenAI's request: %v\n%s", err, out)
	}
	return string(out), nil
}

func TestTranslate(t *testing.T) {
	for _, tc := range []struct {
		name, provider, in, want string
	}{{
		"text", "groq",
		`{"model":"x","max_tokens":100,"messages":[{"role":"user","content":"Hi"}],"metadata":{"user_id":"u1"},"service_tier":"auto","byok":{"enabled":true}}`,
		`{"model":"the-model","messages":[{"role":"user","content":"Hi"}],"max_tokens":100}`,
	}, {
		"system and sampling", "groq",
		`{"model":"x","max_tokens":10,"system":"Be brief.","temperature":0,"top_p":0.9,"top_k":5,"stop_sequences":["END",""],"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`,
		`{"model":"the-model","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"a\n\nb"}],"max_tokens":10,"temperature":0,"top_p":0.9,"stop":["END"],"stream":true,"stream_options":{"include_usage":true}}`,
	}, {
		"openai takes max_completion_tokens, openrouter top_k and cache_control", "openrouter",
		`{"model":"x","max_tokens":10,"top_k":5,"system":[{"type":"text","text":"S","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral","ttl":"1h"}}]}]}`,
		`{"model":"the-model","messages":[{"role":"system","content":[{"type":"text","text":"S","cache_control":{"type":"ephemeral"}}]},{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral","ttl":"1h"}}]}],"max_tokens":10,"top_k":5}`,
	}, {
		"cache_control dropped for an API that refuses it", "openai",
		`{"model":"x","max_tokens":10,"top_k":5,"system":[{"type":"text","text":"S","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}}]}]}`,
		`{"model":"the-model","messages":[{"role":"system","content":"S"},{"role":"user","content":"a"}],"max_completion_tokens":10}`,
	}, {
		"a translating family reads them too", "aws",
		`{"model":"x","max_tokens":10,"top_k":5,"messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}}]}]}`,
		`{"model":"the-model","messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}}]}],"max_tokens":10,"top_k":5}`,
	}, {
		"images and documents", "groq",
		`{"model":"x","max_tokens":10,"messages":[{"role":"user","content":[` +
			`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}},` +
			`{"type":"image","source":{"type":"url","url":"https://example.com/a.jpg"}},` +
			`{"type":"document","title":"spec.pdf","source":{"type":"base64","media_type":"application/pdf","data":"JVBER"}},` +
			`{"type":"document","title":"Notes","source":{"type":"text","media_type":"text/plain","data":"plain"}},` +
			`{"type":"document","source":{"type":"content","content":[{"type":"text","text":"c1"},{"type":"text","text":"c2"}]}}]}]}`,
		`{"model":"the-model","messages":[{"role":"user","content":[` +
			`{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBOR"}},{"type":"image_url","image_url":{"url":"https://example.com/a.jpg"}},` +
			`{"type":"file","file":{"filename":"spec.pdf","file_data":"data:application/pdf;base64,JVBER"}},` +
			`{"type":"text","text":"Notes\n\nplain"},{"type":"text","text":"c1\nc2"}]}],"max_tokens":10}`,
	}, {
		"a tool round trip, thinking dropped", "groq",
		`{"model":"x","max_tokens":10,"thinking":{"type":"enabled","budget_tokens":16000},` +
			`"tools":[{"name":"get_weather","description":"W","input_schema":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true},{"type":"custom","name":"noop"}],` +
			`"tool_choice":{"type":"tool","name":"get_weather","disable_parallel_tool_use":true},` +
			`"messages":[{"role":"user","content":"Weather?"},` +
			`{"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"S"},{"type":"redacted_thinking","data":"D"},{"type":"text","text":"Looking."},` +
			`{"type":"tool_use","id":"t1","name":"get_weather","input":{"city": "Paris"}},{"type":"tool_use","id":"t2","name":"noop","input":{}}]},` +
			`{"role":"user","content":[{"type":"text","text":"Here:"},{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"18"},{"type":"text","text":"sunny"},` +
			`{"type":"image","source":{"type":"url","url":"https://example.com/map.png"}}]},{"type":"tool_result","tool_use_id":"t2","is_error":true,"content":"failed"}]},` +
			`{"role":"assistant","content":[{"type":"thinking","thinking":"only thinking","signature":"S2"}]}]}`,
		`{"model":"the-model","messages":[{"role":"user","content":"Weather?"},` +
			`{"role":"assistant","content":"Looking.","tool_calls":[{"id":"t1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"t2","type":"function","function":{"name":"noop","arguments":"{}"}}]},` +
			`{"role":"tool","content":"18\nsunny","tool_call_id":"t1"},{"role":"tool","content":"failed","tool_call_id":"t2"},` +
			`{"role":"user","content":[{"type":"text","text":"Here:"},{"type":"image_url","image_url":{"url":"https://example.com/map.png"}}]}],` +
			`"max_tokens":10,"tools":[{"type":"function","function":{"name":"get_weather","description":"W","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}},` +
			`{"type":"function","function":{"name":"noop","parameters":{"type":"object","properties":{}}}}],` +
			`"tool_choice":{"function":{"name":"get_weather"},"type":"function"},"parallel_tool_calls":false,"reasoning_effort":"high"}`,
	}, {
		"an assistant turn of tool calls only", "groq",
		`{"model":"x","max_tokens":10,"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"none"},"messages":[{"role":"user","content":"go"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f"}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t"}]}]}`,
		`{"model":"the-model","messages":[{"role":"user","content":"go"},{"role":"assistant","content":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","content":"","tool_call_id":"t"}],"max_tokens":10,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"none"}`,
	}, {
		"effort and structured output", "openai",
		`{"model":"x","max_tokens":10,"thinking":{"type":"adaptive"},"output_config":{"effort":"max","format":{"type":"json_schema","schema":{"type":"object"}}},"messages":[{"role":"user","content":"j"}]}`,
		`{"model":"the-model","messages":[{"role":"user","content":"j"}],"max_completion_tokens":10,"reasoning_effort":"high","response_format":{"type":"json_schema","json_schema":{"name":"output","schema":{"type":"object"}}}}`,
	}, {
		"thinking budgets", "groq",
		`{"model":"x","max_tokens":10,"thinking":{"type":"enabled","budget_tokens":1024},"tool_choice":{"type":"any"},"messages":[{"role":"user","content":"j"}]}`,
		`{"model":"the-model","messages":[{"role":"user","content":"j"}],"max_tokens":10,"reasoning_effort":"low"}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := translate(t, tc.provider, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("translated\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// What only Anthropic serves, or what is malformed, is a 400 naming the
// field.
func TestTranslateRefusals(t *testing.T) {
	msg := func(content string) string {
		return `{"model":"x","max_tokens":10,"messages":[{"role":"user","content":` + content + `}]}`
	}
	for _, tc := range []struct{ in, param string }{
		{`{"model":"x","max_tokens":10,"messages":[]}`, "messages"},
		{`{"model":"x","max_tokens":"ten","messages":[{"role":"user","content":"a"}]}`, "max_tokens"},
		{`{"model":"x","max_tokens":10,"messages":[{"role":"system","content":"a"}]}`, "messages[0].role"},
		{`{"model":"x","max_tokens":10,"messages":[{"role":"user"}]}`, "messages[0].content"},
		{`{"model":"x","max_tokens":10,"messages":[{"role":"user","content":7}]}`, "messages[0].content"},
		{msg(`[{"type":"search_result","source":"s","title":"t","content":[]}]`), "messages[0].content[0].type"},
		{msg(`[{"text":"no type"}]`), "messages[0].content[0].type"},
		{msg(`[{"type":"image","source":{"type":"file","file_id":"f"}}]`), "messages[0].content[0].source.type"},
		{msg(`[{"type":"image"}]`), "messages[0].content[0].source"},
		{msg(`[{"type":"document","source":{"type":"url","url":"https://x/a.pdf"}}]`), "messages[0].content[0].source.type"},
		{msg(`[{"type":"document","source":{"type":"base64","media_type":"text/html","data":"x"}}]`), "messages[0].content[0].source.media_type"},
		{msg(`[{"type":"tool_result","content":"x"}]`), "messages[0].content[0].tool_use_id"},
		{`{"model":"x","max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]}`, "messages[0].content[0].type"},
		{`{"model":"x","max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":[1]}]}]}`, "messages[0].content[0].input"},
		{`{"model":"x","max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"tool_use","name":"f"}]}]}`, "messages[0].content[0]"},
		{`{"model":"x","max_tokens":10,"system":[{"type":"image"}],"messages":[{"role":"user","content":"a"}]}`, "system[0].type"},
		{`{"model":"x","max_tokens":10,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"a"}]}`, "tools[0].type"},
		{`{"model":"x","max_tokens":10,"tools":[{"input_schema":{}}],"messages":[{"role":"user","content":"a"}]}`, "tools[0].name"},
		{`{"model":"x","max_tokens":10,"tools":[{"name":"f"}],"tool_choice":{"type":"tool"},"messages":[{"role":"user","content":"a"}]}`, "tool_choice.name"},
		{`{"model":"x","max_tokens":10,"tools":[{"name":"f"}],"tool_choice":{"type":"sometimes"},"messages":[{"role":"user","content":"a"}]}`, "tool_choice.type"},
		{`{"model":"x","max_tokens":10,"thinking":{"type":"on"},"messages":[{"role":"user","content":"a"}]}`, "thinking.type"},
		{`{"model":"x","max_tokens":10,"output_config":{"effort":"huge"},"messages":[{"role":"user","content":"a"}]}`, "output_config.effort"},
		{`{"model":"x","max_tokens":10,"output_config":{"format":{"type":"regex"}},"messages":[{"role":"user","content":"a"}]}`, "output_config.format"},
		{`{"model":"x","max_tokens":10,"mcp_servers":[{"type":"url","url":"https://m"}],"messages":[{"role":"user","content":"a"}]}`, "mcp_servers"},
		{`{"model":"x","max_tokens":10,"container":"c_1","messages":[{"role":"user","content":"a"}]}`, "container"},
	} {
		_, err := translate(t, "groq", tc.in)
		var e *ownkey.Error
		if !asError(err, &e) || e.Code != ownkey.EINVALID || ownkey.StatusOf(e) != http.StatusBadRequest || e.Param != tc.param {
			t.Errorf("%s\n→ %v (param %q); want a 400 naming %s", tc.in, err, paramOf(e), tc.param)
		}
	}
	// A type name from the client is quoted only when it looks like one.
	_, err := translate(t, "groq", msg(`[{"type":"<script>"}]`))
	if err == nil || strings.Contains(err.Error(), "<script>") {
		t.Fatalf("%v", err)
	}
}

func asError(err error, e **ownkey.Error) bool {
	var ok bool
	*e, ok = err.(*ownkey.Error)
	return ok
}

func paramOf(e *ownkey.Error) string {
	if e == nil {
		return ""
	}
	return e.Param
}

func TestErrorFor(t *testing.T) {
	for _, tc := range []struct {
		status     int
		typ        string
		wantType   string
		wantStatus int
	}{
		{400, "", TypeInvalidRequest, 400},
		{422, "", TypeInvalidRequest, 422},
		{401, "invalid_request_error", TypeAuthentication, 401},
		{402, "insufficient_quota", TypeBilling, 402},
		{403, "", TypePermission, 403},
		{404, "invalid_request_error", TypeNotFound, 404},
		{409, "", TypeInvalidRequest, 409},
		{413, "", TypeRequestTooLarge, 413},
		{429, "tokens", TypeRateLimit, 429},
		{500, "", TypeAPI, 500},
		{501, "", TypeAPI, 501},
		{502, "upstream_error", TypeAPI, 502},
		{502, "overloaded_error", TypeOverloaded, 529},
		{503, "", TypeOverloaded, 529},
		{529, "", TypeOverloaded, 529},
		{504, "", TypeTimeout, 504},
		{500, "timeout_error", TypeTimeout, 500},
	} {
		typ, status := ErrorFor(tc.status, tc.typ)
		if typ != tc.wantType || status != tc.wantStatus {
			t.Errorf("ErrorFor(%d, %q) = %s %d; want %s %d", tc.status, tc.typ, typ, status, tc.wantType, tc.wantStatus)
		}
	}
	if got := string(AppendError(nil, TypeAPI, `a "quoted" <message>`)); got != `{"type":"error","error":{"type":"api_error","message":"a \"quoted\" \u003cmessage\u003e"}}` {
		t.Fatalf("envelope %s", got)
	}
}
