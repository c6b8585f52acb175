package bedrock

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

const completionHead = `{"id":"chatcmpl-req-1","object":"chat.completion","created":1700000000,"model":"` + testModel + `","choices":[{"index":0,"message":`

func TestComplete(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
		usage            ownkey.Usage
		finish           string
	}{
		{"text",
			`{"metrics":{"latencyMs":1864},"output":{"message":{"content":[{"text":"Hello \"w\u00f6rld\" <&>"}],"role":"assistant"}},"stopReason":"end_turn",` +
				`"usage":{"cacheReadInputTokenCount":0,"cacheReadInputTokens":0,"cacheWriteInputTokenCount":0,"cacheWriteInputTokens":0,"inputTokens":22,"outputTokens":57,"serverToolUsage":{},"totalTokens":79}}`,
			completionHead + `{"role":"assistant","content":"Hello \"wörld\" <&>","refusal":null},"logprobs":null,"finish_reason":"stop"}],` +
				`"usage":{"prompt_tokens":22,"completion_tokens":57,"total_tokens":79,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0}}}` + "\n",
			ownkey.Usage{PromptTokens: 22, CompletionTokens: 57, Source: ownkey.UsageFromProvider}, "stop"},
		{"reasoning and tool calls",
			`{"output":{"message":{"role":"assistant","content":[{"reasoningContent":{"reasoningText":{"text":"Think","signature":"sig"}}},{"text":"Let me look."},` +
				`{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{ "city" : "Paris" }}},{"toolUse":{"toolUseId":"tooluse_2","name":"get_time","input":{}}}]}},` +
				`"stopReason":"tool_use","usage":{"inputTokens":10,"outputTokens":20,"totalTokens":30}}`,
			completionHead + `{"role":"assistant","content":"Let me look.","reasoning_content":"Think","tool_calls":[` +
				`{"id":"tooluse_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},` +
				`{"id":"tooluse_2","type":"function","function":{"name":"get_time","arguments":"{}"}}],"refusal":null},"logprobs":null,"finish_reason":"tool_calls"}],` +
				`"usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0}}}` + "\n",
			ownkey.Usage{PromptTokens: 10, CompletionTokens: 20, Source: ownkey.UsageFromProvider}, "tool_calls"},
		// prompt = input + cache read + cache write; the legacy names
		// count only when the current ones are absent.
		{"cache", `{"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},"stopReason":"max_tokens",` +
			`"usage":{"inputTokens":100,"outputTokens":500,"cacheReadInputTokenCount":7,"cacheReadInputTokens":2000,"cacheWriteInputTokenCount":1000,"totalTokens":3600}}`,
			completionHead + `{"role":"assistant","content":"x","refusal":null},"logprobs":null,"finish_reason":"length"}],` +
				`"usage":{"prompt_tokens":3100,"completion_tokens":500,"total_tokens":3600,"prompt_tokens_details":{"cached_tokens":2000,"cache_write_tokens":1000}}}` + "\n",
			ownkey.Usage{PromptTokens: 3100, CompletionTokens: 500, CachedTokens: 2000, CacheWriteTokens: 1000, Source: ownkey.UsageFromProvider}, "length"},
		{"guardrail", `{"output":{"message":{"role":"assistant","content":[]}},"stopReason":"guardrail_intervened","usage":{"inputTokens":5,"outputTokens":0}}`,
			completionHead + `{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":"content_filter"}],` +
				`"usage":{"prompt_tokens":5,"completion_tokens":0,"total_tokens":5,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0}}}` + "\n",
			ownkey.Usage{PromptTokens: 5, Source: ownkey.UsageFromProvider}, "content_filter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := fakeBedrock(t, providertest.JSONReply(200, tc.body))
			res, rec, err := run(t, chatRequest(t, up.URL, nonStream))
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.Body.String(); got != tc.want {
				t.Fatalf("client got\n%s\nwant\n%s", got, tc.want)
			}
			if res.Usage != tc.usage || res.FinishReason != tc.finish || res.Status != 200 || !res.Started {
				t.Fatalf("result = %+v", res)
			}
			if got := up.Only(t).Path; got != "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse" {
				t.Fatalf("path %s", got)
			}
		})
	}
}

func TestCompleteJSONResponseFormat(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_object"}}`
	up := fakeBedrock(t, providertest.JSONReply(200, `{"output":{"message":{"role":"assistant","content":[{"text":"Here:"},{"toolUse":{"toolUseId":"t","name":"json","input":{"a":[1,2]}}}]}},"stopReason":"tool_use","usage":{"inputTokens":1,"outputTokens":2}}`))
	res, rec, err := run(t, chatRequest(t, up.URL, nonStream, withBody(body)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rec.Body.String(), `"message":{"role":"assistant","content":"{\"a\":[1,2]}","refusal":null},"logprobs":null,"finish_reason":"stop"`) || res.OutputToolCalls != 0 {
		t.Fatalf("client got %s", rec.Body.String())
	}
}

// A 200 that is not a Converse answer is an error, nothing written.
func TestCompleteNotAnAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		message    string
	}{
		{"exception", `{"__type":"com.amazon.bedrock#ThrottlingException","message":"Too many requests"}`, 429, "Too many requests"},
		{"garbage", `{"output":{}}`, 502, "AWS Bedrock answered with something other than a Converse response"},
		{"text not a string", `{"output":{"message":{"content":[{"text":{"a":1}}]}}}`, 502, "AWS Bedrock answered with something other than a Converse response"},
		{"deep", `{"output":{"message":{"content":[{"toolUse":{"toolUseId":"t","name":"f","input":{"a":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}}}]}}}`,
			502, "the AWS Bedrock response is nested deeper than 128 levels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := fakeBedrock(t, providertest.JSONReply(200, tc.body))
			res, rec, err := run(t, chatRequest(t, up.URL, nonStream))
			if ownkey.StatusOf(err) != tc.status || ownkey.ErrorMessage(err) != tc.message || rec.Body.Len() != 0 || res.Started {
				t.Fatalf("err %v (%d), body %q", err, ownkey.StatusOf(err), rec.Body.String())
			}
		})
	}
}

// Bedrock's error answers keep their status, Bedrock's message and the
// exception's name, and the Retry-After.
func TestUpstreamErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		reply     func(http.ResponseWriter, *http.Request)
		status    int
		typ, msg  string
		retryWait string
	}{
		{"validation", providertest.BedrockErrorReply(400, "ValidationException", "The provided model identifier is invalid."), 400, "ValidationException", "The provided model identifier is invalid.", ""},
		{"access denied", providertest.BedrockErrorReply(403, "AccessDeniedException", "You don't have access to the model with the specified model ID."), 403, "AccessDeniedException",
			"You don't have access to the model with the specified model ID.", ""},
		{"not found", providertest.BedrockErrorReply(404, "ResourceNotFoundException", "Model not found"), 404, "ResourceNotFoundException", "Model not found", ""},
		{"model error", providertest.BedrockErrorReply(424, "ModelErrorException", "The model failed"), 424, "ModelErrorException", "The model failed", ""},
		{"throttling", providertest.BedrockErrorReply(429, "ThrottlingException", "Too many requests, please wait before trying again.", "Retry-After", "2"), 429, "ThrottlingException",
			"Too many requests, please wait before trying again.", "2"},
		{"internal", providertest.BedrockErrorReply(500, "InternalServerException", "Internal error"), 500, "InternalServerException", "Internal error", ""},
		{"unavailable", providertest.BedrockErrorReply(503, "ServiceUnavailableException", "Service unavailable"), 503, "ServiceUnavailableException", "Service unavailable", ""},
		{"__type and Message", providertest.JSONReply(400, `{"__type":"com.amazon.coral.validate#ValidationException","Message":"bad"}`), 400, "ValidationException", "bad", ""},
		{"no body", providertest.JSONReply(503, ``, "X-Amzn-Errortype", "ServiceUnavailableException"), 503, "ServiceUnavailableException",
			"AWS Bedrock returned HTTP Service Unavailable (ServiceUnavailableException)", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, stream := range []bool{false, true} {
				up := fakeBedrock(t, tc.reply)
				opts := []reqOpt{}
				if !stream {
					opts = append(opts, nonStream)
				}
				res, rec, err := run(t, chatRequest(t, up.URL, opts...))
				e, ok := err.(*ownkey.Error)
				if !ok || e.Code != ownkey.EUPSTREAM || e.Status != tc.status || e.Type != tc.typ || e.Message != tc.msg || e.RetryAfter != tc.retryWait {
					t.Fatalf("stream %t: err = %#v", stream, err)
				}
				if res.Status != tc.status || res.ErrorCode != provider.CodeUpstreamError || res.Started || rec.Body.Len() != 0 {
					t.Fatalf("stream %t: result %+v", stream, res)
				}
			}
		})
	}
}

// The credential, echoed by Bedrock in any form, never reaches the client.
func TestSecretsScrubbed(t *testing.T) {
	secret, token := awsJSON["secretAccessKey"], awsJSON["sessionToken"]
	echo := "signature of " + secret + " with token " + providertest.EscapedKey(token)
	for _, tc := range []struct {
		name  string
		reply func(http.ResponseWriter, *http.Request)
	}{
		{"error answer", providertest.JSONReply(403, `{"message":"`+echo+`"}`, "X-Amzn-Errortype", "InvalidSignatureException")},
		{"error type", providertest.JSONReply(400, `{"message":"x"}`, "X-Amzn-Errortype", secret)},
		{"exception in the stream", providertest.BedrockStream(append(frames(msgStart()), providertest.BedrockException("validationException", `{"message":"`+echo+`"}`))...)},
		{"exception type", providertest.BedrockStream(append(frames(msgStart()), providertest.BedrockException(token, `{"message":"x"}`))...)},
		{"model stream error", providertest.BedrockStream(providertest.BedrockException("modelStreamErrorException", `{"message":"x","originalMessage":"`+echo+`"}`))},
		{"error message", providertest.BedrockStream(providertest.BedrockError("Internal", echo))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := fakeBedrock(t, tc.reply)
			_, rec, err := run(t, chatRequest(t, up.URL))
			written := rec.Body.String()
			for _, s := range []string{secret, token} {
				if providertest.Leaks(written, s) || err != nil && providertest.ErrorLeaks(t, err, written, s) {
					t.Fatalf("a secret reached the client: err %v, body %s", err, written)
				}
			}
			if err == nil && !strings.Contains(written, ownkey.Redacted) && tc.name != "exception type" {
				t.Fatalf("nothing redacted in %s", written)
			}
		})
	}
}
