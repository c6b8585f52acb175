package bedrock

import (
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/internal/fixtures"
	"github.com/ownkey/ownkey/provider/providertest"
)

// The vercel/ai amazon-bedrock recordings, replayed through a fake Bedrock
// that sends them as real event-stream frames (and checks the request's
// signature). What the client must see is worked out from the recording
// alone, with encoding/json and without the adapter's code.

// fixtureFinish is the finish_reason table of the package comment, written
// out again.
var fixtureFinish = map[string]string{
	"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "model_context_window_exceeded": "length",
	"tool_use": "tool_calls", "guardrail_intervened": "content_filter", "content_filtered": "content_filter",
}

type fixtureUsage struct {
	InputTokens           int64 `json:"inputTokens"`
	OutputTokens          int64 `json:"outputTokens"`
	CacheReadInputTokens  int64 `json:"cacheReadInputTokens"`
	CacheWriteInputTokens int64 `json:"cacheWriteInputTokens"`
}

// usage is the digest's formula: prompt = input + cache read + cache
// write.
func (u fixtureUsage) usage() ownkey.Usage {
	return ownkey.Usage{
		PromptTokens:     u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens,
		CompletionTokens: u.OutputTokens,
		CachedTokens:     u.CacheReadInputTokens,
		CacheWriteTokens: u.CacheWriteInputTokens,
		Source:           ownkey.UsageFromProvider,
	}
}

// expectStream works out what a recorded ConverseStream says.
func expectStream(t *testing.T, lines []string) providertest.Answer {
	t.Helper()
	var a providertest.Answer
	tools := map[int]int{} // block index → tool call
	stop := ""
	for _, line := range lines {
		var ev struct {
			ContentBlockStart *struct {
				Index int `json:"contentBlockIndex"`
				Start struct {
					ToolUse *struct{ ToolUseID, Name string }
				}
			}
			ContentBlockDelta *struct {
				Index int `json:"contentBlockIndex"`
				Delta struct {
					Text             *string
					ToolUse          *struct{ Input string }
					ReasoningContent *struct{ Text string }
				}
			}
			MessageStop *struct{ StopReason string }
			Metadata    *struct{ Usage fixtureUsage }
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("fixture line %s: %v", line, err)
		}
		switch {
		case ev.ContentBlockStart != nil && ev.ContentBlockStart.Start.ToolUse != nil:
			u := ev.ContentBlockStart.Start.ToolUse
			tools[ev.ContentBlockStart.Index] = len(a.Tools)
			a.Tools = append(a.Tools, providertest.Call{ID: u.ToolUseID, Name: u.Name})
		case ev.ContentBlockDelta != nil:
			d := ev.ContentBlockDelta.Delta
			switch {
			case d.Text != nil:
				a.Content += *d.Text
			case d.ReasoningContent != nil:
				a.Reasoning += d.ReasoningContent.Text
			case d.ToolUse != nil:
				a.Tools[tools[ev.ContentBlockDelta.Index]].Args += d.ToolUse.Input
			}
		case ev.MessageStop != nil:
			stop = ev.MessageStop.StopReason
		case ev.Metadata != nil:
			a.Usage = ev.Metadata.Usage.usage()
		}
	}
	for i := range a.Tools {
		a.Tools[i].Args = cmp.Or(a.Tools[i].Args, "{}")
	}
	a.Finish = cmp.Or(fixtureFinish[stop], "stop")
	return a
}

// expectAnswer works out what a recorded Converse answer says.
func expectAnswer(t *testing.T, body []byte) providertest.Answer {
	t.Helper()
	var r struct {
		Output struct {
			Message struct {
				Content []struct {
					Text    string
					ToolUse *struct {
						ToolUseID, Name string
						Input           json.RawMessage
					}
					ReasoningContent *struct{ ReasoningText struct{ Text string } }
				}
			}
		}
		StopReason string
		Usage      fixtureUsage
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	var a providertest.Answer
	for _, b := range r.Output.Message.Content {
		switch {
		case b.ToolUse != nil:
			a.Tools = append(a.Tools, providertest.Call{ID: b.ToolUse.ToolUseID, Name: b.ToolUse.Name, Args: string(b.ToolUse.Input)})
		case b.ReasoningContent != nil:
			a.Reasoning += b.ReasoningContent.ReasoningText.Text
		default:
			a.Content += b.Text
		}
	}
	a.Finish = cmp.Or(fixtureFinish[r.StopReason], "stop")
	a.Usage = r.Usage.usage()
	return a
}

func compareAnswers(t *testing.T, got, want providertest.Answer) {
	t.Helper()
	if got.Content != want.Content || got.Reasoning != want.Reasoning || got.Finish != want.Finish || got.Usage != want.Usage {
		t.Fatalf("client saw content %q reasoning %q finish %q usage %+v\nrecording says content %q reasoning %q finish %q usage %+v",
			got.Content, got.Reasoning, got.Finish, got.Usage, want.Content, want.Reasoning, want.Finish, want.Usage)
	}
	if len(got.Tools) != len(want.Tools) {
		t.Fatalf("tool calls %+v, want %+v", got.Tools, want.Tools)
	}
	for i := range got.Tools {
		g, w := got.Tools[i], want.Tools[i]
		if g.ID != w.ID || g.Name != w.Name || !providertest.SameJSON(t, g.Args, w.Args) {
			t.Fatalf("tool call %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestVercelFixtures(t *testing.T) {
	dir := fixtures.Dir(t, "vercel-ai", "amazon-bedrock")
	streams, _ := filepath.Glob(filepath.Join(dir, "*.chunks.txt"))
	answers, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(streams) == 0 || len(answers) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	for _, path := range streams {
		name := strings.TrimSuffix(filepath.Base(path), ".chunks.txt")
		t.Run("stream/"+name, func(t *testing.T) {
			lines := fixtures.Lines(t, path)
			var fs [][]byte
			for _, l := range lines {
				fs = append(fs, providertest.BedrockFixtureFrame(t, l))
			}
			up := fakeBedrock(t, providertest.BedrockStream(fs...))
			res, rec, err := run(t, chatRequest(t, up.URL, withUsage))
			if err != nil || res.ErrorCode != "" {
				t.Fatalf("err %v, result %+v, body:\n%s", err, res, rec.Body.String())
			}
			want := expectStream(t, lines)
			compareAnswers(t, providertest.ReadAnswer(t, rec.Body.String(), true), want)
			if res.Usage != want.Usage || res.FinishReason != want.Finish {
				t.Fatalf("result %+v", res)
			}
		})
	}
	for _, path := range answers {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run("answer/"+name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			up := fakeBedrock(t, providertest.JSONReply(200, string(raw)))
			res, rec, err := run(t, chatRequest(t, up.URL, nonStream))
			if err != nil {
				t.Fatal(err)
			}
			want := expectAnswer(t, raw)
			compareAnswers(t, providertest.ReadAnswer(t, rec.Body.String(), false), want)
			if res.Usage != want.Usage || res.FinishReason != want.Finish {
				t.Fatalf("result %+v", res)
			}
		})
	}
}
