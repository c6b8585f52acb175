package anthropic

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
)

// sdkGateway is a minimal stand-in for the gateway's chat handler: it reads
// the OpenAI request, hands it to the adapter for one provider, and writes
// an error the adapter returns before starting in OpenAI's envelope. The
// official openai-go client talks to it.
type sdkGateway struct {
	srv     *httptest.Server
	results chan *ownkey.ChatResult
}

func newSDKGateway(t *testing.T, upstream *providertest.Upstream, providerID string) *sdkGateway {
	t.Helper()
	g := &sdkGateway{results: make(chan *ownkey.ChatResult, 10)}
	a := testAdapter()
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var head struct {
			Model         string `json:"model"`
			Stream        bool   `json:"stream"`
			StreamOptions struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		if err := json.Unmarshal(body, &head); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		req := chatRequest(t, upstream.URL, withBody(string(body)))
		if providerID == "azure-anthropic-foundry" {
			foundry(t, upstream.URL)(req)
		}
		req.Model, req.Stream, req.IncludeUsage = head.Model, head.Stream, head.StreamOptions.IncludeUsage
		res, err := a.Chat(r.Context(), req, w)
		if err != nil && !res.Started {
			var e *ownkey.Error
			errors.As(err, &e)
			if e.RetryAfter != "" {
				w.Header().Set("Retry-After", e.RetryAfter)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(res.Status)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": e.Message, "type": e.Type, "param": e.Param, "code": nil}})
		}
		g.results <- res
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *sdkGateway) client() openai.Client {
	return openai.NewClient(option.WithBaseURL(g.srv.URL+"/v1/"), option.WithAPIKey("ownkey-client-key"), option.WithMaxRetries(0))
}

var weatherTools = []openai.ChatCompletionToolUnionParam{
	openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name:        "get_weather",
		Description: openai.String("Weather in a city"),
		Parameters:  shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
	}),
	openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_time"}),
}

func TestSDKText(t *testing.T) {
	for _, providerID := range []string{"anthropic", "azure-anthropic-foundry"} {
		t.Run(providerID+"/non-stream", func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(200, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x-1","content":[{"type":"text","text":"Hello from Claude"}],`+
				`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":20,"output_tokens":4}}`))
			g := newSDKGateway(t, up, providerID)
			client := g.client()
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
			if res := <-g.results; res.Usage != (ownkey.Usage{PromptTokens: 35, CompletionTokens: 4, CachedTokens: 20, CacheWriteTokens: 5, Source: ownkey.UsageFromProvider}) {
				t.Fatalf("result %+v", res)
			}
		})
		t.Run(providerID+"/stream", func(t *testing.T) {
			up := providertest.NewUpstream(t, sseReply(events(msgStart, ping, textStart(0), textDelta(0, "Hello"), textDelta(0, " from Claude"), blockStop(0),
				msgDelta("end_turn", `{"output_tokens":30}`), msgStop)))
			g := newSDKGateway(t, up, providerID)
			client := g.client()
			stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
				Model:         "claude-x",
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			})
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
			if acc.Choices[0].Message.Content != "Hello from Claude" || acc.Choices[0].FinishReason != "stop" || usageChunks != 1 ||
				acc.Usage.PromptTokens != 12 || acc.Usage.CompletionTokens != 30 {
				t.Fatalf("accumulated %+v, %d usage chunks", acc.ChatCompletion, usageChunks)
			}
			if h := up.Only(t).Header; providerID == "azure-anthropic-foundry" && h.Get("Api-Key") != testKey {
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
	g := newSDKGateway(t, up, "anthropic")
	client := g.client()
	params := openai.ChatCompletionNewParams{
		Model:    "claude-x",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
		Tools:    weatherTools,
	}
	first, err := client.Chat.Completions.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	msg := first.Choices[0].Message
	if first.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 || msg.Content != "Let me look." {
		t.Fatalf("first answer: %s", first.RawJSON())
	}
	call := msg.ToolCalls[0]
	if call.ID != "toolu_01" || call.Function.Name != "get_weather" || call.Function.Arguments != `{"city":"Paris"}` {
		t.Fatalf("tool call %+v", call)
	}
	params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage("18°C, sunny", call.ID))
	second, err := client.Chat.Completions.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	if second.Choices[0].Message.Content != "It is 18°C in Paris." || second.Choices[0].FinishReason != "stop" {
		t.Fatalf("second answer: %s", second.RawJSON())
	}
	reqs := up.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d upstream requests", len(reqs))
	}
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
	up := providertest.NewUpstream(t, sseReply(events(msgStart,
		textStart(0), textDelta(0, "Checking both."), blockStop(0),
		toolStart(1, "toolu_a", "get_weather"), jsonDelta(1, ""), jsonDelta(1, `{"city":`), ping, jsonDelta(1, ` "Paris"}`), blockStop(1),
		toolStart(2, "toolu_b", "get_time"), jsonDelta(2, ""), blockStop(2),
		msgDelta("tool_use", `{"input_tokens":12,"output_tokens":60}`), msgStop)))
	g := newSDKGateway(t, up, "anthropic")
	client := g.client()
	stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:             "claude-x",
		Messages:          []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather and time in Paris?")},
		Tools:             weatherTools,
		ParallelToolCalls: openai.Bool(true),
		StreamOptions:     openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	acc := openai.ChatCompletionAccumulator{}
	var finished []string
	for stream.Next() {
		acc.AddChunk(stream.Current())
		if tc, ok := acc.JustFinishedToolCall(); ok {
			finished = append(finished, tc.Name+tc.Arguments)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	m := acc.Choices[0].Message
	if m.Content != "Checking both." || acc.Choices[0].FinishReason != "tool_calls" || len(m.ToolCalls) != 2 {
		t.Fatalf("accumulated %+v", acc.ChatCompletion)
	}
	if a, b := m.ToolCalls[0], m.ToolCalls[1]; a.ID != "toolu_a" || a.Function.Name != "get_weather" || a.Function.Arguments != `{"city": "Paris"}` ||
		b.ID != "toolu_b" || b.Function.Name != "get_time" || b.Function.Arguments != "{}" {
		t.Fatalf("tool calls %+v", m.ToolCalls)
	}
	if len(finished) != 2 || finished[0] != `get_weather{"city": "Paris"}` || finished[1] != "get_time{}" {
		t.Fatalf("finished tool calls %q", finished)
	}
	if acc.Usage.PromptTokens != 12 || acc.Usage.CompletionTokens != 60 {
		t.Fatalf("usage %+v", acc.Usage)
	}
}

func TestSDKErrors(t *testing.T) {
	t.Run("429", func(t *testing.T) {
		up := providertest.NewUpstream(t, providertest.JSONReply(429, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`, "Retry-After", "3"))
		g := newSDKGateway(t, up, "anthropic")
		client := g.client()
		_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model: "claude-x", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Message != "slow down" || apiErr.Type != "rate_limit_error" ||
			apiErr.Response.Header.Get("Retry-After") != "3" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("mid-stream", func(t *testing.T) {
		up := providertest.NewUpstream(t, sseReply(events(msgStart, textStart(0), textDelta(0, "Hel"),
			`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)))
		g := newSDKGateway(t, up, "anthropic")
		client := g.client()
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
