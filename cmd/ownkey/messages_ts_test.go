package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey/provider/providertest"
)

// requireNodeSDK, set to 1 (as .ci/run does, after `npm ci` in tsSDKDir),
// turns a missing node or SDK package into a failure instead of a skip.
const requireNodeSDK = "OWNKEY_REQUIRE_NODE_SDK"

// tsSDKDir holds the TypeScript SDK's script, package.json and lock file.
const tsSDKDir = "testdata/anthropic-ts"

// TestMessagesTypeScriptSDK drives the Messages API with the official
// Anthropic TypeScript SDK (npm @anthropic-ai/sdk, pinned in
// testdata/anthropic-ts/package-lock.json) from node: passed through to a
// fake Anthropic (text; a stream with thinking, its signature and a tool
// call, and the round trip that sends them back), translated for a fake
// Groq (a tool round trip, a stream), errors as the SDK's classes, and
// count_tokens. Install with `npm ci` in that folder.
func TestMessagesTypeScriptSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(tsSDKDir, "node_modules", "@anthropic-ai", "sdk", "package.json"))
	}
	if err != nil {
		msg := "the Anthropic TypeScript SDK test needs node and the SDK: run `npm ci` in cmd/ownkey/" + tsSDKDir + " (" + err.Error() + ")"
		if os.Getenv(requireNodeSDK) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	claude := providertest.NewUpstream(t,
		providertest.JSONReply(200, passMessage),
		providertest.SSEReply(providertest.NamedFrames(thinkingToolStream...)),
		providertest.JSONReply(200, `{"id":"msg_t2","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"18°C in Paris."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":90,"output_tokens":8}}`),
		providertest.JSONReply(200, `{"input_tokens":1234}`))
	groq := providertest.NewUpstream(t,
		providertest.JSONReply(200, groqToolCompletion),
		providertest.JSONReply(200, `{"id":"chatcmpl-g2","object":"chat.completion","created":1700000001,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"message":{"role":"assistant","content":"It is 18°C."},"finish_reason":"stop"}],"usage":{"prompt_tokens":80,"completion_tokens":6,"total_tokens":86}}`),
		providertest.SSEReply(providertest.Frames(
			`{"id":"chatcmpl-s","object":"chat.completion.chunk","created":1700000000,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}`,
			`{"id":"chatcmpl-s","object":"chat.completion.chunk","created":1700000000,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"content":"lo!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}`,
			"[DONE]")))
	g, _, key := messagesGateway(t, claude, groq)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a bound on a hung node, not a timing
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "messages.mjs")
	cmd.Dir = tsSDKDir
	cmd.Env = append(os.Environ(), "OWNKEY_BASE_URL="+g.srv.URL, "OWNKEY_API_KEY="+key)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	out := gjson.ParseBytes(stdout)
	check := func(path, want string) {
		t.Helper()
		if got := out.Get(path).Raw; got != want {
			t.Errorf("%s = %s; want %s", path, got, want)
		}
	}
	check("text.id", `"msg_01"`)
	check("text.content.0.signature", `"EqQBCkYIBRgCIkDsig=="`)
	check("text.content.1.text", `"Hello! é"`)
	check("text.content.2.type", `"server_tool_use"`)
	check("text.usage.cache_read_input_tokens", `5`)

	check("thinking.events", `["message_start","content_block_start","content_block_delta","content_block_delta","content_block_stop","content_block_start","content_block_delta","content_block_stop","content_block_start","content_block_delta","content_block_delta","content_block_stop","message_delta","message_stop"]`)
	check("thinking.first.0.signature", `"SIG-abc/123=="`)
	check("thinking.first.2.input", `{"city":"Paris"}`)
	check("thinking.stop", `"tool_use"`)
	check("thinking.usage.output_tokens", `55`)
	check("thinking.second.0.text", `"18°C in Paris."`)
	back := gjson.GetBytes(claude.Requests()[2].Body, "messages.1.content.0")
	if back.Get("type").Str != "thinking" || back.Get("signature").Str != "SIG-abc/123==" {
		t.Errorf("the thinking block went back as %s", back.Raw)
	}
	if p := claude.Requests()[3]; p.Path != "/v1/messages/count_tokens" {
		t.Errorf("count_tokens went to %s", p.Path)
	}

	check("groq.first.1.type", `"tool_use"`)
	check("groq.first.1.input", `{"city":"Paris"}`)
	check("groq.stop", `"tool_use"`)
	check("groq.usage.input_tokens", `60`)
	check("groq.second.0.text", `"It is 18°C."`)
	check("groq.stream.0.text", `"Hello!"`)
	check("groq.streamEvents", `["message_start","content_block_start","content_block_delta","content_block_delta","content_block_stop","message_delta","message_stop"]`)
	check("groq.streamUsage.output_tokens", `2`)
	if !out.Get("groq.deltaUsage.cost").Exists() || !out.Get("groq.deltaUsage.is_byok").Bool() {
		t.Errorf("no cost in the translated stream's message_delta: %s", out.Get("groq.deltaUsage").Raw)
	}
	tool := gjson.GetBytes(groq.Requests()[1].Body, "messages.2")
	if tool.Get("role").Str != "tool" || tool.Get("tool_call_id").Str != "call_g1" || tool.Get("content").Str != "18°C" {
		t.Errorf("tool result sent to groq as %s", tool.Raw)
	}

	check("errors.badKey.class", `"AuthenticationError"`)
	check("errors.badKey.status", `401`)
	check("errors.badKey.type", `"authentication_error"`)
	check("errors.badRequest.class", `"BadRequestError"`)
	check("errors.badRequest.type", `"invalid_request_error"`)
	if !strings.Contains(out.Get("errors.badRequest.message").Str, "messages") {
		t.Errorf("bad request message %s", out.Get("errors.badRequest.message").Raw)
	}

	check("count.input_tokens", `1234`)
	if n := out.Get("estimate.input_tokens").Int(); n < 5 || n > 100 || !out.Get("estimate.estimated").Bool() {
		t.Errorf("estimate %s", out.Get("estimate").Raw)
	}
}
