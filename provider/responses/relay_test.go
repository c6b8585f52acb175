package responses

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	dialect "github.com/ownkey/ownkey/dialect/responses"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// A Responses client's request, as the HTTP layer routes it.
const relayBody = `{"model":"gpt-5","input":[{"role":"user","content":"hi"}],"tools":[{"type":"web_search"}],"include":["reasoning.encrypted_content"],"stream":true,"store":false}`

// relayRun sends req through a fresh adapter into a Responses writer and
// returns what the client got.
func relayRun(t *testing.T, req *ownkey.ChatRequest) (*ownkey.ChatResult, *httptest.ResponseRecorder, error) {
	t.Helper()
	rec := httptest.NewRecorder()
	w := dialect.NewWriter(rec, req.Stream)
	res, err := testAdapter().Chat(t.Context(), req, w)
	w.Finish()
	return res, rec, err
}

// fixedPricer prices every answer at one charge, noting the usage it saw.
type fixedPricer struct {
	charge ownkey.Charge
	saw    ownkey.Usage
}

func (p *fixedPricer) Price(_ *ownkey.ChatRequest, res *ownkey.ChatResult) ownkey.Charge {
	if !res.Priced {
		p.saw = res.Usage
		res.Charge, res.Priced = p.charge, true
	}
	return res.Charge
}

// The stream reaches the client byte for byte: the events the translation
// would have dropped (hosted tools, encrypted reasoning, obfuscation) as
// well; the request went upstream as it came; the answer is read for its
// usage, model, finish reason and output.
func TestRelayStream(t *testing.T) {
	search := `{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"ws_1","type":"web_search_call","status":"in_progress"}}`
	stream := events(created, inProgress, search, reasoningAdded(1), summaryDelta(1, 0, "Plan."), messageAdded(2), textDelta(2, "Hello "), textDelta(2, "there"), messageDone(2, "Hello there"),
		callAdded(3, "call_a", "get_weather"), argsDelta(3, `{"city":"Paris"}`), callDone(3, "call_a", "get_weather", `{"city":"Paris"}`), completed(usageJSON))
	up := providertest.NewUpstream(t, sseReply(stream+events(`{"type":"after.the.end"}`)))
	res, rec, err := relayRun(t, chatRequest(t, up.URL, withBody(relayBody)))
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Body.String(); got != stream {
		t.Fatalf("client got\n%s\nwant\n%s", got, stream)
	}
	if rec.Header().Get("Content-Type") != "text/event-stream" {
		t.Fatalf("headers %v", rec.Header())
	}
	if got := up.Only(t); string(got.Body) != relayBody || got.Path != "/v1/responses" || got.Header.Get("Authorization") != "Bearer "+testKey {
		t.Fatalf("upstream got %s %s", got.Path, got.Body)
	}
	if res.Usage != usage40x300 || res.ModelServed != "gpt-5-x" || res.FinishReason != "tool_calls" || res.ErrorCode != "" || !res.Started || res.Status != 200 {
		t.Fatalf("result %+v", res)
	}
	// Plan. Hello there get_weather {"city":"Paris"}
	if res.OutputBytes != int64(len("Plan.Hello thereget_weather"+`{"city":"Paris"}`)) || res.OutputToolCalls != 1 {
		t.Fatalf("output counted: %d bytes, %d calls, sample %q", res.OutputBytes, res.OutputToolCalls, res.OutputSample)
	}
}

// response.incomplete ends the stream too, with its finish reason.
func TestRelayIncomplete(t *testing.T) {
	stream := events(created, messageAdded(0), textDelta(0, "cut"), incomplete("max_output_tokens", usageJSON))
	up := providertest.NewUpstream(t, sseReply(stream))
	res, rec, err := relayRun(t, chatRequest(t, up.URL, withBody(relayBody)))
	if err != nil || rec.Body.String() != stream || res.FinishReason != "length" || res.Usage != usage40x300 {
		t.Fatalf("%v %+v\n%s", err, res, rec.Body.String())
	}
}

// An error event and the response.failed after it are relayed, less any
// echo of the key; the record says the stream failed.
func TestRelayStreamError(t *testing.T) {
	errEvent := `{"type":"error","sequence_number":2,"error":{"type":"insufficient_quota","code":"insufficient_quota","message":"quota of ` + testKey + `","param":null}}`
	failed := `{"type":"response.failed","sequence_number":3,"response":{"id":"resp_1","status":"failed","error":{"code":"insufficient_quota","message":"quota"},"usage":{"input_tokens":7,"output_tokens":0}}}`
	up := providertest.NewUpstream(t, sseReply(events(created, errEvent, failed)))
	res, rec, err := relayRun(t, chatRequest(t, up.URL, withBody(relayBody)))
	if err != nil {
		t.Fatal(err)
	}
	got := rec.Body.String()
	if strings.Contains(got, testKey) || !strings.Contains(got, "event: error\n") || !strings.Contains(got, failed) {
		t.Fatalf("client got\n%s", got)
	}
	if res.ErrorCode != provider.CodeStreamError || res.Usage.PromptTokens != 7 {
		t.Fatalf("result %+v", res)
	}
	// An error event and then nothing: over, without an error of ours.
	up = providertest.NewUpstream(t, sseReply(events(created, errEvent)))
	res, rec, err = relayRun(t, chatRequest(t, up.URL, withBody(relayBody)))
	if err != nil || res.ErrorCode != provider.CodeStreamError || strings.Count(rec.Body.String(), "event: error") != 1 {
		t.Fatalf("%v %+v\n%s", err, res, rec.Body.String())
	}
}

// A stream cut short gets the writer's error event after what was relayed,
// numbered after the provider's last event.
func TestRelayTruncated(t *testing.T) {
	stream := events(created, messageAdded(0), textDelta(0, "Hel"))
	up := providertest.NewUpstream(t, sseReply(stream))
	res, rec, err := relayRun(t, chatRequest(t, up.URL, withBody(relayBody)))
	if err != nil || res.ErrorCode != provider.CodeStreamTruncated {
		t.Fatalf("%v %+v", err, res)
	}
	got := rec.Body.String()
	if !strings.HasPrefix(got, stream) || !strings.Contains(got[len(stream):], `event: error`+"\n"+`data: {"type":"error","sequence_number":5,"code":"stream_truncated"`) {
		t.Fatalf("client got\n%s", got)
	}
}

// A whole response is relayed byte for byte, priced first: the cost in the
// headers is the charge settled.
func TestRelayWhole(t *testing.T) {
	body := `{"id":"resp_1","object":"response","created_at":1765552659,"status":"completed","model":"gpt-5-x","output":[` +
		`{"id":"ws_1","type":"web_search_call","status":"completed"},` +
		`{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"output_text","annotations":[{"type":"url_citation","url":"https://x"}],"text":"Hi"}]},` +
		`{"id":"fc_1","type":"function_call","call_id":"call_1","name":"f","arguments":"{}"}],"usage":` + usageJSON + `}`
	up := providertest.NewUpstream(t, providertest.JSONReply(200, body))
	pricer := &fixedPricer{charge: ownkey.Charge{AtCost: 2_000, Charged: 100, Markup: 50_000, BYOK: true}}
	req := chatRequest(t, up.URL, withBody(`{"model":"gpt-5","input":"hi","store":false}`), nonStream, func(r *ownkey.ChatRequest) { r.Pricer = pricer })
	res, rec, err := relayRun(t, req)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Body.String() != body || rec.Header().Get(dialect.HeaderCost) != "0.0000001" || rec.Header().Get(dialect.HeaderUpstreamCost) != "0.000002" {
		t.Fatalf("client got %v\n%s", rec.Header(), rec.Body.String())
	}
	if pricer.saw != usage40x300 || res.Usage != usage40x300 || res.FinishReason != "tool_calls" || res.ModelServed != "gpt-5-x" || res.OutputToolCalls != 1 {
		t.Fatalf("result %+v, priced %+v", res, pricer.saw)
	}
	// An error answer is the client's error, as for chat clients.
	up = providertest.NewUpstream(t, providertest.JSONReply(400, `{"error":{"message":"bad `+testKey+`","type":"invalid_request_error","param":"input","code":null}}`))
	_, _, err = relayRun(t, chatRequest(t, up.URL, withBody(`{"model":"gpt-5","input":"hi"}`), nonStream))
	if e, ok := err.(*ownkey.Error); !ok || e.Status != 400 || e.Param != "input" || strings.Contains(e.Message, testKey) {
		t.Fatalf("error %#v", err)
	}
}

// A chat client is still translated: the family relays only for a
// Responses client.
func TestFamilyRelay(t *testing.T) {
	f := Family{Adapter: testAdapter()}
	if f.Passthrough(ownkey.DialectOpenAIResponses) == nil || f.Passthrough(ownkey.DialectOpenAIChat) != nil || (Family{}).Passthrough(ownkey.DialectOpenAIResponses) != nil {
		t.Fatal("Relay")
	}
}

// relayRespond relays resp, an answer already received, into sink, in
// process.
func relayRespond(ctx context.Context, cancel context.CancelFunc, req *ownkey.ChatRequest, res *ownkey.ChatResult,
	resp *http.Response, sink ownkey.ChatSink) (*ownkey.ChatResult, error) {
	x := getExchange(req, res)
	x.relay = true
	defer putExchange(x)
	core := provider.Core{StreamIdleTimeout: -1}
	return core.Respond(ctx, cancel, req, res, sink, x, resp, time.Now())
}

// BenchmarkStreamRelay measures the pass-through of the 20-event stream
// of BenchmarkStreamTranslate to a Responses client, without the network:
// the cost per stream of relaying (reading each event for accounting,
// framing it again), beside the translation's.
func BenchmarkStreamRelay(b *testing.B) {
	req := chatRequest(b, "http://unused", withBody(relayBody))
	var wr dialect.Writer
	b.SetBytes(int64(len(benchEvents)))
	b.ReportAllocs()
	for b.Loop() {
		res := &ownkey.ChatResult{}
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(strings.NewReader(benchEvents))}
		w := &discardWriter{h: http.Header{}}
		wr.Reset(w, true)
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := relayRespond(ctx, cancel, req, res, resp, &wr); err != nil || res.ErrorCode != "" || res.FinishReason != "tool_calls" {
			b.Fatal(err, res.ErrorCode)
		}
		cancel()
	}
}

// Each relayed event reaches the client before the provider sends the
// next (here it never does), and a client that goes away cancels the
// upstream request at once, keeping what was counted.
func TestRelayFlushesAndClientDisconnect(t *testing.T) {
	reply, upstreamCancelled := providertest.StallAfter(events(created, messageAdded(0), textDelta(0, "Hello")))
	up := providertest.NewUpstream(t, reply)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := providertest.NewFlushRecorder()
	go func() {
		for body := range rec.Flushed {
			if strings.Contains(body, `"delta":"Hello"`) {
				cancel()
				return
			}
		}
	}()
	req := chatRequest(t, up.URL, withBody(relayBody))
	w := dialect.NewWriter(rec, true)
	res, err := testAdapter().Chat(ctx, req, w)
	w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-upstreamCancelled:
	case <-time.After(20 * time.Second):
		t.Fatal("the upstream request was not cancelled")
	}
	if !res.ClientGone || res.ErrorCode != provider.CodeClientDisconnected || !res.Started || string(res.OutputSample) != "Hello" || res.ModelServed != "gpt-5-x" {
		t.Fatalf("result = %+v", res)
	}
}
