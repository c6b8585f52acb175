package httpapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
)

func TestParseChatBodyDepthLimit(t *testing.T) {
	body := func(depth int) []byte { // the object, messages, then arrays
		return []byte(`{"model":"m","messages":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`)
	}
	if _, err := parseChatBody(body(jsonvalid.DefaultMaxDepth), 0); err != nil {
		t.Fatalf("%d levels: %v", jsonvalid.DefaultMaxDepth, err)
	}
	_, err := parseChatBody(body(jsonvalid.DefaultMaxDepth+1), 0)
	if e, ok := err.(*ownkey.Error); !ok || e.Code != ownkey.EINVALID || e.Reason != "json_too_deep" || e.Param != "" ||
		e.Message != "request body is nested deeper than 128 levels" {
		t.Fatalf("%d levels: %#v", jsonvalid.DefaultMaxDepth+1, err)
	}
	if _, err := parseChatBody(body(200), 200); err != nil {
		t.Fatalf("200 levels with the limit at 200: %v", err)
	}
	if _, err := parseChatBody(bytes.Repeat([]byte("["), 6_000_000), 0); ownkey.ErrorCode(err) != ownkey.EINVALID {
		t.Fatalf("6,000,000 '[': %v", err)
	}
}

// FuzzChatBody: parseChatBody never panics, and for every body that
// prepareChat would route, routedBody is valid JSON in which a reader that
// keeps the last of duplicate members (as most do) finds the model ownkey
// routed to, no byok member, and include_usage true when it was forced.
func FuzzChatBody(f *testing.F) {
	for _, s := range []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`,
		`{"byok":{"enabled":true,"provider":"groq"}, "model":"groq/llama","messages":[1]}`,
		"{\r\n \"model\":\"m\",\r\n \"messages\":[1],\r\n \"stream\":true,\r\n \"byok\":{\"enabled\":true}\r\n}",
		`{"model":"m","byok":{"enabled":true} ,"messages":[1]}`,
		`{"model":"m","messages":[1],"stream_options":{"include_usage":false,"x":1}}`,
		`{"model":"m","messages":[1],"stream_options":{ }}`,
		`{"model":"m","messages":[1],"stream_options":null}`,
		`{"mod\u0065l":"a\"b","messages":[1],"byok":null}`,
		`{"model":"m","messages":[1],"model":"n"}`,
		`{"model":"m","messages":[1],"stream_options":{"include_usage":false,"include_usage":false}}`,
		`[[[[[[]]]]]]`, `{"model":"m","messages":[[[[[[[[[[[[1]]]]]]]]]]]]}`,
		`{"model":"m:online/tavily-deep","messages":[1],"byok":{"enabled":true},"webSearch":{"enabled":true,"maxResults":3}}`,
		`{"webSearch":null, "byok":{} ,"model":"m","messages":[1]}`,
		`{"model":"m","webSearch":{"provider":"kagi","numResults":2,"maxResults":2,"extra":1},"messages":[1],"byok":{}}`,
	} {
		f.Add([]byte(s), "m", true)
		f.Add([]byte(s), "llama", false)
	}
	f.Fuzz(func(t *testing.T, body []byte, model string, forceUsage bool) {
		fields, err := parseChatBody(body, 8)
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		// What prepareChat requires before it routes.
		so := fields.streamOptions
		if fields.model.Type != 3 /* gjson.String */ || !fields.root.IsObject() ||
			(so.Exists() && so.Raw != "null" && !so.IsObject()) ||
			(fields.byok.Exists() && fields.byok.Raw != "null" && !fields.byok.IsObject()) {
			return
		}
		// The BYOK switch in the body is a choice or a 400, whatever it holds.
		if k, err := keySwitch("", fields.byok.Get("enabled")); (err != nil && ownkey.StatusOf(err) != 400) || k > ownkey.KeyPlatform {
			t.Fatalf("byok.enabled of %q: %v %v", body, k, err)
		}
		// The web-search request is a search or none, or a 400.
		if _, _, err := chatWebSearchOf(fields.model.Str, fields.webSearch); err != nil {
			if e, ok := err.(*ownkey.Error); !ok || ownkey.StatusOf(e) != 400 || e.Param == "" {
				t.Fatalf("web search of %q: %v", body, err)
			}
		}
		out := routedBody(bytes.Clone(body), fields, model, forceUsage)
		if !json.Valid(out) {
			t.Fatalf("routed body is not valid JSON:\n in %s\nout %s", body, out)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("routed body: %v\n%s", err, out)
		}
		var m, want string
		enc, _ := json.Marshal(model) // as routing writes it: invalid UTF-8 replaced
		_ = json.Unmarshal(enc, &want)
		if err := json.Unmarshal(got["model"], &m); err != nil || m != want {
			t.Fatalf("routed model = %s, want %q\n in %s\nout %s", got["model"], model, body, out)
		}
		if _, ok := got["byok"]; ok {
			t.Fatalf("byok still in the routed body:\n in %s\nout %s", body, out)
		}
		if _, ok := got["webSearch"]; ok {
			t.Fatalf("webSearch still in the routed body:\n in %s\nout %s", body, out)
		}
		if forceUsage {
			var opts map[string]json.RawMessage
			if err := json.Unmarshal(got["stream_options"], &opts); err != nil || string(opts["include_usage"]) != "true" {
				t.Fatalf("include_usage not forced:\n in %s\nout %s", body, out)
			}
		}
	})
}
