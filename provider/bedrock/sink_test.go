package bedrock

import (
	"context"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// The adapter tells any ownkey.ChatSink what Bedrock answered: a client of
// another dialect (here a recorder) gets the same answer with no change to
// the adapter. Text arrives as the JSON literals Bedrock sent, never
// unescaped.

func TestAnotherDialectStream(t *testing.T) {
	up := fakeBedrock(t, stream(msgStart(), reasoningDelta(0, `Hm, "weather".`), signatureDelta(0), blockStop(0),
		textDelta(1, "Caf\u00e9 <&>"), textDelta(1, ""), blockStop(1),
		toolStart(2, "tooluse_a", "get_weather"), toolDelta(2, `{"city":`), toolDelta(2, ` "Paris"}`), blockStop(2),
		toolStart(3, "tooluse_b", "get_time"), blockStop(3),
		msgStop("tool_use"), metadata(`{"inputTokens":12,"outputTokens":30,"cacheReadInputTokens":0,"cacheWriteInputTokens":0}`)))
	sink := &providertest.Recorder{}
	res, err := testAdapter().Chat(context.Background(), chatRequest(t, up.URL), sink)
	if err != nil {
		t.Fatal(err)
	}
	sink.Check(t,
		"stream",
		"start chatcmpl-req-1 "+testModel+" 1700000000",
		`reasoning "Hm, \"weather\"."`,
		`text "Café <&>"`,
		`tool 0 tooluse_a get_weather ""`,
		`args 0 "{\"city\":"`,
		`args 0 " \"Paris\"}"`,
		`tool 1 tooluse_b get_time ""`,
		`args 1 "{}"`,
		"end tool_calls 12/30",
		"flush",
	)
	if res.Status != 200 || !res.Started || res.ModelServed != testModel || res.FinishReason != "tool_calls" || res.ErrorCode != "" ||
		res.Usage != (ownkey.Usage{PromptTokens: 12, CompletionTokens: 30, Source: ownkey.UsageFromProvider}) {
		t.Fatalf("result = %+v", res)
	}
	if got, want := string(res.OutputSample), `Hm, "weather".Café <&>get_weather{"city": "Paris"}get_time{}`; got != want || res.OutputBytes != int64(len(want)) || res.OutputToolCalls != 2 {
		t.Fatalf("output %q (%d bytes, %d tool calls), want %q", got, res.OutputBytes, res.OutputToolCalls, want)
	}
}

func TestAnotherDialectStreamCut(t *testing.T) {
	up := fakeBedrock(t, stream(msgStart(), textDelta(0, "Hel")))
	sink := &providertest.Recorder{}
	res, err := testAdapter().Chat(context.Background(), chatRequest(t, up.URL), sink)
	if err != nil {
		t.Fatal(err)
	}
	sink.Check(t,
		"stream", "start chatcmpl-req-1 "+testModel+" 1700000000", `text "Hel"`,
		"fail stream_truncated upstream_error AWS Bedrock ended the stream before the response was complete",
		"flush",
	)
	if res.ErrorCode != provider.CodeStreamTruncated || !res.Started {
		t.Fatalf("result = %+v", res)
	}
}

// A sink whose client is gone stops the stream at its first failed call,
// and the upstream request is cancelled.
func TestAnotherDialectClientGone(t *testing.T) {
	reply, upstreamCancelled := providertest.StallAfter(join(frames(msgStart(), textDelta(0, "Hel"))...), providertest.BedrockEventStream)
	up := fakeBedrock(t, reply)
	sink := &providertest.Recorder{Gone: true}
	res, err := testAdapter().Chat(context.Background(), chatRequest(t, up.URL), sink)
	if err != nil {
		t.Fatal(err)
	}
	<-upstreamCancelled
	sink.Check(t, "stream", "start chatcmpl-req-1 "+testModel+" 1700000000")
	if !res.ClientGone || res.ErrorCode != provider.CodeClientDisconnected {
		t.Fatalf("result = %+v", res)
	}
}

func TestAnotherDialectComplete(t *testing.T) {
	answer := `{"output":{"message":{"role":"assistant","content":[
		{"reasoningContent":{"reasoningText":{"text":"Weather\u2026","signature":"x"}}},
		{"text":"Caf\u00e9 <&>"},{"text":null},{"image":{"format":"png","source":{"bytes":"AAAA"}}},
		{"toolUse":{"toolUseId":"tooluse_a","name":"get_weather","input":{ "city": "Paris" }}}]}},
		"stopReason":"tool_use","usage":{"inputTokens":100,"outputTokens":40}}`
	up := fakeBedrock(t, providertest.JSONReply(200, answer))
	sink := &providertest.Recorder{}
	res, err := testAdapter().Chat(context.Background(), chatRequest(t, up.URL, nonStream), sink)
	if err != nil {
		t.Fatal(err)
	}
	sink.Check(t,
		"start chatcmpl-req-1 "+testModel+" 1700000000",
		`reasoning "Weather\u2026"`,
		`text "Caf\u00e9 <&>"`,
		`tool 0 tooluse_a get_weather "{\"city\":\"Paris\"}"`,
		"end tool_calls 100/40",
	)
	if res.Status != 200 || !res.Started || res.FinishReason != "tool_calls" || res.OutputToolCalls != 1 {
		t.Fatalf("result = %+v", res)
	}
}
