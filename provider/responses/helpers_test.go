package responses

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

const (
	testKey = "sk-proj-test-RESPONSES-0123456789abcdefXYZ"
	// testCreated is what ownkey.Now returns in these tests; the
	// responses below carry their own created_at, respCreated.
	testCreated = 1700000000
	respCreated = 1765552659
)

func TestMain(m *testing.M) {
	providertest.FixClock(testCreated)
	os.Exit(m.Run())
}

// events frames Responses stream payloads as the API does: an event line
// naming the payload's type, then its data line, and no [DONE].
func events(payloads ...string) string { return providertest.NamedFrames(payloads...) }

// sseReply answers with an event stream, with the headers OpenAI sends.
func sseReply(raw string) func(http.ResponseWriter, *http.Request) {
	return providertest.SSEReply(raw, "Content-Type", "text/event-stream; charset=utf-8")
}

func testAdapter() *Adapter {
	return &Adapter{Clients: providertest.Clients(), UserAgent: "ownkey-test/1"}
}

type reqOpt = providertest.ReqOpt

var withUsage, nonStream, withBody = providertest.WithUsage, providertest.NonStream, providertest.WithBody

const helloBody = `{"model":"gpt-5","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`

func chatRequest(t testing.TB, base string, opts ...reqOpt) *ownkey.ChatRequest {
	r := &ownkey.ChatRequest{
		RequestID:  "req-1",
		Provider:   providertest.Catalog(t, "openai-responses"),
		Credential: &ownkey.Credential{Provider: "openai-responses", APIKey: ownkey.NewSecret(testKey)},
		Auth:       Family{},
		BaseURL:    base + "/v1",
		Model:      "gpt-5",
		Body:       []byte(helloBody),
		Stream:     true,
	}
	return providertest.Apply(r, opts...)
}

// respond translates resp, an answer already received, into sink, in
// process: no network, no idle timeout.
func respond(ctx context.Context, cancel context.CancelFunc, req *ownkey.ChatRequest, res *ownkey.ChatResult,
	resp *http.Response, sink ownkey.ChatSink) (*ownkey.ChatResult, error) {
	x := getExchange(req, res)
	defer putExchange(x)
	return providertest.Respond(ctx, cancel, req, res, x, resp, sink)
}

// run sends req through a fresh adapter into a recorder.
func run(t *testing.T, req *ownkey.ChatRequest) (*ownkey.ChatResult, *httptest.ResponseRecorder, error) {
	t.Helper()
	return providertest.Run(t, testAdapter(), req)
}

// The chunks the adapter writes for response resp_1 of model gpt-5-x.
var chunks = providertest.NewChunks("resp_1", respCreated, "gpt-5-x")

var (
	delta, finishChunk, usageChunk = chunks.Delta, chunks.Finish, chunks.Usage
	roleChunk                      = chunks.Role()
)

const done = providertest.Done

// Responses payloads for response resp_1, as the API sends them (sequence
// numbers, obfuscation and all).
func lifecycle(typ, status, extra string) string {
	return `{"type":"` + typ + `","sequence_number":0,"response":{"id":"resp_1","object":"response","created_at":1765552659,"status":"` + status +
		`","error":null,"incomplete_details":null,"model":"gpt-5-x","output":[],"store":false,"usage":null` + extra + `}}`
}

var (
	created    = lifecycle("response.created", "in_progress", "")
	inProgress = lifecycle("response.in_progress", "in_progress", "")
)

const usageJSON = `{"input_tokens":40,"input_tokens_details":{"cached_tokens":16},"output_tokens":300,"output_tokens_details":{"reasoning_tokens":256},"total_tokens":340}`

// wantUsage is usageJSON as the client reads it.
const wantUsage = `{"prompt_tokens":40,"completion_tokens":300,"total_tokens":340,"prompt_tokens_details":{"cached_tokens":16,"cache_write_tokens":0},"completion_tokens_details":{"reasoning_tokens":256}}`

var usage40x300 = ownkey.Usage{PromptTokens: 40, CompletionTokens: 300, CachedTokens: 16, ReasoningTokens: 256, Source: ownkey.UsageFromProvider}

func completed(usage string) string {
	return strings.Replace(lifecycle("response.completed", "completed", ""), `"usage":null`, `"usage":`+usage, 1)
}

func incomplete(reason, usage string) string {
	s := lifecycle("response.incomplete", "incomplete", "")
	s = strings.Replace(s, `"incomplete_details":null`, `"incomplete_details":{"reason":"`+reason+`"}`, 1)
	return strings.Replace(s, `"usage":null`, `"usage":`+usage, 1)
}

func messageAdded(i int) string {
	return `{"type":"response.output_item.added","sequence_number":2,"output_index":` + itoa(i) + `,"item":{"id":"msg_` + itoa(i) + `","type":"message","status":"in_progress","content":[],"role":"assistant"}}`
}

func textDelta(i int, text string) string {
	return `{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_` + itoa(i) + `","output_index":` + itoa(i) +
		`,"content_index":0,"delta":` + jsonString(text) + `,"logprobs":[],"obfuscation":"o6siFnnjPfOpq"}`
}

func messageDone(i int, text string) string {
	return `{"type":"response.output_item.done","sequence_number":14,"output_index":` + itoa(i) + `,"item":{"id":"msg_` + itoa(i) +
		`","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":` + jsonString(text) + `}],"role":"assistant"}}`
}

func callAdded(i int, callID, name string) string {
	return `{"type":"response.output_item.added","sequence_number":2,"output_index":` + itoa(i) + `,"item":{"id":"fc_` + itoa(i) +
		`","type":"function_call","status":"in_progress","arguments":"","call_id":"` + callID + `","name":"` + name + `"}}`
}

func argsDelta(i int, frag string) string {
	return `{"type":"response.function_call_arguments.delta","sequence_number":3,"item_id":"fc_` + itoa(i) + `","output_index":` + itoa(i) +
		`,"delta":` + jsonString(frag) + `,"obfuscation":"h0EQGlYs0A69bt"}`
}

func callDone(i int, callID, name, args string) string {
	return `{"type":"response.output_item.done","sequence_number":17,"output_index":` + itoa(i) + `,"item":{"id":"fc_` + itoa(i) +
		`","type":"function_call","status":"completed","arguments":` + jsonString(args) + `,"call_id":"` + callID + `","name":"` + name + `"}}`
}

func reasoningAdded(i int) string {
	return `{"type":"response.output_item.added","sequence_number":2,"output_index":` + itoa(i) + `,"item":{"id":"rs_` + itoa(i) + `","type":"reasoning","encrypted_content":"gAAAAABpPDIU","summary":[]}}`
}

func summaryDelta(i, part int, text string) string {
	return `{"type":"response.reasoning_summary_text.delta","sequence_number":4,"item_id":"rs_` + itoa(i) + `","output_index":` + itoa(i) +
		`,"summary_index":` + itoa(part) + `,"delta":` + jsonString(text) + `,"obfuscation":"2ajSAGID"}`
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// jsonString encodes s as the API does: no HTML escaping.
func jsonString(s string) string { return providertest.JSONString(s) }
