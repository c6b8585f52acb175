package bedrock

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
)

// testCreated is what ownkey.Now returns in these tests, so that the
// created field of every chunk is known.
const testCreated = 1700000000

func TestMain(m *testing.M) {
	providertest.FixClock(testCreated)
	os.Exit(m.Run())
}

// testModel is an inference profile id: a geography prefix and a ':'.
const testModel = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"

func testAdapter() *Adapter {
	return &Adapter{Clients: providertest.Clients(), UserAgent: "ownkey-test/1"}
}

type reqOpt = providertest.ReqOpt

var withUsage, nonStream, withBody = providertest.WithUsage, providertest.NonStream, providertest.WithBody

const helloBody = `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`

func chatRequest(t testing.TB, base string, opts ...reqOpt) *ownkey.ChatRequest {
	r := &ownkey.ChatRequest{
		RequestID:  "req-1",
		Provider:   providertest.Catalog(t, "aws"),
		Credential: mustCredential(t),
		Auth:       Family{},
		BaseURL:    base,
		Model:      testModel,
		Body:       []byte(helloBody),
		Stream:     true,
	}
	return providertest.Apply(r, opts...)
}

// fakeBedrock is a fake Bedrock that verifies every request's signature
// against the test credential.
func fakeBedrock(t testing.TB, replies ...func(http.ResponseWriter, *http.Request)) *providertest.Upstream {
	return providertest.NewBedrock(t, testKey, replies...)
}

// stream answers with the frames of the given events, each a pair of type
// and payload.
func stream(events ...[2]string) func(http.ResponseWriter, *http.Request) {
	return providertest.BedrockStream(frames(events...)...)
}

func frames(events ...[2]string) [][]byte {
	var out [][]byte
	for _, e := range events {
		out = append(out, providertest.BedrockFrame(e[0], e[1]))
	}
	return out
}

// join concatenates frames into one body.
func join(fs ...[]byte) string {
	var b strings.Builder
	for _, f := range fs {
		b.Write(f)
	}
	return b.String()
}

// ConverseStream events, as Bedrock sends them (with the "p" padding).
func msgStart() [2]string { return [2]string{"messageStart", `{"p":"abcdef","role":"assistant"}`} }

func textDelta(i int, text string) [2]string {
	return [2]string{"contentBlockDelta", `{"contentBlockIndex":` + itoa(i) + `,"delta":{"text":` + jsonString(text) + `},"p":"abcdefghij"}`}
}

func reasoningDelta(i int, text string) [2]string {
	return [2]string{"contentBlockDelta", `{"contentBlockIndex":` + itoa(i) + `,"delta":{"reasoningContent":{"text":` + jsonString(text) + `}},"p":"abc"}`}
}

func signatureDelta(i int) [2]string {
	return [2]string{"contentBlockDelta", `{"contentBlockIndex":` + itoa(i) + `,"delta":{"reasoningContent":{"signature":"EqQBCkgIARABGAIiQL"}},"p":"abc"}`}
}

func toolStart(i int, id, name string) [2]string {
	return [2]string{"contentBlockStart", `{"contentBlockIndex":` + itoa(i) + `,"start":{"toolUse":{"toolUseId":"` + id + `","name":"` + name + `"}},"p":"abcd"}`}
}

func toolDelta(i int, input string) [2]string {
	return [2]string{"contentBlockDelta", `{"contentBlockIndex":` + itoa(i) + `,"delta":{"toolUse":{"input":` + jsonString(input) + `}},"p":"ab"}`}
}

func blockStop(i int) [2]string {
	return [2]string{"contentBlockStop", `{"contentBlockIndex":` + itoa(i) + `,"p":"abcdefgh"}`}
}

func msgStop(reason string) [2]string {
	return [2]string{"messageStop", `{"p":"abcdefghijklm","stopReason":"` + reason + `"}`}
}

func metadata(usage string) [2]string {
	return [2]string{"metadata", `{"metrics":{"latencyMs":412},"p":"abc","usage":` + usage + `}`}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// jsonString encodes s as Bedrock does: no HTML escaping.
func jsonString(s string) string { return providertest.JSONString(s) }

// run sends req through a fresh adapter into a recorder.
func run(t *testing.T, req *ownkey.ChatRequest) (*ownkey.ChatResult, *httptest.ResponseRecorder, error) {
	t.Helper()
	return providertest.Run(t, testAdapter(), req)
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

// The chunks the adapter writes for request req-1 of testModel.
var chunks = providertest.NewChunks("chatcmpl-req-1", testCreated, testModel)

var (
	delta, finishChunk, usageChunk = chunks.Delta, chunks.Finish, chunks.Usage
	roleChunk                      = chunks.Role()
)

const done = providertest.Done
