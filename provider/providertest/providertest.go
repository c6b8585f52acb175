// Package providertest is the test kit the chat adapters share: a fake
// provider on 127.0.0.1 that records what it was sent and answers with
// canned replies in the provider's own framing; the OpenAI-side framing and
// writer an OpenAI client gets (Frames, Writer); and a sink of a made-up
// client dialect (Recorder). Like net/http/httptest, it is for tests only.
package providertest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/jsontext"
)

// Received is one request as the fake provider saw it.
type Received struct {
	Method, Path string // Path is escaped, as sent
	RawQuery     string
	Header       http.Header
	Body         []byte
	// Host and RequestURI are as they arrived, to verify a signature
	// over them (SigV4).
	Host, RequestURI string
}

// Upstream is a fake provider: it records every request and answers the
// n-th with the n-th reply (the last reply repeats).
type Upstream struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []Received
	replies []func(w http.ResponseWriter, r *http.Request)
}

// NewUpstream starts a fake provider, closed when the test ends.
func NewUpstream(t testing.TB, replies ...func(w http.ResponseWriter, r *http.Request)) *Upstream {
	t.Helper()
	if len(replies) == 0 {
		t.Fatal("providertest.NewUpstream needs at least one reply")
	}
	u := &Upstream{replies: replies}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := Received{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
			Header: r.Header.Clone(), Body: body, Host: r.Host, RequestURI: r.RequestURI}
		u.mu.Lock()
		n := len(u.reqs)
		u.reqs = append(u.reqs, rec)
		u.mu.Unlock()
		u.replies[min(n, len(u.replies)-1)](w, r.WithContext(context.WithValue(r.Context(), receivedKey{}, rec)))
	}))
	t.Cleanup(u.Close)
	return u
}

type receivedKey struct{}

// ReceivedOf is the request a reply of an Upstream is answering, as the
// fake recorded it (its body read).
func ReceivedOf(r *http.Request) Received {
	rec, _ := r.Context().Value(receivedKey{}).(Received)
	return rec
}

// Requests returns what the fake has been sent so far.
func (u *Upstream) Requests() []Received {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.reqs)
}

// Only returns the one request the fake was sent, failing the test if it
// saw another number.
func (u *Upstream) Only(t testing.TB) Received {
	t.Helper()
	reqs := u.Requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream saw %d requests, want 1", len(reqs))
	}
	return reqs[0]
}

// SSEReply answers 200 with raw as the body, an event stream: Content-Type
// text/event-stream unless header (name, value pairs) sets another.
func SSEReply(raw string, header ...string) func(http.ResponseWriter, *http.Request) {
	return reply(http.StatusOK, "text/event-stream", raw, header)
}

// JSONReply answers status with body: Content-Type application/json unless
// header (name, value pairs) sets another.
func JSONReply(status int, body string, header ...string) func(http.ResponseWriter, *http.Request) {
	return reply(status, "application/json", body, header)
}

func reply(status int, contentType, body string, header []string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// StallAfter answers 200 with raw as an event stream, flushed, and then
// sends nothing more: a provider that hangs mid-answer. cancelled is closed
// once ownkey cancels the request (the reply gives up after 30 s). The
// Content-Type is text/event-stream unless contentType gives another.
func StallAfter(raw string, contentType ...string) (reply func(http.ResponseWriter, *http.Request), cancelled <-chan struct{}) {
	gone := make(chan struct{})
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		if len(contentType) > 0 {
			w.Header().Set("Content-Type", contentType[0])
		}
		_, _ = io.WriteString(w, raw)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			close(gone)
		case <-time.After(30 * time.Second):
		}
	}, gone
}

// FlushRecorder is an httptest.ResponseRecorder that reports every flush
// with what the client has received so far (dropped when the channel is
// full): a test reads it to act at a point of a stream (a client that
// leaves after the first words) or to see that each event was flushed
// before the next was read.
type FlushRecorder struct {
	*httptest.ResponseRecorder
	mu      sync.Mutex
	Flushed chan string
}

// NewFlushRecorder returns a FlushRecorder whose channel holds 100 flushes.
func NewFlushRecorder() *FlushRecorder {
	return &FlushRecorder{ResponseRecorder: httptest.NewRecorder(), Flushed: make(chan string, 100)}
}

func (f *FlushRecorder) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ResponseRecorder.Write(b)
}

func (f *FlushRecorder) Flush() {
	f.mu.Lock()
	body := f.Body.String()
	f.mu.Unlock()
	select {
	case f.Flushed <- body:
	default:
	}
}

// Frames frames each payload as one SSE event, as ownkey writes them to the
// client.
func Frames(payloads ...string) string {
	var b strings.Builder
	for _, p := range payloads {
		b.WriteString("data: " + p + "\n\n")
	}
	return b.String()
}

// NamedFrames frames each payload as one SSE event named after the
// payload's type field (an event: line, then the data: line), as Anthropic
// and OpenAI Responses send them. Payloads are written as given, padding
// and all.
func NamedFrames(payloads ...string) string {
	var b strings.Builder
	for _, p := range payloads {
		b.WriteString("event: " + gjson.Get(p, "type").Str + "\n")
		b.WriteString("data: " + p + "\n\n")
	}
	return b.String()
}

// Catalog returns the catalog's provider id, failing the test if there is
// none.
func Catalog(t testing.TB, id string) *ownkey.Provider {
	t.Helper()
	p, ok := ownkey.LookupProvider(id)
	if !ok {
		t.Fatalf("no provider %q", id)
	}
	return p
}

// Run sends req through a into a recorder, as an OpenAI client gets it.
func Run(t testing.TB, a ownkey.ChatAdapter, req *ownkey.ChatRequest) (*ownkey.ChatResult, *httptest.ResponseRecorder, error) {
	t.Helper()
	rec := httptest.NewRecorder()
	res, err := a.Chat(context.Background(), req, Writer(t, rec, req))
	if res == nil {
		t.Fatal("Chat returned a nil result")
	}
	return res, rec, err
}

// Writer is the sink the HTTP layer gives an adapter for an OpenAI
// client's req, writing to w. It is finished when the test ends, or by
// the caller once the adapter has returned.
func Writer(t testing.TB, w http.ResponseWriter, req *ownkey.ChatRequest) *openai.Writer {
	wr := openai.NewWriter(w, req.Stream, req.IncludeUsage)
	t.Cleanup(wr.Finish)
	return wr
}

// EscapedKey is key as a provider may echo it inside a JSON string, its
// first character written as a \u escape ("\u0073k-…"): the same key to any
// JSON reader, different bytes to a plain search.
func EscapedKey(key string) string {
	return fmt.Sprintf(`\u%04x`, key[0]) + key[1:]
}

// Leaks reports whether text holds secret, plainly or with its JSON escapes
// decoded, once or more (an escaped key quoted inside a message that is
// itself JSON-encoded is read by a human all the same).
func Leaks(text, secret string) bool {
	for range 4 {
		if strings.Contains(text, secret) {
			return true
		}
		text = string(jsontext.AppendUnescaped(nil, text))
	}
	return false
}

// ErrorLeaks reports whether secret reached the client through err (the
// *ownkey.Error an adapter returned, all its fields) or what was written.
func ErrorLeaks(t testing.TB, err error, written, secret string) bool {
	t.Helper()
	e, ok := err.(*ownkey.Error)
	if !ok {
		t.Fatalf("err = %v, want an *ownkey.Error", err)
	}
	return Leaks(e.Message+" "+e.Type+" "+e.Reason+" "+e.Param+" "+e.RetryAfter+" "+written, secret)
}

// Dialect is the dialect of a Recorder: no real client's, so adapters
// cannot relay provider bytes to it and must translate.
const Dialect ownkey.Dialect = "test-recorder"

// Recorder is a ChatSink for a made-up client dialect that writes nothing
// and keeps the calls it got, one line each: the proof that an adapter
// needs no change for a new client dialect, and the neutral event sequence
// it produces.
type Recorder struct {
	Calls []string
	// Literals are copies (a sink may not keep what it is given: it can point
	// into the adapter's read buffer) of the JSON string literals of text, reasoning and tool
	// calls, in order.
	Literals []string
	// Gone makes every call fail from then on, as for a client that left.
	Gone bool
}

var _ ownkey.ChatSink = (*Recorder)(nil)

func (r *Recorder) Dialect() ownkey.Dialect { return Dialect }

func (r *Recorder) call(format string, args ...any) error {
	r.Calls = append(r.Calls, fmt.Sprintf(format, args...))
	if r.Gone {
		return ownkey.ErrClientGone
	}
	return nil
}

func (r *Recorder) Stream(upstream io.Reader, _ <-chan struct{}) io.Reader {
	r.Calls = append(r.Calls, "stream")
	return upstream
}

func (r *Recorder) Start(id, model string, created int64) error {
	return r.call("start %s %s %d", id, model, created)
}
func (r *Recorder) Text(text string) error {
	r.Literals = append(r.Literals, strings.Clone(text))
	return r.call("text %s", text)
}
func (r *Recorder) Reasoning(text string) error {
	r.Literals = append(r.Literals, strings.Clone(text))
	return r.call("reasoning %s", text)
}
func (r *Recorder) ToolCall(index int, id, name, args string) error {
	r.Literals = append(r.Literals, strings.Clone(args))
	return r.call("tool %d %s %s %s", index, id, name, args)
}
func (r *Recorder) ToolArgs(index int, args string) error {
	r.Literals = append(r.Literals, strings.Clone(args))
	return r.call("args %d %s", index, args)
}
func (r *Recorder) End(finish string, u ownkey.Usage, cost *ownkey.Charge) error {
	if cost != nil {
		return r.call("end %s %d/%d cost %d/%d", finish, u.PromptTokens, u.CompletionTokens, cost.Charged, cost.AtCost)
	}
	return r.call("end %s %d/%d", finish, u.PromptTokens, u.CompletionTokens)
}
func (r *Recorder) Fail(code, typ, message string) error {
	return r.call("fail %s %s %s", code, typ, message)
}
func (r *Recorder) RelayEvent(typ, data []byte) error { return r.call("relay event %s %s", typ, data) }
func (r *Recorder) RelayBody(body []byte, cost *ownkey.Charge) error {
	if cost != nil {
		return r.call("relay body %s cost %d/%d", body, cost.Charged, cost.AtCost)
	}
	return r.call("relay body %s", body)
}
func (r *Recorder) Flush() error { return r.call("flush") }

// FlushWithEnd is recorded as a flush: what the client gets is the same.
func (r *Recorder) FlushWithEnd() error { return r.call("flush") }

// Check fails t, showing both, unless the calls r got are want.
func (r *Recorder) Check(t testing.TB, want ...string) {
	t.Helper()
	if !slices.Equal(r.Calls, want) {
		t.Fatalf("sink got:\n%s\nwant:\n%s", strings.Join(r.Calls, "\n"), strings.Join(want, "\n"))
	}
}
