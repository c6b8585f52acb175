package gemini

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider/providertest"
)

// FuzzTranslateRequest: any client body is either refused with an
// EINVALID naming a field, or becomes a generateContent request that is
// valid JSON with at least one content, sent to the model's path.
func FuzzTranslateRequest(f *testing.F) {
	for _, s := range []string{
		helloBody,
		`{"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}],"max_tokens":10,"temperature":0.5,"stop":["x"]}`,
		`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1__thought__c2ln","type":"function","function":{"name":"f","arguments":"{\"a\":[1,{\"b\":null}]}"}}]},{"role":"tool","tool_call_id":"c1__thought__c2ln","content":"r"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"$ref":"#/$defs/A"}},"$defs":{"A":{"type":["array","null"],"items":{"anyOf":[{"type":"integer"},{"type":"object"}]}}}}}}],"tool_choice":"required"}`,
		`{"messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object","properties":{"a":{"type":"array","items":{"type":"object"}}}}}},"reasoning_effort":"low"}`,
		`{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"high","max_completion_tokens":5000}`,
		`{"messages":[],"n":2}`, `[]`, `{"messages":[{"role":"user","content":[[[[[[]]]]]]}]}`,
	} {
		f.Add([]byte(s), "gemini-3-pro-preview", true)
	}
	f.Add([]byte(helloBody), "models/gemini-2.0-flash", false)
	f.Fuzz(func(t *testing.T, body []byte, model string, stream bool) {
		if jsonvalid.Check(body, 0) != nil {
			return // the HTTP layer refuses it before any adapter sees it
		}
		tr, err := translateRequest(&ownkey.ChatRequest{Model: model, Body: body, Stream: stream})
		if err != nil {
			if e, ok := err.(*ownkey.Error); !ok || e.Code != ownkey.EINVALID || e.Message == "" {
				t.Fatalf("error %#v is not an EINVALID with a message", err)
			}
			return
		}
		var out struct {
			Contents []json.RawMessage `json:"contents"`
		}
		if !json.Valid(tr.body) {
			t.Fatalf("translated body is not valid JSON: %s", tr.body)
		}
		if err := json.Unmarshal(tr.body, &out); err != nil || len(out.Contents) == 0 {
			t.Fatalf("translated body: %v\n%s", err, tr.body)
		}
		if !strings.HasPrefix(tr.path, "/v1beta/models/") || strings.Count(tr.path, "/") != 3 || strings.ContainsAny(tr.path, "#") {
			t.Fatalf("path %q for model %q", tr.path, model)
		}
	})
}

// FuzzConvertSchema: any schema is either refused with an EINVALID, or
// converted to valid JSON (or nothing) within the limits, using only the
// keywords Gemini knows.
func FuzzConvertSchema(f *testing.F) {
	for _, s := range []string{
		`{"type":"object","properties":{"a":{"type":["string","null"]},"b":{"$ref":"#/$defs/B"}},"required":["a"],"$defs":{"B":{"anyOf":[{"type":"integer"},{"type":"null"}]}}}`,
		`{"$ref":"#"}`, `{"allOf":[{"$ref":"#/definitions/x"}],"definitions":{"x":{"enum":["a","b"]}}}`, `true`, `{}`,
		`{"type":"array","items":{"oneOf":[{"const":"a"},{"type":"number","minimum":1}]}}`,
		`{"properties":{"a.b":{"$ref":"#/properties/c~1d"},"c/d":{"type":"string"}}}`,
	} {
		f.Add([]byte(s), true)
	}
	allowed := map[string]bool{"type": true, "format": true, "title": true, "description": true, "nullable": true, "enum": true,
		"properties": true, "required": true, "propertyOrdering": true, "items": true, "anyOf": true, "minItems": true, "maxItems": true,
		"minLength": true, "maxLength": true, "pattern": true, "minimum": true, "maximum": true, "minProperties": true,
		"maxProperties": true, "default": true, "example": true}
	f.Fuzz(func(t *testing.T, schema []byte, ordering bool) {
		if jsonvalid.Check(schema, 0) != nil {
			return
		}
		// The tree the converter reads holds the schema exactly.
		tree, err := parseTree(schema)
		if err != nil {
			t.Fatalf("parseTree(%s): %v", schema, err)
		}
		if again := appendJSON(nil, tree); !sameValue(t, again, schema) {
			t.Fatalf("parseTree(%s) written again is %s", schema, again)
		}
		out, err := convertSchema(schema, "p", ordering)
		if err != nil {
			if e, ok := err.(*ownkey.Error); !ok || e.Code != ownkey.EINVALID {
				t.Fatalf("error %#v is not an EINVALID", err)
			}
			return
		}
		if out == nil {
			return
		}
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("converted %s: %v", out, err)
		}
		var check func(v any, schema bool)
		check = func(v any, schema bool) {
			m, ok := v.(map[string]any)
			if !ok {
				if schema {
					t.Fatalf("a schema that is not an object in %s", out)
				}
				return
			}
			for k, x := range m {
				if !allowed[k] {
					t.Fatalf("keyword %q in %s", k, out)
				}
				switch k {
				case "items":
					check(x, true)
				case "anyOf":
					for _, e := range x.([]any) {
						check(e, true)
					}
				case "properties":
					for _, p := range x.(map[string]any) {
						check(p, true)
					}
				}
			}
		}
		check(v, true)
	})
}

// runStream translates a Gemini event stream given as raw bytes, in
// process, and returns what the client got.
func runStream(t testing.TB, raw []byte, includeUsage bool) (*ownkey.ChatResult, string) {
	req := &ownkey.ChatRequest{
		RequestID: "req-1", Provider: providertest.Catalog(t, "google"), Model: "gemini-2.5-flash", Stream: true, IncludeUsage: includeUsage,
		Credential: &ownkey.Credential{Provider: "google", APIKey: ownkey.NewSecret(testKey)},
	}
	res, got, err := providertest.Translate(t, req, "text/event-stream", raw, respond)
	if err != nil {
		t.Fatalf("respond: %v", err)
	}
	return res, got
}

// FuzzStreamTranslation: whatever Gemini sends, the client gets a
// well-formed OpenAI stream: every event a JSON object (or [DONE], only
// last), ending in [DONE] or an error event, and never the key.
func FuzzStreamTranslation(f *testing.F) {
	f.Add([]byte(frames(chunk(textPart("Hel"), "", ""), chunk(textPart("lo"), "STOP", usageMeta(3, 2, 0, 0)))), true)
	f.Add([]byte(frames(chunk(thoughtPart("hmm"), "", ""), chunk(callPart("f", `{"a":[1]}`, "c2ln")+","+callPart("g", `{}`, ""), "STOP", usageMeta(3, 2, 9, 1)))), false)
	f.Add([]byte(frames(chunk(textPart("a"), "", ""), `{"error":{"code":503,"message":"`+providertest.EscapedKey(testKey)+`","status":"UNAVAILABLE"}}`)), false)
	f.Add([]byte(frames(`{"promptFeedback":{"blockReason":"SAFETY"}}`)), true)
	f.Add([]byte("data: "+strings.Repeat("[", 300)+"\n\n"), false)
	f.Add([]byte("data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":1}}]}}]}\r\n\r\ndata: {"), true)
	f.Fuzz(func(t *testing.T, raw []byte, includeUsage bool) {
		res, got := runStream(t, raw, includeUsage)
		providertest.CheckStream(t, res, got, testKey)
		if u := res.Usage; u.PromptTokens < 0 || u.CompletionTokens < 0 || u.CachedTokens > u.PromptTokens || u.ReasoningTokens > u.CompletionTokens {
			t.Fatalf("usage %+v", u)
		}
	})
}

// FuzzCompleteTranslation: whatever whole answer Gemini sends, the client
// gets one chat.completion object, or an error before anything was written,
// and never the key.
func FuzzCompleteTranslation(f *testing.F) {
	f.Add([]byte(chunk(textPart("Hi")+","+callPart("f", `{"a":1}`, "c2ln"), "STOP", usageMeta(3, 2, 9, 1))))
	f.Add([]byte(`{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":4}}`))
	f.Add([]byte(`{"error":{"code":500,"message":"` + testKey + `","status":"INTERNAL"}}`))
	f.Add([]byte(`{"candidates":[{"content":{"parts":[{"text":1},{"thought":true,"text":"x"},{"functionCall":null}]},"finishReason":7}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := &ownkey.ChatRequest{
			RequestID: "req-1", Provider: providertest.Catalog(t, "google"), Model: "gemini-2.5-flash",
			Credential: &ownkey.Credential{Provider: "google", APIKey: ownkey.NewSecret(testKey)},
		}
		res, got, err := providertest.Translate(t, req, "application/json", body, respond)
		if err != nil {
			if providertest.ErrorLeaks(t, err, got, testKey) || got != "" || res.Started {
				t.Fatalf("err %#v with %q written", err, got)
			}
			return
		}
		if providertest.Leaks(got, testKey) {
			t.Fatalf("the key reached the client: %s", got)
		}
		var c struct {
			Object  string `json:"object"`
			Choices []struct {
				FinishReason string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(got), &c); err != nil || c.Object != "chat.completion" || len(c.Choices) != 1 || c.Choices[0].FinishReason == "" {
			t.Fatalf("client got %s (%v)", got, err)
		}
	})
}

// sameValue reports whether a and b are the same JSON value, numbers
// compared as written (json.Number), so that a number beyond float64 is
// still compared.
func sameValue(t *testing.T, a, b []byte) bool {
	t.Helper()
	decode := func(x []byte) any {
		dec := json.NewDecoder(bytes.NewReader(x))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s is not JSON: %v", x, err)
		}
		return v
	}
	return reflect.DeepEqual(decode(a), decode(b))
}
