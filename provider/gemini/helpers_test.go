package gemini

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
)

const (
	testKey = "AIzaSyTest-0123456789abcdefGHIJKLMNOPQRS"
	// testCreated is what ownkey.Now returns in these tests, so that the
	// created field of every chunk is known.
	testCreated = 1700000000
)

func TestMain(m *testing.M) {
	providertest.FixClock(testCreated)
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
	return &Adapter{Clients: providertest.Clients(), UserAgent: "ownkey-test/1"}
}

type reqOpt = providertest.ReqOpt

var withUsage, nonStream, withBody = providertest.WithUsage, providertest.NonStream, providertest.WithBody

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

// run sends req through a fresh adapter into an OpenAI writer.
func run(t *testing.T, req *ownkey.ChatRequest) (*ownkey.ChatResult, *httptest.ResponseRecorder, error) {
	t.Helper()
	return providertest.Run(t, testAdapter(), req)
}

// The chunks the adapter writes for response resp-1 from model
// gemini-2.5-flash-001.
var chunks = providertest.NewChunks("resp-1", testCreated, "gemini-2.5-flash-001")

var (
	delta, finishChunk, usageChunk = chunks.Delta, chunks.Finish, chunks.Usage
	roleChunk                      = chunks.Role()
)

const done = providertest.Done

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
func jsonString(s string) string { return providertest.JSONString(s) }
