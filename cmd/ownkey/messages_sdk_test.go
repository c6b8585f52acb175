package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/provider/providertest"
)

// The official Anthropic Go SDK against the whole gateway's Messages API
// (POST /v1/messages): passed through to a fake Anthropic, and translated
// for a fake Groq.

// messagesGateway is a test gateway whose account holds an anthropic key
// (pointing at claude) and a groq key (pointing at groq), either may be
// nil; and the account's id and ownkey key.
func messagesGateway(t *testing.T, claude, groq *providertest.Upstream) (*testGateway, int64, string) {
	t.Helper()
	env := map[string]string{"OWNKEY_ALLOW_PRIVATE_UPSTREAMS": "true"}
	if claude != nil {
		env["OWNKEY_ANTHROPIC_BASE_URL"] = claude.URL
	}
	if groq != nil {
		env["OWNKEY_GROQ_BASE_URL"] = groq.URL
	}
	g := newTestGateway(t, env)
	id, key := g.createAccount("messages-user")
	if claude != nil {
		if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "anthropic", "key": claudeKey}); r.Status != 200 {
			t.Fatalf("store anthropic key: %d %s", r.Status, r.Body)
		}
	}
	if groq != nil {
		if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "key": groqKey}); r.Status != 200 {
			t.Fatalf("store groq key: %d %s", r.Status, r.Body)
		}
	}
	return g, id, key
}

// sent records the bodies an SDK client sent.
type sent struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (s *sent) middleware(req *http.Request, next aoption.MiddlewareNext) (*http.Response, error) {
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		s.mu.Lock()
		s.bodies = append(s.bodies, b)
		s.mu.Unlock()
	}
	return next(req)
}

func (s *sent) last(t *testing.T) []byte {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bodies) == 0 {
		t.Fatal("the SDK sent nothing")
	}
	return s.bodies[len(s.bodies)-1]
}

// claudeSDK is an Anthropic SDK client of key on g (base URL prefix "/" or
// "/api/"), recording what it sends.
func claudeSDK(g *testGateway, prefix, key string, opts ...aoption.RequestOption) (anthropic.Client, *sent) {
	s := &sent{}
	all := append([]aoption.RequestOption{
		aoption.WithBaseURL(g.srv.URL + prefix), aoption.WithAPIKey(key), aoption.WithMaxRetries(0),
		aoption.WithMiddleware(s.middleware),
	}, opts...)
	return anthropic.NewClient(all...), s
}

const passMessage = `{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[` +
	`{"type":"thinking","thinking":"The user greets me.","signature":"EqQBCkYIBRgCIkDsig=="},` +
	`{"type":"text","text":"Hello! \u00e9","citations":[{"type":"char_location","cited_text":"hi","document_index":0,"document_title":null,"start_char_index":0,"end_char_index":2}]},` +
	`{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"x"}}],` +
	`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":3,"cache_read_input_tokens":5,"output_tokens":20,"service_tier":"standard"}}`

// Pass-through, not streamed: the client's body goes to Anthropic as it
// was sent, with its anthropic-version and anthropic-beta, under the
// user's key; Anthropic's answer comes back byte for byte, with the cost
// in headers; usage is recorded and billed as chat's.
func TestMessagesSDKPassthrough(t *testing.T) {
	for _, prefix := range []string{"/", "/api/"} {
		t.Run(prefix, func(t *testing.T) {
			claude := providertest.NewUpstream(t, providertest.JSONReply(200, passMessage))
			g, id, key := messagesGateway(t, claude, nil)
			client, sent := claudeSDK(g, prefix, key, aoption.WithHeader("anthropic-beta", "interleaved-thinking-2025-05-14"))
			var httpResp *http.Response
			msg, err := client.Messages.New(t.Context(), anthropic.MessageNewParams{
				Model:     "claude-sonnet-4-5",
				MaxTokens: 2048,
				System:    []anthropic.TextBlockParam{{Text: "Be kind.", CacheControl: anthropic.NewCacheControlEphemeralParam()}},
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
				Thinking:  anthropic.ThinkingConfigParamOfEnabled(1024),
			}, aoption.WithResponseInto(&httpResp))
			if err != nil {
				t.Fatal(err)
			}
			if msg.RawJSON() != passMessage {
				t.Fatalf("client got\n%s\nwant Anthropic's bytes\n%s", msg.RawJSON(), passMessage)
			}
			if th := msg.Content[0].AsThinking(); th.Signature != "EqQBCkYIBRgCIkDsig==" || msg.Content[1].Text != "Hello! é" {
				t.Fatalf("content %+v", msg.Content)
			}
			got := claude.Only(t)
			if !bytes.Equal(got.Body, sent.last(t)) {
				t.Fatalf("upstream got\n%s\nthe client sent\n%s", got.Body, sent.last(t))
			}
			if got.Path != "/v1/messages" || got.Header.Get("X-Api-Key") != claudeKey || got.Header.Get("Authorization") != "" ||
				got.Header.Get("Anthropic-Version") != "2023-06-01" || got.Header.Get("Anthropic-Beta") != "interleaved-thinking-2025-05-14" {
				t.Fatalf("upstream request %s %v", got.Path, got.Header)
			}
			rec := g.usageRecords(t, id, 1)[0]
			want := ownkey.Usage{PromptTokens: 18, CompletionTokens: 20, CachedTokens: 5, CacheWriteTokens: 3, Source: ownkey.UsageFromProvider}
			if rec.Provider != "anthropic" || rec.ModelServed != "claude-sonnet-4-5-20250929" || rec.Usage != want || rec.Status != 200 {
				t.Fatalf("usage record %+v", rec)
			}
			h := httpResp.Header
			if rec.Charge.Charged <= 0 || h.Get(openai.HeaderCost) != string(ownkey.AppendDecimal(nil, int64(rec.Charge.Charged), 9)) ||
				h.Get(openai.HeaderUpstreamCost) != string(ownkey.AppendDecimal(nil, int64(rec.Charge.AtCost), 9)) || h.Get(openai.HeaderIsBYOK) != "true" {
				t.Fatalf("cost headers %v for charge %+v", h, rec.Charge)
			}
		})
	}
}

// A model id with a provider prefix, and ownkey's byok member: the routing
// edits, and only they, are made to the body passed through.
func TestMessagesPassthroughRoutingEdits(t *testing.T) {
	claude := providertest.NewUpstream(t, providertest.JSONReply(200, passMessage))
	g, _, key := messagesGateway(t, claude, nil)
	body := `{"model":"anthropic/claude-x","byok":{"enabled":true},"max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral","ttl":"1h"}}]}],"mcp_servers":[{"type":"url","url":"https://mcp.example/sse","name":"x"}]}`
	r := g.send("POST", "/v1/messages", key, body, "Content-Type", "application/json")
	if r.Status != 200 || string(r.Body) != passMessage {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	want := `{"model":"claude-x","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral","ttl":"1h"}}]}],"mcp_servers":[{"type":"url","url":"https://mcp.example/sse","name":"x"}]}`
	if got := claude.Only(t); string(got.Body) != want {
		t.Fatalf("upstream got\n%s\nwant\n%s", got.Body, want)
	}
}

// thinkingToolStream is Anthropic's stream of a turn with thinking (and its
// signature), text and a tool call.
var thinkingToolStream = []string{
	`{"type":"message_start","message":{"id":"msg_t1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":40,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`,
	`{"type": "ping"}`,
	`{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"I need the weather."}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"SIG-abc/123=="}}`,
	`{"type":"content_block_stop","index":0}`,
	`{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}`,
	`{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Checking."}}`,
	`{"type":"content_block_stop","index":1}`,
	`{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_w","name":"get_weather","input":{}}}`,
	`{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}`,
	`{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Paris\"}"}}`,
	`{"type":"content_block_stop","index":2}`,
	`{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":55}}`,
	`{"type":"message_stop"}`,
}

var weatherTool = anthropic.ToolUnionParam{OfTool: &anthropic.ToolParam{
	Name: "get_weather", Description: anthropic.String("Weather in a city"),
	InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"}},
}}

// Extended thinking across a tool round trip, passed through: the stream's
// signature reaches the client, and the thinking block it sends back with
// the tool result reaches Anthropic unchanged, as Anthropic requires.
func TestMessagesSDKThinkingToolRoundTrip(t *testing.T) {
	claude := providertest.NewUpstream(t,
		providertest.SSEReply(providertest.NamedFrames(thinkingToolStream...)),
		providertest.JSONReply(200, `{"id":"msg_t2","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"18°C in Paris."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":90,"output_tokens":8}}`))
	g, id, key := messagesGateway(t, claude, nil)
	client, sent := claudeSDK(g, "/", key)
	params := anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 4096,
		Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
		Tools:    []anthropic.ToolUnionParam{weatherTool},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))},
	}
	stream := client.Messages.NewStreaming(t.Context(), params)
	var msg anthropic.Message
	var types []string
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		if err := msg.Accumulate(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	// The SDK skips pings.
	if len(types) != len(thinkingToolStream)-1 || types[len(types)-1] != "message_stop" {
		t.Fatalf("events %q", types)
	}
	if len(msg.Content) != 3 || msg.Content[0].Signature != "SIG-abc/123==" || msg.Content[0].Thinking != "I need the weather." ||
		msg.Content[2].Name != "get_weather" || string(msg.Content[2].Input) != `{"city": "Paris"}` || msg.StopReason != "tool_use" ||
		msg.Usage.InputTokens != 40 || msg.Usage.OutputTokens != 55 {
		t.Fatalf("accumulated %s", msg.RawJSON())
	}
	params.Messages = append(params.Messages, msg.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_w", "18°C, sunny", false)))
	second, err := client.Messages.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	if second.Content[0].Text != "18°C in Paris." {
		t.Fatalf("second answer %s", second.RawJSON())
	}
	reqs := claude.Requests()
	if len(reqs) != 2 || !bytes.Equal(reqs[1].Body, sent.last(t)) {
		t.Fatalf("upstream got %d requests; the second\n%s\nthe client sent\n%s", len(reqs), reqs[1].Body, sent.last(t))
	}
	back := gjson.GetBytes(reqs[1].Body, "messages.1.content.0")
	if back.Get("type").Str != "thinking" || back.Get("signature").Str != "SIG-abc/123==" || back.Get("thinking").Str != "I need the weather." {
		t.Fatalf("thinking sent back as %s", back.Raw)
	}
	recs := g.usageRecords(t, id, 2)
	for _, rec := range recs {
		if rec.Provider != "anthropic" || rec.Usage.Source != ownkey.UsageFromProvider || rec.Charge.Charged <= 0 {
			t.Fatalf("usage record %+v", rec)
		}
	}
	if u := recs[1].Usage; recs[1].Stream != true || u.PromptTokens != 40 || u.CompletionTokens != 55 || recs[1].ModelServed != "claude-sonnet-4-5-20250929" {
		t.Fatalf("stream's usage record %+v", recs[1])
	}
}

// groqCompletion is Groq's answer with a tool call.
const groqToolCompletion = `{"id":"chatcmpl-g1","object":"chat.completion","created":1700000000,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"message":{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_g1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":60,"completion_tokens":12,"total_tokens":72}}`

// An Anthropic client on a Groq key: the request is translated into
// OpenAI's terms, and the answer into a message; a tool round trip works
// both ways, and the cost is in usage, as chat gives it.
func TestMessagesSDKTranslatedToolRoundTrip(t *testing.T) {
	groq := providertest.NewUpstream(t, providertest.JSONReply(200, groqToolCompletion),
		providertest.JSONReply(200, `{"id":"chatcmpl-g2","object":"chat.completion","created":1700000001,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"message":{"role":"assistant","content":"It is 18°C."},"finish_reason":"stop"}],"usage":{"prompt_tokens":80,"completion_tokens":6,"total_tokens":86,"prompt_tokens_details":{"cached_tokens":20}}}`))
	g, id, key := messagesGateway(t, nil, groq)
	client, _ := claudeSDK(g, "/", key)
	params := anthropic.MessageNewParams{
		Model: "groq/llama-3.3-70b-versatile", MaxTokens: 512,
		System:        []anthropic.TextBlockParam{{Text: "Be brief."}},
		Tools:         []anthropic.ToolUnionParam{weatherTool},
		ToolChoice:    anthropic.ToolChoiceUnionParam{OfAny: &anthropic.ToolChoiceAnyParam{DisableParallelToolUse: anthropic.Bool(true)}},
		StopSequences: []string{"END"},
		Temperature:   anthropic.Float(0.5),
		TopK:          anthropic.Int(40),
		Messages:      []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))},
	}
	first, err := client.Messages.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != "chatcmpl-g1" || first.Model != "llama-3.3-70b-versatile" || first.StopReason != "tool_use" || len(first.Content) != 2 ||
		first.Content[0].Text != "Let me check." || first.Content[1].Type != "tool_use" || first.Content[1].ID != "call_g1" ||
		string(first.Content[1].Input) != `{"city":"Paris"}` || first.Usage.InputTokens != 60 || first.Usage.OutputTokens != 12 {
		t.Fatalf("first answer %s", first.RawJSON())
	}
	if c := gjson.Get(first.RawJSON(), "usage.cost"); c.Type != gjson.Number || gjson.Get(first.RawJSON(), "usage.is_byok").Type != gjson.True {
		t.Fatalf("no cost in usage: %s", first.RawJSON())
	}
	wantFirst := `{"model":"llama-3.3-70b-versatile","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather in Paris?"}],` +
		`"max_tokens":512,"temperature":0.5,"stop":["END"],"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}}}],` +
		`"tool_choice":"required","parallel_tool_calls":false}`
	if got := groq.Requests()[0]; got.Path != "/chat/completions" || string(got.Body) != wantFirst || got.Header.Get("Authorization") != "Bearer "+groqKey {
		t.Fatalf("groq got %s %v\n%s\nwant\n%s", got.Path, got.Header, got.Body, wantFirst)
	}

	params.Messages = append(params.Messages, first.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock("call_g1", "18°C", false), anthropic.NewTextBlock("Answer in one line.")))
	second, err := client.Messages.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	if second.Content[0].Text != "It is 18°C." || second.StopReason != "end_turn" || second.Usage.CacheReadInputTokens != 20 || second.Usage.InputTokens != 60 {
		t.Fatalf("second answer %s", second.RawJSON())
	}
	msgs := gjson.GetBytes(groq.Requests()[1].Body, "messages").Raw
	wantMsgs := `[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather in Paris?"},` +
		`{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_g1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
		`{"role":"tool","content":"18°C","tool_call_id":"call_g1"},{"role":"user","content":"Answer in one line."}]`
	if msgs != wantMsgs {
		t.Fatalf("second request's messages\n%s\nwant\n%s", msgs, wantMsgs)
	}
	recs := g.usageRecords(t, id, 2)
	if recs[0].Provider != "groq" || recs[0].Usage.PromptTokens != 80 || recs[0].Usage.CachedTokens != 20 {
		t.Fatalf("usage record %+v", recs[0])
	}
	if cost := gjson.Get(second.RawJSON(), "usage.cost").Raw; cost != string(ownkey.AppendDecimal(nil, int64(recs[0].Charge.Charged), 9)) {
		t.Fatalf("usage.cost %s; the ledger charged %d n$", cost, recs[0].Charge.Charged)
	}
}

// A translated stream: Groq's chunks become the SDK's event sequence, with
// text, reasoning as thinking and streamed tool arguments.
func TestMessagesSDKTranslatedStream(t *testing.T) {
	chunk := func(delta string, finish string, usage string) string {
		f := "null"
		if finish != "" {
			f = `"` + finish + `"`
		}
		c := `{"id":"chatcmpl-s","object":"chat.completion.chunk","created":1700000000,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + f + `}]`
		if usage != "" {
			c += `,"x_groq":{"usage":` + usage + `},"usage":` + usage
		}
		return c + `}`
	}
	groq := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(
		chunk(`{"role":"assistant","content":""}`, "", ""),
		chunk(`{"reasoning":"Weather needs a tool."}`, "", ""),
		chunk(`{"content":"Checking "}`, "", ""),
		chunk(`{"content":"now."}`, "", ""),
		chunk(`{"tool_calls":[{"index":0,"id":"call_s","type":"function","function":{"name":"get_weather","arguments":""}}]}`, "", ""),
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}`, "", ""),
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}`, "", ""),
		chunk(`{}`, "tool_calls", `{"prompt_tokens":33,"completion_tokens":21,"total_tokens":54}`),
		"[DONE]")))
	g, id, key := messagesGateway(t, nil, groq)
	client, _ := claudeSDK(g, "/api/", key)
	stream := client.Messages.NewStreaming(t.Context(), anthropic.MessageNewParams{
		Model: "groq/llama-3.3-70b-versatile", MaxTokens: 300,
		Thinking: anthropic.ThinkingConfigParamOfEnabled(8000),
		Tools:    []anthropic.ToolUnionParam{weatherTool},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))},
	})
	var msg anthropic.Message
	var types []string
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		if err := msg.Accumulate(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	wantTypes := "message_start content_block_start content_block_delta content_block_stop content_block_start content_block_delta content_block_delta content_block_stop " +
		"content_block_start content_block_delta content_block_delta content_block_stop message_delta message_stop"
	if got := strings.Join(types, " "); got != wantTypes {
		t.Fatalf("events\n%s\nwant\n%s", got, wantTypes)
	}
	if len(msg.Content) != 3 || msg.Content[0].Thinking != "Weather needs a tool." || msg.Content[1].Text != "Checking now." ||
		msg.Content[2].ID != "call_s" || string(msg.Content[2].Input) != `{"city":"Paris"}` || msg.StopReason != "tool_use" ||
		msg.Usage.InputTokens != 33 || msg.Usage.OutputTokens != 21 {
		t.Fatalf("accumulated %s", msg.RawJSON())
	}
	if c := gjson.Get(msg.RawJSON(), "usage.cost"); c.Type != gjson.Number {
		t.Fatalf("no cost in the stream's usage: %s", msg.RawJSON())
	}
	got := groq.Only(t).Body
	if gjson.GetBytes(got, "reasoning_effort").Str != "medium" || !gjson.GetBytes(got, "stream_options.include_usage").Bool() || !gjson.GetBytes(got, "stream").Bool() {
		t.Fatalf("groq got %s", got)
	}
	rec := g.usageRecords(t, id, 1)[0]
	if rec.Provider != "groq" || rec.Usage.PromptTokens != 33 {
		t.Fatalf("usage record %+v", rec)
	}
}

// Errors in Anthropic's envelope with Anthropic's types and statuses: a
// wrong key, a bad request, a request only Anthropic could serve sent
// elsewhere, Anthropic's own errors passed on, an error mid-stream.
func TestMessagesSDKErrors(t *testing.T) {
	claude := providertest.NewUpstream(t,
		providertest.JSONReply(529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`),
		providertest.JSONReply(400, `{"type":"error","error":{"type":"invalid_request_error","message":"messages.0.content: bad `+claudeKey+`"}}`),
		providertest.SSEReply(providertest.NamedFrames(thinkingToolStream[0],
			`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)))
	groq := providertest.NewUpstream(t, providertest.JSONReply(200, groqToolCompletion))
	g, _, key := messagesGateway(t, claude, groq)
	apiErr := func(t *testing.T, err error, status int, typ, inMessage string) {
		t.Helper()
		var e *anthropic.Error
		if !errors.As(err, &e) {
			t.Fatalf("err = %v; want an API error", err)
		}
		if e.StatusCode != status || string(e.Type()) != typ || !strings.Contains(gjson.Get(e.RawJSON(), "error.message").Str, inMessage) ||
			gjson.Get(e.RawJSON(), "type").Str != "error" {
			t.Fatalf("error %d %s\nwant %d %s with %q", e.StatusCode, e.RawJSON(), status, typ, inMessage)
		}
		if strings.Contains(e.RawJSON(), claudeKey) || strings.Contains(e.RawJSON(), key) {
			t.Fatalf("a key in the error: %s", e.RawJSON())
		}
	}
	hi := []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}

	bad, _ := claudeSDK(g, "/", "sk-ownkey-not-a-real-key-0000000000")
	_, err := bad.Messages.New(t.Context(), anthropic.MessageNewParams{Model: "claude-x", MaxTokens: 10, Messages: hi})
	apiErr(t, err, 401, "authentication_error", "")

	client, _ := claudeSDK(g, "/", key)
	_, err = client.Messages.New(t.Context(), anthropic.MessageNewParams{Model: "claude-x", MaxTokens: 0, Messages: hi})
	apiErr(t, err, 400, "invalid_request_error", "max_tokens")
	_, err = client.Messages.New(t.Context(), anthropic.MessageNewParams{Model: "claude-x", MaxTokens: 10})
	apiErr(t, err, 400, "invalid_request_error", "messages")
	_, err = client.Messages.New(t.Context(), anthropic.MessageNewParams{Model: "nobody-serves-this", MaxTokens: 10, Messages: hi})
	apiErr(t, err, 400, "invalid_request_error", "")

	// Server tools are Anthropic's: refused for Groq, naming the field.
	_, err = client.Messages.New(t.Context(), anthropic.MessageNewParams{Model: "groq/llama-3.3-70b-versatile", MaxTokens: 10, Messages: hi,
		Tools: []anthropic.ToolUnionParam{{OfWebSearchTool20250305: &anthropic.WebSearchTool20250305Param{}}}})
	apiErr(t, err, 400, "invalid_request_error", "tools[0].type")
	if n := len(groq.Requests()); n != 0 {
		t.Fatalf("groq was sent %d requests", n)
	}

	// Anthropic's errors, passed on: 529 stays 529, the message is
	// Anthropic's less the key.
	_, err = client.Messages.New(t.Context(), anthropic.MessageNewParams{Model: "claude-x", MaxTokens: 10, Messages: hi})
	apiErr(t, err, 529, "overloaded_error", "Overloaded")
	_, err = client.Messages.New(t.Context(), anthropic.MessageNewParams{Model: "claude-x", MaxTokens: 10, Messages: hi})
	apiErr(t, err, 400, "invalid_request_error", "messages.0.content: bad")

	// Mid-stream: the error event reaches the SDK, which fails the stream.
	stream := client.Messages.NewStreaming(t.Context(), anthropic.MessageNewParams{Model: "claude-x", MaxTokens: 10, Messages: hi})
	for stream.Next() {
	}
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "overloaded_error") {
		t.Fatalf("stream error %v", err)
	}
}

// count_tokens: exact from Anthropic (its count_tokens, with the client's
// headers), estimated elsewhere and marked so.
func TestMessagesSDKCountTokens(t *testing.T) {
	claude := providertest.NewUpstream(t, providertest.JSONReply(200, `{"input_tokens":1234}`))
	groq := providertest.NewUpstream(t, providertest.JSONReply(200, groqToolCompletion))
	g, id, key := messagesGateway(t, claude, groq)
	client, sent := claudeSDK(g, "/", key, aoption.WithHeader("anthropic-beta", "token-counting-2024-11-01"))
	params := anthropic.MessageCountTokensParams{
		Model:    "claude-sonnet-4-5",
		System:   anthropic.MessageCountTokensParamsSystemUnion{OfString: anthropic.String("Be brief.")},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(strings.Repeat("How many tokens is this? ", 40)))},
	}
	var httpResp *http.Response
	n, err := client.Messages.CountTokens(t.Context(), params, aoption.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatal(err)
	}
	got := claude.Only(t)
	if n.InputTokens != 1234 || httpResp.Header.Get("X-Ownkey-Token-Count") != "provider" || got.Path != "/v1/messages/count_tokens" ||
		!bytes.Equal(got.Body, sent.last(t)) || got.Header.Get("Anthropic-Beta") != "token-counting-2024-11-01" || got.Header.Get("X-Api-Key") != claudeKey {
		t.Fatalf("count %d, headers %v; upstream %s %v %s", n.InputTokens, httpResp.Header, got.Path, got.Header, got.Body)
	}

	params.Model = "groq/llama-3.3-70b-versatile"
	n, err = client.Messages.CountTokens(t.Context(), params, aoption.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatal(err)
	}
	if n.InputTokens < 200 || n.InputTokens > 600 || httpResp.Header.Get("X-Ownkey-Token-Count") != "estimate" || !gjson.Get(n.RawJSON(), "estimated").Bool() {
		t.Fatalf("estimate %s, headers %v", n.RawJSON(), httpResp.Header)
	}
	if len(groq.Requests()) != 0 {
		t.Fatal("an estimate asked groq")
	}
	// Counting is free: nothing recorded.
	g.usageRecords(t, id, 0)

	// Anthropic's errors come back in its envelope.
	bad := g.send("POST", "/api/v1/messages/count_tokens", key, `{"model":"claude-x"}`, "Content-Type", "application/json")
	if bad.Status != 400 || gjson.GetBytes(bad.Body, "error.type").Str != "invalid_request_error" || !strings.Contains(gjson.GetBytes(bad.Body, "error.message").Str, "messages") {
		t.Fatalf("%d %s", bad.Status, bad.Body)
	}
}

// Azure AI Foundry's Claude is passed through as Anthropic is: at the
// user's endpoint, with its api-key.
func TestMessagesSDKPassthroughFoundry(t *testing.T) {
	claude := providertest.NewUpstream(t, providertest.SSEReply(providertest.NamedFrames(thinkingToolStream...)))
	g := newTestGateway(t, map[string]string{"OWNKEY_ALLOW_PRIVATE_UPSTREAMS": "true"})
	id, key := g.createAccount("foundry-user")
	cred := map[string]any{"endpoint": claude.URL + "/anthropic/", "apiKey": claudeKey}
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "azure-anthropic-foundry", "key": cred}); r.Status != 200 {
		t.Fatalf("store key: %d %s", r.Status, r.Body)
	}
	client, sent := claudeSDK(g, "/", key, aoption.WithHeader("x-byok-provider", "azure-anthropic-foundry"))
	stream := client.Messages.NewStreaming(t.Context(), anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 100,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	var msg anthropic.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	got := claude.Only(t)
	if msg.Content[0].Signature != "SIG-abc/123==" || got.Path != "/anthropic/v1/messages" || got.Header.Get("Api-Key") != claudeKey ||
		!bytes.Equal(got.Body, sent.last(t)) {
		t.Fatalf("message %s; upstream got %s %v", msg.RawJSON(), got.Path, got.Header)
	}
	if rec := g.usageRecords(t, id, 1)[0]; rec.Provider != "azure-anthropic-foundry" || rec.Usage.CompletionTokens != 55 {
		t.Fatalf("usage record %+v", rec)
	}
}

// The gateway's own refusals on the Messages paths come in Anthropic's
// envelope too: a body over the limit, nested too deep, not JSON, no key.
func TestMessagesGatewayErrors(t *testing.T) {
	g, _, key := messagesGateway(t, nil, nil)
	for _, tc := range []struct {
		path, key, body string
		status          int
		typ             string
	}{
		{"/v1/messages", key, `{"model":"claude-x","max_tokens":1,"messages":[{"role":"user","content":"` + strings.Repeat("x", 2<<20) + `"}]}`, 413, "request_too_large"},
		{"/api/v1/messages", key, `{"model":"claude-x","max_tokens":1,"messages":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`, 400, "invalid_request_error"},
		{"/v1/messages/count_tokens", key, `{"model":`, 400, "invalid_request_error"},
		{"/v1/messages", key, `{"model":"claude-x","max_tokens":1.5,"messages":[{"role":"user","content":"a"}]}`, 400, "invalid_request_error"},
		{"/v1/messages", key, `{"model":"claude-x","max_tokens":1,"stream":"yes","messages":[{"role":"user","content":"a"}]}`, 400, "invalid_request_error"},
		{"/v1/messages", key, `{"model":"claude-x","max_tokens":1,"messages":[{"role":"user","content":"a"}],"byok":{"enabled":"maybe"}}`, 400, "invalid_request_error"},
		{"/v1/messages", "", `{}`, 401, "authentication_error"},
	} {
		r := g.send("POST", tc.path, tc.key, tc.body, "Content-Type", "application/json")
		if r.Status != tc.status || gjson.GetBytes(r.Body, "type").Str != "error" || gjson.GetBytes(r.Body, "error.type").Str != tc.typ ||
			gjson.GetBytes(r.Body, "error.message").Str == "" {
			t.Errorf("%s %.40s: %d %s; want %d %s", tc.path, tc.body, r.Status, r.Body, tc.status, tc.typ)
		}
	}
}

// A metered account whose balance cannot cover the request is refused
// before anything is sent: Anthropic's 402 billing_error.
func TestMessagesInsufficientBalance(t *testing.T) {
	claude := providertest.NewUpstream(t, providertest.JSONReply(200, passMessage))
	t.Setenv("OWNKEY_STARTING_CREDIT_USD", "0")
	g := newTestGateway(t, map[string]string{"OWNKEY_ANTHROPIC_BASE_URL": claude.URL, "OWNKEY_ALLOW_PRIVATE_UPSTREAMS": "true", "OWNKEY_STARTING_CREDIT_USD": "0"})
	_, key := g.createAccount("broke")
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "anthropic", "key": claudeKey}); r.Status != 200 {
		t.Fatalf("store key: %d %s", r.Status, r.Body)
	}
	client, _ := claudeSDK(g, "/", key)
	_, err := client.Messages.New(t.Context(), anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 100,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	var e *anthropic.Error
	if !errors.As(err, &e) || e.StatusCode != 402 || e.Type() != "billing_error" || len(claude.Requests()) != 0 {
		t.Fatalf("err %v; upstream got %d requests", err, len(claude.Requests()))
	}
}
