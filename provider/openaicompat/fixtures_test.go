package openaicompat

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/internal/fixtures"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
	"github.com/ownkey/ownkey/sse"
)

// fixtureProviders names the vercel/ai recordings replayed here (see the
// README beside them): fixture directory → catalog id.
var fixtureProviders = map[string]string{
	"openai-chat": "openai",
	"groq":        "groq",
	"deepseek":    "openai", // not in the catalog; same wire
	"perplexity":  "openai", // the catalog's perplexity is the search API
	"xai-compat":  "openai",
}

// wireChunk is the part of a chunk or response the tests check, decoded
// with encoding/json, independently of the adapter's gjson reading.
type wireChunk struct {
	ID      string          `json:"id"`
	Model   string          `json:"model"`
	Usage   json.RawMessage `json:"usage"`
	Choices []struct {
		Index        int      `json:"index"`
		Delta        wireText `json:"delta"`
		Message      wireText `json:"message"`
		FinishReason *string  `json:"finish_reason"`
	} `json:"choices"`
}

type wireText struct {
	Content          *string `json:"content"`
	ReasoningContent *string `json:"reasoning_content"`
	Reasoning        *string `json:"reasoning"`
	ToolCalls        []struct {
		Index    int    `json:"index"`
		ID       string `json:"id"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

type toolCall struct{ id, name, args string }

// transcript accumulates what a sequence of chunks says.
type transcript struct {
	text, reasoning string
	tools           map[int]*toolCall
	finish          string
	model           string
	usage           json.RawMessage // last non-null, non-zero
}

func (tr *transcript) add(t *testing.T, c wireChunk, stream bool) {
	t.Helper()
	if tr.model == "" {
		tr.model = c.Model
	}
	if hasUsage(c.Usage) && !usageIsZero(t, c.Usage) {
		tr.usage = c.Usage
	}
	for i, ch := range c.Choices {
		d := ch.Delta
		if !stream {
			d = ch.Message
		}
		if d.Content != nil {
			tr.text += *d.Content
		}
		switch {
		case d.ReasoningContent != nil && *d.ReasoningContent != "":
			tr.reasoning += *d.ReasoningContent
		case d.Reasoning != nil:
			tr.reasoning += *d.Reasoning
		}
		for _, tc := range d.ToolCalls {
			if tr.tools == nil {
				tr.tools = map[int]*toolCall{}
			}
			call := tr.tools[tc.Index]
			if call == nil {
				call = &toolCall{}
				tr.tools[tc.Index] = call
			}
			call.id += tc.ID
			call.name += tc.Function.Name
			call.args += tc.Function.Arguments
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" && (stream || i == 0) {
			tr.finish = *ch.FinishReason
		}
	}
}

// outputBytes is what the accounting counts: text, reasoning, and each
// tool call's name and arguments.
func (tr *transcript) outputBytes() int64 {
	n := len(tr.text) + len(tr.reasoning)
	for _, c := range tr.tools {
		n += len(c.name) + len(c.args)
	}
	return int64(n)
}

func hasUsage(raw json.RawMessage) bool {
	return len(raw) > 0 && raw[0] == '{'
}

func usageIsZero(t *testing.T, raw json.RawMessage) bool {
	u := decodeUsage(t, raw)
	return u.PromptTokens == 0 && u.CompletionTokens == 0
}

type wireUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptCacheHit      int64 `json:"prompt_cache_hit_tokens"`
	PromptTokensDetails struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

func decodeUsage(t *testing.T, raw json.RawMessage) wireUsage {
	t.Helper()
	var u wireUsage
	if err := json.Unmarshal(raw, &u); err != nil {
		t.Fatalf("usage %s: %v", raw, err)
	}
	return u
}

// expectedUsage is the OpenAI-meaning usage of a recorded usage object.
func expectedUsage(t *testing.T, raw json.RawMessage) ownkey.Usage {
	if !hasUsage(raw) || usageIsZero(t, raw) {
		return ownkey.Usage{}
	}
	u := decodeUsage(t, raw)
	want := ownkey.Usage{
		PromptTokens:     u.PromptTokens,
		CompletionTokens: u.CompletionTokens,
		CachedTokens:     cmp.Or(u.PromptTokensDetails.CachedTokens, u.PromptCacheHit),
		CacheWriteTokens: u.PromptTokensDetails.CacheWriteTokens,
		ReasoningTokens:  u.CompletionTokensDetails.ReasoningTokens,
		Source:           ownkey.UsageFromProvider,
	}
	if r := want.ReasoningTokens; r > 0 && u.TotalTokens == u.PromptTokens+u.CompletionTokens+r {
		want.CompletionTokens += r // xAI leaves reasoning out of completion_tokens
	}
	return want
}

// knownTotals anchors the computed expectations to the numbers the protocol
// digest quotes for these recordings: prompt and OpenAI-meaning completion.
var knownTotals = map[string][2]int64{
	"openai-text.chunks.txt":     {16, 300},
	"groq-text.chunks.txt":       {45, 662},
	"groq-tool-call.chunks.txt":  {210, 15},
	"deepseek-text.chunks.txt":   {13, 400},
	"perplexity-text.chunks.txt": {11, 434},
	"xai-text.chunks.txt":        {12, 2 + 340},
}

func TestFixtureStreams(t *testing.T) {
	dir := fixtures.Dir(t, "vercel-ai")
	// Every listed provider's recordings are replayed: one gone missing
	// is a failure, not a smaller test.
	for sub, providerID := range fixtureProviders {
		files, _ := filepath.Glob(filepath.Join(dir, sub, "*.chunks.txt"))
		if len(files) == 0 {
			t.Errorf("no *.chunks.txt under %s", filepath.Join(dir, sub))
		}
		for _, path := range files {
			t.Run(sub+"/"+filepath.Base(path), func(t *testing.T) {
				replayStream(t, path, providerID)
			})
		}
	}
}

func replayStream(t *testing.T, path, providerID string) {
	lines := fixtures.Lines(t, path)
	var want transcript
	for _, l := range lines {
		var c wireChunk
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatalf("fixture line %.80s: %v", l, err)
		}
		want.add(t, c, true)
	}
	if want.usage == nil || want.finish == "" {
		t.Fatalf("fixture has no usage or no finish reason")
	}
	if tot, ok := knownTotals[filepath.Base(path)]; ok {
		if u := expectedUsage(t, want.usage); u.PromptTokens != tot[0] || u.CompletionTokens != tot[1] {
			t.Fatalf("expected usage %+v disagrees with the recorded totals %v", u, tot)
		}
	}

	up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(append(lines, "[DONE]")...)))
	res, rec, err := run(t, chatRequest(t, base(up), withProvider(providertest.Catalog(t, providerID)), withUsage))
	if err != nil {
		t.Fatal(err)
	}

	// What the client got, read back as any SSE client would.
	var events []string
	rd := sse.NewReader(bytes.NewReader(rec.Body.Bytes()), 0)
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		events = append(events, string(ev.Data))
	}
	if len(events) < 2 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("stream does not end in [DONE]: last events %q", events[max(0, len(events)-2):])
	}
	usageEvent := events[len(events)-2]
	forwarded := events[:len(events)-2]

	// Every upstream chunk reaches the client in order: byte for byte when
	// it had no usage, with only its usage member removed when it had, and
	// not at all when it was a usage-only chunk.
	var got transcript
	i := 0
	for _, l := range lines {
		var m map[string]any
		_ = json.Unmarshal([]byte(l), &m)
		if u, ok := m["usage"]; ok && u != nil {
			if ch, _ := m["choices"].([]any); len(ch) == 0 {
				continue
			}
			delete(m, "usage")
			var gotM map[string]any
			if i >= len(forwarded) || json.Unmarshal([]byte(forwarded[i]), &gotM) != nil || !reflect.DeepEqual(gotM, m) {
				t.Fatalf("chunk %d: got %.300s, want the upstream chunk without usage", i, forwarded[min(i, len(forwarded)-1)])
			}
		} else if i >= len(forwarded) || forwarded[i] != l {
			t.Fatalf("chunk %d not relayed byte for byte:\n got %.300s\nwant %.300s", i, forwarded[min(i, len(forwarded)-1)], l)
		}
		var c wireChunk
		_ = json.Unmarshal([]byte(forwarded[i]), &c)
		if hasUsage(c.Usage) {
			t.Fatalf("forwarded chunk %d still carries usage", i)
		}
		got.add(t, c, true)
		i++
	}
	if i != len(forwarded) {
		t.Fatalf("client got %d chunks before the usage chunk, want %d", len(forwarded), i)
	}

	// The one usage chunk: empty choices, the provider's last usage.
	var uc wireChunk
	if err := json.Unmarshal([]byte(usageEvent), &uc); err != nil || len(uc.Choices) != 0 || !hasUsage(uc.Usage) {
		t.Fatalf("usage chunk = %s", usageEvent)
	}
	var gotU, wantU any
	_ = json.Unmarshal(uc.Usage, &gotU)
	_ = json.Unmarshal(want.usage, &wantU)
	if !reflect.DeepEqual(gotU, wantU) {
		t.Fatalf("usage chunk carries %s, want %s", uc.Usage, want.usage)
	}

	if got.text != want.text || got.reasoning != want.reasoning || got.finish != want.finish || !reflect.DeepEqual(got.tools, want.tools) {
		t.Fatalf("client transcript differs from the recording")
	}
	if wantUsage := expectedUsage(t, want.usage); res.Usage != wantUsage {
		t.Fatalf("result usage = %+v, want %+v", res.Usage, wantUsage)
	}
	if res.FinishReason != want.finish || res.ModelServed != want.model || res.OutputBytes != want.outputBytes() || res.OutputToolCalls != len(want.tools) || res.ErrorCode != "" {
		t.Fatalf("result = %+v; want finish %q, model %q, output bytes %d, %d tool calls", res, want.finish, want.model, want.outputBytes(), len(want.tools))
	}
	if wantSample := want.reasoning + want.text; len(wantSample) <= provider.SampleLimit && len(want.tools) == 0 &&
		len(res.OutputSample) != len(wantSample) {
		t.Fatalf("output sample is %d bytes, want %d", len(res.OutputSample), len(wantSample))
	}
}

func TestFixtureResponses(t *testing.T) {
	dir := fixtures.Dir(t, "vercel-ai")
	for sub, providerID := range fixtureProviders {
		files, _ := filepath.Glob(filepath.Join(dir, sub, "*.json"))
		seen := 0
		for _, path := range files {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var c wireChunk
			if err := json.Unmarshal(body, &c); err != nil || len(c.Choices) == 0 {
				continue // an error body, tested elsewhere
			}
			seen++
			t.Run(sub+"/"+filepath.Base(path), func(t *testing.T) {
				var want transcript
				want.add(t, c, false)
				up := providertest.NewUpstream(t, providertest.JSONReply(200, string(body)))
				res, rec, err := run(t, chatRequest(t, base(up), withProvider(providertest.Catalog(t, providerID)), nonStream))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(rec.Body.Bytes(), body) {
					t.Fatal("body not relayed byte for byte")
				}
				if wantUsage := expectedUsage(t, c.Usage); res.Usage != wantUsage {
					t.Fatalf("usage = %+v, want %+v", res.Usage, wantUsage)
				}
				if res.FinishReason != want.finish || res.ModelServed != want.model || res.OutputBytes != want.outputBytes() || res.OutputToolCalls != len(want.tools) {
					t.Fatalf("result = %+v; want finish %q, model %q, output bytes %d, %d tool calls", res, want.finish, want.model, want.outputBytes(), len(want.tools))
				}
			})
		}
		if seen == 0 {
			t.Errorf("no response fixtures under %s", filepath.Join(dir, sub))
		}
	}
}
