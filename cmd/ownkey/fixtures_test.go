package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/ownkey/ownkey/internal/fixtures"
)

// TestReplayRecordedStreams replays real recorded OpenAI-compatible streams
// through the whole gateway to the official SDK, and checks the text, tool
// calls, finish reason and usage against values computed from the fixture
// itself.
func TestReplayRecordedStreams(t *testing.T) {
	dir := fixtures.Dir(t, "vercel-ai")
	files := []string{
		"openai-chat/openai-text.chunks.txt", "groq/groq-text.chunks.txt", "groq/groq-tool-call.chunks.txt",
		"deepseek/deepseek-text.chunks.txt", "perplexity/perplexity-text.chunks.txt",
		"xai-compat/xai-text.chunks.txt",
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			lines := fixtures.Lines(t, filepath.Join(dir, name))
			want := expectFromChunks(t, lines)
			events := make([]string, 0, len(lines)+1)
			for _, l := range lines {
				events = append(events, "data: "+l)
			}
			events = append(events, "data: [DONE]")
			up := newFakeOpenAI(t, sseReply(events, "\n\n"))
			g, key, id := chatGateway(t, up.srv.URL, nil)
			client := sdkClient(g, key, option.WithHeader("x-byok-provider", "groq"))
			stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
				Model:         "replayed-model",
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("replay")},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			})
			acc, usageChunks := readSDKStream(t, stream)
			got := acc.Choices[0]
			if got.Message.Content != want.text || string(got.FinishReason) != want.finish {
				t.Fatalf("text %q finish %q, want %q %q", got.Message.Content, got.FinishReason, want.text, want.finish)
			}
			if len(got.Message.ToolCalls) != len(want.tools) {
				t.Fatalf("%d tool calls, want %d", len(got.Message.ToolCalls), len(want.tools))
			}
			for i, tc := range got.Message.ToolCalls {
				if tc.Function.Name != want.tools[i][0] || tc.Function.Arguments != want.tools[i][1] {
					t.Fatalf("tool call %d: %s(%s), want %s(%s)", i, tc.Function.Name, tc.Function.Arguments, want.tools[i][0], want.tools[i][1])
				}
			}
			if usageChunks != 1 || acc.Usage.PromptTokens != want.prompt || acc.Usage.CompletionTokens != want.completion {
				t.Fatalf("usage chunks %d, usage %d/%d, want 1 and %d/%d", usageChunks, acc.Usage.PromptTokens, acc.Usage.CompletionTokens, want.prompt, want.completion)
			}
			rec := g.usageRecords(t, id, 1)[0]
			if rec.Usage.PromptTokens != want.prompt || rec.Usage.CompletionTokens < want.completion {
				t.Fatalf("stored usage %+v, want prompt %d completion ≥ %d", rec.Usage, want.prompt, want.completion)
			}
		})
	}
}

// readSDKStream reads an SDK stream to its end, failing the test if it
// ends in an error, and returns what it accumulated and how many chunks
// carried usage.
func readSDKStream(t *testing.T, stream *ssestream.Stream[openai.ChatCompletionChunk]) (openai.ChatCompletionAccumulator, int) {
	t.Helper()
	acc := openai.ChatCompletionAccumulator{}
	usageChunks := 0
	for stream.Next() {
		c := stream.Current()
		acc.AddChunk(c)
		if c.JSON.Usage.Valid() && c.Usage.TotalTokens > 0 {
			usageChunks++
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	return acc, usageChunks
}

type expected struct {
	text, finish       string
	tools              [][2]string
	prompt, completion int64
}

// expectFromChunks computes what a client should see from the raw chunks,
// with encoding/json, independently of the gateway.
func expectFromChunks(t *testing.T, lines []string) expected {
	var e expected
	type call struct{ name, args string }
	calls := map[int]*call{}
	order := []int{}
	for _, l := range lines {
		var c struct {
			Choices []struct {
				Delta struct {
					Content   string `json:"content"`
					ToolCalls []struct {
						Index    int `json:"index"`
						Function struct {
							Name      string `json:"name"`
							Arguments string `json:"arguments"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				Prompt     int64 `json:"prompt_tokens"`
				Completion int64 `json:"completion_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatalf("fixture line: %v", err)
		}
		for _, ch := range c.Choices {
			e.text += ch.Delta.Content
			for _, tc := range ch.Delta.ToolCalls {
				if calls[tc.Index] == nil {
					calls[tc.Index] = &call{}
					order = append(order, tc.Index)
				}
				calls[tc.Index].name += tc.Function.Name
				calls[tc.Index].args += tc.Function.Arguments
			}
			if ch.FinishReason != nil && *ch.FinishReason != "" {
				e.finish = *ch.FinishReason
			}
		}
		if c.Usage != nil && (c.Usage.Prompt != 0 || c.Usage.Completion != 0) {
			e.prompt, e.completion = c.Usage.Prompt, c.Usage.Completion
		}
	}
	for _, i := range order {
		e.tools = append(e.tools, [2]string{calls[i].name, calls[i].args})
	}
	return e
}
