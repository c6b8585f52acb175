package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	dialect "github.com/ownkey/ownkey/dialect/responses"
	"github.com/ownkey/ownkey/provider/providertest"
)

// The official openai-go Responses client (client.Responses.New and
// NewStreaming) against the whole gateway's POST /v1/responses: relayed to
// a fake openai-responses (and azure-responses) upstream, byte for byte,
// and translated for providers that speak Chat Completions (groq through
// the OpenAI-compatible family, anthropic).

// responsesInGateway is a test gateway with an account holding keys for
// openai-responses, azure-responses (api-version v1), groq and anthropic,
// all at up, and a Responses SDK client of the account whose outgoing
// request bodies are kept in sent.
func responsesInGateway(t *testing.T, up *providertest.Upstream) (g *testGateway, client openai.Client, key string, id int64, sent *[][]byte) {
	t.Helper()
	g = newTestGateway(t, map[string]string{
		"OWNKEY_OPENAI_RESPONSES_BASE_URL": up.URL + "/v1", "OWNKEY_GROQ_BASE_URL": up.URL + "/openai/v1",
		"OWNKEY_ANTHROPIC_BASE_URL": up.URL, "OWNKEY_ALLOW_PRIVATE_UPSTREAMS": "true",
	})
	id, key = g.createAccount("responses-client")
	for p, k := range map[string]any{
		"openai-responses": responsesKey, "groq": groqKey, "anthropic": claudeKey,
		"azure-responses": map[string]any{"endpoint": up.URL, "apiKey": azureResponsesKey, "apiVersion": "v1"},
	} {
		if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": p, "key": k}); r.Status != 200 {
			t.Fatalf("store %s key: %d %s", p, r.Status, r.Body)
		}
	}
	bodies := &[][]byte{}
	keep := func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		if req.Body != nil {
			b, _ := io.ReadAll(req.Body)
			*bodies = append(*bodies, b)
			req.Body = io.NopCloser(bytes.NewReader(b))
		}
		return next(req)
	}
	return g, sdkClient(g, key, option.WithMiddleware(keep)), key, id, bodies
}

// A relayed answer, whole: reasoning, a hosted web search with its
// citation, text, a function call: everything the translation would drop.
var relayedWhole = `{"id":"resp_1","object":"response","created_at":1765552659,"status":"completed","model":"gpt-5-2025-08-07","output":[` +
	`{"id":"rs_1","type":"reasoning","encrypted_content":"gAAAAABpPDIU","summary":[{"type":"summary_text","text":"Search first."}]},` +
	`{"id":"ws_1","type":"web_search_call","status":"completed","action":{"type":"search","query":"weather Paris"}},` +
	`{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","annotations":[{"type":"url_citation","start_index":0,"end_index":5,"url":"https://example.com","title":"x"}],"logprobs":[],"text":"Sunny."}]},` +
	`{"id":"fc_1","type":"function_call","status":"completed","arguments":"{\"city\":\"Paris\"}","call_id":"call_01","name":"get_weather"}],` +
	`"usage":` + respUsage + `,"store":false}`

// relayedStream is a relayed stream with the same kinds of event.
var relayedStream = providertest.NamedFrames(
	respLifecycle("response.created", "in_progress", "null"),
	respLifecycle("response.in_progress", "in_progress", "null"),
	`{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"rs_1","type":"reasoning","encrypted_content":"gAAAAABpPDIU","summary":[]}}`,
	`{"type":"response.output_item.done","sequence_number":3,"output_index":0,"item":{"id":"rs_1","type":"reasoning","encrypted_content":"gAAAAABpPDIU","summary":[]}}`,
	`{"type":"response.output_item.added","sequence_number":4,"output_index":1,"item":{"id":"ws_1","type":"web_search_call","status":"in_progress"}}`,
	`{"type":"response.web_search_call.completed","sequence_number":5,"output_index":1,"item_id":"ws_1"}`,
	`{"type":"response.output_item.added","sequence_number":6,"output_index":2,"item":{"id":"msg_1","type":"message","status":"in_progress","content":[],"role":"assistant"}}`,
	`{"type":"response.content_part.added","sequence_number":7,"item_id":"msg_1","output_index":2,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}}`,
	`{"type":"response.output_text.delta","sequence_number":8,"item_id":"msg_1","output_index":2,"content_index":0,"delta":"Sun","logprobs":[],"obfuscation":"o6siFnnj"}`,
	`{"type":"response.output_text.delta","sequence_number":9,"item_id":"msg_1","output_index":2,"content_index":0,"delta":"ny.","logprobs":[],"obfuscation":"Pfq"}`,
	`{"type":"response.output_text.annotation.added","sequence_number":10,"item_id":"msg_1","output_index":2,"content_index":0,"annotation_index":0,"annotation":{"type":"url_citation","url":"https://example.com"}}`,
	`{"type":"response.output_text.done","sequence_number":11,"item_id":"msg_1","output_index":2,"content_index":0,"text":"Sunny.","logprobs":[]}`,
	`{"type":"response.output_item.done","sequence_number":12,"output_index":2,"item":{"id":"msg_1","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Sunny."}],"role":"assistant"}}`,
	respLifecycle("response.completed", "completed", respUsage),
)

// The relayed answer, at gpt-5's built-in prices (TestBillingGoldenResponses):
// $0.003748 at cost, $0.0001874 charged.
const (
	relayedCost   = "0.0001874"
	relayedAtCost = "0.003748"
)

func TestResponsesInRelayed(t *testing.T) {
	for _, providerID := range []string{"openai-responses", "azure-responses"} {
		t.Run(providerID, func(t *testing.T) {
			up := providertest.NewUpstream(t,
				providertest.JSONReply(200, relayedWhole), providertest.JSONReply(200, relayedWhole),
				providertest.SSEReply(relayedStream, "Content-Type", "text/event-stream; charset=utf-8"),
				providertest.SSEReply(relayedStream, "Content-Type", "text/event-stream; charset=utf-8"))
			g, client, key, id, sent := responsesInGateway(t, up)
			forced := option.WithHeader("x-byok-provider", providerID)

			// The SDK, whole: it reads what the provider wrote.
			resp, err := client.Responses.New(t.Context(), responses.ResponseNewParams{
				Model: "gpt-5", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather in Paris?")},
				Tools:   []responses.ToolUnionParam{{OfWebSearch: &responses.WebSearchToolParam{Type: responses.WebSearchToolTypeWebSearch}}},
				Include: []responses.ResponseIncludable{responses.ResponseIncludableReasoningEncryptedContent},
			}, forced)
			if err != nil {
				t.Fatal(err)
			}
			if resp.RawJSON() != relayedWhole || resp.OutputText() != "Sunny." || len(resp.Output) != 4 || resp.Output[3].CallID != "call_01" ||
				resp.Usage.OutputTokensDetails.ReasoningTokens != 256 || resp.Output[0].EncryptedContent != "gAAAAABpPDIU" {
				t.Fatalf("response %s", resp.RawJSON())
			}
			// The request went up as the SDK sent it, with store:false
			// added: the only edit.
			got := up.Requests()[0]
			checkResponsesRequest(t, got, providerID)
			if want := strings.TrimSuffix(string((*sent)[0]), "}") + `,"store":false}`; string(got.Body) != want {
				t.Fatalf("upstream got\n%s\nwant\n%s", got.Body, want)
			}

			// Raw, to see the bytes and the cost headers.
			r := g.send("POST", "/v1/responses", key, `{"model":"`+providerID+`/gpt-5","input":"Weather?","store":false}`)
			if r.Status != 200 || string(r.Body) != relayedWhole || r.Header.Get(dialect.HeaderCost) != relayedCost ||
				r.Header.Get(dialect.HeaderUpstreamCost) != relayedAtCost || r.Header.Get(dialect.HeaderIsBYOK) != "true" || r.Header.Get(dialect.HeaderMarkupRate) != "0.05" {
				t.Fatalf("%d %v\n%s", r.Status, r.Header, r.Body)
			}
			if got := up.Requests()[1]; string(got.Body) != `{"model":"gpt-5","input":"Weather?","store":false}` {
				t.Fatalf("upstream got %s", got.Body)
			}

			// The SDK, streamed.
			stream := client.Responses.NewStreaming(t.Context(), responses.ResponseNewParams{
				Model: "gpt-5", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather in Paris?")},
			}, forced)
			var types []string
			var text string
			var final responses.Response
			for stream.Next() {
				ev := stream.Current()
				types = append(types, ev.Type)
				switch ev.Type {
				case "response.output_text.delta":
					text += ev.Delta
				case "response.completed":
					final = ev.AsResponseCompleted().Response
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if text != "Sunny." || len(types) != 14 || types[5] != "response.web_search_call.completed" || final.Usage.InputTokensDetails.CachedTokens != 1024 {
				t.Fatalf("stream: %v %q %s", types, text, final.RawJSON())
			}
			// Raw: the stream byte for byte.
			r = g.send("POST", "/v1/responses", key, `{"model":"gpt-5","input":"Weather?","stream":true}`, "x-byok-provider", providerID)
			if r.Status != 200 || string(r.Body) != relayedStream || r.Header.Get(dialect.HeaderCost) != "" {
				t.Fatalf("%d %v\n%s\nwant\n%s", r.Status, r.Header, r.Body, relayedStream)
			}

			// Billed as chat: four records at the golden charge.
			checkRecords(t, g, id, 4, 3_748_000, 187_400)
			for _, rec := range g.usageRecords(t, id, 4) {
				served := "gpt-5-2025-08-07" // the whole answer's; the stream's is respLifecycle's
				if rec.Stream {
					served = "gpt-5-x"
				}
				if rec.Provider != providerID || rec.Usage != respWantUsage || rec.ModelServed != served || rec.Status != 200 || rec.ErrorCode != "" {
					t.Fatalf("record %+v", rec)
				}
			}
		})
	}
}

// A Groq chat completion with a tool call, and the answer after it.
const (
	groqToolCall = `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"message":{"role":"assistant","content":"Let me look.",` +
		`"tool_calls":[{"id":"call_g1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],` +
		`"usage":{"prompt_tokens":50,"completion_tokens":20,"total_tokens":70}}`
	groqAnswer = `{"id":"chatcmpl-2","object":"chat.completion","created":1700000001,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"message":{"role":"assistant","content":"18°C in Paris."},"logprobs":null,"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":90,"completion_tokens":9,"total_tokens":99,"completion_tokens_details":{"reasoning_tokens":4}}}`
)

var weatherFunction = responses.ToolUnionParam{OfFunction: &responses.FunctionToolParam{
	Name: "get_weather", Description: openai.String("Weather in a city"), Strict: openai.Bool(false),
	Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
}}

// Translated through Groq (the OpenAI-compatible family): a function call
// round trip, whole, with the cost in usage as chat has it.
func TestResponsesInTranslatedToolRoundTrip(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, groqToolCall), providertest.JSONReply(200, groqAnswer))
	g, client, _, id, _ := responsesInGateway(t, up)
	params := responses.ResponseNewParams{
		Model:        "groq/llama-3.3-70b-versatile",
		Instructions: openai.String("Be brief."),
		Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather in Paris?")},
		Tools:        []responses.ToolUnionParam{weatherFunction},
	}
	first, err := client.Responses.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != "completed" || len(first.Output) != 2 || first.OutputText() != "Let me look." || first.ID != "resp_chatcmpl-1" || first.Model != "llama-3.3-70b-versatile" {
		t.Fatalf("first answer %s", first.RawJSON())
	}
	call := first.Output[1].AsFunctionCall()
	if call.CallID != "call_g1" || call.Name != "get_weather" || call.Arguments != `{"city":"Paris"}` {
		t.Fatalf("call %s", first.Output[1].RawJSON())
	}
	if first.Usage.InputTokens != 50 || first.Usage.OutputTokens != 20 || first.Instructions.OfString != "Be brief." || len(first.Tools) != 1 {
		t.Fatalf("first answer %s", first.RawJSON())
	}
	want := `{"model":"llama-3.3-70b-versatile","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather in Paris?"}],` +
		`"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"},"strict":false}}]}`
	if got := up.Requests()[0]; got.Path != "/openai/v1/chat/completions" || string(got.Body) != want {
		t.Fatalf("upstream got %s %s\nwant %s", got.Path, got.Body, want)
	}

	// The client sends the output back with the call's result.
	msg := first.Output[0].AsMessage().ToParam()
	fc := call.ToParam()
	params.Input = responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
		responses.ResponseInputItemParamOfMessage("Weather in Paris?", responses.EasyInputMessageRoleUser),
		{OfOutputMessage: &msg}, {OfFunctionCall: &fc},
		responses.ResponseInputItemParamOfFunctionCallOutput("18°C, sunny"),
	}}
	params.Input.OfInputItemList[3].OfFunctionCallOutput.CallID = openai.String(call.CallID)
	second, err := client.Responses.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	if second.OutputText() != "18°C in Paris." || second.Usage.OutputTokensDetails.ReasoningTokens != 4 {
		t.Fatalf("second answer %s", second.RawJSON())
	}
	got := gjson.GetBytes(up.Requests()[1].Body, "messages")
	if want := `[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather in Paris?"},` +
		`{"role":"assistant","content":"Let me look.","tool_calls":[{"id":"call_g1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
		`{"role":"tool","content":"18°C, sunny","tool_call_id":"call_g1"}]`; got.Raw != want {
		t.Fatalf("second request's messages\n%s\nwant\n%s", got.Raw, want)
	}
	// The cost written is the charge settled.
	recs := g.usageRecords(t, id, 2)
	for _, r := range []*responses.Response{first, second} {
		cost := r.Usage.JSON.ExtraFields["cost"].Raw()
		found := false
		for _, rec := range recs {
			found = found || string(ownkey.AppendDecimal(nil, int64(rec.Charge.Charged), 9)) == cost && rec.Charge.Charged > 0
		}
		if !found || !strings.Contains(r.RawJSON(), `"is_byok":true`) {
			t.Fatalf("cost %s in %s; records %+v %+v", cost, r.Usage.RawJSON(), recs[0].Charge, recs[1].Charge)
		}
	}
	for _, rec := range recs {
		if rec.Provider != "groq" || rec.Status != 200 || rec.Usage.Source != ownkey.UsageFromProvider {
			t.Fatalf("record %+v", rec)
		}
	}
}

// Groq chunks: text, then a streamed tool call, usage on the finish chunk
// as Groq sends it.
var groqStreamChunks = []string{
	`data: {"id":"chatcmpl-3","object":"chat.completion.chunk","created":1700000000,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
	`data: {"id":"chatcmpl-3","object":"chat.completion.chunk","created":1700000000,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"content":"Checking "},"finish_reason":null}]}`,
	`data: {"id":"chatcmpl-3","object":"chat.completion.chunk","created":1700000000,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"content":"\"Paris\"."},"finish_reason":null}]}`,
	`data: {"id":"chatcmpl-3","object":"chat.completion.chunk","created":1700000000,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_s1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`,
	`data: {"id":"chatcmpl-3","object":"chat.completion.chunk","created":1700000000,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}`,
	`data: {"id":"chatcmpl-3","object":"chat.completion.chunk","created":1700000000,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}`,
	`data: {"id":"chatcmpl-3","object":"chat.completion.chunk","created":1700000000,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42},"x_groq":{"usage":{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42}}}`,
	`data: [DONE]`,
}

func TestResponsesInTranslatedStream(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.SSEReply(strings.Join(groqStreamChunks, "\n\n")+"\n\n"))
	g, client, _, id, _ := responsesInGateway(t, up)
	stream := client.Responses.NewStreaming(t.Context(), responses.ResponseNewParams{
		Model: "groq/llama-3.3-70b-versatile", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather in Paris?")},
		Tools: []responses.ToolUnionParam{weatherFunction}, MaxOutputTokens: openai.Int(200),
	})
	var types []string
	var text, args string
	var seq []int64
	var final responses.Response
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		seq = append(seq, ev.SequenceNumber)
		switch ev.Type {
		case "response.output_text.delta":
			text += ev.Delta
		case "response.function_call_arguments.delta":
			args += ev.Delta
		case "response.completed":
			final = ev.AsResponseCompleted().Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"response.created", "response.in_progress",
		"response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done", "response.output_item.done",
		"response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
		"response.function_call_arguments.done", "response.output_item.done", "response.completed"}
	if strings.Join(types, ",") != strings.Join(want, ",") {
		t.Fatalf("events %v", types)
	}
	for i, n := range seq {
		if n != int64(i) {
			t.Fatalf("sequence numbers %v", seq)
		}
	}
	if text != `Checking "Paris".` || args != `{"city":"Paris"}` || final.OutputText() != text || final.Output[1].CallID != "call_s1" ||
		final.Usage.InputTokens != 30 || final.Usage.OutputTokens != 12 || final.Usage.JSON.ExtraFields["cost"].Raw() == "" {
		t.Fatalf("text %q args %q final %s", text, args, final.RawJSON())
	}
	body := up.Only(t).Body
	if gjson.GetBytes(body, "stream_options.include_usage").Raw != "true" || gjson.GetBytes(body, "max_tokens").Raw != "200" {
		t.Fatalf("upstream got %s", body)
	}
	rec := g.usageRecords(t, id, 1)[0]
	if rec.Provider != "groq" || !rec.Stream || rec.Usage.PromptTokens != 30 || rec.Usage.CompletionTokens != 12 ||
		string(ownkey.AppendDecimal(nil, int64(rec.Charge.Charged), 9)) != final.Usage.JSON.ExtraFields["cost"].Raw() {
		t.Fatalf("record %+v, cost %s", rec, final.Usage.JSON.ExtraFields["cost"].Raw())
	}
}

// Translated through Anthropic: extended thinking becomes a reasoning
// item, streamed as summary text.
func TestResponsesInTranslatedAnthropic(t *testing.T) {
	thinking := []string{
		`{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The user greets."}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCkYIBxgC"}}`,
		claudeBlockStop("0"),
	}
	up := providertest.NewUpstream(t,
		claudeStream([]string{claudeStart}, thinking, claudeText("1", "Hello", " there"), []string{claudeFinish("end_turn", `{"output_tokens":30}`), claudeStop}),
		providertest.JSONReply(200, `{"id":"msg_2","type":"message","role":"assistant","model":"claude-x-1","content":[{"type":"text","text":"Cut"}],"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":5}}`))
	g, client, _, id, _ := responsesInGateway(t, up)
	stream := client.Responses.NewStreaming(t.Context(), responses.ResponseNewParams{
		Model: "anthropic/claude-x", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi")},
		Reasoning: responses.ReasoningParam{Effort: responses.ReasoningEffortLow}, MaxOutputTokens: openai.Int(4000),
	})
	var reasoning, text string
	var final responses.Response
	for stream.Next() {
		ev := stream.Current()
		switch ev.Type {
		case "response.reasoning_summary_text.delta":
			reasoning += ev.Delta
		case "response.output_text.delta":
			text += ev.Delta
		case "response.completed":
			final = ev.AsResponseCompleted().Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if reasoning != "The user greets." || text != "Hello there" || len(final.Output) != 2 || final.Output[0].Type != "reasoning" ||
		final.Output[0].Summary[0].Text != reasoning || final.Usage.InputTokens != 12 || final.Usage.OutputTokens != 30 {
		t.Fatalf("reasoning %q text %q final %s", reasoning, text, final.RawJSON())
	}
	body := up.Requests()[0].Body
	if gjson.GetBytes(body, "thinking.type").Str != "enabled" || gjson.GetBytes(body, "max_tokens").Int() != 4000 {
		t.Fatalf("anthropic got %s", body)
	}
	// Cut by max_tokens: incomplete, max_output_tokens.
	resp, err := client.Responses.New(t.Context(), responses.ResponseNewParams{
		Model: "anthropic/claude-x", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != "incomplete" || resp.IncompleteDetails.Reason != "max_output_tokens" || resp.OutputText() != "Cut" {
		t.Fatalf("response %s", resp.RawJSON())
	}
	g.usageRecords(t, id, 2)
}

// Errors, in OpenAI's envelope, through the SDK.
func TestResponsesInErrors(t *testing.T) {
	up := providertest.NewUpstream(t,
		providertest.JSONReply(429, `{"error":{"message":"Rate limit reached for model llama","type":"tokens","code":"rate_limit_exceeded"}}`))
	g, client, _, id, _ := responsesInGateway(t, up)
	input := responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi")}
	for _, c := range []struct {
		name   string
		params responses.ResponseNewParams
		opts   []option.RequestOption
		status int
		param  string
		words  string
	}{
		{"store", responses.ResponseNewParams{Model: "gpt-5", Input: input, Store: openai.Bool(true)}, nil, 400, "store", "no conversation state"},
		{"previous response", responses.ResponseNewParams{Model: "gpt-5", Input: input, PreviousResponseID: openai.String("resp_1")}, nil, 400, "previous_response_id", "no conversation state"},
		{"a built-in tool through groq", responses.ResponseNewParams{Model: "groq/llama-3.3-70b-versatile", Input: input,
			Tools: []responses.ToolUnionParam{{OfWebSearch: &responses.WebSearchToolParam{Type: responses.WebSearchToolTypeWebSearch}}}}, nil, 400, "tools[0].type", "web_search"},
		{"a bad key", responses.ResponseNewParams{Model: "gpt-5", Input: input}, []option.RequestOption{option.WithAPIKey("sk-ownkey-not-a-key")}, 401, "", ""},
		{"no key for the provider", responses.ResponseNewParams{Model: "gpt-5", Input: input}, []option.RequestOption{option.WithHeader("x-byok-provider", "together")}, 400, "x-byok-provider", "no Together key"},
		{"upstream error", responses.ResponseNewParams{Model: "groq/llama-3.3-70b-versatile", Input: input}, nil, 429, "", "Rate limit reached"},
	} {
		_, err := client.Responses.New(t.Context(), c.params, c.opts...)
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != c.status || apiErr.Param != c.param || !strings.Contains(apiErr.Message, c.words) {
			t.Errorf("%s: %v (%s)", c.name, err, apiErr.RawJSON())
		}
	}
	// A stream refused before it starts is a plain error answer too.
	s := client.Responses.NewStreaming(t.Context(), responses.ResponseNewParams{Model: "gpt-5", Input: input, Store: openai.Bool(true)})
	var apiErr *openai.Error
	if s.Next() || !errors.As(s.Err(), &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "store" {
		t.Fatalf("stream: %v", s.Err())
	}
	// Only the upstream error reached a provider, and only it is recorded.
	if n := len(up.Requests()); n != 1 {
		t.Fatalf("%d upstream requests", n)
	}
	if rec := g.usageRecords(t, id, 1)[0]; rec.Status != 429 || rec.ErrorCode != "upstream_error" {
		t.Fatalf("record %+v", rec)
	}
	// The endpoints that act on stored responses say there are none.
	_, err := client.Responses.Get(t.Context(), "resp_1", responses.ResponseGetParams{})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "response_not_stored" || !strings.Contains(apiErr.Message, "no conversation state") {
		t.Fatalf("get: %v", err)
	}
	if err := client.Responses.Delete(t.Context(), "resp_1"); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("delete: %v", err)
	}
	// No key at all: 401, as chat.
	if r := g.send("POST", "/v1/responses", "", `{"model":"gpt-5","input":"hi"}`); r.Status != 401 {
		t.Fatalf("no key: %d %s", r.Status, r.Body)
	}
}

// A relayed stream that fails mid-way: the provider's error event and
// response.failed reach the SDK as its stream error.
func TestResponsesInRelayedStreamError(t *testing.T) {
	stream := providertest.NamedFrames(respLifecycle("response.created", "in_progress", "null"),
		`{"type":"error","sequence_number":1,"error":{"type":"insufficient_quota","code":"insufficient_quota","message":"You exceeded your current quota.","param":null}}`,
		`{"type":"response.failed","sequence_number":2,"response":{"id":"resp_1","object":"response","status":"failed","error":{"code":"insufficient_quota","message":"You exceeded your current quota."},"usage":null}}`)
	up := providertest.NewUpstream(t, providertest.SSEReply(stream, "Content-Type", "text/event-stream"))
	g, client, _, id, _ := responsesInGateway(t, up)
	s := client.Responses.NewStreaming(t.Context(), responses.ResponseNewParams{Model: "gpt-5", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi")}},
		option.WithHeader("x-byok-provider", "openai-responses"))
	n := 0
	for s.Next() {
		n++
	}
	var se *ssestream.StreamError
	if !errors.As(s.Err(), &se) || !strings.Contains(se.Message, "exceeded your current quota") || n != 1 {
		t.Fatalf("%d events, %v", n, s.Err())
	}
	if rec := g.usageRecords(t, id, 1)[0]; rec.ErrorCode != "stream_error" || rec.Provider != "openai-responses" {
		t.Fatalf("record %+v", rec)
	}
}

// The relayed body and the translated one carry what billing reserves:
// max_output_tokens bounds the hold.
func TestResponsesInReservesMaxOutputTokens(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONReply(200, relayedWhole))
	g := newTestGateway(t, map[string]string{"OWNKEY_OPENAI_RESPONSES_BASE_URL": up.URL + "/v1", "OWNKEY_STARTING_CREDIT_USD": "0.001"})
	_, key := g.createAccount("poor")
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "openai-responses", "key": responsesKey}); r.Status != 200 {
		t.Fatalf("store key: %d %s", r.Status, r.Body)
	}
	// Without a bound, 32,768 output tokens of gpt-5 ($0.33) are held: more
	// than the balance.
	r := g.send("POST", "/v1/responses", key, `{"model":"gpt-5","input":"hi"}`)
	if r.Status != 402 || gjson.GetBytes(r.Body, "error.code").Str != "insufficient_balance" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	// With max_output_tokens 50 the hold fits.
	r = g.send("POST", "/v1/responses", key, `{"model":"gpt-5","input":"hi","max_output_tokens":50}`)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var resp map[string]any
	if json.Unmarshal(r.Body, &resp) != nil || len(up.Requests()) != 1 {
		t.Fatalf("%s", r.Body)
	}
}

// An answer past what the Responses writer keeps (dialect.MaxKept) ends
// with response_too_large for the client, streamed (an error event, then
// response.failed) or whole (a 502), and the usage record says
// response_too_large, not that the client went away: whole, with the
// provider's usage; streamed, cut before the provider's usage came, with
// the conservative estimate.
func TestResponsesInTooLargeIsRecordedAsSuch(t *testing.T) {
	defer func(n int) { dialect.MaxKept = n }(dialect.MaxKept)
	dialect.MaxKept = 300 // the first item and a few bytes of text
	whole := `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"llama-3.3-70b-versatile","choices":[{"index":0,` +
		`"message":{"role":"assistant","content":"` + strings.Repeat("long ", 100) + `"},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":30,"completion_tokens":100,"total_tokens":130}}`
	up := providertest.NewUpstream(t, providertest.SSEReply(strings.Join(groqStreamChunks, "\n\n")+"\n\n"), providertest.JSONReply(200, whole))
	g, _, key, id, _ := responsesInGateway(t, up)

	r := g.do("POST", "/v1/responses", key, map[string]any{"model": "groq/llama-3.3-70b-versatile", "input": "Weather in Paris?", "stream": true})
	if r.Status != 200 || !strings.Contains(string(r.Body), `"code":"response_too_large"`) || !strings.Contains(string(r.Body), "event: response.failed") {
		t.Fatalf("stream: %d %s", r.Status, r.Body)
	}
	r = g.do("POST", "/v1/responses", key, map[string]any{"model": "groq/llama-3.3-70b-versatile", "input": "Weather in Paris?"})
	if r.Status != 502 || gjson.GetBytes(r.Body, "error.code").Str != "response_too_large" {
		t.Fatalf("whole: %d %s", r.Status, r.Body)
	}
	for _, rec := range g.usageRecords(t, id, 2) {
		usageOK := rec.Usage.Source == ownkey.UsageFromProvider && rec.Usage.PromptTokens == 30 && rec.Usage.CompletionTokens == 100
		if rec.Stream {
			usageOK = rec.Usage.Source == ownkey.UsageEstimated && rec.Usage.PromptTokens >= 30
		}
		if rec.ErrorCode != "response_too_large" || rec.ClientDisconnected || !usageOK || rec.Charge.Charged == 0 {
			t.Fatalf("record %s stream=%t: error %q, client gone %t, usage %+v, charged %d",
				rec.RequestID, rec.Stream, rec.ErrorCode, rec.ClientDisconnected, rec.Usage, rec.Charge.Charged)
		}
	}
}

// A Responses request's access line says what a chat request's says: the
// provider, model, stream, tokens and usage source.
func TestResponsesInAccessLine(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.SSEReply(strings.Join(groqStreamChunks, "\n\n")+"\n\n"))
	g, _, key, _, _ := responsesInGateway(t, up)
	r := g.do("POST", "/v1/responses", key, map[string]any{"model": "groq/llama-3.3-70b-versatile", "input": "Weather in Paris?", "stream": true})
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	rid := r.Header.Get("X-Request-ID")
	var line map[string]any
	until(t, "the access line is written", func() bool {
		for _, l := range logLines(t, g, rid) {
			if l["msg"] == "request" {
				line = l
			}
		}
		return line != nil
	})
	for k, v := range map[string]any{"provider": "groq", "model": "groq/llama-3.3-70b-versatile", "stream": true, "byok": true,
		"prompt_tokens": 30.0, "completion_tokens": 12.0, "usage_source": "provider", "path": "/v1/responses"} {
		if line[k] != v {
			t.Errorf("%s = %#v, want %#v (%v)", k, line[k], v, line)
		}
	}
}
