package jsonvalid

import (
	"testing"
)

func TestMemberRaw(t *testing.T) {
	cases := []struct{ obj, key, want string }{
		{`{"type":"text_delta","text":"hi"}`, "text", `"hi"`},
		{` { "text" : "a \"b\" \\" , "type":"x"} `, "text", `"a \"b\" \\"`},
		{`{"nested":{"text":"no"},"list":["text",{"text":1}],"text":"yes"}`, "text", `"yes"`},
		{`{"n":-1.5e3,"t":true,"z":null,"text":""}`, "text", `""`},
		{`{"n":-1.5e3,"t":true,"z":null}`, "z", `null`},
		{`{"n":-1.5e3 ,"t":true}`, "n", `-1.5e3`},
		{`{"delta":{"text":"x"},"p":"abc"}`, "delta", `{"text":"x"}`},
		{`{"type":"ping"}`, "text", ``},
		{`{}`, "text", ``},
		{`[1]`, "text", ``},
		{``, "text", ``},
	}
	for _, tc := range cases {
		if got := MemberRaw(tc.obj, tc.key); got != tc.want {
			t.Errorf("MemberRaw(%s, %s) = %q, want %q", tc.obj, tc.key, got, tc.want)
		}
	}
}
