package providertest

// The kit of the translating families (anthropic, bedrock, gemini,
// responses): what each of their test suites needs the same way, from the
// request they start from to the checks their fuzzers make of what the
// client got.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider"
)

// FixClock makes ownkey.Now return the Unix time created, so that the
// created field of every chunk a test expects is known. A package calls it
// from TestMain, before its tests run.
func FixClock(created int64) {
	ownkey.Now = func() time.Time { return time.Unix(created, 0).UTC() }
}

// Clients are the egress clients of an adapter under test: private
// addresses allowed, as every fake upstream listens on 127.0.0.1.
func Clients() *egress.Clients { return egress.New(egress.Options{AllowPrivate: true}) }

// ReqOpt changes a chat request a test starts from.
type ReqOpt = func(*ownkey.ChatRequest)

// WithUsage asks for the usage chunk (stream_options.include_usage).
func WithUsage(r *ownkey.ChatRequest) { r.IncludeUsage = true }

// NonStream makes the request a non-streaming one.
func NonStream(r *ownkey.ChatRequest) { r.Stream = false }

// WithBody sets the client's body.
func WithBody(body string) ReqOpt {
	return func(r *ownkey.ChatRequest) { r.Body = []byte(body) }
}

// Apply applies opts to r, in order, and returns r.
func Apply(r *ownkey.ChatRequest, opts ...ReqOpt) *ownkey.ChatRequest {
	for _, o := range opts {
		o(r)
	}
	return r
}

// Chunks writes the chunks an OpenAI client gets of one streamed answer,
// byte for byte as ownkey's writer makes them.
type Chunks struct{ head string }

// NewChunks is the chunks of answer id from model, created at created.
func NewChunks(id string, created int64, model string) Chunks {
	return Chunks{head: `{"id":` + JSONString(id) + `,"object":"chat.completion.chunk","created":` + strconv.FormatInt(created, 10) + `,"model":` + JSONString(model)}
}

// Delta is a chunk of choice 0 with the delta d (a JSON object).
func (c Chunks) Delta(d string) string {
	return c.head + `,"choices":[{"index":0,"delta":` + d + `,"logprobs":null,"finish_reason":null}]}`
}

// Finish is the chunk that ends choice 0 with reason.
func (c Chunks) Finish(reason string) string {
	return c.head + `,"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"` + reason + `"}]}`
}

// Usage is the usage chunk, usage a JSON object.
func (c Chunks) Usage(usage string) string {
	return c.head + `,"choices":[],"usage":` + usage + `}`
}

// Role is the first chunk: the assistant role and empty content.
func (c Chunks) Role() string { return c.Delta(`{"role":"assistant","content":""}`) }

// Done is the payload that ends an OpenAI stream.
const Done = "[DONE]"

// JSONString encodes s as a JSON string the way the providers write their
// JSON: no HTML escaping.
func JSONString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// Respond serves resp, an answer already received, through the translator
// x into sink, in process: no network, no idle timeout.
func Respond(ctx context.Context, cancel context.CancelFunc, req *ownkey.ChatRequest, res *ownkey.ChatResult,
	x provider.Translator, resp *http.Response, sink ownkey.ChatSink) (*ownkey.ChatResult, error) {
	core := provider.Core{StreamIdleTimeout: -1}
	return core.Respond(ctx, cancel, req, res, sink, x, resp, time.Now())
}

// RespondFunc is a family's way to serve an answer in process: Respond
// with one of its translators.
type RespondFunc func(ctx context.Context, cancel context.CancelFunc, req *ownkey.ChatRequest, res *ownkey.ChatResult,
	resp *http.Response, sink ownkey.ChatSink) (*ownkey.ChatResult, error)

// Translate serves body, the provider's 200 answer with the given
// Content-Type, for req (req.Stream and req.IncludeUsage say what the
// client asked) through respond into an OpenAI writer, and returns the
// result, what the client got and respond's error.
func Translate(t testing.TB, req *ownkey.ChatRequest, contentType string, body []byte, respond RespondFunc) (*ownkey.ChatResult, string, error) {
	t.Helper()
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {contentType}}, Body: io.NopCloser(bytes.NewReader(body))}
	rec := httptest.NewRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wr := openai.NewWriter(rec, req.Stream, req.IncludeUsage)
	res, err := respond(ctx, cancel, req, &ownkey.ChatResult{}, resp, wr)
	got := rec.Body.String() // before Finish, as the adapter left it
	wr.Finish()
	return res, got, err
}

// CheckStream fails t unless got, what a client got of a stream whose
// result is res, is a well-formed OpenAI stream: a whole number of events,
// each a JSON object or [DONE], [DONE] only last and only without an
// error, ending in [DONE] or an error event (with res.ErrorCode set), and
// none of secrets in it. It returns the payloads.
func CheckStream(t testing.TB, res *ownkey.ChatResult, got string, secrets ...string) []string {
	t.Helper()
	for _, s := range secrets {
		if Leaks(got, s) {
			t.Fatalf("a secret reached the client:\n%s", got)
		}
	}
	if !strings.HasSuffix(got, "\n\n") {
		t.Fatalf("stream does not end with a whole event:\n%q", got)
	}
	payloads := Payloads(got)
	for i, p := range payloads {
		if p == Done {
			if i != len(payloads)-1 || res.ErrorCode != "" {
				t.Fatalf("[DONE] at %d of %d, error code %q", i, len(payloads), res.ErrorCode)
			}
			continue
		}
		if !json.Valid([]byte(p)) || p[0] != '{' {
			t.Fatalf("event %d is not a JSON object: %s", i, p)
		}
	}
	last := payloads[len(payloads)-1]
	if last != Done && !strings.HasPrefix(last, `{"error":`) {
		t.Fatalf("stream ends with neither [DONE] nor an error: %s", last)
	}
	if last != Done && res.ErrorCode == "" {
		t.Fatalf("error event without an error code: %+v", res)
	}
	return payloads
}

// LastEvent is the last payload of what a client got of a stream.
func LastEvent(got string) string {
	payloads := Payloads(got)
	return payloads[len(payloads)-1]
}

// ChatWhenFlushed sends req through a into a FlushRecorder, calling then
// (once, from another goroutine) as soon as a flush has given the client
// a body containing seen: to see that an event reached the client before
// the adapter read the next, or to have the client leave mid-stream.
func ChatWhenFlushed(t testing.TB, ctx context.Context, a ownkey.ChatAdapter, req *ownkey.ChatRequest, seen string, then func()) (*ownkey.ChatResult, *FlushRecorder, error) {
	t.Helper()
	rec := NewFlushRecorder()
	go func() {
		for body := range rec.Flushed {
			if strings.Contains(body, seen) {
				then()
				return
			}
		}
	}()
	res, err := a.Chat(ctx, req, Writer(t, rec, req))
	return res, rec, err
}

// GatedReply answers 200 with first, flushed, waits until gate is closed
// (or the request is cancelled), then sends rest: a provider whose next
// event comes only once the client has the previous one.
func GatedReply(contentType, first, rest string, gate <-chan struct{}) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = io.WriteString(w, first)
		w.(http.Flusher).Flush()
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, rest)
	}
}

// WaitCancelled fails t unless cancelled (from StallAfter) is closed
// within limit: the upstream request was cancelled. The limit only stops a
// broken test from hanging.
func WaitCancelled(t testing.TB, cancelled <-chan struct{}, limit time.Duration) {
	t.Helper()
	select {
	case <-cancelled:
	case <-time.After(limit):
		t.Fatal("the upstream request was not cancelled")
	}
}
