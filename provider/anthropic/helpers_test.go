package anthropic

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
)

const (
	testKey = "sk-ant-api03-test-0123456789abcdefXYZ"
	// testCreated is what ownkey.Now returns in these tests, so that the
	// created field of every chunk is known.
	testCreated = 1700000000
)

func TestMain(m *testing.M) {
	providertest.FixClock(testCreated)
	os.Exit(m.Run())
}

// events frames Anthropic stream payloads as Anthropic does: an event line
// naming the payload's type, then its data line. Payloads are written as
// given, padding and all.
func events(payloads ...string) string { return providertest.NamedFrames(payloads...) }

// sseReply answers with an event stream, with the headers Anthropic sends.
func sseReply(raw string) func(http.ResponseWriter, *http.Request) {
	return providertest.SSEReply(raw, "Content-Type", "text/event-stream; charset=utf-8", "Cache-Control", "no-cache")
}

func testAdapter() *Adapter {
	return &Adapter{Clients: providertest.Clients(), UserAgent: "ownkey-test/1"}
}

type reqOpt = providertest.ReqOpt

var withUsage, nonStream, withBody = providertest.WithUsage, providertest.NonStream, providertest.WithBody

// foundry makes the request an Azure AI Foundry one: a JSON credential whose
// endpoint is the fake, reached through the guarded client.
func foundry(t testing.TB, base string) reqOpt {
	return func(r *ownkey.ChatRequest) {
		p := providertest.Catalog(t, "azure-anthropic-foundry")
		c, err := ownkey.ParseCredential(p, json.RawMessage(`{"endpoint":"`+base+`/anthropic/","apiKey":"`+testKey+`"}`), true)
		if err != nil {
			t.Fatal(err)
		}
		r.Provider, r.Credential = p, c
		if r.BaseURL, r.Guarded, err = (Family{}).Endpoint(p, c); err != nil {
			t.Fatal(err)
		}
	}
}

const helloBody = `{"model":"claude-x","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`

func chatRequest(t testing.TB, base string, opts ...reqOpt) *ownkey.ChatRequest {
	r := &ownkey.ChatRequest{
		RequestID:  "req-1",
		Provider:   providertest.Catalog(t, "anthropic"),
		Credential: &ownkey.Credential{Provider: "anthropic", APIKey: ownkey.NewSecret(testKey)},
		Auth:       Family{},
		BaseURL:    base,
		Model:      "claude-x",
		Body:       []byte(helloBody),
		Stream:     true,
	}
	return providertest.Apply(r, opts...)
}

// respond translates resp, an answer already received, into sink, in
// process: no network, no idle timeout.
func respond(ctx context.Context, cancel context.CancelFunc, req *ownkey.ChatRequest, res *ownkey.ChatResult, tr *translation,
	resp *http.Response, sink ownkey.ChatSink) (*ownkey.ChatResult, error) {
	x := getExchange(req, res, tr)
	defer putExchange(x)
	return providertest.Respond(ctx, cancel, req, res, x, resp, sink)
}

// responder is respond with the translation tr, for providertest.Translate.
func responder(tr *translation) providertest.RespondFunc {
	return func(ctx context.Context, cancel context.CancelFunc, req *ownkey.ChatRequest, res *ownkey.ChatResult,
		resp *http.Response, sink ownkey.ChatSink) (*ownkey.ChatResult, error) {
		return respond(ctx, cancel, req, res, tr, resp, sink)
	}
}

// respondRelay passes resp, an answer already received, through the Relay
// into sink, in process.
func respondRelay(ctx context.Context, cancel context.CancelFunc, req *ownkey.ChatRequest, res *ownkey.ChatResult,
	resp *http.Response, sink ownkey.ChatSink) (*ownkey.ChatResult, error) {
	x := relays.Get().(*relayExchange)
	x.req, x.res = req, res
	defer putRelay(x)
	return providertest.Respond(ctx, cancel, req, res, x, resp, sink)
}

// run sends req through a fresh adapter into a recorder.
func run(t *testing.T, req *ownkey.ChatRequest) (*ownkey.ChatResult, *httptest.ResponseRecorder, error) {
	t.Helper()
	return providertest.Run(t, testAdapter(), req)
}

// The chunks the adapter writes for a message with id msg_1 from model
// claude-x-1.
var chunks = providertest.NewChunks("msg_1", testCreated, "claude-x-1")

var (
	delta, finishChunk, usageChunk = chunks.Delta, chunks.Finish, chunks.Usage
	roleChunk                      = chunks.Role()
)

const done = providertest.Done

// Anthropic payloads for message msg_1, with the inner padding real
// traffic has.
const (
	msgStart = `{"type":"message_start","message":{"model":"claude-x-1","id":"msg_1","type":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,"service_tier":"standard"}}      }`
	ping     = `{"type": "ping"}`
	msgStop  = `{"type":"message_stop"  }`
)

func textStart(i int) string {
	return `{"type":"content_block_start","index":` + itoa(i) + `,"content_block":{"type":"text","text":""}              }`
}

func textDelta(i int, text string) string {
	return `{"type":"content_block_delta","index":` + itoa(i) + `,"delta":{"type":"text_delta","text":` + jsonString(text) + `}    }`
}

func blockStop(i int) string {
	return `{"type":"content_block_stop","index":` + itoa(i) + `         }`
}

func toolStart(i int, id, name string) string {
	return `{"type":"content_block_start","index":` + itoa(i) + `,"content_block":{"type":"tool_use","id":"` + id + `","name":"` + name + `","input":{}}             }`
}

func jsonDelta(i int, partial string) string {
	return `{"type":"content_block_delta","index":` + itoa(i) + `,"delta":{"type":"input_json_delta","partial_json":` + jsonString(partial) + `}        }`
}

func msgDelta(stopReason, usage string) string {
	return `{"type":"message_delta","delta":{"stop_reason":"` + stopReason + `","stop_sequence":null},"usage":` + usage + `           }`
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// jsonString encodes s as Anthropic does: no HTML escaping.
func jsonString(s string) string { return providertest.JSONString(s) }

// usageOf returns the usage object of a chat.completion, or of the last
// chunk that carries one.
func usageOf(t *testing.T, body string) string {
	t.Helper()
	if gjson.Get(body, "object").Str == "chat.completion" {
		return gjson.Get(body, "usage").Raw
	}
	var usage string
	for _, p := range providertest.Payloads(body) {
		if u := gjson.Get(p, "usage"); u.IsObject() {
			usage = u.Raw
		}
	}
	if usage == "" {
		t.Fatal("no usage in the response")
	}
	return usage
}
