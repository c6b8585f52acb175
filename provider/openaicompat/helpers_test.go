package openaicompat

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

const testKey = "sk-test-0123456789abcdefXYZ"

// base is the provider base URL pointing at the fake: a path under it, as
// real bases have (/v1, /openai/v1).
func base(up *providertest.Upstream) string { return up.URL + "/v1" }

func testAdapter() *Adapter {
	return &Adapter{Clients: egress.New(egress.Options{}), UserAgent: "ownkey-test/1"}
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
		Provider:   providertest.Catalog(t, "openai"),
		Credential: &ownkey.Credential{Provider: "openai", APIKey: ownkey.NewSecret(testKey)},
		Auth:       Family{},
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

// respond relays resp, an answer already received, into sink, in process:
// no network, no idle timeout.
func respond(ctx context.Context, cancel context.CancelFunc, req *ownkey.ChatRequest, res *ownkey.ChatResult,
	resp *http.Response, sink ownkey.ChatSink) (*ownkey.ChatResult, error) {
	return respondWith(ctx, cancel, req, res, resp, sink, false)
}

// respondWith is respond with Adapter.DropEmptyChunks set to dropEmpty.
func respondWith(ctx context.Context, cancel context.CancelFunc, req *ownkey.ChatRequest, res *ownkey.ChatResult,
	resp *http.Response, sink ownkey.ChatSink, dropEmpty bool) (*ownkey.ChatResult, error) {
	x := getExchange(req, res)
	defer putExchange(x)
	x.relay = sink.Dialect() == ownkey.DialectOpenAIChat
	x.dropEmpty = dropEmpty
	core := provider.Core{StreamIdleTimeout: -1}
	return core.Respond(ctx, cancel, req, res, sink, x, resp, time.Now())
}

// run sends req through a fresh adapter into a recorder.
func run(t *testing.T, req *ownkey.ChatRequest) (*ownkey.ChatResult, *httptest.ResponseRecorder, error) {
	t.Helper()
	return providertest.Run(t, testAdapter(), req)
}
