package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
)

// The official openai-go client against the whole gateway (real wiring,
// real chat handler and error writing) with a fake Responses API upstream,
// OpenAI's and Azure's: what a client of openai-responses or
// azure-responses sees, end to end.

const (
	responsesKey      = "sk-proj-test-RESPONSES-0123456789abcdefXYZ"
	azureResponsesKey = "azure-responses-test-key-0123456789abcdef"
)

// responsesGateway is a test gateway with an account that holds a key for
// providerID (openai-responses, or azure-responses with api-version v1)
// pointing at up, and an SDK client of that account forced to the
// provider.
func responsesGateway(t *testing.T, up *providertest.Upstream, providerID string) (*testGateway, openai.Client, int64) {
	t.Helper()
	var cred any = responsesKey
	if providerID == "azure-responses" {
		cred = map[string]any{"endpoint": up.URL, "apiKey": azureResponsesKey, "apiVersion": "v1"}
	}
	g, client, id, _ := familyGateway(t, map[string]string{"OWNKEY_OPENAI_RESPONSES_BASE_URL": up.URL + "/v1", "OWNKEY_ALLOW_PRIVATE_UPSTREAMS": "true"},
		"responses-user", providerID, cred, option.WithHeader("x-byok-provider", providerID))
	return g, client, id
}

// checkResponsesRequest checks where and how the request reached the
// provider: the family's path and key header, store off.
func checkResponsesRequest(t *testing.T, got providertest.Received, providerID string) {
	t.Helper()
	path, header, value := "/v1/responses", "Authorization", "Bearer "+responsesKey
	if providerID == "azure-responses" {
		path, header, value = "/openai/v1/responses", "Api-Key", azureResponsesKey
	}
	if got.Path != path || got.Header.Get(header) != value || gjson.GetBytes(got.Body, "store").Raw != "false" {
		t.Fatalf("upstream got %s (%s set: %t) body %s", got.Path, header, got.Header.Get(header) == value, got.Body)
	}
	if providerID == "azure-responses" && (got.RawQuery != "api-version=v1" || got.Header.Get("Authorization") != "") {
		t.Fatalf("azure request ?%s with Authorization %q", got.RawQuery, got.Header.Get("Authorization"))
	}
}

// Responses payloads for response resp_1.
func respLifecycle(typ, status, usage string) string {
	return `{"type":"` + typ + `","sequence_number":0,"response":{"id":"resp_1","object":"response","created_at":1765552659,"status":"` + status +
		`","error":null,"incomplete_details":null,"model":"gpt-5-x","output":[],"usage":` + usage + `}}`
}

func respMessage(i, text string) []string {
	return []string{
		`{"type":"response.output_item.added","sequence_number":1,"output_index":` + i + `,"item":{"id":"msg_` + i + `","type":"message","status":"in_progress","content":[],"role":"assistant"}}`,
		`{"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_` + i + `","output_index":` + i + `,"content_index":0,"delta":"` + text + `","logprobs":[]}`,
		`{"type":"response.output_item.done","sequence_number":3,"output_index":` + i + `,"item":{"id":"msg_` + i + `","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"text":"` + text + `"}],"role":"assistant"}}`,
	}
}

func respCall(i, callID, name string, fragments ...string) []string {
	out := []string{`{"type":"response.output_item.added","sequence_number":4,"output_index":` + i + `,"item":{"id":"fc_` + i + `","type":"function_call","status":"in_progress","arguments":"","call_id":"` + callID + `","name":"` + name + `"}}`}
	for _, f := range fragments {
		out = append(out, `{"type":"response.function_call_arguments.delta","sequence_number":5,"item_id":"fc_`+i+`","output_index":`+i+`,"delta":`+f+`}`)
	}
	return append(out, `{"type":"response.output_item.done","sequence_number":6,"output_index":`+i+`,"item":{"id":"fc_`+i+`","type":"function_call","status":"completed","call_id":"`+callID+`","name":"`+name+`"}}`)
}

func respStream(payloads ...[]string) func(http.ResponseWriter, *http.Request) {
	var all []string
	for _, p := range payloads {
		all = append(all, p...)
	}
	return providertest.SSEReply(providertest.NamedFrames(all...), "Content-Type", "text/event-stream; charset=utf-8")
}

const respUsage = `{"input_tokens":1200,"input_tokens_details":{"cached_tokens":1024},"output_tokens":340,"output_tokens_details":{"reasoning_tokens":256},"total_tokens":1540}`

var respWantUsage = ownkey.Usage{PromptTokens: 1200, CompletionTokens: 340, CachedTokens: 1024, ReasoningTokens: 256, Source: ownkey.UsageFromProvider}

func TestResponsesSDKText(t *testing.T) {
	for _, providerID := range []string{"openai-responses", "azure-responses"} {
		t.Run(providerID+"/non-stream", func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(200, `{"id":"resp_1","object":"response","created_at":1765552659,"status":"completed","model":"gpt-5-x",`+
				`"output":[{"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"Greet them."}]},`+
				`{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","annotations":[],"text":"Hello from GPT"}]}],"usage":`+respUsage+`}`))
			g, client, id := responsesGateway(t, up, providerID)
			resp, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
				Model:           "gpt-5",
				Messages:        []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Say hello")},
				ReasoningEffort: shared.ReasoningEffortLow,
			})
			if err != nil {
				t.Fatal(err)
			}
			c := resp.Choices[0]
			if resp.ID != "resp_1" || resp.Model != "gpt-5-x" || c.Message.Content != "Hello from GPT" || c.FinishReason != "stop" ||
				resp.Usage.PromptTokens != 1200 || resp.Usage.CompletionTokens != 340 || resp.Usage.TotalTokens != 1540 ||
				resp.Usage.PromptTokensDetails.CachedTokens != 1024 || resp.Usage.CompletionTokensDetails.ReasoningTokens != 256 {
				t.Fatalf("response: %s", resp.RawJSON())
			}
			if r := c.Message.JSON.ExtraFields["reasoning_content"].Raw(); r != `"Greet them."` {
				t.Fatalf("reasoning_content %s", r)
			}
			got := up.Only(t)
			checkResponsesRequest(t, got, providerID)
			if want := `{"model":"gpt-5","input":[{"role":"system","content":[{"type":"input_text","text":"Be brief."}]},{"role":"user","content":[{"type":"input_text","text":"Say hello"}]}],` +
				`"store":false,"reasoning":{"effort":"low"}}`; string(got.Body) != want {
				t.Fatalf("upstream got %s\nwant %s", got.Body, want)
			}
			rec := g.usageRecords(t, id, 1)[0]
			if rec.Provider != providerID || rec.Usage != respWantUsage || rec.ModelServed != "gpt-5-x" || rec.Status != 200 {
				t.Fatalf("usage record %+v", rec)
			}
		})
		t.Run(providerID+"/stream", func(t *testing.T) {
			up := providertest.NewUpstream(t, respStream([]string{respLifecycle("response.created", "in_progress", "null")}, respMessage("0", "Hello from GPT"),
				[]string{respLifecycle("response.completed", "completed", respUsage)}))
			g, client, id := responsesGateway(t, up, providerID)
			stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
				Model:         "gpt-5",
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			})
			acc, usageChunks := readSDKStream(t, stream)
			if acc.Choices[0].Message.Content != "Hello from GPT" || acc.Choices[0].FinishReason != "stop" || usageChunks != 1 ||
				acc.Usage.PromptTokens != 1200 || acc.Usage.CompletionTokensDetails.ReasoningTokens != 256 || acc.Usage.PromptTokensDetails.CachedTokens != 1024 {
				t.Fatalf("accumulated %+v, %d usage chunks", acc.ChatCompletion, usageChunks)
			}
			got := up.Only(t)
			checkResponsesRequest(t, got, providerID)
			// No stream_options upstream: usage always comes in
			// response.completed.
			if gjson.GetBytes(got.Body, "stream").Raw != "true" || gjson.GetBytes(got.Body, "stream_options").Exists() {
				t.Fatalf("upstream body %s", got.Body)
			}
			if rec := g.usageRecords(t, id, 1)[0]; rec.Usage != respWantUsage || !rec.Stream {
				t.Fatalf("usage record %+v", rec)
			}
		})
	}
}

// A tool round trip through the SDK: the model calls a tool, the client
// runs it and sends the result back, the model answers.
func TestResponsesSDKToolRoundTrip(t *testing.T) {
	up := providertest.NewUpstream(t,
		providertest.JSONReply(200, `{"id":"resp_1","object":"response","created_at":1765552659,"status":"completed","model":"gpt-5-x","output":[`+
			`{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"output_text","text":"Let me look."}]},`+
			`{"id":"fc_1","type":"function_call","status":"completed","call_id":"call_01","name":"get_weather","arguments":"{\"city\":\"Paris\"}"}],`+
			`"usage":{"input_tokens":50,"output_tokens":20}}`),
		providertest.JSONReply(200, `{"id":"resp_2","object":"response","created_at":1765552660,"status":"completed","model":"gpt-5-x","output":[`+
			`{"id":"msg_2","type":"message","role":"assistant","content":[{"type":"output_text","text":"It is 18°C in Paris."}]}],"usage":{"input_tokens":90,"output_tokens":9}}`))
	_, client, _ := responsesGateway(t, up, "openai-responses")
	reqs := sdkToolRoundTrip(t, client, up, "gpt-5", "call_01")
	tools := `"tools":[{"type":"function","name":"get_weather","description":"Weather in a city","parameters":{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"},"strict":false},` +
		`{"type":"function","name":"get_time","parameters":{"type":"object","properties":{}},"strict":false}]`
	want := `{"model":"gpt-5","input":[` +
		`{"role":"user","content":[{"type":"input_text","text":"Weather in Paris?"}]},` +
		`{"role":"assistant","content":[{"type":"output_text","text":"Let me look."}]},` +
		`{"type":"function_call","call_id":"call_01","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},` +
		`{"type":"function_call_output","call_id":"call_01","output":"18°C, sunny"}],"store":false,` + tools + `}`
	if string(reqs[1].Body) != want {
		t.Fatalf("second request translated as\n%s\nwant\n%s", reqs[1].Body, want)
	}
}

func TestResponsesSDKStreamingTools(t *testing.T) {
	up := providertest.NewUpstream(t, respStream([]string{respLifecycle("response.created", "in_progress", "null")}, respMessage("0", "Checking both."),
		respCall("1", "call_a", "get_weather", `""`, `"{\"city\":"`, `" \"Paris\"}"`), respCall("2", "call_b", "get_time"),
		[]string{respLifecycle("response.completed", "completed", respUsage)}))
	_, client, _ := responsesGateway(t, up, "openai-responses")
	stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:             "gpt-5",
		Messages:          []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather and time in Paris?")},
		Tools:             weatherTools,
		ParallelToolCalls: openai.Bool(true),
		StreamOptions:     openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	checkStreamedTools(t, stream, sdkCall{"call_a", "get_weather", `{"city": "Paris"}`}, sdkCall{"call_b", "get_time", "{}"})
	if got := up.Only(t).Body; gjson.GetBytes(got, "parallel_tool_calls").Raw != "true" {
		t.Fatalf("upstream body %s", got)
	}
}

// A reasoning model: the reasoning summary streams as reasoning_content,
// and its tokens are reported apart in the usage and stored.
func TestResponsesSDKReasoningUsage(t *testing.T) {
	summary := func(delta string) string {
		return `{"type":"response.reasoning_summary_text.delta","sequence_number":2,"item_id":"rs_0","output_index":0,"summary_index":0,"delta":"` + delta + `"}`
	}
	up := providertest.NewUpstream(t, respStream([]string{respLifecycle("response.created", "in_progress", "null"),
		`{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"rs_0","type":"reasoning","summary":[]}}`,
		summary("**Counting**"), summary(" the r's.")}, respMessage("1", "Three."),
		[]string{respLifecycle("response.completed", "completed", respUsage)}))
	g, client, id := responsesGateway(t, up, "openai-responses")
	stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:         "o4-mini",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("How many r's in strawberry?")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}, option.WithJSONSet("reasoning", map[string]any{"effort": "high", "summary": "auto"}))
	reasoning := ""
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		c := stream.Current()
		acc.AddChunk(c)
		if len(c.Choices) > 0 {
			if r := c.Choices[0].Delta.JSON.ExtraFields["reasoning_content"]; r.Raw() != "" {
				var s string
				_ = json.Unmarshal([]byte(r.Raw()), &s)
				reasoning += s
			}
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if reasoning != "**Counting** the r's." || acc.Choices[0].Message.Content != "Three." || acc.Usage.CompletionTokensDetails.ReasoningTokens != 256 || acc.Usage.CompletionTokens != 340 {
		t.Fatalf("reasoning %q, accumulated %+v", reasoning, acc.ChatCompletion)
	}
	if got := up.Only(t).Body; gjson.GetBytes(got, "reasoning").Raw != `{"effort":"high","summary":"auto"}` || gjson.GetBytes(got, "model").Str != "o4-mini" {
		t.Fatalf("upstream body %s", got)
	}
	if rec := g.usageRecords(t, id, 1)[0]; rec.Usage != respWantUsage {
		t.Fatalf("usage record %+v", rec)
	}
}

// Errors as the real chat handler writes them, read by the SDK.
func TestResponsesSDKErrors(t *testing.T) {
	t.Run("upstream error passed through", func(t *testing.T) {
		// Recorded: vercel-ai openai-responses/reasoning-model-temperature-error.json.
		up := providertest.NewUpstream(t, providertest.JSONReply(400, `{"error":{"message":"Unsupported parameter: 'temperature' is not supported with this model.","type":"invalid_request_error","param":"temperature","code":null}}`))
		g, client, id := responsesGateway(t, up, "openai-responses")
		_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model: "o4-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}, Temperature: openai.Float(0.2),
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Message != "Unsupported parameter: 'temperature' is not supported with this model." ||
			apiErr.Type != "invalid_request_error" || apiErr.Param != "temperature" {
			t.Fatalf("err = %v", err)
		}
		if rec := g.usageRecords(t, id, 1)[0]; rec.Status != 400 || rec.ErrorCode == "" {
			t.Fatalf("usage record %+v", rec)
		}
	})
	t.Run("refused before sending", func(t *testing.T) {
		up := providertest.NewUpstream(t, providertest.JSONReply(200, `{}`))
		_, client, _ := responsesGateway(t, up, "openai-responses")
		_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model: "gpt-5", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			Stop: openai.ChatCompletionNewParamsStopUnion{OfString: openai.String("END")},
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "stop" || len(up.Requests()) != 0 {
			t.Fatalf("err = %v, %d upstream requests", err, len(up.Requests()))
		}
	})
	t.Run("error event mid-stream", func(t *testing.T) {
		up := providertest.NewUpstream(t, respStream([]string{respLifecycle("response.created", "in_progress", "null")}, respMessage("0", "Hel")[:2],
			[]string{`{"type":"error","sequence_number":3,"error":{"type":"insufficient_quota","code":"insufficient_quota","message":"You exceeded your current quota.","param":null}}`,
				respLifecycle("response.failed", "failed", "null")}))
		g, client, id := responsesGateway(t, up, "openai-responses")
		stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
			Model: "gpt-5", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		content := ""
		for stream.Next() {
			if c := stream.Current(); len(c.Choices) > 0 {
				content += c.Choices[0].Delta.Content
			}
		}
		if err := stream.Err(); err == nil || content != "Hel" || !strings.Contains(err.Error(), "You exceeded your current quota.") {
			t.Fatalf("stream ended with err %v after %q; want the quota error reported", err, content)
		}
		if rec := g.usageRecords(t, id, 1)[0]; rec.ErrorCode != "stream_error" || rec.Status != 200 {
			t.Fatalf("usage record %+v", rec)
		}
	})
}

// /v1/models lists what a stored openai-responses or azure-responses key
// reaches, and an id it lists routes a chat there.
func TestResponsesSDKModels(t *testing.T) {
	for _, providerID := range []string{"openai-responses", "azure-responses"} {
		t.Run(providerID, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(200, `{"id":"resp_1","object":"response","created_at":1765552659,"status":"completed","model":"gpt-5-x",`+
				`"output":[{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"output_text","text":"ok"}]}],"usage":{"input_tokens":3,"output_tokens":1}}`))
			g, client, id := responsesGateway(t, up, providerID)
			page, err := client.Models.List(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			owners := map[string]string{}
			for _, m := range page.Data {
				owners[m.ID] = m.OwnedBy
			}
			if owners["gpt-5"] != providerID || owners[providerID+"/gpt-5"] != providerID || owners["o4-mini"] != providerID || len(owners) == 0 {
				t.Fatalf("models %v", owners)
			}
			for m := range owners {
				if !strings.HasPrefix(m, providerID+"/") && owners[m] != providerID {
					t.Fatalf("%s owned by %s, with only a %s key", m, owners[m], providerID)
				}
			}
			// The listed prefixed id routes to the provider, without the
			// forcing header.
			resp, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
				Model: providerID + "/gpt-5", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			}, option.WithHeaderDel("x-byok-provider"))
			if err != nil || resp.Choices[0].Message.Content != "ok" {
				t.Fatalf("chat: %v", err)
			}
			if got := gjson.GetBytes(up.Only(t).Body, "model").Str; got != "gpt-5" {
				t.Fatalf("upstream model %q", got)
			}
			if rec := g.usageRecords(t, id, 1)[0]; rec.Provider != providerID {
				t.Fatalf("usage record %+v", rec)
			}
		})
	}
}
