package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
)

// The official openai-go client against the whole gateway (real wiring,
// real chat handler) with a fake AWS Bedrock that checks every request's
// SigV4 signature and answers ConverseStream in real event-stream frames:
// what a client of a Bedrock model sees, end to end.

// bedrockKey is the AWS credential the account stores and the fake
// Bedrock verifies signatures with.
var bedrockKey = providertest.AWSKey{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	SessionToken: "FwoGZXIvYXdzEXAMPLETOKEN", Region: "us-east-1"}

// bedrockModel is a catalog model only aws serves: routed there by the
// catalog, an inference profile id with a ':' to escape.
const bedrockModel = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"

// bedrockGateway is a test gateway whose aws base URL is up, with an
// account that holds the aws key, and an SDK client of that account.
func bedrockGateway(t *testing.T, up *providertest.Upstream) (*testGateway, openai.Client, int64) {
	t.Helper()
	cred := map[string]any{"accessKeyId": bedrockKey.AccessKeyID, "secretAccessKey": bedrockKey.SecretAccessKey,
		"region": bedrockKey.Region, "sessionToken": bedrockKey.SessionToken}
	g, client, id, _ := familyGateway(t, map[string]string{"OWNKEY_AWS_BASE_URL": up.URL}, "aws-user", "aws", cred)
	return g, client, id
}

// converseStream answers with the events (type, payload pairs) as
// ConverseStream frames.
func converseStream(events ...string) func(http.ResponseWriter, *http.Request) {
	var frames [][]byte
	for i := 0; i+1 < len(events); i += 2 {
		frames = append(frames, providertest.BedrockFrame(events[i], events[i+1]))
	}
	return providertest.BedrockStream(frames...)
}

func awsText(i, text string) (string, string) {
	return "contentBlockDelta", `{"contentBlockIndex":` + i + `,"delta":{"text":"` + text + `"},"p":"abcdefgh"}`
}

func awsStop(i string) (string, string) {
	return "contentBlockStop", `{"contentBlockIndex":` + i + `,"p":"abc"}`
}

// Usage with cache reads and writes: prompt = inputTokens + cacheRead +
// cacheWrite = 10 + 20 + 5 = 35; cached 20; cache write 5.
const awsCacheUsage = `{"inputTokens":10,"outputTokens":4,"cacheReadInputTokens":20,"cacheWriteInputTokens":5,"totalTokens":39}`

var wantCacheUsage = ownkey.Usage{PromptTokens: 35, CompletionTokens: 4, CachedTokens: 20, CacheWriteTokens: 5, Source: ownkey.UsageFromProvider}

func TestBedrockSDKText(t *testing.T) {
	t.Run("non-stream", func(t *testing.T) {
		up := providertest.NewBedrock(t, bedrockKey, providertest.JSONReply(200,
			`{"metrics":{"latencyMs":300},"output":{"message":{"role":"assistant","content":[{"text":"Hello from Bedrock"}]}},"stopReason":"end_turn","usage":`+awsCacheUsage+`}`))
		g, client, id := bedrockGateway(t, up)
		resp, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model:    bedrockModel,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Say hello")},
		})
		if err != nil {
			t.Fatal(err)
		}
		c := resp.Choices[0]
		if resp.Model != bedrockModel || c.Message.Content != "Hello from Bedrock" || c.FinishReason != "stop" ||
			resp.Usage.PromptTokens != 35 || resp.Usage.CompletionTokens != 4 || resp.Usage.TotalTokens != 39 ||
			resp.Usage.PromptTokensDetails.CachedTokens != 20 || resp.Usage.PromptTokensDetails.CacheWriteTokens != 5 {
			t.Fatalf("response: %s", resp.RawJSON())
		}
		got := up.Only(t)
		if got.Path != "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse" {
			t.Fatalf("upstream path %s", got.Path)
		}
		if want := `{"messages":[{"role":"user","content":[{"text":"Say hello"}]}],"system":[{"text":"Be brief."}]}`; string(got.Body) != want {
			t.Fatalf("upstream got %s\nwant %s", got.Body, want)
		}
		rec := g.usageRecords(t, id, 1)[0]
		if rec.Provider != "aws" || rec.ModelServed != bedrockModel || rec.Usage != wantCacheUsage || rec.Status != 200 {
			t.Fatalf("usage record %+v", rec)
		}
	})
	t.Run("stream", func(t *testing.T) {
		t1, p1 := awsText("0", "Hello")
		t2, p2 := awsText("0", " from Bedrock")
		s1, sp1 := awsStop("0")
		// The usage (metadata) comes after messageStop, as Bedrock sends it.
		up := providertest.NewBedrock(t, bedrockKey, converseStream("messageStart", `{"role":"assistant"}`, t1, p1, t2, p2, s1, sp1,
			"messageStop", `{"stopReason":"end_turn"}`, "metadata", `{"metrics":{"latencyMs":300},"usage":`+awsCacheUsage+`}`))
		g, client, id := bedrockGateway(t, up)
		stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
			Model:         bedrockModel,
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		acc := openai.ChatCompletionAccumulator{}
		var usage []openai.CompletionUsage
		for stream.Next() {
			c := stream.Current()
			acc.AddChunk(c)
			if c.JSON.Usage.Valid() {
				usage = append(usage, c.Usage)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if acc.Choices[0].Message.Content != "Hello from Bedrock" || acc.Choices[0].FinishReason != "stop" || len(usage) != 1 {
			t.Fatalf("accumulated %+v, usage chunks %+v", acc.ChatCompletion, usage)
		}
		if u := usage[0]; u.PromptTokens != 35 || u.CompletionTokens != 4 || u.TotalTokens != 39 || u.PromptTokensDetails.CachedTokens != 20 ||
			u.PromptTokensDetails.CacheWriteTokens != 5 {
			t.Fatalf("usage chunk %s", u.RawJSON())
		}
		got := up.Only(t)
		if got.Path != "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream" || got.Header.Get("Accept") != providertest.BedrockEventStream {
			t.Fatalf("upstream got %s, Accept %q", got.Path, got.Header.Get("Accept"))
		}
		if rec := g.usageRecords(t, id, 1)[0]; rec.Usage != wantCacheUsage || !rec.Stream || rec.ErrorCode != "" {
			t.Fatalf("usage record %+v", rec)
		}
	})
}

// A tool round trip: the model calls a tool, the client runs it and sends
// the result back, the model answers. The second request carries the
// toolUse and toolResult blocks, and the tools.
func TestBedrockSDKToolRoundTrip(t *testing.T) {
	up := providertest.NewBedrock(t, bedrockKey,
		providertest.JSONReply(200, `{"output":{"message":{"role":"assistant","content":[{"text":"Let me look."},`+
			`{"toolUse":{"toolUseId":"tooluse_01","name":"get_weather","input":{"city":"Paris"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":50,"outputTokens":20}}`),
		providertest.JSONReply(200, `{"output":{"message":{"role":"assistant","content":[{"text":"It is 18°C in Paris."}]}},"stopReason":"end_turn","usage":{"inputTokens":90,"outputTokens":9}}`))
	_, client, _ := bedrockGateway(t, up)
	reqs := sdkToolRoundTrip(t, client, up, bedrockModel, "tooluse_01")
	tools := `"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"Weather in a city","inputSchema":{"json":{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}}}},` +
		`{"toolSpec":{"name":"get_time","inputSchema":{"json":{"type":"object","properties":{}}}}}]}`
	want := `{"messages":[` +
		`{"role":"user","content":[{"text":"Weather in Paris?"}]},` +
		`{"role":"assistant","content":[{"text":"Let me look."},{"toolUse":{"toolUseId":"tooluse_01","name":"get_weather","input":{"city":"Paris"}}}]},` +
		`{"role":"user","content":[{"toolResult":{"toolUseId":"tooluse_01","content":[{"text":"18°C, sunny"}]}}]}],` + tools + `}`
	if string(reqs[1].Body) != want {
		t.Fatalf("second request translated as\n%s\nwant\n%s", reqs[1].Body, want)
	}
}

func TestBedrockSDKStreamingTools(t *testing.T) {
	t1, p1 := awsText("0", "Checking both.")
	s0, sp0 := awsStop("0")
	s1, sp1 := awsStop("1")
	s2, sp2 := awsStop("2")
	toolStart := func(i, id, name string) (string, string) {
		return "contentBlockStart", `{"contentBlockIndex":` + i + `,"start":{"toolUse":{"toolUseId":"` + id + `","name":"` + name + `"}}}`
	}
	toolDelta := func(i, input string) (string, string) {
		return "contentBlockDelta", `{"contentBlockIndex":` + i + `,"delta":{"toolUse":{"input":` + input + `}}}`
	}
	a1, ap1 := toolStart("1", "tooluse_a", "get_weather")
	d1, dp1 := toolDelta("1", `"{\"city\":"`)
	d2, dp2 := toolDelta("1", `" \"Paris\"}"`)
	b1, bp1 := toolStart("2", "tooluse_b", "get_time")
	up := providertest.NewBedrock(t, bedrockKey, converseStream("messageStart", `{"role":"assistant"}`, t1, p1, s0, sp0,
		a1, ap1, d1, dp1, d2, dp2, s1, sp1, b1, bp1, s2, sp2,
		"messageStop", `{"stopReason":"tool_use"}`, "metadata", `{"usage":{"inputTokens":12,"outputTokens":60}}`))
	_, client, _ := bedrockGateway(t, up)
	stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:         bedrockModel,
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather and time in Paris?")},
		Tools:         weatherTools,
		ToolChoice:    openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	acc := checkStreamedTools(t, stream, sdkCall{"tooluse_a", "get_weather", `{"city": "Paris"}`}, sdkCall{"tooluse_b", "get_time", "{}"})
	if acc.Usage.PromptTokens != 12 || acc.Usage.CompletionTokens != 60 {
		t.Fatalf("usage %+v", acc.Usage)
	}
	if body := string(up.Only(t).Body); !strings.Contains(body, `"toolChoice":{"any":{}}`) {
		t.Fatalf("upstream got %s", body)
	}
}

// reasoning_effort turns on Claude's thinking on Bedrock; the reasoning
// comes back as reasoning_content, never content, and is counted in the
// completion tokens.
func TestBedrockSDKReasoning(t *testing.T) {
	r1 := `{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Count the r's: "}}}`
	r2 := `{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"three."}}}`
	sig := `{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"EqQBCkgIARABGAIiQL"}}}`
	s0, sp0 := awsStop("0")
	t1, p1 := awsText("1", "There are 3.")
	s1, sp1 := awsStop("1")
	up := providertest.NewBedrock(t, bedrockKey, converseStream("messageStart", `{"role":"assistant"}`,
		"contentBlockDelta", r1, "contentBlockDelta", r2, "contentBlockDelta", sig, s0, sp0, t1, p1, s1, sp1,
		"messageStop", `{"stopReason":"end_turn"}`, "metadata", `{"usage":{"inputTokens":51,"outputTokens":94,"totalTokens":145}}`))
	g, client, id := bedrockGateway(t, up)
	stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:           bedrockModel,
		Messages:        []openai.ChatCompletionMessageParamUnion{openai.UserMessage("How many r's in strawberry?")},
		ReasoningEffort: shared.ReasoningEffortLow,
		StreamOptions:   openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var content, reasoning strings.Builder
	var usage openai.CompletionUsage
	for stream.Next() {
		c := stream.Current()
		if c.JSON.Usage.Valid() {
			usage = c.Usage
		}
		for _, ch := range c.Choices {
			content.WriteString(ch.Delta.Content)
			if f, ok := ch.Delta.JSON.ExtraFields["reasoning_content"]; ok {
				var s string
				if err := json.Unmarshal([]byte(f.Raw()), &s); err != nil {
					t.Fatalf("reasoning_content %s", f.Raw())
				}
				reasoning.WriteString(s)
			}
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if content.String() != "There are 3." || reasoning.String() != "Count the r's: three." || usage.PromptTokens != 51 || usage.CompletionTokens != 94 {
		t.Fatalf("content %q, reasoning %q, usage %+v", content.String(), reasoning.String(), usage)
	}
	body := string(up.Only(t).Body)
	if !strings.Contains(body, `"inferenceConfig":{"maxTokens":6144}`) || !strings.Contains(body, `"additionalModelRequestFields":{"thinking":{"budget_tokens":2048,"type":"enabled"}}`) {
		t.Fatalf("upstream got %s", body)
	}
	if rec := g.usageRecords(t, id, 1)[0]; rec.Usage.CompletionTokens != 94 || rec.Usage.PromptTokens != 51 {
		t.Fatalf("usage record %+v", rec)
	}
}

// Errors as the real chat handler writes them, read by the SDK: Bedrock's
// status, type and message; throttling in the middle of a stream ends it
// with an error the SDK reports.
func TestBedrockSDKErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		exception string
		message   string
		header    []string
	}{
		{"throttling", 429, "ThrottlingException", "Too many requests, please wait before trying again.", []string{"Retry-After", "3"}},
		{"access denied", 403, "AccessDeniedException", "You don't have access to the model with the specified model ID.", nil},
		{"validation", 400, "ValidationException", "The provided model identifier is invalid.", nil},
		{"model error", 424, "ModelErrorException", "The model returned an error.", nil},
		{"unavailable", 503, "ServiceUnavailableException", "Bedrock is unable to process your request.", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewBedrock(t, bedrockKey, providertest.BedrockErrorReply(tc.status, tc.exception, tc.message, tc.header...))
			g, client, id := bedrockGateway(t, up)
			_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
				Model: bedrockModel, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			})
			// A 403 refuses the stored key: said so, the status and type
			// kept (TestProviderRefusesStoredKey).
			message, code := tc.message, "upstream_error"
			if tc.status == 403 {
				message, code = "Your stored AWS Bedrock key was rejected by AWS Bedrock: "+tc.message, "provider_auth_failed"
			}
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.status || apiErr.Message != message || apiErr.Type != tc.exception {
				t.Fatalf("err = %v", err)
			}
			if len(tc.header) > 0 && apiErr.Response.Header.Get("Retry-After") != "3" {
				t.Fatalf("Retry-After %q", apiErr.Response.Header.Get("Retry-After"))
			}
			if rec := g.usageRecords(t, id, 1)[0]; rec.Status != tc.status || rec.ErrorCode != code {
				t.Fatalf("usage record %+v", rec)
			}
		})
	}
	t.Run("throttling mid-stream", func(t *testing.T) {
		t1, p1 := awsText("0", "Hel")
		up := providertest.NewBedrock(t, bedrockKey, providertest.BedrockStream(
			providertest.BedrockFrame("messageStart", `{"role":"assistant"}`), providertest.BedrockFrame(t1, p1),
			providertest.BedrockException("throttlingException", `{"message":"Too many tokens, please wait before trying again."}`)))
		g, client, id := bedrockGateway(t, up)
		stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
			Model: bedrockModel, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		content := ""
		for stream.Next() {
			if c := stream.Current(); len(c.Choices) > 0 {
				content += c.Choices[0].Delta.Content
			}
		}
		err := stream.Err()
		if err == nil || content != "Hel" || !strings.Contains(err.Error(), "throttlingException: Too many tokens, please wait before trying again.") {
			t.Fatalf("stream ended with err %v after %q; want the throttling reported", err, content)
		}
		if rec := g.usageRecords(t, id, 1)[0]; rec.Status != 200 || rec.ErrorCode != "stream_error" {
			t.Fatalf("usage record %+v", rec)
		}
	})
}

// With an aws key stored, /v1/models lists the Bedrock models of the
// catalog (plain, and under the aws/ prefix), and a listed model routes
// to Bedrock.
func TestBedrockModelsListed(t *testing.T) {
	up := providertest.NewBedrock(t, bedrockKey, providertest.JSONReply(200,
		`{"output":{"message":{"role":"assistant","content":[{"text":"Hi"}]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":1}}`))
	_, client, _ := bedrockGateway(t, up)
	page, err := client.Models.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, m := range page.Data {
		ids[m.ID] = m.OwnedBy
	}
	for _, m := range ownkey.ActiveModels().OfProvider("aws") {
		if ids[m.Model] != "aws" || ids["aws/"+m.Model] != "aws" {
			t.Fatalf("%s not listed as aws's: %v", m.Model, ids)
		}
	}
	if len(ids) == 0 || ids["gpt-4o"] != "" {
		t.Fatalf("models %v", ids)
	}
	// The prefixed id routes to Bedrock, the prefix stripped.
	resp, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: "aws/amazon.nova-micro-v1:0", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if err != nil || resp.Choices[0].Message.Content != "Hi" {
		t.Fatalf("err %v, resp %+v", err, resp)
	}
	if got := up.Only(t).Path; got != "/model/amazon.nova-micro-v1%3A0/converse" {
		t.Fatalf("path %s", got)
	}
}
