package gemini

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/internal/fixtures"
	"github.com/ownkey/ownkey/provider/providertest"
)

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
// them, says, with encoding/json and without the adapter's code: the
// digest's formulas for usage (the last usage counting), and tool call ids
// as the package comment gives them, stable and carrying the call's thought
// signature.
func expect(t *testing.T, payloads []string) providertest.Answer {
	t.Helper()
	var a providertest.Answer
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
					id := "call_" + r.ResponseID + "_" + itoa(len(a.Tools))
					if part.Signature != "" {
						id += "__thought__" + part.Signature
					}
					a.Tools = append(a.Tools, providertest.Call{ID: id, Name: part.FunctionCall.Name, Args: args})
				case part.Text != nil && part.Thought:
					a.Reasoning += *part.Text
				case part.Text != nil:
					a.Content += *part.Text
				}
			}
			if c.FinishReason != "" {
				reason = c.FinishReason
			}
		}
		if u := r.Usage; u != nil {
			a.Usage = ownkey.Usage{PromptTokens: u.Prompt + u.ToolUse, CachedTokens: u.Cached, CompletionTokens: u.Candidates + u.Thoughts,
				ReasoningTokens: u.Thoughts, Source: ownkey.UsageFromProvider}
		}
	}
	a.Finish = fixtureFinish[reason]
	if a.Finish == "" || a.Finish == "stop" {
		a.Finish = "stop"
		if len(a.Tools) > 0 {
			a.Finish = "tool_calls"
		}
	}
	return a
}

func compareAnswer(t *testing.T, got, want providertest.Answer) {
	t.Helper()
	if got.Content != want.Content || got.Reasoning != want.Reasoning || got.Finish != want.Finish || got.Usage != want.Usage {
		t.Fatalf("client saw content %q reasoning %q finish %q usage %+v\nfixture says content %q reasoning %q finish %q usage %+v",
			got.Content, got.Reasoning, got.Finish, got.Usage, want.Content, want.Reasoning, want.Finish, want.Usage)
	}
	if len(got.Tools) != len(want.Tools) {
		t.Fatalf("tool calls %+v, want %+v", got.Tools, want.Tools)
	}
	for i := range got.Tools {
		if g, w := got.Tools[i], want.Tools[i]; g.ID != w.ID || g.Name != w.Name || !providertest.SameJSON(t, g.Args, w.Args) {
			t.Fatalf("tool call %d = %+v, want %+v", i, g, w)
		}
	}
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
			compareAnswer(t, providertest.ReadAnswer(t, rec.Body.String(), true), want)
			if res.Usage != want.Usage || res.FinishReason != want.Finish {
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
			compareAnswer(t, providertest.ReadAnswer(t, rec.Body.String(), false), want)
			if res.Usage != want.Usage || res.FinishReason != want.Finish {
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
	if len(want.Tools) != 1 || !strings.Contains(want.Tools[0].ID, "__thought__") {
		t.Fatalf("the recording is not a signed tool call: %+v", want.Tools)
	}
	up := providertest.NewUpstream(t, sseReply(frames(lines...)), sseReply(frames(chunk(textPart("Sunny."), "STOP", usageMeta(40, 2, 0, 0)))))
	_, rec, err := run(t, chatRequest(t, up.URL, withModel("gemini-3-pro-preview"), withUsage))
	if err != nil {
		t.Fatal(err)
	}
	call := providertest.ReadAnswer(t, rec.Body.String(), true).Tools[0]
	body := `{"model":"gemini-3-pro-preview","messages":[{"role":"user","content":"Weather in San Francisco?"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":` + jsonString(call.ID) + `,"type":"function","function":{"name":` + jsonString(call.Name) + `,"arguments":` + jsonString(call.Args) + `}}]},` +
		`{"role":"tool","tool_call_id":` + jsonString(call.ID) + `,"content":"{\"weather\":\"sunny\"}"}],"stream":true}`
	if _, _, err := run(t, chatRequest(t, up.URL, withModel("gemini-3-pro-preview"), withBody(body))); err != nil {
		t.Fatal(err)
	}
	sent := string(up.Requests()[1].Body)
	wantSent := `{"contents":[{"role":"user","parts":[{"text":"Weather in San Francisco?"}]},` +
		`{"role":"model","parts":[{"functionCall":{"name":"weather","args":{"location":"San Francisco"}},"thoughtSignature":"` + strings.SplitN(want.Tools[0].ID, "__thought__", 2)[1] + `"}]},` +
		`{"role":"user","parts":[{"functionResponse":{"name":"weather","response":{"weather":"sunny"}}}]}]}`
	if sent != wantSent {
		t.Fatalf("second request\n%s\nwant\n%s", sent, wantSent)
	}
}
