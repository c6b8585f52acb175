package anthropic

import (
	"encoding/json"
	"testing"

	"github.com/ownkey/ownkey/provider"
)

func TestMemberRaw(t *testing.T) {
	cases := []struct{ obj, key, want string }{
		{`{"type":"text_delta","text":"hi"}`, "text", `"hi"`},
		{` { "text" : "a \"b\" \\" , "type":"x"} `, "text", `"a \"b\" \\"`},
		{`{"nested":{"text":"no"},"list":["text",{"text":1}],"text":"yes"}`, "text", `"yes"`},
		{`{"n":-1.5e3,"t":true,"z":null,"text":""}`, "text", `""`},
		{`{"n":-1.5e3,"t":true,"z":null}`, "z", `null`},
		{`{"n":-1.5e3 ,"t":true}`, "n", `-1.5e3`},
		{`{"type":"ping"}`, "text", ``},
		{`{}`, "text", ``},
		{`[1]`, "text", ``},
		{``, "text", ``},
	}
	for _, tc := range cases {
		if got := memberRaw(tc.obj, tc.key); got != tc.want {
			t.Errorf("memberRaw(%s, %s) = %q, want %q", tc.obj, tc.key, got, tc.want)
		}
	}
}

func TestAppendUnescaped(t *testing.T) {
	for _, raw := range []string{
		`plain`, `line\nbreak\ttab`, `quote \" backslash \\ slash \/`, `\u00e9t\u00e9`,
		`emoji \ud83d\ude00`, `lone \ud83d surrogate`, `bad \uZZZZ escape`, `\b\f\r`,
	} {
		var want string
		if err := json.Unmarshal([]byte(`"`+raw+`"`), &want); err != nil {
			// encoding/json rejects \uZZZZ; U+FFFD is what we promise.
			want = "bad \ufffdZZZZ escape"
		}
		if got := string(provider.AppendUnescaped(nil, raw)); got != want {
			t.Errorf("provider.AppendUnescaped(%s) = %q, want %q", raw, got, want)
		}
	}
}
