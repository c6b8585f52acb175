package providertest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
)

// Payloads splits what an OpenAI client got from a stream into the data
// payloads of its events.
func Payloads(body string) []string {
	var out []string
	for _, ev := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		out = append(out, strings.TrimPrefix(ev, "data: "))
	}
	return out
}

// CompareFrames fails t with a payload-by-payload diff when got, what the
// client received, is not want.
func CompareFrames(t testing.TB, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	g, w := Payloads(got), Payloads(want)
	for i := 0; i < max(len(g), len(w)); i++ {
		var gi, wi string
		if i < len(g) {
			gi = g[i]
		}
		if i < len(w) {
			wi = w[i]
		}
		if gi != wi {
			t.Errorf("event %d:\n got %s\nwant %s", i, gi, wi)
		}
	}
	t.Fatalf("client got:\n%s\nwant:\n%s", got, want)
}

// Answer is a chat answer as an OpenAI client reads it: what ReadAnswer
// makes of what was written, and what a replay test works out from a
// recording, to compare the two.
type Answer struct {
	Content, Reasoning string
	Tools              []Call
	Finish             string
	Usage              ownkey.Usage
}

// Call is one tool call of an Answer.
type Call struct{ ID, Name, Args string }

// ReadAnswer decodes what the client got, a stream or a whole answer, with
// encoding/json, the way an OpenAI client would read it, failing t on
// anything a client could not read: an error event, a chunk of the wrong
// object, a stream not ending in [DONE], a tool call opened twice or
// without its type and name, two finish reasons, anything but exactly one
// usage object (whose total must add up).
func ReadAnswer(t testing.TB, body string, stream bool) Answer {
	t.Helper()
	type message struct {
		Content          *string `json:"content"`
		ReasoningContent string  `json:"reasoning_content"`
		ToolCalls        []struct {
			Index    int    `json:"index"`
			ID       string `json:"id"`
			Type     string `json:"type"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	}
	type usage struct {
		PromptTokens        int64 `json:"prompt_tokens"`
		CompletionTokens    int64 `json:"completion_tokens"`
		TotalTokens         int64 `json:"total_tokens"`
		PromptTokensDetails struct {
			CachedTokens     int64 `json:"cached_tokens"`
			CacheWriteTokens int64 `json:"cache_write_tokens"`
		} `json:"prompt_tokens_details"`
		CompletionTokensDetails struct {
			ReasoningTokens int64 `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	}
	type chunk struct {
		Object  string `json:"object"`
		Choices []struct {
			Delta        message `json:"delta"`
			Message      message `json:"message"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *usage          `json:"usage"`
		Error json.RawMessage `json:"error"`
	}
	var a Answer
	var chunks []string
	if stream {
		payloads := Payloads(body)
		if payloads[len(payloads)-1] != "[DONE]" {
			t.Fatalf("stream does not end in [DONE]:\n%s", body)
		}
		chunks = payloads[:len(payloads)-1]
	} else {
		chunks = []string{body}
	}
	usages := 0
	for _, raw := range chunks {
		var c chunk
		if err := json.Unmarshal([]byte(raw), &c); err != nil {
			t.Fatalf("chunk %s: %v", raw, err)
		}
		if c.Error != nil {
			t.Fatalf("error event: %s", raw)
		}
		if want := map[bool]string{true: "chat.completion.chunk", false: "chat.completion"}[stream]; c.Object != want {
			t.Fatalf("object %q in %s", c.Object, raw)
		}
		if u := c.Usage; u != nil {
			usages++
			if u.TotalTokens != u.PromptTokens+u.CompletionTokens {
				t.Fatalf("total_tokens in %s", raw)
			}
			a.Usage = ownkey.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
				CachedTokens: u.PromptTokensDetails.CachedTokens, CacheWriteTokens: u.PromptTokensDetails.CacheWriteTokens,
				ReasoningTokens: u.CompletionTokensDetails.ReasoningTokens, Source: ownkey.UsageFromProvider}
		}
		for _, ch := range c.Choices {
			m := ch.Delta
			if !stream {
				m = ch.Message
			}
			if m.Content != nil {
				a.Content += *m.Content
			}
			a.Reasoning += m.ReasoningContent
			for i, tc := range m.ToolCalls {
				idx := tc.Index
				if !stream {
					idx = i
				}
				for len(a.Tools) <= idx {
					a.Tools = append(a.Tools, Call{})
				}
				call := &a.Tools[idx]
				if tc.ID != "" {
					if call.ID != "" || tc.Type != "function" || tc.Function.Name == "" {
						t.Fatalf("tool call %d opened twice or without type and name: %s", idx, raw)
					}
					call.ID, call.Name = tc.ID, tc.Function.Name
				}
				call.Args += tc.Function.Arguments
			}
			if ch.FinishReason != nil {
				if a.Finish != "" {
					t.Fatalf("two finish reasons")
				}
				a.Finish = *ch.FinishReason
			}
		}
	}
	if usages != 1 {
		t.Fatalf("%d chunks carry usage, want exactly 1", usages)
	}
	return a
}

// SameJSON reports whether a and b are the same JSON value, failing t if
// either is not JSON.
func SameJSON(t testing.TB, a, b string) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal([]byte(a), &va); err != nil {
		t.Fatalf("%q is not JSON: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		t.Fatalf("expected %q is not JSON: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}
