package main

import (
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"

	"github.com/ownkey/ownkey/provider/providertest"
)

// What the SDK tests of the translating families (anthropic, bedrock,
// gemini, responses) share: the gateway they start, and the tool
// conversations they hold with it.

// familyGateway is a test gateway started with env, with an account named
// user that holds cred as its providerID key, and an SDK client of that
// account (with extra options, such as forcing the provider). It returns
// the account's id and API key too.
func familyGateway(t *testing.T, env map[string]string, user, providerID string, cred any, extra ...option.RequestOption) (*testGateway, openai.Client, int64, string) {
	t.Helper()
	g := newTestGateway(t, env)
	id, key := g.createAccount(user)
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": providerID, "key": cred}); r.Status != 200 {
		t.Fatalf("store %s key: %d %s", providerID, r.Status, r.Body)
	}
	return g, sdkClient(g, key, extra...), id, key
}

var weatherTools = []openai.ChatCompletionToolUnionParam{
	openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name:        "get_weather",
		Description: openai.String("Weather in a city"),
		Parameters:  shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
	}),
	openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_time"}),
}

// sdkToolRoundTrip holds the tool round trip through the SDK with model:
// the client asks for the weather in Paris with weatherTools; the
// provider's first answer (its first reply) is "Let me look." and a call
// of get_weather {"city":"Paris"} with id callID; the client runs it and
// sends "18°C, sunny" back; the second answer is "It is 18°C in Paris.".
// It returns the two requests the provider got, to check how the second
// was translated.
func sdkToolRoundTrip(t *testing.T, client openai.Client, up *providertest.Upstream, model, callID string) []providertest.Received {
	t.Helper()
	params := openai.ChatCompletionNewParams{
		Model:    model,
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
	if call.ID != callID || call.Function.Name != "get_weather" || call.Function.Arguments != `{"city":"Paris"}` {
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
	return reqs
}

// sdkCall is a tool call as the SDK accumulates it.
type sdkCall struct{ ID, Name, Args string }

// checkStreamedTools reads a stream answered with the text "Checking
// both." and the tool calls want, and checks what the SDK made of it: the
// text, finish_reason tool_calls, each call with its id, name and
// arguments, each reported finished (JustFinishedToolCall) once, in order.
// It returns the accumulated answer, for its usage.
func checkStreamedTools(t *testing.T, stream *ssestream.Stream[openai.ChatCompletionChunk], want ...sdkCall) openai.ChatCompletionAccumulator {
	t.Helper()
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
	if m.Content != "Checking both." || acc.Choices[0].FinishReason != "tool_calls" || len(m.ToolCalls) != len(want) {
		t.Fatalf("accumulated %+v", acc.ChatCompletion)
	}
	if len(finished) != len(want) {
		t.Fatalf("finished tool calls %q", finished)
	}
	for i, w := range want {
		if c := m.ToolCalls[i]; c.ID != w.ID || c.Function.Name != w.Name || c.Function.Arguments != w.Args {
			t.Fatalf("tool calls %+v", m.ToolCalls)
		}
		if finished[i] != w.Name+w.Args {
			t.Fatalf("finished tool calls %q", finished)
		}
	}
	return acc
}
