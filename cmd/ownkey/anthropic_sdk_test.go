package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/internal/fixtures"
	"github.com/ownkey/ownkey/provider/providertest"
)

// The official openai-go client against the whole gateway (real wiring,
// real chat handler and error writing) with a fake Anthropic upstream: what
// a client of a claude model sees, end to end.

const claudeKey = "sk-ant-api03-test-0123456789abcdefXYZ"

// claudeGateway is a test gateway with an account that holds a key for
// providerID (anthropic or azure-anthropic-foundry) pointing at up, and an
// SDK client of that account forced to the provider.
func claudeGateway(t *testing.T, up *providertest.Upstream, providerID string) (*testGateway, openai.Client, int64) {
	t.Helper()
	var cred any = claudeKey
	if providerID == "azure-anthropic-foundry" {
		cred = map[string]any{"endpoint": up.URL + "/anthropic/", "apiKey": claudeKey}
	}
	g, client, id, _ := familyGateway(t, map[string]string{"OWNKEY_ANTHROPIC_BASE_URL": up.URL, "OWNKEY_ALLOW_PRIVATE_UPSTREAMS": "true"},
		"claude-user", providerID, cred, option.WithHeader("x-byok-provider", providerID))
	return g, client, id
}

// Anthropic stream payloads for message msg_1.
const (
	claudeStart = `{"type":"message_start","message":{"model":"claude-x-1","id":"msg_1","type":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`
	claudePing  = `{"type":"ping"}`
	claudeStop  = `{"type":"message_stop"}`
)

// claudeText is a text block at index i: its start, a delta per text (JSON
// string contents), its stop.
func claudeText(i string, texts ...string) []string {
	out := []string{`{"type":"content_block_start","index":` + i + `,"content_block":{"type":"text","text":""}}`}
	for _, text := range texts {
		out = append(out, `{"type":"content_block_delta","index":`+i+`,"delta":{"type":"text_delta","text":"`+text+`"}}`)
	}
	return append(out, claudeBlockStop(i))
}

func claudeBlockStop(i string) string { return `{"type":"content_block_stop","index":` + i + `}` }

func claudeFinish(stopReason, usage string) string {
	return `{"type":"message_delta","delta":{"stop_reason":"` + stopReason + `","stop_sequence":null},"usage":` + usage + `}`
}

func claudeStream(payloads ...[]string) func(w http.ResponseWriter, r *http.Request) {
	var all []string
	for _, p := range payloads {
		all = append(all, p...)
	}
	return providertest.SSEReply(providertest.NamedFrames(all...), "Content-Type", "text/event-stream; charset=utf-8")
}

func TestSDKText(t *testing.T) {
	for _, providerID := range []string{"anthropic", "azure-anthropic-foundry"} {
		t.Run(providerID+"/non-stream", func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(200, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x-1","content":[{"type":"text","text":"Hello from Claude"}],`+
				`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":20,"output_tokens":4}}`))
			g, client, id := claudeGateway(t, up, providerID)
			resp, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
				Model:    "claude-x",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Say hello")},
			})
			if err != nil {
				t.Fatal(err)
			}
			c := resp.Choices[0]
			if resp.ID != "msg_1" || resp.Model != "claude-x-1" || c.Message.Content != "Hello from Claude" || c.FinishReason != "stop" ||
				resp.Usage.PromptTokens != 35 || resp.Usage.CompletionTokens != 4 || resp.Usage.TotalTokens != 39 ||
				resp.Usage.PromptTokensDetails.CachedTokens != 20 || resp.Usage.PromptTokensDetails.CacheWriteTokens != 5 {
				t.Fatalf("response: %s", resp.RawJSON())
			}
			got := up.Only(t)
			if want := `{"model":"claude-x","max_tokens":4096,"system":[{"type":"text","text":"Be brief."}],"messages":[{"role":"user","content":[{"type":"text","text":"Say hello"}]}]}`; string(got.Body) != want {
				t.Fatalf("upstream got %s\nwant %s", got.Body, want)
			}
			rec := g.usageRecords(t, id, 1)[0]
			if rec.Provider != providerID || rec.Usage != (ownkey.Usage{PromptTokens: 35, CompletionTokens: 4, CachedTokens: 20, CacheWriteTokens: 5, Source: ownkey.UsageFromProvider}) {
				t.Fatalf("usage record %+v", rec)
			}
		})
		t.Run(providerID+"/stream", func(t *testing.T) {
			up := providertest.NewUpstream(t, claudeStream([]string{claudeStart, claudePing}, claudeText("0", "Hello", " from Claude"),
				[]string{claudeFinish("end_turn", `{"output_tokens":30}`), claudeStop}))
			_, client, _ := claudeGateway(t, up, providerID)
			stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
				Model:         "claude-x",
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			})
			acc, usageChunks := readSDKStream(t, stream)
			if acc.Choices[0].Message.Content != "Hello from Claude" || acc.Choices[0].FinishReason != "stop" || usageChunks != 1 ||
				acc.Usage.PromptTokens != 12 || acc.Usage.CompletionTokens != 30 {
				t.Fatalf("accumulated %+v, %d usage chunks", acc.ChatCompletion, usageChunks)
			}
			if h := up.Only(t).Header; providerID == "azure-anthropic-foundry" && h.Get("Api-Key") != claudeKey {
				t.Fatalf("foundry request without api-key: %v", h)
			}
		})
	}
}

// A tool round trip through the SDK: the model calls a tool, the client
// runs it and sends the result back, the model answers.
func TestSDKToolRoundTrip(t *testing.T) {
	up := providertest.NewUpstream(t,
		providertest.JSONReply(200, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x-1","content":[{"type":"text","text":"Let me look."},`+
			`{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","usage":{"input_tokens":50,"output_tokens":20}}`),
		providertest.JSONReply(200, `{"id":"msg_2","type":"message","role":"assistant","model":"claude-x-1","content":[{"type":"text","text":"It is 18°C in Paris."}],`+
			`"stop_reason":"end_turn","usage":{"input_tokens":90,"output_tokens":9}}`))
	_, client, _ := claudeGateway(t, up, "anthropic")
	reqs := sdkToolRoundTrip(t, client, up, "claude-x", "toolu_01")
	tools := `"tools":[{"name":"get_weather","description":"Weather in a city","input_schema":{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}},` +
		`{"name":"get_time","input_schema":{"type":"object","properties":{}}}]`
	want := `{"model":"claude-x","max_tokens":4096,"messages":[` +
		`{"role":"user","content":[{"type":"text","text":"Weather in Paris?"}]},` +
		`{"role":"assistant","content":[{"type":"text","text":"Let me look."},{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Paris"}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"18°C, sunny"}]}],` + tools + `}`
	if string(reqs[1].Body) != want {
		t.Fatalf("second request translated as\n%s\nwant\n%s", reqs[1].Body, want)
	}
}

func TestSDKStreamingTools(t *testing.T) {
	toolStart := func(i, id, name string) string {
		return `{"type":"content_block_start","index":` + i + `,"content_block":{"type":"tool_use","id":"` + id + `","name":"` + name + `","input":{}}}`
	}
	jsonDelta := func(i, partial string) string {
		return `{"type":"content_block_delta","index":` + i + `,"delta":{"type":"input_json_delta","partial_json":` + partial + `}}`
	}
	up := providertest.NewUpstream(t, claudeStream([]string{claudeStart}, claudeText("0", "Checking both."), []string{
		toolStart("1", "toolu_a", "get_weather"), jsonDelta("1", `""`), jsonDelta("1", `"{\"city\":"`), claudePing, jsonDelta("1", `" \"Paris\"}"`), claudeBlockStop("1"),
		toolStart("2", "toolu_b", "get_time"), jsonDelta("2", `""`), claudeBlockStop("2"),
		claudeFinish("tool_use", `{"input_tokens":12,"output_tokens":60}`), claudeStop}))
	_, client, _ := claudeGateway(t, up, "anthropic")
	stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:             "claude-x",
		Messages:          []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather and time in Paris?")},
		Tools:             weatherTools,
		ParallelToolCalls: openai.Bool(true),
		StreamOptions:     openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	acc := checkStreamedTools(t, stream, sdkCall{"toolu_a", "get_weather", `{"city": "Paris"}`}, sdkCall{"toolu_b", "get_time", "{}"})
	if acc.Usage.PromptTokens != 12 || acc.Usage.CompletionTokens != 60 {
		t.Fatalf("usage %+v", acc.Usage)
	}
}

// Errors as the real chat handler writes them, read by the SDK.
func TestSDKErrors(t *testing.T) {
	t.Run("429", func(t *testing.T) {
		up := providertest.NewUpstream(t, providertest.JSONReply(429, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`, "Retry-After", "3"))
		g, client, id := claudeGateway(t, up, "anthropic")
		_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model: "claude-x", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Message != "slow down" || apiErr.Type != "rate_limit_error" ||
			apiErr.Response.Header.Get("Retry-After") != "3" {
			t.Fatalf("err = %v", err)
		}
		if rec := g.usageRecords(t, id, 1)[0]; rec.Status != 429 || rec.ErrorCode == "" {
			t.Fatalf("usage record %+v", rec)
		}
	})
	t.Run("mid-stream", func(t *testing.T) {
		up := providertest.NewUpstream(t, claudeStream([]string{claudeStart}, claudeText("0", "Hel")[:2],
			[]string{`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`}))
		_, client, _ := claudeGateway(t, up, "anthropic")
		stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
			Model: "claude-x", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		content := ""
		for stream.Next() {
			if c := stream.Current(); len(c.Choices) > 0 {
				content += c.Choices[0].Delta.Content
			}
		}
		if err := stream.Err(); err == nil || content != "Hel" {
			t.Fatalf("stream ended with err %v after %q; want the overload reported", err, content)
		}
	})
}

// TestReplayAnthropicSDKCassettes replays the anthropic-sdk-go cassettes
// (tool round trips recorded from Anthropic's own SDK) through the whole
// gateway: the OpenAI SDK asks what Anthropic's SDK asked, the fake
// upstream answers what Anthropic answered. ownkey must send what
// Anthropic's SDK sent, and the client must see the recorded text, tool
// calls and finish reason, and the usage is recorded.
func TestReplayAnthropicSDKCassettes(t *testing.T) {
	for _, c := range fixtures.Cassettes(t) {
		t.Run(c.Name, func(t *testing.T) {
			its := c.Interactions
			var replies []func(http.ResponseWriter, *http.Request)
			for _, it := range its {
				if strings.HasPrefix(it.Response, "event: ") {
					replies = append(replies, providertest.SSEReply(it.Response))
				} else {
					replies = append(replies, providertest.JSONReply(200, it.Response))
				}
			}
			up := providertest.NewUpstream(t, replies...)
			g, client, id := claudeGateway(t, up, "anthropic")
			var want []claudeAnswer
			for i, it := range its {
				body, stream := fixtures.OpenAIFromAnthropic(t, it.Request)
				raw := option.WithRequestBody("application/json", []byte(body))
				var got openai.ChatCompletion
				if stream {
					acc, _ := readSDKStream(t, client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{}, raw))
					got = acc.ChatCompletion
				} else {
					resp, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{}, raw)
					if err != nil {
						t.Fatalf("interaction %d: %v", i, err)
					}
					got = *resp
				}
				if sent := up.Requests()[i].Body; !sameJSON(string(sent), it.Request) {
					t.Fatalf("interaction %d: ownkey sent\n%s\nthe SDK sent\n%s", i, sent, it.Request)
				}
				w := answerOf(t, it.Response, stream)
				want = append(want, w)
				c := got.Choices[0]
				if c.Message.Content != w.text || string(c.FinishReason) != w.finish || len(c.Message.ToolCalls) != len(w.tools) {
					t.Fatalf("interaction %d: client got %q, finish %q, %d tool calls; recorded %+v", i, c.Message.Content, c.FinishReason, len(c.Message.ToolCalls), w)
				}
				for j, tc := range c.Message.ToolCalls {
					if tc.ID != w.tools[j][0] || tc.Function.Name != w.tools[j][1] || !sameJSON(tc.Function.Arguments, w.tools[j][2]) {
						t.Fatalf("interaction %d: tool call %+v, recorded %q", i, tc, w.tools[j])
					}
				}
			}
			// The cassettes are tool round trips: a call, then the answer.
			if len(want[0].tools) == 0 || want[len(want)-1].finish != "stop" {
				t.Fatalf("recorded answers %+v: not a tool round trip", want)
			}
			// One record per interaction, in any order: a request's record
			// is timed as its handler returns, which can be after the client
			// has read the whole answer and sent the next request.
			recs := g.usageRecords(t, id, len(its))
			for i, w := range want {
				j := slices.IndexFunc(recs, func(rec *ownkey.UsageRecord) bool {
					return rec.Usage.PromptTokens == w.prompt && rec.Usage.CompletionTokens == w.completion
				})
				if j < 0 {
					t.Fatalf("interaction %d: no usage record of the recorded %d/%d tokens", i, w.prompt, w.completion)
				}
				if rec := recs[j]; rec.Status != 200 || rec.Usage.Source != ownkey.UsageFromProvider {
					t.Fatalf("interaction %d: usage record %+v, recorded %d/%d", i, rec, w.prompt, w.completion)
				}
				recs = slices.Delete(recs, j, j+1)
			}
		})
	}
}

// claudeAnswer is what a recorded Anthropic answer says, read with
// encoding/json, independently of the adapter.
type claudeAnswer struct {
	text, finish       string
	tools              [][3]string // id, name, arguments
	prompt, completion int64
}

func answerOf(t *testing.T, response string, stream bool) claudeAnswer {
	t.Helper()
	type usage struct {
		Input      int64 `json:"input_tokens"`
		CacheWrite int64 `json:"cache_creation_input_tokens"`
		CacheRead  int64 `json:"cache_read_input_tokens"`
		Output     int64 `json:"output_tokens"`
	}
	type block struct {
		Type, Text, ID, Name string
		Input                json.RawMessage
	}
	var a claudeAnswer
	stop := ""
	addUsage := func(u *usage) {
		if u != nil {
			a.prompt = max(a.prompt, u.Input+u.CacheWrite+u.CacheRead)
			a.completion = max(a.completion, u.Output)
		}
	}
	payloads := []string{response}
	if stream {
		payloads = fixtures.SSEData(response)
	}
	for _, p := range payloads {
		var ev struct {
			Type    string
			Index   int
			Content []block
			Block   block `json:"content_block"`
			Delta   struct {
				Type, Text  string
				PartialJSON string `json:"partial_json"`
				StopReason  string `json:"stop_reason"`
			}
			StopReason string `json:"stop_reason"`
			Usage      *usage
			Message    struct{ Usage *usage }
		}
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			t.Fatalf("recorded answer: %v", err)
		}
		addUsage(ev.Usage)
		addUsage(ev.Message.Usage)
		stop += ev.StopReason + ev.Delta.StopReason
		for _, b := range append(ev.Content, ev.Block) {
			switch b.Type {
			case "text":
				a.text += b.Text
			case "tool_use":
				a.tools = append(a.tools, [3]string{b.ID, b.Name, string(b.Input)})
			}
		}
		switch ev.Delta.Type {
		case "text_delta":
			a.text += ev.Delta.Text
		case "input_json_delta":
			a.tools[len(a.tools)-1][2] = strings.TrimPrefix(a.tools[len(a.tools)-1][2], "{}") + ev.Delta.PartialJSON
		}
	}
	a.finish = map[string]string{"end_turn": "stop", "tool_use": "tool_calls"}[stop]
	return a
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}
