package anthropic

import (
	"context"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// The adapter tells any ownkey.ChatSink what Anthropic answered: a client
// of another dialect (here a recorder) gets the same answer with no change
// to the adapter. Text arrives as the JSON literals Anthropic sent, never
// unescaped.

func TestAnotherDialectStream(t *testing.T) {
	upstream := events(msgStart, ping,
		`{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hm, \"weather\"."}}`,
		blockStop(0),
		textStart(1), textDelta(1, "Caf\u00e9 <&>"), textDelta(1, ""), blockStop(1),
		toolStart(2, "toolu_a", "get_weather"), jsonDelta(2, ""), jsonDelta(2, `{"city":`), jsonDelta(2, ` "Paris"}`), blockStop(2),
		toolStart(3, "toolu_b", "get_time"), blockStop(3),
		msgDelta("tool_use", `{"output_tokens":30}`), msgStop)
	up := providertest.NewUpstream(t, sseReply(upstream))
	sink := &providertest.Recorder{}
	res, err := testAdapter().Chat(context.Background(), chatRequest(t, up.URL), sink)
	if err != nil {
		t.Fatal(err)
	}
	sink.Check(t,
		"stream",
		"start msg_1 claude-x-1 1700000000",
		`reasoning "Hm, \"weather\"."`,
		`text "Café <&>"`,
		`tool 0 toolu_a get_weather ""`,
		`args 0 "{\"city\":"`,
		`args 0 " \"Paris\"}"`,
		`tool 1 toolu_b get_time ""`,
		`args 1 "{}"`,
		"end tool_calls 12/30",
		"flush",
	)
	if res.Status != 200 || !res.Started || res.ModelServed != "claude-x-1" || res.FinishReason != "tool_calls" || res.ErrorCode != "" ||
		res.Usage != (ownkey.Usage{PromptTokens: 12, CompletionTokens: 30, Source: ownkey.UsageFromProvider}) {
		t.Fatalf("result = %+v", res)
	}
	if got, want := string(res.OutputSample), `Hm, "weather".Café <&>get_weather{"city": "Paris"}get_time{}`; got != want || res.OutputBytes != int64(len(want)) || res.OutputToolCalls != 2 {
		t.Fatalf("output %q (%d bytes, %d tool calls), want %q", got, res.OutputBytes, res.OutputToolCalls, want)
	}
	// The request is the same whoever the client is.
	if body := string(up.Only(t).Body); !strings.Contains(body, `"stream":true`) {
		t.Fatalf("upstream got %s", body)
	}
}

func TestAnotherDialectStreamCut(t *testing.T) {
	up := providertest.NewUpstream(t, sseReply(events(msgStart, textStart(0), textDelta(0, "Hel"))))
	sink := &providertest.Recorder{}
	res, err := testAdapter().Chat(context.Background(), chatRequest(t, up.URL), sink)
	if err != nil {
		t.Fatal(err)
	}
	sink.Check(t,
		"stream", "start msg_1 claude-x-1 1700000000", `text "Hel"`,
		"fail stream_truncated upstream_error Anthropic ended the stream before the response was complete",
		"flush",
	)
	if res.ErrorCode != provider.CodeStreamTruncated || !res.Started {
		t.Fatalf("result = %+v", res)
	}
}

// A sink whose client is gone stops the stream at its first failed call,
// and the upstream request is cancelled.
func TestAnotherDialectClientGone(t *testing.T) {
	reply, upstreamCancelled := providertest.StallAfter(events(msgStart, textStart(0), textDelta(0, "Hel")))
	up := providertest.NewUpstream(t, reply)
	sink := &providertest.Recorder{Gone: true}
	res, err := testAdapter().Chat(context.Background(), chatRequest(t, up.URL), sink)
	if err != nil {
		t.Fatal(err)
	}
	<-upstreamCancelled
	sink.Check(t, "stream", "start msg_1 claude-x-1 1700000000")
	if !res.ClientGone || res.ErrorCode != provider.CodeClientDisconnected {
		t.Fatalf("result = %+v", res)
	}
}

func TestAnotherDialectComplete(t *testing.T) {
	message := `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x-1","content":[
		{"type":"thinking","thinking":"Weather\u2026","signature":"x"},
		{"type":"text","text":"Caf\u00e9 <&>"},{"type":"text","text":null},
		{"type":"tool_use","id":"toolu_a","name":"get_weather","input":{ "city": "Paris" }}],
		"stop_reason":"tool_use","usage":{"input_tokens":100,"output_tokens":40}}`
	up := providertest.NewUpstream(t, providertest.JSONReply(200, message))
	sink := &providertest.Recorder{}
	res, err := testAdapter().Chat(context.Background(), chatRequest(t, up.URL, nonStream), sink)
	if err != nil {
		t.Fatal(err)
	}
	sink.Check(t,
		"start msg_1 claude-x-1 1700000000",
		`reasoning "Weather\u2026"`,
		`text "Caf\u00e9 <&>"`,
		`tool 0 toolu_a get_weather "{\"city\":\"Paris\"}"`,
		"end tool_calls 100/40",
	)
	if res.Status != 200 || !res.Started || res.FinishReason != "tool_calls" || res.OutputBytes != int64(len(`Weather…Café <&>get_weather{"city":"Paris"}`)) || res.OutputToolCalls != 1 {
		t.Fatalf("result = %+v", res)
	}
}
