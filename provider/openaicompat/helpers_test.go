package openaicompat

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
)

const testKey = "sk-test-0123456789abcdefXYZ"

// received is one request as the fake upstream saw it.
type received struct {
	method, path string
	header       http.Header
	body         []byte
}

// fakeUpstream records every request and answers with reply.
type fakeUpstream struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []received
	reply func(w http.ResponseWriter, r *http.Request)
}

func newUpstream(t testing.TB, reply func(w http.ResponseWriter, r *http.Request)) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{reply: reply}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, received{r.Method, r.URL.EscapedPath(), r.Header.Clone(), body})
		f.mu.Unlock()
		f.reply(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeUpstream) only(t *testing.T) received {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) != 1 {
		t.Fatalf("upstream saw %d requests, want 1", len(f.reqs))
	}
	return f.reqs[0]
}

// base is the provider base URL pointing at the fake: a path under it, as
// real bases have (/v1, /openai/v1).
func (f *fakeUpstream) base() string { return f.URL + "/v1" }

// sseReply answers with status 200, an event-stream content type, and raw.
func sseReply(raw string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, raw)
	}
}

func jsonReply(status int, body string, header ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// frames frames each payload as an SSE event, as ownkey writes them.
func frames(payloads ...string) string {
	var b strings.Builder
	for _, p := range payloads {
		b.WriteString("data: " + p + "\n\n")
	}
	return b.String()
}

func testAdapter() *Adapter {
	return &Adapter{Clients: egress.New(egress.Options{}), UserAgent: "ownkey-test/1"}
}

func catalog(t testing.TB, id string) *ownkey.Provider {
	t.Helper()
	p, ok := ownkey.LookupProvider(id)
	if !ok {
		t.Fatalf("no provider %q", id)
	}
	return p
}

type reqOpt func(*ownkey.ChatRequest)

func withUsage(r *ownkey.ChatRequest) { r.IncludeUsage = true }
func nonStream(r *ownkey.ChatRequest) { r.Stream = false }
func withProvider(p *ownkey.Provider) reqOpt {
	return func(r *ownkey.ChatRequest) { r.Provider = p; r.Credential.Provider = p.ID }
}

func chatRequest(t testing.TB, base string, opts ...reqOpt) *ownkey.ChatRequest {
	r := &ownkey.ChatRequest{
		RequestID:  "req-1",
		Provider:   catalog(t, "openai"),
		Credential: &ownkey.Credential{Provider: "openai", APIKey: ownkey.NewSecret(testKey)},
		BaseURL:    base,
		Model:      "gpt-x",
		Body:       []byte(`{"model":"gpt-x","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`),
		Stream:     true,
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// run sends req through a fresh adapter into a recorder.
func run(t *testing.T, req *ownkey.ChatRequest) (*ownkey.ChatResult, *httptest.ResponseRecorder, error) {
	t.Helper()
	rec := httptest.NewRecorder()
	res, err := testAdapter().Chat(context.Background(), req, rec)
	if res == nil {
		t.Fatal("Chat returned a nil result")
	}
	return res, rec, err
}
