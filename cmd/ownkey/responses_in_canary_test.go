package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ownkey/ownkey/provider/providertest"
)

// TestResponsesInSecretsNeverLeak drives POST /v1/responses with canary
// keys, relayed (openai-responses, azure-responses) and translated (groq),
// against a provider that echoes every key it gets: in error answers (the
// message, the param, Retry-After), in a relayed stream's error event and
// failed response, in a relayed whole response that failed, in a
// translated stream's error chunk. Debug logging is on; the logs, every
// response and the raw database files are then scanned for any
// 8-character piece of the canaries.
func TestResponsesInSecretsNeverLeak(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		key := r.Header.Get("Authorization") + r.Header.Get("api-key")
		bare := strings.TrimPrefix(key, "Bearer ")
		esc := providertest.EscapedKey(bare)
		body := string(b)
		switch {
		case strings.HasSuffix(r.URL.Path, "/responses") && strings.Contains(body, "stream please"):
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, providertest.NamedFrames(
				respLifecycle("response.created", "in_progress", "null"),
				`{"type":"error","sequence_number":1,"code":"`+bare+`","message":"bad key `+esc+` `+key+`","param":"`+bare+`"}`,
				`{"type":"response.failed","sequence_number":2,"response":{"id":"resp_1","status":"failed","error":{"code":"`+bare+`","message":"bad key `+esc+`"}}}`))
		case strings.HasSuffix(r.URL.Path, "/responses") && strings.Contains(body, "failed please"):
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"resp_1","object":"response","status":"failed","model":"gpt-5","output":[],"error":{"code":"`+bare+`","message":"bad key `+esc+`"}}`)
		case strings.HasSuffix(r.URL.Path, "/chat/completions") && strings.Contains(body, "stream please"):
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"llama","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}`+"\n\n"+
				`data: {"error":{"message":"bad key `+esc+` `+bare+`","type":"`+bare+`","code":"`+bare+`"}}`+"\n\n")
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", key)
			w.WriteHeader(401)
			io.WriteString(w, `{"error":{"message":"Incorrect API key provided: `+key+` body `+body+`","type":"invalid_request_error","param":"`+bare+`","code":"invalid_api_key"}}`)
		}
	}))
	defer upstream.Close()

	g := newTestGateway(t, map[string]string{
		"OWNKEY_OPENAI_RESPONSES_BASE_URL": upstream.URL + "/v1",
		"OWNKEY_GROQ_BASE_URL":             upstream.URL + "/openai/v1",
		"OWNKEY_ALLOW_PRIVATE_UPSTREAMS":   "true",
	})
	_, key := g.createAccount("alice")
	for _, p := range []map[string]any{
		{"provider": "openai-responses", "key": canaryResponses},
		{"provider": "azure-responses", "key": map[string]any{"endpoint": upstream.URL, "apiKey": canaryAzureResponses, "apiVersion": "v1"}},
		{"provider": "groq", "key": canaryGroq},
	} {
		if r := g.do("POST", "/api/user/provider-keys", key, p); r.Status != 200 {
			t.Fatalf("put %v: %d %s", p["provider"], r.Status, r.Body)
		}
	}
	for _, c := range []struct {
		provider, input string
		stream          bool
		status          int
		holds           string // what the answer must hold
	}{
		{"openai-responses", "hi", false, 401, "Incorrect API key"},
		{"openai-responses", "hi", true, 401, "Incorrect API key"},
		{"openai-responses", "stream please", true, 200, "event: response.failed"},
		{"openai-responses", "failed please", false, 200, `"status":"failed"`},
		{"azure-responses", "hi", false, 401, "Incorrect API key"},
		{"azure-responses", "stream please", true, 200, "event: response.failed"},
		{"azure-responses", "failed please", false, 200, `"status":"failed"`},
		{"groq", "hi", false, 401, "Incorrect API key"},
		{"groq", "hi", true, 401, "Incorrect API key"},
		{"groq", "stream please", true, 200, "event: response.failed"},
	} {
		r := g.do("POST", "/v1/responses", key, map[string]any{"model": c.provider + "/m", "input": c.input, "stream": c.stream})
		if r.Status != c.status || !strings.Contains(string(r.Body), c.holds) {
			t.Fatalf("%s %q (stream %t): %d %s", c.provider, c.input, c.stream, r.Status, r.Body)
		}
	}
	g.app.accounts.Close() // flush last-used writes before reading the files

	haystacks := map[string][]byte{"logs": []byte(g.logs.String()), "responses": g.transcript.Bytes()}
	for p, b := range g.rawFiles("master.key") {
		haystacks[p] = b
	}
	for name, hay := range haystacks {
		for _, c := range []string{canaryResponses, canaryAzureResponses, canaryGroq} {
			if leak := findPiece(hay, c); leak != "" {
				t.Errorf("%s contains %q, a piece of canary …%s", name, leak, c[len(c)-4:])
			}
		}
	}
}
