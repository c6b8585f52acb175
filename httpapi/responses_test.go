package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
)

// decodeResponsesBody decodes body as POST /v1/responses does, with the
// headers given as name, value pairs.
func decodeResponsesBody(t *testing.T, body string, headers ...string) (*responsesCall, error) {
	t.Helper()
	s := New(Config{})
	r := httptest.NewRequest("POST", "/v1/responses", strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	rc := &responsesCall{}
	b := make([]byte, len(body), len(body)+bodyHeadroom)
	copy(b, body)
	return rc, s.decodeResponses(httptest.NewRecorder(), r, b, rc)
}

func TestDecodeResponses(t *testing.T) {
	rc, err := decodeResponsesBody(t, `{"model":"groq/llama","input":"hi","stream":true,"max_output_tokens":300,"byok":{"enabled":true}}`, "X-Byok-Provider", "Groq")
	if err != nil {
		t.Fatal(err)
	}
	c := rc.call
	if c.Model != "groq/llama" || c.Provider != "groq" || c.Keys != ownkey.KeyOwn || !c.Stream || !c.IncludeUsage || c.MaxTokens != 300 ||
		c.Dialect != ownkey.DialectOpenAIResponses || c.Sink.Dialect() != ownkey.DialectOpenAIResponses {
		t.Fatalf("call %+v", c)
	}
	if _, ok := c.Body.(ownkey.DialectBody); !ok {
		t.Fatal("the body cannot be translated")
	}
}

// The stateless refusals, and the checks chat makes too, each naming its
// field.
func TestDecodeResponsesRefuses(t *testing.T) {
	for _, c := range []struct{ body, param, words string }{
		{`{"model":"m","input":"hi","store":true}`, "store", "no conversation state"},
		{`{"model":"m","input":"hi","store":"yes"}`, "store", "boolean"},
		{`{"model":"m","input":"hi","previous_response_id":"resp_1"}`, "previous_response_id", "no conversation state"},
		{`{"model":"m","input":"hi","conversation":"conv_1"}`, "conversation", "no conversation state"},
		{`{"model":"m","input":"hi","background":true}`, "background", "no conversation state"},
		{`{"input":"hi"}`, "model", "model is required"},
		{`{"model":"m"}`, "input", "input is required"},
		{`{"model":"m","input":""}`, "input", "input is required"},
		{`{"model":"m","input":[]}`, "input", "input is required"},
		{`{"model":"m","input":{}}`, "input", "input is required"},
		{`{"model":"m","input":"hi","stream":"yes"}`, "stream", "boolean"},
		{`{"model":"m","model":"n","input":"hi"}`, "model", "more than once"},
		{`{"model":"m","input":"hi","store":false,"store":true}`, "store", "more than once"},
		{`{"model":"m","input":"hi","byok":7}`, "byok", "object"},
		{`{"model":"m","input":"hi","byok":{"provider":"groq"}}`, "byok.provider", "different providers"},
	} {
		_, err := decodeResponsesBody(t, c.body, "X-Byok-Provider", "openai")
		var e *ownkey.Error
		if !asError(err, &e) || e.Param != c.param || ownkey.StatusOf(err) != 400 || !strings.Contains(e.Message, c.words) {
			t.Errorf("%s: %v, want a 400 on %s saying %q", c.body, err, c.param, c.words)
		}
	}
	for _, ok := range []string{
		`{"model":"m","input":"hi","store":false,"previous_response_id":null,"conversation":null,"background":false}`,
		`{"model":"m","input":[{"role":"user","content":"hi"}],"store":null}`,
	} {
		if _, err := decodeResponsesBody(t, ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if _, err := decodeResponsesBody(t, `[`+strings.Repeat(`[`, 200)); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("a deep body: %v", err)
	}
}

// The relayed body: only the routing edits, store:false added when the
// client left it out, and nothing else touched.
func TestResponsesRouted(t *testing.T) {
	for _, c := range []struct{ body, model, want string }{
		{`{"model":"gpt-5","input":"hi","store":false}`, "gpt-5", `{"model":"gpt-5","input":"hi","store":false}`},
		{`{"model":"openai-responses/gpt-5","input":"hi","store":false}`, "gpt-5", `{"model":"gpt-5","input":"hi","store":false}`},
		{`{"model":"gpt-5", "input" : "hi" }`, "gpt-5", `{"model":"gpt-5", "input" : "hi","store":false }`},
		{`{"model":"gpt-5","input":"hi","store":null,"tools":[{"type":"web_search"}]}`, "gpt-5", `{"model":"gpt-5","input":"hi","store":false,"tools":[{"type":"web_search"}]}`},
		{`{"byok":{"provider":"openai-responses"},"model":"x/gpt-5","input":"hi"}`, "gpt-5", `{"model":"gpt-5","input":"hi","store":false}`},
		{`{"model":"gpt-5","input":"hi","byok":{"enabled":true}}`, "dep", `{"model":"dep","input":"hi","store":false}`},
	} {
		rc, err := decodeResponsesBody(t, c.body)
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		if got := string(rc.Routed(c.model)); got != c.want {
			t.Errorf("%s routed to %s:\n%s\nwant\n%s", c.body, c.model, got, c.want)
		}
	}
}

// A translated body is the Chat Completions request, from the unedited
// Responses body.
func TestResponsesTranslated(t *testing.T) {
	rc, err := decodeResponsesBody(t, `{"model":"groq/llama","input":"hi","instructions":"Be brief.","stream":true,"byok":{"enabled":true}}`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rc.Translated(&ownkey.Provider{ID: "groq"}, "llama")
	want := `{"model":"llama","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`
	if err != nil || string(got) != want {
		t.Fatalf("%s %v", got, err)
	}
	if _, err := rc.Translated(&ownkey.Provider{ID: "groq"}, "llama"); err != nil {
		t.Fatal(err)
	}
}

// FuzzResponsesBody: parseResponsesBody never panics, and for every body
// it accepts with a model, Routed (the relayed body) is valid JSON in
// which a reader finds the model ownkey routed to, no byok member, store
// false, and every other member as it was.
func FuzzResponsesBody(f *testing.F) {
	for _, s := range []string{
		`{"model":"gpt-5","input":"hi"}`,
		`{"byok":{"enabled":true,"provider":"openai-responses"}, "model":"x/gpt-5","input":[1],"store":false}`,
		"{\r\n \"model\":\"m\",\r\n \"input\":[1],\r\n \"store\":null\r\n}",
		`{"model":"m","byok":{"enabled":true} ,"input":"x","tools":[{"type":"web_search"}],"stream":true}`,
		`{"mod\u0065l":"a\"b","input":"x","byok":null}`,
		`{"model":"m","input":"x","model":"n"}`,
		`{"model":"m"}`, `{}`, `[[[[[[]]]]]]`, `{"model":"m","input":[[[[[[[[[[[[1]]]]]]]]]]]]}`,
	} {
		f.Add([]byte(s), "m")
	}
	f.Fuzz(func(t *testing.T, body []byte, model string) {
		fields, err := parseResponsesBody(body, 8)
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		// What decodeResponses requires before it routes.
		if fields.model.Type != gjson.String || fields.store.Type == gjson.True ||
			(fields.byok.Exists() && fields.byok.Raw != "null" && !fields.byok.IsObject()) {
			return
		}
		var before map[string]json.RawMessage
		if json.Unmarshal(body, &before) != nil {
			t.Fatalf("accepted %s", body)
		}
		rc := &responsesCall{body: bytes.Clone(body), fields: fields}
		out := rc.Routed(model)
		var got map[string]json.RawMessage
		if !json.Valid(out) || json.Unmarshal(out, &got) != nil {
			t.Fatalf("routed body is not valid JSON:\n in %s\nout %s", body, out)
		}
		var m, want string
		enc, _ := json.Marshal(model)
		_ = json.Unmarshal(enc, &want)
		if err := json.Unmarshal(got["model"], &m); err != nil || m != want {
			t.Fatalf("routed model = %s, want %q\n in %s\nout %s", got["model"], model, body, out)
		}
		if _, ok := got["byok"]; ok {
			t.Fatalf("byok still in the routed body:\n in %s\nout %s", body, out)
		}
		if string(got["store"]) != "false" && !(fields.store.Exists() && fields.store.Type != gjson.Null) {
			t.Fatalf("store not false:\n in %s\nout %s", body, out)
		}
		for k, v := range before {
			if k != "model" && k != "byok" && k != "store" && !bytes.Equal(got[k], v) {
				t.Fatalf("%s changed:\n in %s\nout %s", k, body, out)
			}
		}
	})
}
