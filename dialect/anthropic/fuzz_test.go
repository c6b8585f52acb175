package anthropic

import (
	"encoding/json"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider/openaichat"
)

// FuzzTranslate: any Messages body (valid JSON within the depth limit, as
// the HTTP layer checked) is either refused with an EINVALID, or becomes an
// OpenAI request that is valid JSON, that the translating families read
// (openaichat.Decode), with the routed model, at least one message, only
// OpenAI's roles, every tool message answering a call, and usage asked for
// exactly when it streams.
func FuzzTranslate(f *testing.F) {
	for _, s := range []string{
		`{"model":"x","max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}`,
		`{"model":"x","max_tokens":10,"system":[{"type":"text","text":"S","cache_control":{"type":"ephemeral"}}],"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]}]}`,
		`{"model":"x","max_tokens":10,"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"any","disable_parallel_tool_use":true},"messages":[{"role":"user","content":"q"},` +
			`{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"tool_use","id":"c1","name":"f","input":{"a":[1,{"b":null}]}}]},` +
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":[{"type":"text","text":"r"}]}]}]}`,
		`{"model":"x","max_tokens":10,"thinking":{"type":"enabled","budget_tokens":9000},"output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}},"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBE"}}]}]}`,
		`{"messages":[]}`, `[]`, `{"messages":[{"role":"user","content":[[[[[[]]]]]]}]}`, `{"messages":[{"role":"user","content":[{"type":"search_result","source":"s"}]}]}`,
	} {
		f.Add([]byte(s), uint8(0))
	}
	providers := []string{"groq", "openai", "openrouter", "aws", "google", "openai-responses", "azure"}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		if jsonvalid.Check(body, jsonvalid.DefaultMaxDepth) != nil {
			return // the HTTP layer refuses it before
		}
		p, _ := ownkey.LookupProvider(providers[int(which)%len(providers)])
		out, err := Translate(body, Target{Provider: p, Model: "routed"})
		if err != nil {
			if ownkey.ErrorCode(err) != ownkey.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("not JSON: %s", out)
		}
		req, err := openaichat.Decode(out)
		if err != nil {
			t.Fatalf("openaichat cannot read the translation: %v\n%s", err, out)
		}
		var shape struct {
			Model         string `json:"model"`
			Stream        bool   `json:"stream"`
			StreamOptions *struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		if err := json.Unmarshal(out, &shape); err != nil || shape.Model != "routed" || len(req.Messages) == 0 ||
			shape.Stream != (shape.StreamOptions != nil && shape.StreamOptions.IncludeUsage) {
			t.Fatalf("translated %s", out)
		}
		calls := map[string]bool{}
		for _, m := range req.Messages {
			switch m.Role {
			case "system", "user":
			case "assistant":
				for _, c := range m.ToolCalls {
					calls[c.ID] = true
					if !json.Valid([]byte(c.Function.Arguments)) {
						t.Fatalf("arguments are not JSON: %s", out)
					}
				}
			case "tool":
				if m.ToolCallID == "" {
					t.Fatalf("a tool message without its call: %s", out)
				}
			default:
				t.Fatalf("role %q: %s", m.Role, out)
			}
		}
	})
}
