package gemini

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/internal/fixtures"
	"github.com/ownkey/ownkey/provider/providertest"
)

// expectation is what a recorded answer says, worked out from the fixture
// data alone, with encoding/json and without the adapter's code.
type expectation struct {
	content, reasoning string
	tools              []fixtureCall
	finish             string
	usage              ownkey.Usage
}

// fixtureCall is a function call: its name, its arguments and the thought
// signature Gemini attached (which the tool call id must carry).
type fixtureCall struct{ id, name, args, sig string }

// fixtureFinish is the finish_reason table of the package comment, written
// out again.
var fixtureFinish = map[string]string{
	"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
	"BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
	"IMAGE_SAFETY": "content_filter",
}

type fixtureResponse struct {
	Candidates []struct {
		Content struct {
			Parts []struct {
				Text         *string `json:"text"`
				Thought      bool    `json:"thought"`
				Signature    string  `json:"thoughtSignature"`
				FunctionCall *struct {
					Name string          `json:"name"`
					Args json.RawMessage `json:"args"`
				} `json:"functionCall"`
			} `json:"parts"`
		} `json:"content"`
		FinishReason string `json:"finishReason"`
	} `json:"candidates"`
	Usage *struct {
		Prompt     int64 `json:"promptTokenCount"`
		Candidates int64 `json:"candidatesTokenCount"`
		Cached     int64 `json:"cachedContentTokenCount"`
		Thoughts   int64 `json:"thoughtsTokenCount"`
		ToolUse    int64 `json:"toolUsePromptTokenCount"`
	} `json:"usageMetadata"`
	ResponseID string `json:"responseId"`
}

// expect works out what a recorded answer, one response or a stream of
// them, says: the digest's formulas for usage, the last usage counting.
func expect(t *testing.T, payloads []string) expectation {
	t.Helper()
	var ex expectation
	reason := ""
	for _, p := range payloads {
		var r fixtureResponse
		if err := json.Unmarshal([]byte(p), &r); err != nil {
			t.Fatalf("fixture %s: %v", p, err)
		}
		for _, c := range r.Candidates[:min(1, len(r.Candidates))] {
			for _, part := range c.Content.Parts {
				switch {
				case part.FunctionCall != nil:
					args := string(part.FunctionCall.Args)
					if args == "" {
						args = "{}"
					}
					ex.tools = append(ex.tools, fixtureCall{name: part.FunctionCall.Name, args: args, sig: part.Signature,
						id: "call_" + r.ResponseID + "_" + itoa(len(ex.tools))})
				case part.Text != nil && part.Thought:
					ex.reasoning += *part.Text
				case part.Text != nil:
					ex.content += *part.Text
				}
			}
			if c.FinishReason != "" {
				reason = c.FinishReason
			}
		}
		if u := r.Usage; u != nil {
			ex.usage = ownkey.Usage{PromptTokens: u.Prompt + u.ToolUse, CachedTokens: u.Cached, CompletionTokens: u.Candidates + u.Thoughts,
				ReasoningTokens: u.Thoughts, Source: ownkey.UsageFromProvider}
		}
	}
	ex.finish = fixtureFinish[reason]
	if ex.finish == "" || ex.finish == "stop" {
		ex.finish = "stop"
		if len(ex.tools) > 0 {
			ex.finish = "tool_calls"
		}
	}
	return ex
}

// clientView decodes what the client got, stream or not, with
// encoding/json, the way an OpenAI client would read it.
func clientView(t *testing.T, body string, stream bool) expectation {
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
			CachedTokens int64 `json:"cached_tokens"`
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
	var ex expectation
	chunks := []string{body}
	if stream {
		payloads := dataPayloads(body)
		if payloads[len(payloads)-1] != done {
			t.Fatalf("stream does not end in [DONE]:\n%s", body)
		}
		chunks = payloads[:len(payloads)-1]
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
			ex.usage = ownkey.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, CachedTokens: u.PromptTokensDetails.CachedTokens,
				ReasoningTokens: u.CompletionTokensDetails.ReasoningTokens, Source: ownkey.UsageFromProvider}
		}
		for _, ch := range c.Choices {
			m := ch.Delta
			if !stream {
				m = ch.Message
			}
			if m.Content != nil {
				ex.content += *m.Content
			}
			ex.reasoning += m.ReasoningContent
			for i, tc := range m.ToolCalls {
				idx := tc.Index
				if !stream {
					idx = i
				}
				for len(ex.tools) <= idx {
					ex.tools = append(ex.tools, fixtureCall{})
				}
				call := &ex.tools[idx]
				if tc.ID != "" {
					if call.id != "" || tc.Type != "function" || tc.Function.Name == "" {
						t.Fatalf("tool call %d opened twice or without type and name: %s", idx, raw)
					}
					call.id, call.name = tc.ID, tc.Function.Name
				}
				call.args += tc.Function.Arguments
			}
			if ch.FinishReason != nil {
				if ex.finish != "" {
					t.Fatalf("two finish reasons")
				}
				ex.finish = *ch.FinishReason
			}
		}
	}
	if usages != 1 {
		t.Fatalf("%d chunks carry usage, want exactly 1", usages)
	}
	return ex
}

func compareExpectation(t *testing.T, got, want expectation) {
	t.Helper()
	if got.content != want.content || got.reasoning != want.reasoning || got.finish != want.finish || got.usage != want.usage {
		t.Fatalf("client saw content %q reasoning %q finish %q usage %+v\nfixture says content %q reasoning %q finish %q usage %+v",
			got.content, got.reasoning, got.finish, got.usage, want.content, want.reasoning, want.finish, want.usage)
	}
	if len(got.tools) != len(want.tools) {
		t.Fatalf("tool calls %+v, want %+v", got.tools, want.tools)
	}
	for i := range got.tools {
		g, w := got.tools[i], want.tools[i]
		// The id is stable and carries the call's signature.
		wantID := w.id
		if w.sig != "" {
			wantID += "__thought__" + w.sig
		}
		if g.id != wantID || g.name != w.name || !sameJSON(t, g.args, w.args) {
			t.Fatalf("tool call %d = %+v, want %+v (id %s)", i, g, w, wantID)
		}
	}
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal([]byte(a), &va); err != nil {
		t.Fatalf("arguments %q are not JSON: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		t.Fatalf("expected arguments %q are not JSON: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

const fixtureBody = `{"model":"gemini-3-pro-preview","messages":[{"role":"user","content":"hi"}]}`

// TestVercelFixtures replays vercel/ai's Gemini recordings (../shared, see
// internal/fixtures) through a fake Gemini that frames each chunk as Gemini
// does (\r\n\r\n, no [DONE]): the client must see what the recording says.
func TestVercelFixtures(t *testing.T) {
	replayFixtures(t, fixtures.Dir(t, "vercel-ai", "google"))
}

// TestOwnFixtures replays ownkey's own recordings-to-be (testdata): a
// cached prompt, which no public recording has, with thoughts and parallel
// function calls.
func TestOwnFixtures(t *testing.T) {
	replayFixtures(t, "testdata")
}

func replayFixtures(t *testing.T, dir string) {
	streams, _ := filepath.Glob(filepath.Join(dir, "*.chunks.txt"))
	messages, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(streams) == 0 || len(messages) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	for _, path := range streams {
		name := strings.TrimSuffix(filepath.Base(path), ".chunks.txt")
		t.Run("stream/"+name, func(t *testing.T) {
			lines := fixtures.Lines(t, path)
			up := providertest.NewUpstream(t, sseReply(frames(lines...)))
			res, rec, err := run(t, chatRequest(t, up.URL, withBody(fixtureBody), withModel("gemini-3-pro-preview"), withUsage))
			if err != nil || res.ErrorCode != "" {
				t.Fatalf("err %v, result %+v, body:\n%s", err, res, rec.Body.String())
			}
			want := expect(t, lines)
			compareExpectation(t, clientView(t, rec.Body.String(), true), want)
			if res.Usage != want.usage || res.FinishReason != want.finish {
				t.Fatalf("result %+v", res)
			}
		})
	}
	for _, path := range messages {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), `"error"`) {
			continue // TestVercelErrorFixture
		}
		t.Run("message/"+name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(200, string(raw)))
			res, rec, err := run(t, chatRequest(t, up.URL, withBody(fixtureBody), withModel("gemini-3-pro-preview"), nonStream))
			if err != nil {
				t.Fatal(err)
			}
			var compact strings.Builder
			want := expect(t, []string{compactJSON(t, raw, &compact)})
			compareExpectation(t, clientView(t, rec.Body.String(), false), want)
			if res.Usage != want.usage || res.FinishReason != want.finish {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

func compactJSON(t *testing.T, raw []byte, b *strings.Builder) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	b.Write(out)
	return b.String()
}

// The recorded 429: the status, Google's message and the RetryInfo delay as
// Retry-After.
func TestVercelErrorFixture(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(fixtures.Dir(t, "vercel-ai", "google"), "google-429-retry-info.json"))
	if err != nil {
		t.Fatal(err)
	}
	var recorded struct {
		Error struct {
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &recorded); err != nil {
		t.Fatal(err)
	}
	up := providertest.NewUpstream(t, providertest.JSONReply(429, string(raw)))
	_, _, err = run(t, chatRequest(t, up.URL))
	e, ok := err.(*ownkey.Error)
	if !ok || e.Status != 429 || e.Message != recorded.Error.Message || e.Type != recorded.Error.Status || e.RetryAfter != "35" {
		t.Fatalf("err %#v", err)
	}
}

// The recorded tool call, answered: the next request carries the recorded
// thought signature on the function call, and the function response is
// named after it.
func TestVercelToolRoundTrip(t *testing.T) {
	path := filepath.Join(fixtures.Dir(t, "vercel-ai", "google"), "google-tool-call.chunks.txt")
	lines := fixtures.Lines(t, path)
	want := expect(t, lines)
	if len(want.tools) != 1 || want.tools[0].sig == "" {
		t.Fatalf("the recording is not a signed tool call: %+v", want.tools)
	}
	up := providertest.NewUpstream(t, sseReply(frames(lines...)), sseReply(frames(chunk(textPart("Sunny."), "STOP", usageMeta(40, 2, 0, 0)))))
	_, rec, err := run(t, chatRequest(t, up.URL, withModel("gemini-3-pro-preview"), withUsage))
	if err != nil {
		t.Fatal(err)
	}
	got := clientView(t, rec.Body.String(), true)
	call := got.tools[0]
	body := `{"model":"gemini-3-pro-preview","messages":[{"role":"user","content":"Weather in San Francisco?"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":` + jsonString(call.id) + `,"type":"function","function":{"name":` + jsonString(call.name) + `,"arguments":` + jsonString(call.args) + `}}]},` +
		`{"role":"tool","tool_call_id":` + jsonString(call.id) + `,"content":"{\"weather\":\"sunny\"}"}],"stream":true}`
	if _, _, err := run(t, chatRequest(t, up.URL, withModel("gemini-3-pro-preview"), withBody(body))); err != nil {
		t.Fatal(err)
	}
	sent := string(up.Requests()[1].Body)
	wantSent := `{"contents":[{"role":"user","parts":[{"text":"Weather in San Francisco?"}]},` +
		`{"role":"model","parts":[{"functionCall":{"name":"weather","args":{"location":"San Francisco"}},"thoughtSignature":"` + want.tools[0].sig + `"}]},` +
		`{"role":"user","parts":[{"functionResponse":{"name":"weather","response":{"weather":"sunny"}}}]}]}`
	if sent != wantSent {
		t.Fatalf("second request\n%s\nwant\n%s", sent, wantSent)
	}
}
