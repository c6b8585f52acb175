package gemini

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

const (
	testKey = "AIzaSyTest-0123456789abcdefGHIJKLMNOPQRS"
	// testCreated is what ownkey.Now returns in these tests, so that the
	// created field of every chunk is known.
	testCreated = 1700000000
)

func TestMain(m *testing.M) {
	ownkey.Now = func() time.Time { return time.Unix(testCreated, 0).UTC() }
	os.Exit(m.Run())
}

// frames frames Gemini stream payloads as Gemini does: a data: line each,
// events separated by \r\n\r\n, no [DONE].
func frames(payloads ...string) string {
	var b strings.Builder
	for _, p := range payloads {
		b.WriteString("data: " + p + "\r\n\r\n")
	}
	return b.String()
}

// sseReply answers with an event stream, with the headers Gemini sends.
func sseReply(raw string) func(http.ResponseWriter, *http.Request) {
	return providertest.SSEReply(raw, "Content-Type", "text/event-stream", "X-Content-Type-Options", "nosniff")
}

func testAdapter() *Adapter {
	return &Adapter{Clients: egress.New(egress.Options{AllowPrivate: true}), UserAgent: "ownkey-test/1"}
}

type reqOpt func(*ownkey.ChatRequest)

func withUsage(r *ownkey.ChatRequest) { r.IncludeUsage = true }
func nonStream(r *ownkey.ChatRequest) { r.Stream = false }
func withBody(body string) reqOpt {
	return func(r *ownkey.ChatRequest) { r.Body = []byte(body) }
}
func withModel(model string) reqOpt {
	return func(r *ownkey.ChatRequest) { r.Model = model }
}

const helloBody = `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`

func chatRequest(t testing.TB, base string, opts ...reqOpt) *ownkey.ChatRequest {
	r := &ownkey.ChatRequest{
		RequestID:  "req-1",
		Provider:   providertest.Catalog(t, "google"),
		Credential: &ownkey.Credential{Provider: "google", APIKey: ownkey.NewSecret(testKey)},
		Auth:       Family{},
		BaseURL:    base,
		Model:      "gemini-2.5-flash",
		Body:       []byte(helloBody),
		Stream:     true,
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// respond translates resp, an answer already received, into sink, in
// process: no network, no idle timeout.
func respond(ctx context.Context, cancel context.CancelFunc, req *ownkey.ChatRequest, res *ownkey.ChatResult,
	resp *http.Response, sink ownkey.ChatSink) (*ownkey.ChatResult, error) {
	x := getExchange(req, res)
	defer putExchange(x)
	core := provider.Core{StreamIdleTimeout: -1}
	return core.Respond(ctx, cancel, req, res, sink, x, resp, time.Now())
}

// run sends req through a fresh adapter into an OpenAI writer.
func run(t *testing.T, req *ownkey.ChatRequest) (*ownkey.ChatResult, *httptest.ResponseRecorder, error) {
	t.Helper()
	return providertest.Run(t, testAdapter(), req)
}

// The chunks the adapter writes for response resp-1 from model
// gemini-2.5-flash-001.
const chunkHead = `{"id":"resp-1","object":"chat.completion.chunk","created":1700000000,"model":"gemini-2.5-flash-001"`

func delta(d string) string {
	return chunkHead + `,"choices":[{"index":0,"delta":` + d + `,"logprobs":null,"finish_reason":null}]}`
}

func finishChunk(reason string) string {
	return chunkHead + `,"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"` + reason + `"}]}`
}

func usageChunk(usage string) string {
	return chunkHead + `,"choices":[],"usage":` + usage + `}`
}

var roleChunk = delta(`{"role":"assistant","content":""}`)

const done = "[DONE]"

// chunk is a Gemini stream chunk of response resp-1: the parts (JSON
// objects, comma-separated), the finish reason ("" for none) and the usage
// object ("" for none).
func chunk(parts, finish, usage string) string {
	c := `{"candidates":[{"content":{"parts":[` + parts + `],"role":"model"}`
	if finish != "" {
		c += `,"finishReason":"` + finish + `"`
	}
	c += `,"index":0}]`
	if usage != "" {
		c += `,"usageMetadata":` + usage
	}
	return c + `,"modelVersion":"gemini-2.5-flash-001","responseId":"resp-1"}`
}

func textPart(s string) string    { return `{"text":` + jsonString(s) + `}` }
func thoughtPart(s string) string { return `{"text":` + jsonString(s) + `,"thought":true}` }
func callPart(name, args, sig string) string {
	p := `{"functionCall":{"name":"` + name + `","args":` + args + `}`
	if sig != "" {
		p += `,"thoughtSignature":"` + sig + `"`
	}
	return p + `}`
}

func usageMeta(prompt, candidates, thoughts, cached int) string {
	u := `{"promptTokenCount":` + itoa(prompt) + `,"candidatesTokenCount":` + itoa(candidates) +
		`,"totalTokenCount":` + itoa(prompt+candidates+thoughts)
	if cached > 0 {
		u += `,"cachedContentTokenCount":` + itoa(cached)
	}
	if thoughts > 0 {
		u += `,"thoughtsTokenCount":` + itoa(thoughts)
	}
	return u + `}`
}

func itoa(i int) string { return strconv.Itoa(i) }

// jsonString encodes s as Gemini does: no HTML escaping.
func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
