package azure

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/internal/fixtures"
	"github.com/ownkey/ownkey/provider/providertest"
	"github.com/ownkey/ownkey/sse"
)

// The recorded chat traffic of vercel/ai, replayed through the Azure chat
// family: Azure's chat is OpenAI's format, so OpenAI's recordings
// (openai-chat) are what its deployments send, and an Azure chat recording
// put under azure/ (such as vercel/ai's azure-model-router.1.chunks.txt,
// with its prompt_filter_results first chunk) is replayed too. The
// Responses recordings under azure/ belong to azure-responses and are
// skipped here.
var fixtureDirs = []string{"openai-chat", "azure"}

// fixtureChunk is what the replay checks of a chunk or answer, decoded with
// encoding/json, independently of the adapter's reading.
type fixtureChunk struct {
	Type    string          `json:"type"` // set on Responses events only
	Model   string          `json:"model"`
	Usage   json.RawMessage `json:"usage"`
	Error   json.RawMessage `json:"error"`
	Choices []struct {
		Delta        struct{ Content string } `json:"delta"`
		Message      struct{ Content string } `json:"message"`
		FinishReason string                   `json:"finish_reason"`
	} `json:"choices"`
}

func (c fixtureChunk) hasUsage() bool { return len(c.Usage) > 0 && c.Usage[0] == '{' }
func (c fixtureChunk) hasError() bool { return len(c.Error) > 0 && c.Error[0] == '{' }

func decodeChunk(t *testing.T, line string) fixtureChunk {
	t.Helper()
	var c fixtureChunk
	if err := json.Unmarshal([]byte(line), &c); err != nil {
		t.Fatalf("recording line %.80s: %v", line, err)
	}
	return c
}

// expectedUsage is ownkey's reading of a recorded OpenAI usage object.
func expectedUsage(t *testing.T, raw json.RawMessage) ownkey.Usage {
	t.Helper()
	var u struct {
		Prompt     int64 `json:"prompt_tokens"`
		Completion int64 `json:"completion_tokens"`
		Prompt2    struct {
			Cached int64 `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
		Completion2 struct {
			Reasoning int64 `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	}
	if err := json.Unmarshal(raw, &u); err != nil {
		t.Fatal(err)
	}
	return ownkey.Usage{PromptTokens: u.Prompt, CompletionTokens: u.Completion, CachedTokens: u.Prompt2.Cached,
		ReasoningTokens: u.Completion2.Reasoning, Source: ownkey.UsageFromProvider}
}

func TestFixtureStreams(t *testing.T) {
	root := fixtures.Dir(t, "vercel-ai")
	replayed := 0
	for _, dir := range fixtureDirs {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*.chunks.txt"))
		for _, path := range files {
			lines := fixtures.Lines(t, path)
			if decodeChunk(t, lines[0]).Type != "" {
				continue // a Responses stream
			}
			replayed++
			t.Run(dir+"/"+filepath.Base(path), func(t *testing.T) { replayStream(t, lines) })
		}
	}
	if replayed == 0 {
		t.Fatalf("no chat recording under %s/{%s}", root, strings.Join(fixtureDirs, ","))
	}
}

func replayStream(t *testing.T, lines []string) {
	// What the client must get: every chunk with a choice, byte for byte;
	// not the choice-less ones (Azure's prompt filter results, the usage
	// chunk, which ownkey writes once itself from the last usage seen).
	var want []string
	var text, finish, model string
	var usage json.RawMessage
	for _, l := range lines {
		c := decodeChunk(t, l)
		if model == "" {
			model = c.Model
		}
		if c.hasUsage() {
			usage = c.Usage
		}
		for _, ch := range c.Choices {
			text += ch.Delta.Content
			if ch.FinishReason != "" {
				finish = ch.FinishReason
			}
		}
		if len(c.Choices) > 0 {
			if c.hasUsage() {
				t.Fatalf("a chunk with usage and choices: the replay does not handle it: %.120s", l)
			}
			want = append(want, l)
		}
	}
	if usage == nil || finish == "" {
		t.Fatal("recording without usage or finish reason")
	}

	up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(append(lines, "[DONE]")...)))
	req := chatRequest(t, up.URL, "2024-10-21", true)
	res, rec, err := providertest.Run(t, family(true).Chat(), req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	rd := sse.NewReader(bytes.NewReader(rec.Body.Bytes()), 0)
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(ev.Data))
	}
	if len(got) < 2 || got[len(got)-1] != "[DONE]" {
		t.Fatalf("stream does not end in [DONE]: %q", got[max(0, len(got)-2):])
	}
	if !reflect.DeepEqual(got[:len(got)-2], want) {
		t.Fatalf("client got %d chunks before the usage chunk, want the %d recorded with a choice, byte for byte", len(got)-2, len(want))
	}
	uc := decodeChunk(t, got[len(got)-2])
	var gotU, wantU any
	_ = json.Unmarshal(uc.Usage, &gotU)
	_ = json.Unmarshal(usage, &wantU)
	if len(uc.Choices) != 0 || !reflect.DeepEqual(gotU, wantU) {
		t.Fatalf("usage chunk %s, want usage %s", got[len(got)-2], usage)
	}
	if res.Usage != expectedUsage(t, usage) || res.FinishReason != finish || res.ModelServed != model || res.ErrorCode != "" ||
		!strings.HasPrefix(text, string(res.OutputSample)) || res.OutputBytes != int64(len(text)) {
		t.Fatalf("result %+v; want usage %s, finish %q, model %q, %d output bytes", res, usage, finish, model, len(text))
	}
	if r := up.Only(t); r.Path != "/openai/deployments/gpt4o-prod/chat/completions" || r.Header.Get("Api-Key") != azureKey {
		t.Fatalf("sent to %s with api-key %q", r.Path, r.Header.Get("Api-Key"))
	}
}

func TestFixtureResponses(t *testing.T) {
	root := fixtures.Dir(t, "vercel-ai")
	replayed := 0
	for _, dir := range fixtureDirs {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*.json"))
		for _, path := range files {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c := decodeChunk(t, string(body))
			if len(c.Choices) == 0 && !c.hasError() {
				continue // a Responses object
			}
			replayed++
			t.Run(dir+"/"+filepath.Base(path), func(t *testing.T) {
				if c.hasError() {
					replayError(t, body)
					return
				}
				up := providertest.NewUpstream(t, providertest.JSONReply(200, string(body)))
				res, rec, err := providertest.Run(t, family(true).Chat(), chatRequest(t, up.URL, "v1", false))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(rec.Body.Bytes(), body) {
					t.Fatal("answer not relayed byte for byte")
				}
				if res.Usage != expectedUsage(t, c.Usage) || res.ModelServed != c.Model || res.FinishReason != c.Choices[0].FinishReason ||
					res.OutputBytes != int64(len(c.Choices[0].Message.Content)) {
					t.Fatalf("result %+v", res)
				}
				if r := up.Only(t); r.Path != "/openai/v1/chat/completions" || !strings.Contains(string(r.Body), `"model":"gpt4o-prod"`) {
					t.Fatalf("sent %s %s", r.Path, r.Body)
				}
			})
		}
	}
	if replayed == 0 {
		t.Fatalf("no chat answer recorded under %s/{%s}", root, strings.Join(fixtureDirs, ","))
	}
}

// replayError: a recorded error body, answered with 400, reaches the client
// with its message, type and code.
func replayError(t *testing.T, body []byte) {
	var e struct {
		Error struct{ Message, Type, Code string }
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	up := providertest.NewUpstream(t, providertest.JSONReply(http.StatusBadRequest, string(body)))
	_, _, err := providertest.Run(t, family(true).Chat(), chatRequest(t, up.URL, "2024-10-21", false))
	var got *ownkey.Error
	if !errors.As(err, &got) || ownkey.StatusOf(got) != http.StatusBadRequest || got.Message != e.Error.Message ||
		got.Type != e.Error.Type || got.Reason != e.Error.Code {
		t.Fatalf("err = %+v, want %+v", err, e.Error)
	}
}
