package main

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/ownkey/ownkey"
)

// TestChatThroughAnthropic drives a claude-* model through the gateway: the
// maker rule routes it to anthropic, the adapter translates both ways.
func TestChatThroughAnthropic(t *testing.T) {
	const antKey = "sk-ant-test-0123456789abcdef"
	var got struct {
		Path, Key, Version string
		Body               map[string]any
	}
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		got.Path, got.Key, got.Version = r.URL.Path, r.Header.Get("x-api-key"), r.Header.Get("anthropic-version")
		_ = json.Unmarshal(body, &got.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Bonjour"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":3,"cache_creation_input_tokens":4,"cache_read_input_tokens":6}}`)
	})
	g := newTestGateway(t, map[string]string{"OWNKEY_ANTHROPIC_BASE_URL": up.srv.URL})
	id, key := g.createAccount("claude-user")
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "anthropic", "key": antKey}); r.Status != 200 {
		t.Fatalf("store key: %d %s", r.Status, r.Body)
	}
	client := sdkClient(g, key)
	resp, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("Answer in French."), openai.UserMessage("Say hello"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "Bonjour" || resp.Choices[0].FinishReason != "stop" ||
		resp.Usage.PromptTokens != 20 || resp.Usage.CompletionTokens != 3 || resp.Usage.PromptTokensDetails.CachedTokens != 6 {
		t.Fatalf("response: %+v", resp)
	}
	if got.Path != "/v1/messages" || got.Key != antKey || got.Version != "2023-06-01" || got.Body["system"] == nil || got.Body["max_tokens"] == nil {
		t.Fatalf("upstream saw %s key-ok=%v version %q body %v", got.Path, got.Key == antKey, got.Version, got.Body)
	}
	rec := g.usageRecords(t, id, 1)[0]
	if rec.Provider != "anthropic" || rec.Usage.PromptTokens != 20 || rec.Usage.CachedTokens != 6 || rec.Usage.CacheWriteTokens != 4 ||
		rec.Usage.Source != ownkey.UsageFromProvider {
		t.Fatalf("usage record: %+v", rec)
	}
}
