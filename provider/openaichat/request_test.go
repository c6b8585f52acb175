package openaichat

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/ownkey/ownkey"
)

// fieldErr fails t unless err is an EINVALID naming param with message.
func fieldErr(t *testing.T, err error, param, message string) {
	t.Helper()
	e, ok := err.(*ownkey.Error)
	if !ok || e.Code != ownkey.EINVALID || e.Param != param || (message != "" && e.Message != message) {
		t.Fatalf("err = %#v, want EINVALID param %q message %q", err, param, message)
	}
}

func TestDecodeNamesTheField(t *testing.T) {
	_, err := Decode([]byte(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":"ten"}`))
	fieldErr(t, err, "max_tokens", "max_tokens has the wrong type: expected int64")
	_, err = Decode([]byte(`{"messages":[{"role":7}]}`))
	fieldErr(t, err, "messages.role", "")
	if _, err := Decode([]byte(`[]`)); ownkey.ErrorCode(err) != ownkey.EINVALID {
		t.Fatalf("an array body: %v", err)
	}
	r, err := Decode([]byte(`{"messages":[{"role":"user","content":"hi","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}],"top_k":3,"unknown":{"x":1}}`))
	if err != nil || len(r.Messages) != 1 || *r.TopK != 3 || r.Messages[0].ToolCalls[0].Function.Name != "f" {
		t.Fatalf("Decode = %+v, %v", r, err)
	}
}

// The members the Responses API adapter reads: strict on tools and
// schemas, image detail, file names, and the hints it passes on.
func TestDecodeResponsesMembers(t *testing.T) {
	r, err := Decode([]byte(`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"u","detail":"low"}},{"type":"file","file":{"file_data":"d","filename":"a.pdf"}}]}],` +
		`"tools":[{"type":"function","function":{"name":"f","strict":true}}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{},"strict":false}},` +
		`"verbosity":"low","service_tier":"flex","prompt_cache_key":"k","prompt_cache_retention":"24h","metadata":{"a":"b"},"reasoning":{"summary":"auto"}}`))
	if err != nil {
		t.Fatal(err)
	}
	_, parts, err := r.Messages[0].Parts("messages[0]")
	if err != nil || parts[0].ImageURL.Detail != "low" || parts[1].File.Filename != "a.pdf" || !*r.Tools[0].Function.Strict ||
		*r.ResponseFormat.JSONSchema.Strict || *r.Verbosity != "low" || *r.ServiceTier != "flex" || *r.PromptCacheKey != "k" ||
		*r.PromptCacheRetention != "24h" || string(r.Metadata) != `{"a":"b"}` || string(r.Reasoning) != `{"summary":"auto"}` {
		t.Fatalf("Decode = %+v (%v)", r, err)
	}
}

// The fields only some families read decode as sent.
func TestDecodeFamilyFields(t *testing.T) {
	r, err := Decode([]byte(`{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"UklG","format":"wav"}}]},` +
		`{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"},"extra_content":{"google":{"thought_signature":"c2ln"}}}]}],` +
		`"seed":7,"presence_penalty":0.5,"frequency_penalty":-0.25}`))
	if err != nil || *r.Seed != 7 || *r.PresencePenalty != 0.5 || *r.FrequencyPenalty != -0.25 ||
		string(r.Messages[1].ToolCalls[0].ExtraContent) != `{"google":{"thought_signature":"c2ln"}}` {
		t.Fatalf("Decode = %+v, %v", r, err)
	}
	_, parts, err := r.Messages[0].Parts("messages[0]")
	if err != nil || parts[0].InputAudio == nil || parts[0].InputAudio.Data != "UklG" || parts[0].InputAudio.Format != "wav" {
		t.Fatalf("parts %+v, %v", parts, err)
	}
}

func TestParts(t *testing.T) {
	for _, tc := range []struct {
		content  string
		text     string
		parts    int
		errParam string
	}{
		{`"hello"`, "hello", 0, ""},
		{`null`, "", 0, ""},
		{``, "", 0, ""},
		{` [{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"https://x"}}]`, "", 2, ""},
		{`7`, "", 0, "messages[2].content"},
		{`[{"type":"text","text":7}]`, "", 0, "messages[2].content"},
		{`[1]`, "", 0, "messages[2].content"},
	} {
		m := Message{Content: json.RawMessage(tc.content)}
		text, parts, err := m.Parts("messages[2]")
		if tc.errParam != "" {
			fieldErr(t, err, tc.errParam, "")
			continue
		}
		if err != nil || text != tc.text || len(parts) != tc.parts {
			t.Fatalf("Parts(%s) = %q, %d parts, %v", tc.content, text, len(parts), err)
		}
	}
}

func TestStopSequences(t *testing.T) {
	for _, tc := range []struct {
		stop string
		want []string
	}{
		{``, nil}, {`null`, nil}, {`""`, nil}, {`"END"`, []string{"END"}}, {`["a","","b"]`, []string{"a", "b"}},
	} {
		got, err := (&Request{Stop: json.RawMessage(tc.stop)}).StopSequences()
		if err != nil || !slices.Equal(got, tc.want) {
			t.Fatalf("stop %s = %q, %v", tc.stop, got, err)
		}
	}
	_, err := (&Request{Stop: json.RawMessage(`[1]`)}).StopSequences()
	fieldErr(t, err, "stop", "stop must be a string or an array of strings")
}

func TestParseToolChoice(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want *ToolChoice
	}{
		{``, nil}, {`null`, nil},
		{`"auto"`, &ToolChoice{Mode: ToolChoiceAuto}},
		{`"none"`, &ToolChoice{Mode: ToolChoiceNone}},
		{`"required"`, &ToolChoice{Mode: ToolChoiceRequired}},
		{`{"type":"function","function":{"name":"f"}}`, &ToolChoice{Mode: ToolChoiceFunction, Function: "f"}},
	} {
		got, err := (&Request{ToolChoice: json.RawMessage(tc.raw)}).ParseToolChoice()
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Fatalf("tool_choice %s = %+v, %v", tc.raw, got, err)
		}
	}
	for raw, param := range map[string]string{
		`"any"`: "tool_choice", `7`: "tool_choice",
		`{"type":"allowed_tools"}`:   "tool_choice.type",
		`{"type":"function"}`:        "tool_choice.function.name",
		`{"type":"function","x":[]}`: "tool_choice.function.name",
	} {
		_, err := (&Request{ToolChoice: json.RawMessage(raw)}).ParseToolChoice()
		fieldErr(t, err, param, "")
	}
}

func TestArgumentsObject(t *testing.T) {
	for args, want := range map[string]string{"": `{}`, "  ": `{}`, `{ "a" : [1, 2] }`: `{"a":[1,2]}`} {
		c := ToolCall{Function: ToolCallFunction{Arguments: args}}
		got, err := c.ArgumentsObject("p")
		if err != nil || string(got) != want {
			t.Fatalf("arguments %q = %s, %v", args, got, err)
		}
	}
	for args, message := range map[string]string{
		`{"a":`: "tool call arguments are not valid JSON",
		`[1]`:   "tool call arguments must be a JSON object",
	} {
		c := ToolCall{Function: ToolCallFunction{Arguments: args}}
		_, err := c.ArgumentsObject("messages[1].tool_calls[0].function.arguments")
		fieldErr(t, err, "messages[1].tool_calls[0].function.arguments", message)
	}
}

func TestParseDataURL(t *testing.T) {
	for url, want := range map[string]string{
		"data:image/PNG;base64,AAAA":            "image/png AAAA true",
		"data:application/pdf;name=a;base64,JV": "application/pdf JV true",
		"data:image/png,AAAA":                   "  false",
		"data:;base64,AAAA":                     "  false",
		"data:image/png;base64,":                "  false",
	} {
		mt, data, ok := ParseDataURL(url)
		if got := fmt.Sprint(mt, " ", data, " ", ok); got != want {
			t.Fatalf("ParseDataURL(%q) = %q, want %q", url, got, want)
		}
	}
}

// FuzzDecode: any client body decodes, or is refused with an EINVALID; so
// does every message's content, stop and tool_choice of a body that
// decodes. Nothing panics.
func TestThinkingBudget(t *testing.T) {
	for effort, want := range map[string]int64{"": 0, "none": 0, "minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 24576, "max": 24576} {
		body := `{"messages":[]}`
		if effort != "" {
			body = `{"messages":[],"reasoning_effort":"` + effort + `"}`
		}
		r, err := Decode([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.ThinkingBudget(); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", effort, got, err, want)
		}
	}
	r, _ := Decode([]byte(`{"reasoning_effort":"extreme"}`))
	if _, err := r.ThinkingBudget(); ownkey.ErrorCode(err) != ownkey.EINVALID {
		t.Fatalf("unknown effort: %v", err)
	}
}

func TestUnsupported(t *testing.T) {
	for body, param := range map[string]string{
		`{"n":2}`: "n", `{"n":1}`: "", `{"logprobs":true}`: "logprobs", `{"logprobs":false}`: "", `{"top_logprobs":3}`: "top_logprobs",
		`{"logit_bias":{"5":1}}`: "logit_bias", `{"logit_bias":{}}`: "", `{"modalities":["audio"]}`: "modalities", `{"audio":{}}`: "modalities",
		`{"functions":[]}`: "functions", `{"function_call":"auto"}`: "functions", `{"web_search_options":{}}`: "web_search_options", `{}`: "",
	} {
		r, err := Decode([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		err = r.Unsupported("Some models")
		if e, _ := err.(*ownkey.Error); (param == "") != (err == nil) || e != nil && e.Param != param {
			t.Errorf("%s: %v, want param %q", body, err, param)
		}
	}
}

func TestJSONTool(t *testing.T) {
	for _, tc := range []struct{ body, schema, param string }{
		{`{}`, "", ""},
		{`{"response_format":{"type":"text"}}`, "", ""},
		{`{"response_format":{"type":"json_object"}}`, `{"type":"object"}`, ""},
		{`{"response_format":{"type":"json_schema","json_schema":{"name":"w","schema":{ "type" : "object" }}}}`, `{"type":"object"}`, ""},
		{`{"response_format":{"type":"json_schema","json_schema":{"schema":{"type":"array"}}}}`, "", "response_format.json_schema.schema"},
		{`{"response_format":{"type":"json_schema","json_schema":{}}}`, "", "response_format.json_schema.schema"},
		{`{"response_format":{"type":"xml"}}`, "", "response_format.type"},
	} {
		r, err := Decode([]byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		jt, err := r.JSONTool()
		if e, _ := err.(*ownkey.Error); tc.param != "" && (e == nil || e.Param != tc.param) || tc.param == "" && err != nil {
			t.Errorf("%s: %v, want param %q", tc.body, err, tc.param)
			continue
		}
		if got := ""; jt != nil {
			got = string(jt.Schema)
			if got != tc.schema || jt.Description == "" {
				t.Errorf("%s: schema %s, want %s", tc.body, got, tc.schema)
			}
		} else if tc.schema != "" {
			t.Errorf("%s: no tool", tc.body)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"role":"user","content":"hi"}],"stop":["a",""],"tool_choice":"auto"}`,
		`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}],"tool_choice":{"type":"function","function":{"name":"f"}}}`,
		`{"messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{\"a\":1}"}}]}]}`,
		`{"messages":7}`, `[]`, `{"messages":[{"content":[[[[]]]]}]}`,
	} {
		f.Add([]byte(s))
	}
	invalid := func(t *testing.T, err error) {
		if err != nil && ownkey.ErrorCode(err) != ownkey.EINVALID {
			t.Fatalf("error %v is not EINVALID", err)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := Decode(body)
		invalid(t, err)
		if err != nil {
			return
		}
		for i := range r.Messages {
			_, _, err := r.Messages[i].Parts("messages[0]")
			invalid(t, err)
			for j := range r.Messages[i].ToolCalls {
				_, err := r.Messages[i].ToolCalls[j].ArgumentsObject("p")
				invalid(t, err)
			}
		}
		_, err = r.StopSequences()
		invalid(t, err)
		_, err = r.ParseToolChoice()
		invalid(t, err)
	})
}
