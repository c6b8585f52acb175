package responses

import (
	"context"
	"testing"

	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// The adapter tells any ownkey.ChatSink what the provider answered: a
// client of another dialect (here a recorder) gets the same answer with no
// change to the adapter. Text arrives as the JSON literals the provider
// sent, never unescaped.

func TestAnotherDialectStream(t *testing.T) {
	upstream := events(created, reasoningAdded(0), summaryDelta(0, 0, "Hm, \"weather\"."),
		messageAdded(1), `{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"Caf\u00e9 <&>"}`,
		textDelta(1, ""), messageDone(1, "Café <&>"),
		callAdded(2, "call_a", "get_weather"), argsDelta(2, `{"city":`), argsDelta(2, ` "Paris"}`), callDone(2, "call_a", "get_weather", `{"city": "Paris"}`),
		callAdded(3, "call_b", "get_time"), callDone(3, "call_b", "get_time", ""),
		completed(usageJSON))
	up := providertest.NewUpstream(t, sseReply(upstream))
	sink := &providertest.Recorder{}
	res, err := testAdapter().Chat(context.Background(), chatRequest(t, up.URL), sink)
	if err != nil {
		t.Fatal(err)
	}
	sink.Check(t,
		"stream",
		"start resp_1 gpt-5-x 1765552659",
		`reasoning "Hm, \"weather\"."`,
		`text "Caf\u00e9 <&>"`,
		`tool 0 call_a get_weather ""`,
		`args 0 "{\"city\":"`,
		`args 0 " \"Paris\"}"`,
		`tool 1 call_b get_time ""`,
		`args 1 "{}"`,
		"end tool_calls 40/300",
		"flush",
	)
	if got, want := string(res.OutputSample), `Hm, "weather".Café <&>get_weather{"city": "Paris"}get_time{}`; got != want || res.OutputToolCalls != 2 {
		t.Fatalf("output %q (%d tool calls), want %q", got, res.OutputToolCalls, want)
	}
}

func TestAnotherDialectStreamCut(t *testing.T) {
	up := providertest.NewUpstream(t, sseReply(events(created, messageAdded(0), textDelta(0, "Hel"))))
	sink := &providertest.Recorder{}
	res, err := testAdapter().Chat(context.Background(), chatRequest(t, up.URL), sink)
	if err != nil {
		t.Fatal(err)
	}
	sink.Check(t, "stream", "start resp_1 gpt-5-x 1765552659", `text "Hel"`,
		"fail stream_truncated upstream_error OpenAI Responses ended the stream before the response was complete", "flush")
	if res.ErrorCode != provider.CodeStreamTruncated || !res.Started {
		t.Fatalf("result = %+v", res)
	}
}

// A sink whose client is gone stops the stream at its first failed call,
// and the upstream request is cancelled.
func TestAnotherDialectClientGone(t *testing.T) {
	reply, upstreamCancelled := providertest.StallAfter(events(created, messageAdded(0), textDelta(0, "Hel")))
	up := providertest.NewUpstream(t, reply)
	sink := &providertest.Recorder{Gone: true}
	res, err := testAdapter().Chat(context.Background(), chatRequest(t, up.URL), sink)
	if err != nil {
		t.Fatal(err)
	}
	<-upstreamCancelled
	sink.Check(t, "stream", "start resp_1 gpt-5-x 1765552659")
	if !res.ClientGone || res.ErrorCode != provider.CodeClientDisconnected {
		t.Fatalf("result = %+v", res)
	}
}

func TestAnotherDialectComplete(t *testing.T) {
	body := `{"id":"resp_1","object":"response","created_at":1765552659,"status":"completed","model":"gpt-5-x","output":[
		{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"Weather\u2026"}]},
		{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Caf\u00e9 <&>"},{"type":"output_text","text":null}]},
		{"type":"function_call","id":"fc_1","call_id":"call_a","name":"get_weather","arguments":"{\"city\":\"Paris\"}"}],
		"usage":{"input_tokens":100,"output_tokens":40}}`
	up := providertest.NewUpstream(t, providertest.JSONReply(200, body))
	sink := &providertest.Recorder{}
	res, err := testAdapter().Chat(context.Background(), chatRequest(t, up.URL, nonStream), sink)
	if err != nil {
		t.Fatal(err)
	}
	sink.Check(t,
		"start resp_1 gpt-5-x 1765552659",
		`reasoning "Weather\u2026"`,
		`text "Caf\u00e9 <&>"`,
		`tool 0 call_a get_weather "{\"city\":\"Paris\"}"`,
		"end tool_calls 100/40",
	)
	if res.Status != 200 || !res.Started || res.FinishReason != "tool_calls" || res.OutputToolCalls != 1 {
		t.Fatalf("result = %+v", res)
	}
}
