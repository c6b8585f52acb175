package openaichat

import (
	"encoding/json"
	"testing"
)

func TestRoleError(t *testing.T) {
	fieldErr(t, RoleError("messages[2]", "function"), "messages[2].role", "the legacy function role is not supported; use tool messages")
	fieldErr(t, RoleError("messages[0]", "robot"), "messages[0].role", "role must be system, developer, user, assistant or tool")
}

func TestTextParts(t *testing.T) {
	r, err := Decode([]byte(`{"messages":[{"role":"system","content":"be brief"},` +
		`{"role":"system","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},` +
		`{"role":"tool","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if text, parts, err := r.Messages[0].TextParts("messages[0]"); err != nil || text != "be brief" || parts != nil {
		t.Fatalf("string content: %q %v %v", text, parts, err)
	}
	if text, parts, err := r.Messages[1].TextParts("messages[1]"); err != nil || text != "" || len(parts) != 2 || parts[1].Text != "b" {
		t.Fatalf("text parts: %q %v %v", text, parts, err)
	}
	_, _, err = r.Messages[2].TextParts("messages[2]")
	fieldErr(t, err, "messages[2].content[1].type", `only text parts are allowed here, not "image_url"`)
}

func TestFunctionParameters(t *testing.T) {
	for _, tc := range []struct {
		tool, want, param, message string
	}{
		{`{"type":"function","function":{"name":"f","parameters":  {"type":"object"} }}`, `{"type":"object"}`, "", ""},
		{`{"type":"function","function":{"name":"f"}}`, "", "", ""},
		{`{"type":"function","function":{"name":"f","parameters":null}}`, "", "", ""},
		{`{"type":"custom","function":{"name":"f"}}`, "", "tools[1].type", `only function tools are supported, not "custom"`},
		{`{"type":"function"}`, "", "tools[1].function.name", "a function tool needs a name"},
		{`{"type":"function","function":{"name":""}}`, "", "tools[1].function.name", "a function tool needs a name"},
		{`{"type":"function","function":{"name":"f","parameters":[1]}}`, "", "tools[1].function.parameters", "parameters must be a JSON Schema object"},
	} {
		var tl Tool
		if err := json.Unmarshal([]byte(tc.tool), &tl); err != nil {
			t.Fatal(err)
		}
		got, err := tl.FunctionParameters("tools[1]")
		if tc.param != "" {
			fieldErr(t, err, tc.param, tc.message)
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Fatalf("%s: %s, %v", tc.tool, got, err)
		}
	}
}
