package usage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ownkey/ownkey/internal/fixtures"
)

// Readers of the recordings in ../shared/fixtures, each into what the
// answer delivered and what its provider reported. They are written with
// encoding/json, independently of the adapters, so that the measurement
// does not depend on a family's translation being right.

// handWritten are the recordings vercel wrote by hand (fixtures/README.md):
// their usage is made up, not a provider's.
var handWritten = map[string]bool{
	"amazon-bedrock/amazon-bedrock-tool-call.1.json":       true,
	"amazon-bedrock/amazon-bedrock-tool-call.1.chunks.txt": true,
	"anthropic/anthropic-refusal.json":                     true,
	"anthropic/anthropic-refusal.chunks.txt":               true,
}

// cut are recordings whose answer was shortened when it was recorded: the
// usage counts text that is not there.
var cut = map[string]string{
	"perplexity/perplexity-text.chunks.txt": "the recording keeps 8 of the stream's chunks (22 bytes of text) while its usage counts the whole answer (434 tokens)",
}

// vercelSamples reads every vercel/ai recording with usage.
func vercelSamples(t *testing.T) []*sample {
	dir := fixtures.Dir(t, "vercel-ai")
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	if len(paths) == 0 {
		t.Fatalf("no recordings in %s", dir)
	}
	var out []*sample
	for _, path := range paths {
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		folder := filepath.Base(filepath.Dir(path))
		name := "vercel/" + rel
		source := "../shared/fixtures/vercel-ai/" + rel + " (vercel/ai, Apache-2.0)"
		var events [][]byte
		if strings.HasSuffix(path, ".chunks.txt") {
			for _, l := range fixtures.Lines(t, path) {
				events = append(events, []byte(l))
			}
		} else {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			events = [][]byte{b}
		}
		var got []*sample
		switch folder {
		case "openai-chat", "groq", "deepseek", "perplexity", "xai-compat":
			got = []*sample{readOpenAIChat(t, events)}
		case "anthropic":
			got = []*sample{readAnthropic(t, events)}
		case "amazon-bedrock":
			got = []*sample{readBedrock(t, events)}
		case "google":
			got = []*sample{readGemini(t, events)}
		case "openai-responses", "azure":
			got = readResponses(t, events)
		default:
			t.Fatalf("%s: no reader for the folder %s", rel, folder)
		}
		for i, s := range got {
			s.name, s.source, s.provider = name, source, folder
			if len(got) > 1 {
				s.name = fmt.Sprintf("%s#%d", name, i+1)
			}
			switch {
			case handWritten[rel]:
				s.skipPrompt = "written by hand by vercel (fixtures/README.md), its usage is not a provider's"
				s.skipCompletion = s.skipPrompt
			case cut[rel] != "":
				s.skipCompletion = cut[rel]
			case s.prompt < 0 && s.completion < 0:
				s.skipPrompt, s.skipCompletion = "an error answer, no usage", "an error answer, no usage"
			}
			out = append(out, s)
		}
	}
	return out
}

// cassetteSamples reads the anthropic-sdk-go cassettes: Anthropic's own
// SDK's requests, rewritten as the OpenAI request that says the same, and
// Anthropic's answers.
func cassetteSamples(t *testing.T) []*sample {
	var out []*sample
	for _, c := range fixtures.Cassettes(t) {
		for i, it := range c.Interactions {
			req, stream := fixtures.OpenAIFromAnthropic(t, it.Request)
			var events [][]byte
			if stream {
				for _, d := range fixtures.SSEData(it.Response) {
					events = append(events, []byte(d))
				}
			} else {
				events = [][]byte{[]byte(it.Response)}
			}
			s := readAnthropic(t, events)
			s.name = fmt.Sprintf("anthropic-sdk-go/%s#%d", c.Name, i+1)
			s.source = fmt.Sprintf("../shared/fixtures/anthropic-sdk-go/%s.yaml, interaction %d (anthropics/anthropic-sdk-go, MIT; the request as the OpenAI request)", c.Name, i+1)
			s.provider = "anthropic-sdk-go"
			s.request = []byte(req)
			out = append(out, s)
		}
	}
	return out
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%.80s: %v", b, err)
	}
}

// compact is a JSON value as compact text, "{}" for nothing.
func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil || b.Len() == 0 || b.String() == "null" {
		return "{}"
	}
	return b.String()
}

// calls accumulates tool calls by index, as their fragments arrive.
type calls struct {
	byIndex map[int]*call
	order   []int
}

func (c *calls) at(i int) *call {
	if c.byIndex == nil {
		c.byIndex = map[int]*call{}
	}
	if c.byIndex[i] == nil {
		c.byIndex[i] = &call{}
		c.order = append(c.order, i)
	}
	return c.byIndex[i]
}

func (c *calls) list() []call {
	var out []call
	for _, i := range c.order {
		out = append(out, *c.byIndex[i])
	}
	return out
}

func readOpenAIChat(t *testing.T, events [][]byte) *sample {
	s := &sample{prompt: -1, completion: -1}
	var cs calls
	for _, e := range events {
		var chunk struct {
			Model   string
			Choices []struct {
				Delta, Message *struct {
					Content          *string
					ReasoningContent *string `json:"reasoning_content"`
					Reasoning        *string
					ToolCalls        []struct {
						Index    *int
						Function struct{ Name, Arguments string }
					} `json:"tool_calls"`
				}
			}
			Usage *struct {
				PromptTokens            int64 `json:"prompt_tokens"`
				CompletionTokens        int64 `json:"completion_tokens"`
				TotalTokens             int64 `json:"total_tokens"`
				CompletionTokensDetails struct {
					ReasoningTokens int64 `json:"reasoning_tokens"`
				} `json:"completion_tokens_details"`
			}
		}
		decode(t, e, &chunk)
		if s.model == "" {
			s.model = chunk.Model
		}
		for _, ch := range chunk.Choices {
			d := ch.Delta
			if d == nil {
				d = ch.Message
			}
			if d == nil {
				continue
			}
			if d.Content != nil && *d.Content != "" {
				s.text = append(s.text, *d.Content)
			}
			if d.ReasoningContent != nil && *d.ReasoningContent != "" {
				s.reasoning = append(s.reasoning, *d.ReasoningContent)
			} else if d.Reasoning != nil && *d.Reasoning != "" {
				s.reasoning = append(s.reasoning, *d.Reasoning)
			}
			for i, tc := range d.ToolCalls {
				if tc.Index != nil {
					i = *tc.Index
				}
				c := cs.at(i)
				c.name += tc.Function.Name
				c.args += tc.Function.Arguments
			}
		}
		if u := chunk.Usage; u != nil && u.PromptTokens+u.CompletionTokens > 0 {
			s.prompt = u.PromptTokens
			// Billed output: xAI leaves reasoning out of completion_tokens
			// (the total holds it), OpenAI counts it in.
			s.completion = max(u.CompletionTokens, u.TotalTokens-u.PromptTokens)
		}
	}
	s.calls = cs.list()
	return s
}

func readAnthropic(t *testing.T, events [][]byte) *sample {
	s := &sample{prompt: -1, completion: -1}
	var cs calls
	type usage struct {
		InputTokens         *int64 `json:"input_tokens"`
		OutputTokens        *int64 `json:"output_tokens"`
		CacheCreationTokens int64  `json:"cache_creation_input_tokens"`
		CacheReadTokens     int64  `json:"cache_read_input_tokens"`
	}
	type block struct {
		Type, Text, Thinking, Name string
		Input                      json.RawMessage
	}
	take := func(u *usage) {
		if u == nil {
			return
		}
		if u.InputTokens != nil {
			s.prompt = *u.InputTokens + u.CacheCreationTokens + u.CacheReadTokens
		}
		if u.OutputTokens != nil {
			s.completion = *u.OutputTokens
		}
	}
	addBlock := func(i int, b block, whole bool) {
		switch b.Type {
		case "text":
			if b.Text != "" {
				s.text = append(s.text, b.Text)
			}
		case "thinking":
			if b.Thinking != "" {
				s.reasoning = append(s.reasoning, b.Thinking)
			}
		case "tool_use":
			c := cs.at(i)
			c.name = b.Name
			if whole || len(bytes.TrimSpace(b.Input)) > 2 {
				c.args = compact(b.Input)
			}
		}
	}
	for _, e := range events {
		var ev struct {
			Type    string
			Model   string
			Content []block
			Usage   *usage
			Message *struct {
				Model string
				Usage *usage
			}
			Index        int
			ContentBlock *block `json:"content_block"`
			Delta        *struct {
				Type, Text, Thinking string
				PartialJSON          string `json:"partial_json"`
			}
		}
		decode(t, e, &ev)
		switch ev.Type {
		case "message": // a whole answer
			s.model = ev.Model
			for i, b := range ev.Content {
				addBlock(i, b, true)
			}
			take(ev.Usage)
		case "message_start":
			s.model = ev.Message.Model
			take(ev.Message.Usage)
		case "content_block_start":
			addBlock(ev.Index, *ev.ContentBlock, false)
		case "content_block_delta":
			switch ev.Delta.Type {
			case "text_delta":
				s.text = append(s.text, ev.Delta.Text)
			case "thinking_delta":
				s.reasoning = append(s.reasoning, ev.Delta.Thinking)
			case "input_json_delta":
				cs.at(ev.Index).args += ev.Delta.PartialJSON
			}
		case "message_delta":
			take(ev.Usage)
		}
	}
	s.calls = cs.list()
	return s
}

func readBedrock(t *testing.T, events [][]byte) *sample {
	s := &sample{prompt: -1, completion: -1}
	var cs calls
	type usage struct {
		InputTokens, OutputTokens             *int64
		CacheReadInputTokens, CacheWriteInput int64
	}
	take := func(u *usage) {
		if u != nil && u.InputTokens != nil && u.OutputTokens != nil {
			s.prompt = *u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInput
			s.completion = *u.OutputTokens
		}
	}
	for _, e := range events {
		var ev struct {
			Output *struct {
				Message struct {
					Content []struct {
						Text             string
						ReasoningContent *struct {
							ReasoningText struct{ Text string }
						}
						ToolUse *struct {
							Name  string
							Input json.RawMessage
						}
					}
				}
			}
			Usage             *usage
			ContentBlockStart *struct {
				ContentBlockIndex int
				Start             struct {
					ToolUse *struct{ Name string }
				}
			}
			ContentBlockDelta *struct {
				ContentBlockIndex int
				Delta             struct {
					Text             string
					ReasoningContent *struct{ Text string }
					ToolUse          *struct{ Input string }
				}
			}
			Metadata *struct{ Usage *usage }
		}
		decode(t, e, &ev)
		if o := ev.Output; o != nil {
			for i, c := range o.Message.Content {
				switch {
				case c.ToolUse != nil:
					*cs.at(i) = call{c.ToolUse.Name, compact(c.ToolUse.Input)}
				case c.ReasoningContent != nil:
					s.reasoning = append(s.reasoning, c.ReasoningContent.ReasoningText.Text)
				case c.Text != "":
					s.text = append(s.text, c.Text)
				}
			}
			take(ev.Usage)
		}
		if b := ev.ContentBlockStart; b != nil && b.Start.ToolUse != nil {
			cs.at(b.ContentBlockIndex).name = b.Start.ToolUse.Name
		}
		if d := ev.ContentBlockDelta; d != nil {
			switch {
			case d.Delta.ToolUse != nil:
				cs.at(d.ContentBlockIndex).args += d.Delta.ToolUse.Input
			case d.Delta.ReasoningContent != nil && d.Delta.ReasoningContent.Text != "":
				s.reasoning = append(s.reasoning, d.Delta.ReasoningContent.Text)
			case d.Delta.Text != "":
				s.text = append(s.text, d.Delta.Text)
			}
		}
		if ev.Metadata != nil {
			take(ev.Metadata.Usage)
		}
	}
	s.calls = cs.list()
	return s
}

func readGemini(t *testing.T, events [][]byte) *sample {
	s := &sample{prompt: -1, completion: -1}
	var thoughts int64
	thoughtsShown := false
	for _, e := range events {
		var ev struct {
			Candidates []struct {
				Content struct {
					Parts []struct {
						Text         string
						Thought      bool
						FunctionCall *struct {
							Name string
							Args json.RawMessage
						}
					}
				}
			}
			UsageMetadata *struct {
				PromptTokenCount, CandidatesTokenCount, ThoughtsTokenCount int64
			}
			ModelVersion string
		}
		decode(t, e, &ev)
		if ev.ModelVersion != "" {
			s.model = ev.ModelVersion
		}
		for _, c := range ev.Candidates[:min(1, len(ev.Candidates))] {
			for _, p := range c.Content.Parts {
				switch {
				case p.FunctionCall != nil:
					s.calls = append(s.calls, call{p.FunctionCall.Name, compact(p.FunctionCall.Args)})
				case p.Thought && p.Text != "":
					thoughtsShown = true
					s.reasoning = append(s.reasoning, p.Text)
				case p.Text != "":
					s.text = append(s.text, p.Text)
				}
			}
		}
		if u := ev.UsageMetadata; u != nil {
			s.prompt = u.PromptTokenCount
			s.completion = u.CandidatesTokenCount + u.ThoughtsTokenCount
			thoughts = u.ThoughtsTokenCount
		}
	}
	if !thoughtsShown {
		s.hiddenReasoning = thoughts
	}
	return s
}

// readResponses reads OpenAI Responses answers: a whole response, or a
// stream, which may hold several responses one after the other.
func readResponses(t *testing.T, events [][]byte) []*sample {
	type usage struct {
		InputTokens        int64 `json:"input_tokens"`
		OutputTokens       int64 `json:"output_tokens"`
		OutputTokensDetail struct {
			ReasoningTokens int64 `json:"reasoning_tokens"`
		} `json:"output_tokens_details"`
	}
	type item struct {
		Type, Name, Arguments string
		Content               []struct{ Type, Text string }
		Summary               []struct{ Text string }
	}
	type response struct {
		Model  string
		Output []item
		Usage  *usage
	}
	var out []*sample
	s := &sample{prompt: -1, completion: -1}
	var cs calls
	finish := func(model string, u *usage) {
		s.model = model
		s.calls = cs.list()
		if u != nil {
			s.prompt, s.completion = u.InputTokens, u.OutputTokens
			// The summary delivered is not the reasoning billed.
			s.hiddenReasoning = u.OutputTokensDetail.ReasoningTokens
		}
		out = append(out, s)
		s, cs = &sample{prompt: -1, completion: -1}, calls{}
	}
	for _, e := range events {
		var ev struct {
			Type        string
			Delta       string
			OutputIndex int `json:"output_index"`
			Item        *item
			Response    *response
			// A whole response.
			Object string
			response
			Error json.RawMessage
		}
		decode(t, e, &ev)
		switch ev.Type {
		case "response.output_text.delta":
			s.text = append(s.text, ev.Delta)
		case "response.reasoning_summary_text.delta":
			s.reasoning = append(s.reasoning, ev.Delta)
		case "response.output_item.added":
			if ev.Item.Type == "function_call" {
				cs.at(ev.OutputIndex).name = ev.Item.Name
			}
		case "response.function_call_arguments.delta":
			cs.at(ev.OutputIndex).args += ev.Delta
		case "response.completed", "response.incomplete", "response.failed":
			finish(ev.Response.Model, ev.Response.Usage)
		case "":
			if ev.Object != "response" {
				finish("", nil) // an error body
				continue
			}
			for i, it := range ev.Output {
				switch it.Type {
				case "message":
					for _, c := range it.Content {
						if c.Type == "output_text" {
							s.text = append(s.text, c.Text)
						}
					}
				case "reasoning":
					for _, sm := range it.Summary {
						s.reasoning = append(s.reasoning, sm.Text)
					}
				case "function_call":
					*cs.at(i) = call{it.Name, it.Arguments}
				}
			}
			finish(ev.Model, ev.Usage)
		}
	}
	if len(out) == 0 {
		finish("", nil) // a stream that ended without a response
	}
	return out
}
