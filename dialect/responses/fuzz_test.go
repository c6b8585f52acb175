package responses

import (
	"encoding/json"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider/openaichat"
)

// FuzzChatRequest: any Responses request the HTTP layer lets through
// (valid JSON within the depth limit) is either refused with an EINVALID
// naming a field, or becomes a Chat Completions request that is valid
// JSON with the routed model, at least one message, the client's stream
// and usage when streaming, and that the translating families can read
// (openaichat.Decode).
func FuzzChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","input":"Hi","instructions":"Be brief.","max_output_tokens":20,"temperature":0.2}`,
		`{"input":[{"role":"developer","content":"r"},{"role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"high"},{"type":"input_file","file_data":"data:application/pdf;base64,JVBE","filename":"a.pdf"}]}]}`,
		`{"input":[{"role":"user","content":"q"},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"t"},{"type":"refusal","refusal":"no"}]},{"type":"function_call","call_id":"c1","name":"f","arguments":"{\"a\":[1,{\"b\":null}]}"},{"type":"function_call_output","call_id":"c1","output":"r"}],"tools":[{"type":"function","name":"f","parameters":{"type":"object"},"strict":true}],"tool_choice":{"type":"function","name":"f"},"parallel_tool_calls":false}`,
		`{"input":"q","text":{"format":{"type":"json_schema","name":"n","schema":{"type":"object"},"strict":true},"verbosity":"low"},"reasoning":{"effort":"low","summary":"auto"}}`,
		`{"input":[{"type":"reasoning","summary":[]},{"type":"web_search_call"}],"tools":[{"type":"web_search"}]}`,
		`{"input":[]}`, `[]`, `{"input":[[[[[[]]]]]]}`, `{"input":"x","top_p":1e400}`, `{"input":[{"content":null}]}`,
	} {
		f.Add([]byte(s), "groq", true)
	}
	f.Add([]byte(`{"input":[{"role":"developer","content":"r"},{"role":"user","content":"q"}],"max_output_tokens":5}`), "openai", false)
	f.Fuzz(func(t *testing.T, body []byte, provider string, stream bool) {
		if jsonvalid.Check(body, jsonvalid.DefaultMaxDepth) != nil {
			return // the HTTP layer refuses it before any translation
		}
		out, err := ChatRequest(body, "llama", provider, stream)
		if err != nil {
			if e, ok := err.(*ownkey.Error); !ok || e.Code != ownkey.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("translated body is not valid JSON: %s", out)
		}
		var got struct {
			Model         string            `json:"model"`
			Messages      []json.RawMessage `json:"messages"`
			Stream        bool              `json:"stream"`
			StreamOptions *struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("translated body: %v\n%s", err, out)
		}
		if got.Model != "llama" || len(got.Messages) == 0 || got.Stream != stream || stream != (got.StreamOptions != nil && got.StreamOptions.IncludeUsage) {
			t.Fatalf("translated body %s", out)
		}
		if _, err := openaichat.Decode(out); err != nil {
			t.Fatalf("the families cannot read %s: %v", out, err)
		}
	})
}
