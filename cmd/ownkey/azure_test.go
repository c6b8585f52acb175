package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
	"github.com/ownkey/ownkey/vault"
)

// The official openai-go client against the whole gateway (real wiring,
// chat handler, error writing, billing) with a fake Azure OpenAI resource
// that routes and answers as Azure does: deployments under
// /openai/deployments/{name}/chat/completions, the api-version it knows,
// the api-key header, Azure's stream framing and error bodies.

const azureKey = "azure-test-key-0123456789abcdefLMNO"

// fakeAzure is a resource with one deployment that knows one dated
// api-version (and the v1 API); anything else gets the error Azure sends.
// answer serves a request that got through.
func fakeAzure(t *testing.T, deployment, apiVersion string, answer func(w http.ResponseWriter, r *http.Request)) *providertest.Upstream {
	return providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query().Get("api-version")
		switch {
		case r.Header.Get("Api-Key") != azureKey:
			providertest.JSONReply(401, `{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}`)(w, r)
		case r.URL.Path == "/openai/v1/chat/completions" && (v == "" || v == "v1" || v == "preview"):
			answer(w, r)
		case !strings.HasPrefix(r.URL.Path, "/openai/deployments/"):
			providertest.JSONReply(404, `{"error":{"code":"404","message":"Resource not found"}}`)(w, r)
		case v != apiVersion:
			providertest.JSONReply(400, `{"error":{"code":"BadRequest","message":"API version not supported"}}`)(w, r)
		case r.URL.Path != "/openai/deployments/"+deployment+"/chat/completions":
			providertest.JSONReply(404, `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}`)(w, r)
		default:
			answer(w, r)
		}
	})
}

// azureGateway is a test gateway (private upstreams allowed: the fake is on
// loopback) with a metered account holding an Azure key for deployment at
// apiVersion on up, and an SDK client of that account.
func azureGateway(t *testing.T, up *providertest.Upstream, deployment, apiVersion string) (*testGateway, openai.Client, int64, string) {
	t.Helper()
	g := newTestGateway(t, map[string]string{"OWNKEY_ALLOW_PRIVATE_UPSTREAMS": "true"})
	id, key := g.createAccount("azure-user")
	cred := map[string]any{"endpoint": up.URL + "/", "apiKey": azureKey, "deploymentName": deployment, "apiVersion": apiVersion}
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "azure", "key": cred}); r.Status != 200 {
		t.Fatalf("store azure key: %d %s", r.Status, r.Body)
	}
	return g, sdkClient(g, key), id, key
}

// azChunk is an Azure stream chunk with one choice (its JSON members after
// content_filter_results), as Azure orders its members.
func azChunk(choice string) string {
	return `{"choices":[{"content_filter_results":{},` + choice + `,"index":0,"logprobs":null}],"created":1762317021,"id":"chatcmpl-AZ1","model":"gpt-4o-mini-2024-07-18","object":"chat.completion.chunk","system_fingerprint":"fp_b705f0c291","usage":null}`
}

const (
	azPromptFilter = `{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}]}`
	azUsageJSON    = `{"completion_tokens":200,"completion_tokens_details":{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":0,"rejected_prediction_tokens":0},"prompt_tokens":1000,"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":400},"total_tokens":1200}`
	azUsageChunk   = `{"choices":[],"created":1762317021,"id":"chatcmpl-AZ1","model":"gpt-4o-mini-2024-07-18","object":"chat.completion.chunk","system_fingerprint":"fp_b705f0c291","usage":` + azUsageJSON + `}`
	azSafe         = `"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}`
	azCompletion   = `{"choices":[{` + azSafe + `,"finish_reason":"stop","index":0,"logprobs":null,"message":{"annotations":[],"content":"Copenhagen is the capital of Denmark.","refusal":null,"role":"assistant"}}],"created":1762317100,"id":"chatcmpl-AZ2","model":"gpt-4o-mini-2024-07-18","object":"chat.completion",` +
		`"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}],"system_fingerprint":"fp_b705f0c291","usage":` + azUsageJSON + `}`
	azContentFilter = `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"medium"}}}}}`
)

// azTextStream is Azure's stream of a short answer: the prompt filter
// chunk, the role, two pieces of text, the finish, the usage, [DONE].
var azTextStream = providertest.Frames(azPromptFilter,
	azChunk(`"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null`),
	strings.Replace(azChunk(`"delta":{"content":"Copenhagen"},"finish_reason":null`), `"content_filter_results":{}`, azSafe, 1),
	strings.Replace(azChunk(`"delta":{"content":" is the capital."},"finish_reason":null`), `"content_filter_results":{}`, azSafe, 1),
	azChunk(`"delta":{},"finish_reason":"stop"`), azUsageChunk, "[DONE]")

func TestAzureSDKText(t *testing.T) {
	for _, apiVersion := range []string{"2024-10-21", "v1"} {
		t.Run(apiVersion+"/non-stream", func(t *testing.T) {
			up := fakeAzure(t, "gpt4o-prod", "2024-10-21", providertest.JSONReply(200, azCompletion))
			g, client, id, _ := azureGateway(t, up, "gpt4o-prod", apiVersion)
			resp, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
				Model:    "azure/gpt4o-prod",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Capital of Denmark?")},
			})
			if err != nil {
				t.Fatal(err)
			}
			c := resp.Choices[0]
			if resp.ID != "chatcmpl-AZ2" || resp.Model != "gpt-4o-mini-2024-07-18" || c.Message.Content != "Copenhagen is the capital of Denmark." ||
				c.FinishReason != "stop" || resp.Usage.PromptTokens != 1000 || resp.Usage.PromptTokensDetails.CachedTokens != 400 ||
				!strings.Contains(resp.RawJSON(), `"prompt_filter_results":[`) {
				t.Fatalf("response %s", resp.RawJSON())
			}
			got := up.Only(t)
			wantPath, wantQuery := "/openai/deployments/gpt4o-prod/chat/completions", "api-version=2024-10-21"
			if apiVersion == "v1" {
				wantPath, wantQuery = "/openai/v1/chat/completions", "api-version=v1"
			}
			if got.Path != wantPath || got.RawQuery != wantQuery || got.Header.Get("Authorization") != "" {
				t.Fatalf("sent to %s?%s, headers %v", got.Path, got.RawQuery, got.Header)
			}
			// The deployment is the model Azure is sent.
			if want := `{"messages":[{"content":"Capital of Denmark?","role":"user"}],"model":"gpt4o-prod"}`; string(got.Body) != want {
				t.Fatalf("upstream got %s\nwant %s", got.Body, want)
			}
			rec := g.usageRecords(t, id, 1)[0]
			if rec.Provider != "azure" || rec.ModelRequested != "azure/gpt4o-prod" || rec.ModelServed != "gpt-4o-mini-2024-07-18" ||
				rec.Usage != (ownkey.Usage{PromptTokens: 1000, CompletionTokens: 200, CachedTokens: 400, Source: ownkey.UsageFromProvider}) {
				t.Fatalf("usage record %+v", rec)
			}
		})
	}
	t.Run("stream", func(t *testing.T) {
		up := fakeAzure(t, "gpt4o-prod", "2024-10-21", providertest.SSEReply(azTextStream))
		_, client, _, _ := azureGateway(t, up, "gpt4o-prod", "2024-10-21")
		stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
			Model:         "azure/gpt4o-prod",
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Capital of Denmark?")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		acc := openai.ChatCompletionAccumulator{}
		chunks, usageChunks := 0, 0
		for stream.Next() {
			c := stream.Current()
			chunks++
			if !acc.AddChunk(c) {
				t.Fatalf("the accumulator refused chunk %s", c.RawJSON())
			}
			switch {
			case c.JSON.Usage.Valid() && c.Usage.TotalTokens > 0:
				usageChunks++
			case len(c.Choices) == 0 || c.ID == "" || c.Object != "chat.completion.chunk":
				// Azure's prompt filter chunk must not reach an OpenAI client.
				t.Fatalf("a chunk without a choice or an id: %s", c.RawJSON())
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if chunks != 5 || usageChunks != 1 || acc.ID != "chatcmpl-AZ1" || acc.Model != "gpt-4o-mini-2024-07-18" ||
			acc.Choices[0].Message.Content != "Copenhagen is the capital." || acc.Choices[0].FinishReason != "stop" ||
			acc.Usage.PromptTokens != 1000 || acc.Usage.CompletionTokens != 200 {
			t.Fatalf("%d chunks, %d usage chunks, accumulated %s", chunks, usageChunks, acc.RawJSON())
		}
		if got := up.Only(t); !strings.Contains(string(got.Body), `"model":"gpt4o-prod"`) || got.Header.Get("Accept") != "text/event-stream" {
			t.Fatalf("upstream got %s %v", got.Body, got.Header)
		}
	})
}

// Streamed tool calls, Azure-framed, then the tool result sent back.
func TestAzureSDKToolCalls(t *testing.T) {
	toolStream := providertest.Frames(azPromptFilter,
		azChunk(`"delta":{"content":null,"refusal":null,"role":"assistant","tool_calls":[{"function":{"arguments":"","name":"get_weather"},"id":"call_az1","index":0,"type":"function"}]},"finish_reason":null`),
		azChunk(`"delta":{"tool_calls":[{"function":{"arguments":"{\"city\":"},"index":0}]},"finish_reason":null`),
		azChunk(`"delta":{"tool_calls":[{"function":{"arguments":" \"Paris\"}"},"index":0}]},"finish_reason":null`),
		azChunk(`"delta":{"tool_calls":[{"function":{"arguments":"","name":"get_time"},"id":"call_az2","index":1,"type":"function"}]},"finish_reason":null`),
		azChunk(`"delta":{"tool_calls":[{"function":{"arguments":"{}"},"index":1}]},"finish_reason":null`),
		azChunk(`"delta":{},"finish_reason":"tool_calls"`), azUsageChunk, "[DONE]")
	answer := strings.Replace(azCompletion, "Copenhagen is the capital of Denmark.", "It is 18°C in Paris.", 1)
	up := fakeAzure(t, "gpt4o-prod", "2024-10-21", func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept"), "event-stream") {
			providertest.SSEReply(toolStream)(w, r)
			return
		}
		providertest.JSONReply(200, answer)(w, r)
	})
	_, client, _, _ := azureGateway(t, up, "gpt4o-prod", "2024-10-21")
	params := openai.ChatCompletionNewParams{
		Model:    "azure/gpt4o-prod",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather and time in Paris?")},
		Tools:    weatherTools,
	}
	acc, _ := readSDKStream(t, client.Chat.Completions.NewStreaming(t.Context(), params))
	msg := acc.Choices[0].Message
	if acc.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 2 {
		t.Fatalf("accumulated %s", acc.RawJSON())
	}
	if c := msg.ToolCalls[0]; c.ID != "call_az1" || c.Function.Name != "get_weather" || c.Function.Arguments != `{"city": "Paris"}` {
		t.Fatalf("first call %+v", c)
	}
	if c := msg.ToolCalls[1]; c.ID != "call_az2" || c.Function.Name != "get_time" || c.Function.Arguments != `{}` {
		t.Fatalf("second call %+v", c)
	}
	params.Messages = append(params.Messages, msg.ToParam(),
		openai.ToolMessage("18°C, sunny", "call_az1"), openai.ToolMessage("14:00", "call_az2"))
	second, err := client.Chat.Completions.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	if second.Choices[0].Message.Content != "It is 18°C in Paris." {
		t.Fatalf("second answer %s", second.RawJSON())
	}
	// The tool results went to Azure as the client wrote them.
	if reqs := up.Requests(); len(reqs) != 2 || !strings.Contains(string(reqs[1].Body), `"tool_call_id":"call_az1"`) ||
		!strings.Contains(string(reqs[1].Body), `"model":"gpt4o-prod"`) {
		t.Fatalf("second request %s", reqs[len(reqs)-1].Body)
	}
}

// sdkError is the API error the SDK returned.
func sdkError(t *testing.T, err error) *openai.Error {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want an API error", err)
	}
	return apiErr
}

// Azure refuses a prompt its content filter flags: the client gets the
// 400, Azure's message and its code, whether it streams or not; output
// filtered on the way ends with finish_reason content_filter.
func TestAzureSDKContentFilter(t *testing.T) {
	up := fakeAzure(t, "gpt4o-prod", "2024-10-21", providertest.JSONReply(400, azContentFilter))
	g, client, id, _ := azureGateway(t, up, "gpt4o-prod", "2024-10-21")
	params := openai.ChatCompletionNewParams{Model: "azure/gpt4o-prod", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("something violent")}}
	_, err := client.Chat.Completions.New(t.Context(), params)
	e := sdkError(t, err)
	const msg = "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
	if e.StatusCode != 400 || e.Message != msg || e.Code != "content_filter" {
		t.Fatalf("error %d %q code %q: %s", e.StatusCode, e.Message, e.Code, e.RawJSON())
	}
	stream := client.Chat.Completions.NewStreaming(t.Context(), params)
	for stream.Next() {
		t.Fatalf("a chunk for a refused prompt: %s", stream.Current().RawJSON())
	}
	if e := sdkError(t, stream.Err()); e.StatusCode != 400 || e.Message != msg || e.Code != "content_filter" {
		t.Fatalf("stream error %d %q code %q", e.StatusCode, e.Message, e.Code)
	}
	for _, rec := range g.usageRecords(t, id, 2) {
		if rec.Status != 400 || rec.ErrorCode != "upstream_error" || rec.Usage.Source != ownkey.UsageNone || rec.Charge.Charged != 0 {
			t.Fatalf("record of a refused prompt %+v", rec)
		}
	}

	filtered := providertest.Frames(azPromptFilter,
		azChunk(`"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null`),
		azChunk(`"delta":{"content":"Here is how"},"finish_reason":null`),
		strings.Replace(azChunk(`"delta":{},"finish_reason":"content_filter"`), `"content_filter_results":{}`,
			`"content_filter_results":{"violence":{"filtered":true,"severity":"high"}}`, 1),
		azUsageChunk, "[DONE]")
	up2 := fakeAzure(t, "gpt4o-prod", "2024-10-21", providertest.SSEReply(filtered))
	_, client2, _, _ := azureGateway(t, up2, "gpt4o-prod", "2024-10-21")
	acc, _ := readSDKStream(t, client2.Chat.Completions.NewStreaming(t.Context(), params))
	if acc.Choices[0].FinishReason != "content_filter" || acc.Choices[0].Message.Content != "Here is how" {
		t.Fatalf("accumulated %s", acc.RawJSON())
	}
}

// An api-version the resource does not serve, a deployment it lacks: the
// client gets Azure's status, message and code as Azure sent them.
func TestAzureSDKErrorsPassedThrough(t *testing.T) {
	cases := []struct {
		name, deployment, apiVersion string
		status                       int
		message, code                string
	}{
		{"wrong api-version", "gpt4o-prod", "2023-01-01", 400, "API version not supported", "BadRequest"},
		{"no such deployment", "gpt4o-staging", "2024-10-21", 404,
			"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.", "DeploymentNotFound"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := fakeAzure(t, "gpt4o-prod", "2024-10-21", providertest.JSONReply(200, azCompletion))
			_, client, _, _ := azureGateway(t, up, tc.deployment, tc.apiVersion)
			_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
				Model: "azure/" + tc.deployment, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			})
			if e := sdkError(t, err); e.StatusCode != tc.status || e.Message != tc.message || e.Code != tc.code {
				t.Fatalf("error %d %q code %q: %s", e.StatusCode, e.Message, e.Code, e.RawJSON())
			}
		})
	}
}

// An Azure endpoint is the user's: chat dials it through the guarded
// client. A key whose endpoint is a loopback address (stored while the
// operator allowed private upstreams) is refused once they are not
// allowed, before anything is sent; saving one then is refused too.
func TestAzureGuardedEndpoint(t *testing.T) {
	up := fakeAzure(t, "gpt4o-prod", "2024-10-21", providertest.JSONReply(200, azCompletion))
	g := newTestGateway(t, nil)
	id, key := g.createAccount("azure-user")
	cred, _ := json.Marshal(map[string]string{"endpoint": up.URL, "apiKey": azureKey, "deploymentName": "gpt4o-prod", "apiVersion": "2024-10-21"})
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "azure", "key": string(cred)}); r.Status != 400 {
		t.Fatalf("a loopback endpoint saved: %d %s", r.Status, r.Body)
	} else if _, _, _, param := errorOf(t, r); param != "key.endpoint" {
		t.Fatalf("refused naming %q: %s", param, r.Body)
	}
	kr, err := vault.LoadKeyFile(g.cfg.MasterKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	permissive := vault.NewService(g.app.store, kr, vault.Options{AllowPrivate: true})
	defer permissive.Close()
	if _, err := permissive.Put(t.Context(), id, "azure", cred); err != nil {
		t.Fatal(err)
	}
	client := sdkClient(g, key)
	params := openai.ChatCompletionNewParams{Model: "azure/gpt4o-prod", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
	_, err = client.Chat.Completions.New(t.Context(), params)
	e := sdkError(t, err)
	if e.StatusCode != 503 || e.Message != "could not reach Azure: the endpoint is not allowed (it points to an internal address)" {
		t.Fatalf("error %d %q", e.StatusCode, e.Message)
	}
	stream := client.Chat.Completions.NewStreaming(t.Context(), params)
	for stream.Next() {
		t.Fatal("a chunk from a refused endpoint")
	}
	if e := sdkError(t, stream.Err()); e.StatusCode != 503 {
		t.Fatalf("stream error %d", e.StatusCode)
	}
	if n := len(up.Requests()); n != 0 {
		t.Fatalf("the loopback endpoint was reached %d times", n)
	}
}

// /v1/models lists the deployment an Azure key serves, not the catalog's
// Azure models (whatever a request names, the deployment answers).
func TestAzureModels(t *testing.T) {
	up := fakeAzure(t, "gpt4o-prod", "2024-10-21", providertest.JSONReply(200, azCompletion))
	ids := func(g *testGateway, key, query string) map[string]map[string]any {
		t.Helper()
		out := map[string]map[string]any{}
		for _, e := range g.do("GET", "/v1/models"+query, key, nil).json(t)["data"].([]any) {
			e := e.(map[string]any)
			out[e["id"].(string)] = e
		}
		return out
	}
	g, _, _, key := azureGateway(t, up, "gpt4o-prod", "2024-10-21")
	got := ids(g, key, "")
	if len(got) != 1 || got["azure/gpt4o-prod"]["owned_by"] != "azure" {
		t.Fatalf("models %v, want azure/gpt4o-prod alone", got)
	}
	// A deployment named after a model the catalog prices: its plain id
	// routes to Azure too, and its prices are Azure's.
	g2, client, _, key2 := azureGateway(t, up, "gpt-4o-mini", "v1")
	got = ids(g2, key2, "?detailed=true")
	if len(got) != 2 || got["gpt-4o-mini"]["owned_by"] != "azure" || got["azure/gpt-4o-mini"]["owned_by"] != "azure" {
		t.Fatalf("models %v", got)
	}
	if p, _ := got["gpt-4o-mini"]["pricing"].(map[string]any); p == nil || p["prompt"] != 0.165 || p["completion"] != 0.66 {
		t.Fatalf("pricing %v", got["gpt-4o-mini"]["pricing"])
	}
	if _, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}); err != nil {
		t.Fatalf("the listed plain id: %v", err)
	}
}

// Billing as for OpenAI: Azure's usage (1000 prompt tokens of which 400
// cached, 200 completion) at Azure's gpt-4o-mini prices: 600×0.165 +
// 400×0.075 + 200×0.66 = 261 µ$ at cost; the 5% BYOK markup, 13.05 µ$, is
// charged, written in the answer's usage and settled.
func TestAzureBillingGolden(t *testing.T) {
	up := fakeAzure(t, "gpt4o-prod", "2024-10-21", func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept"), "event-stream") {
			providertest.SSEReply(azTextStream)(w, r)
			return
		}
		providertest.JSONReply(200, azCompletion)(w, r)
	})
	g, _, id, key := azureGateway(t, up, "gpt4o-prod", "2024-10-21")
	if q := g.app.prices.Quote("azure", "gpt-4o-mini-2024-07-18", "gpt4o-prod"); q.AtCost.Input != usd("0.165") ||
		q.AtCost.CachedInput != usd("0.075") || q.AtCost.Output != usd("0.66") || q.Basis != ownkey.PriceCatalog {
		t.Fatalf("the price book quotes Azure's gpt-4o-mini at %+v (%s)", q.AtCost, q.Basis)
	}
	before := g.balance(t, key)
	const msgs = `"messages":[{"role":"user","content":"hi"}],"max_tokens":256`
	whole := g.chatBody(t, key, `{"model":"azure/gpt4o-prod",`+msgs+`}`)
	checkCost(t, whole, usageOf(t, whole), "0.00001305", "0.000261")
	if !strings.HasPrefix(string(whole.Body), azCompletion[:strings.Index(azCompletion, `"usage":`)]) {
		t.Fatalf("answer rewritten: %s", whole.Body)
	}
	stream := g.chatBody(t, key, `{"model":"azure/gpt4o-prod","stream":true,"stream_options":{"include_usage":true},`+msgs+`}`)
	checkCost(t, stream, usageOf(t, stream), "0.00001305", "0.000261")
	checkRecords(t, g, id, 2, 261_000, 13_050)
	if before != "100.000000000" || g.balance(t, key) != "99.999973900" {
		t.Fatalf("balance %s, then %s after two requests of $0.00001305", before, g.balance(t, key))
	}
}

// Whatever model a request forced to Azure names, the deployment answers:
// on the v1 API it is sent as the model.
func TestAzureSDKModelIsTheDeployment(t *testing.T) {
	up := fakeAzure(t, "gpt4o-prod", "2024-10-21", providertest.JSONReply(200, azCompletion))
	g, _, _, key := azureGateway(t, up, "gpt4o-prod", "v1")
	client := sdkClient(g, key, option.WithHeader("x-byok-provider", "azure"))
	if _, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}); err != nil {
		t.Fatal(err)
	}
	if got := up.Only(t); got.Path != "/openai/v1/chat/completions" || !strings.Contains(string(got.Body), `"model":"gpt4o-prod"`) {
		t.Fatalf("sent %s %s", got.Path, got.Body)
	}
}
