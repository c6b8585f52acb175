package anthropic

import (
	"cmp"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
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
	// contentIsJSON: content is a JSON answer re-serialized from a tool
	// input, to be compared as JSON.
	contentIsJSON bool
}

type fixtureCall struct{ id, name, args string }

// fixtureFinish is the finish_reason table of the package comment, written
// out again.
var fixtureFinish = map[string]string{
	"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop",
	"max_tokens": "length", "model_context_window_exceeded": "length",
	"tool_use": "tool_calls", "refusal": "content_filter",
}

// fixtureUsage holds a usage object's members as they came; objects such
// as cache_creation and nulls count for nothing.
type fixtureUsage map[string]json.RawMessage

func (u fixtureUsage) usage() ownkey.Usage {
	n := func(k string) int64 {
		var v int64
		_ = json.Unmarshal(u[k], &v)
		return v
	}
	return ownkey.Usage{
		PromptTokens:     n("input_tokens") + n("cache_creation_input_tokens") + n("cache_read_input_tokens"),
		CompletionTokens: n("output_tokens"),
		CachedTokens:     n("cache_read_input_tokens"),
		CacheWriteTokens: n("cache_creation_input_tokens"),
		Source:           ownkey.UsageFromProvider,
	}
}

type fixtureBlock struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	Thinking string          `json:"thinking"`
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Input    json.RawMessage `json:"input"`
}

// expectStream works out what an Anthropic event stream says.
func expectStream(t *testing.T, payloads []string, jsonMode bool) expectation {
	t.Helper()
	var ex expectation
	usage := fixtureUsage{}
	type block struct {
		fixtureBlock
		args strings.Builder
	}
	blocks := map[int]*block{}
	var order []int
	stop := ""
	for _, p := range payloads {
		var ev struct {
			Type         string       `json:"type"`
			Index        int          `json:"index"`
			ContentBlock fixtureBlock `json:"content_block"`
			Delta        struct {
				Type        string `json:"type"`
				Text        string `json:"text"`
				Thinking    string `json:"thinking"`
				PartialJSON string `json:"partial_json"`
				StopReason  string `json:"stop_reason"`
			} `json:"delta"`
			Message struct {
				Usage fixtureUsage `json:"usage"`
			} `json:"message"`
			Usage fixtureUsage `json:"usage"`
		}
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			t.Fatalf("fixture event %s: %v", p, err)
		}
		switch ev.Type {
		case "message_start":
			usage = ev.Message.Usage
		case "content_block_start":
			blocks[ev.Index] = &block{fixtureBlock: ev.ContentBlock}
			order = append(order, ev.Index)
		case "content_block_delta":
			b := blocks[ev.Index]
			switch ev.Delta.Type {
			case "text_delta":
				ex.content += ev.Delta.Text
			case "thinking_delta":
				ex.reasoning += ev.Delta.Thinking
			case "input_json_delta":
				b.args.WriteString(ev.Delta.PartialJSON)
			}
		case "message_delta":
			stop = ev.Delta.StopReason
			for k, v := range ev.Usage {
				if string(v) != "null" {
					usage[k] = v
				}
			}
		}
	}
	answered := false
	for _, i := range order {
		b := blocks[i]
		if b.Type != "tool_use" {
			continue
		}
		args := cmp.Or(b.args.String(), "{}")
		if jsonMode && b.Name == "json" {
			ex.content += args
			answered = true
			continue
		}
		ex.tools = append(ex.tools, fixtureCall{b.ID, b.Name, args})
	}
	ex.finish = cmp.Or(fixtureFinish[stop], "stop")
	if answered && len(ex.tools) == 0 {
		ex.finish = "stop"
	}
	ex.usage = usage.usage()
	return ex
}

// expectMessage works out what a non-streaming Anthropic message says.
func expectMessage(t *testing.T, body []byte, jsonMode bool) expectation {
	t.Helper()
	var msg struct {
		Content    []fixtureBlock `json:"content"`
		StopReason string         `json:"stop_reason"`
		Usage      fixtureUsage   `json:"usage"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	var ex expectation
	answered := false
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			if !jsonMode {
				ex.content += b.Text
			}
		case "thinking":
			ex.reasoning += b.Thinking
		case "tool_use":
			if jsonMode && b.Name == "json" {
				ex.content += string(b.Input)
				answered, ex.contentIsJSON = true, true
				continue
			}
			ex.tools = append(ex.tools, fixtureCall{b.ID, b.Name, string(b.Input)})
		}
	}
	ex.finish = cmp.Or(fixtureFinish[msg.StopReason], "stop")
	if answered && len(ex.tools) == 0 {
		ex.finish = "stop"
	}
	ex.usage = msg.Usage.usage()
	return ex
}

// clientView is what the client got, as an OpenAI client reads it.
func clientView(t *testing.T, body string, stream bool) expectation {
	t.Helper()
	a := providertest.ReadAnswer(t, body, stream)
	ex := expectation{content: a.Content, reasoning: a.Reasoning, finish: a.Finish, usage: a.Usage}
	for _, c := range a.Tools {
		ex.tools = append(ex.tools, fixtureCall{c.ID, c.Name, c.Args})
	}
	return ex
}

func compareExpectation(t *testing.T, got, want expectation) {
	t.Helper()
	sameContent := got.content == want.content || want.contentIsJSON && providertest.SameJSON(t, got.content, want.content)
	if !sameContent || got.reasoning != want.reasoning || got.finish != want.finish || got.usage != want.usage {
		t.Fatalf("client saw content %q reasoning %q finish %q usage %+v\nfixture says content %q reasoning %q finish %q usage %+v",
			got.content, got.reasoning, got.finish, got.usage, want.content, want.reasoning, want.finish, want.usage)
	}
	if len(got.tools) != len(want.tools) {
		t.Fatalf("tool calls %+v, want %+v", got.tools, want.tools)
	}
	for i := range got.tools {
		g, w := got.tools[i], want.tools[i]
		if g.id != w.id || g.name != w.name || !providertest.SameJSON(t, g.args, w.args) {
			t.Fatalf("tool call %d = %+v, want %+v", i, g, w)
		}
	}
}

// fixtureBody is the client request replayed against a fixture: a JSON
// response_format for the fixtures recorded with vercel's json tool.
func fixtureBody(name string, stream bool) (string, bool) {
	s := map[bool]string{true: "true", false: "false"}[stream]
	if strings.Contains(name, "json-tool") {
		return `{"model":"claude-x","messages":[{"role":"user","content":"hi"}],"stream":` + s + `,"response_format":{"type":"json_schema","json_schema":{"name":"w","schema":{"type":"object"}}}}`, true
	}
	return `{"model":"claude-x","messages":[{"role":"user","content":"hi"}],"stream":` + s + `}`, false
}

func TestVercelFixtures(t *testing.T) {
	dir := fixtures.Dir(t, "vercel-ai", "anthropic")
	streams, _ := filepath.Glob(filepath.Join(dir, "*.chunks.txt"))
	messages, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(streams) == 0 || len(messages) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	for _, path := range streams {
		name := strings.TrimSuffix(filepath.Base(path), ".chunks.txt")
		t.Run("stream/"+name, func(t *testing.T) {
			lines := fixtures.Lines(t, path)
			body, jsonMode := fixtureBody(name, true)
			// Each line is one event's data; Anthropic names the event
			// after the payload's type.
			up := providertest.NewUpstream(t, sseReply(events(lines...)))
			res, rec, err := run(t, chatRequest(t, up.URL, withBody(body), withUsage))
			if err != nil || res.ErrorCode != "" {
				t.Fatalf("err %v, result %+v, body:\n%s", err, res, rec.Body.String())
			}
			want := expectStream(t, lines, jsonMode)
			compareExpectation(t, clientView(t, rec.Body.String(), true), want)
			if res.Usage != want.usage || res.FinishReason != want.finish {
				t.Fatalf("result %+v", res)
			}
		})
	}
	for _, path := range messages {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run("message/"+name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			body, jsonMode := fixtureBody(name, false)
			up := providertest.NewUpstream(t, providertest.JSONReply(200, string(raw)))
			res, rec, err := run(t, chatRequest(t, up.URL, withBody(body), nonStream))
			if err != nil {
				t.Fatal(err)
			}
			want := expectMessage(t, raw, jsonMode)
			compareExpectation(t, clientView(t, rec.Body.String(), false), want)
			if res.Usage != want.usage || res.FinishReason != want.finish {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

func TestAnthropicSDKCassettes(t *testing.T) {
	for _, c := range fixtures.Cassettes(t) {
		t.Run(c.Name, func(t *testing.T) {
			its := c.Interactions
			toolTurns, lastFinish := 0, ""
			for i, it := range its {
				body, stream := fixtures.OpenAIFromAnthropic(t, it.Request)
				var reply func(http.ResponseWriter, *http.Request)
				if stream {
					if !strings.HasPrefix(it.Response, "event: ") {
						t.Fatalf("interaction %d: a stream without event lines", i)
					}
					reply = sseReply(it.Response)
				} else {
					reply = providertest.JSONReply(200, it.Response)
				}
				up := providertest.NewUpstream(t, reply)
				req := chatRequest(t, up.URL, withBody(body), withUsage)
				req.Model, req.Stream = gjsonString(t, body, "model"), stream
				res, rec, err := run(t, req)
				if err != nil || res.ErrorCode != "" {
					t.Fatalf("interaction %d: err %v, result %+v", i, err, res)
				}
				// What ownkey sent is what Anthropic's SDK sent.
				if sent := up.Only(t).Body; !providertest.SameJSON(t, string(sent), it.Request) {
					t.Fatalf("interaction %d: ownkey sent\n%s\nthe SDK sent\n%s", i, sent, it.Request)
				}
				var want expectation
				if stream {
					want = expectStream(t, fixtures.SSEData(it.Response), false)
				} else {
					want = expectMessage(t, []byte(it.Response), false)
				}
				compareExpectation(t, clientView(t, rec.Body.String(), stream), want)
				if len(want.tools) > 0 {
					toolTurns++
				}
				lastFinish = want.finish
			}
			// The cassettes are tool round trips: a call, then the answer.
			if toolTurns == 0 || lastFinish != "stop" {
				t.Fatalf("%d tool turns, last finish %q: not a tool round trip", toolTurns, lastFinish)
			}
		})
	}
}

func gjsonString(t *testing.T, body, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m[key].(string)
	return s
}
