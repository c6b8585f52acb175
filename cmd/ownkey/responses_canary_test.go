package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ownkey/ownkey/provider/providertest"
)

// Canary keys of the Responses API families.
const (
	canaryResponses      = "sk-canary-RESPONSES-Hq8Zt3Lw6Xv1Nc4Rb9Kp2Jy"
	canaryAzureResponses = "canaryAZURERESPONSES-Tz5Wq8Lc3Xm6Nv9Rb2Kh4J"
)

// TestResponsesSecretsNeverLeak stores canary keys for openai-responses and
// azure-responses, checks them and chats through them against a provider
// that echoes every key it gets (in error answers, in Retry-After, in a
// stream's error event and failed response), with debug logging on, and
// then scans the logs, every response and the raw database files for any
// 8-character piece of the canaries.
func TestResponsesSecretsNeverLeak(t *testing.T) {
	echo := func(r *http.Request) string {
		return r.Header.Get("Authorization") + r.Header.Get("api-key")
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		key := echo(r)
		if strings.Contains(string(b), `"stream":true`) && strings.Contains(string(b), "stream please") {
			// A 200 stream that echoes the key in its error events.
			w.Header().Set("Content-Type", "text/event-stream")
			esc := providertest.EscapedKey(strings.TrimPrefix(key, "Bearer "))
			io.WriteString(w, providertest.NamedFrames(
				respLifecycle("response.created", "in_progress", "null"),
				`{"type":"error","code":"`+key+`","message":"bad key `+esc+` `+key+`"}`))
			return
		}
		if strings.Contains(string(b), "failed please") {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, providertest.NamedFrames(
				`{"type":"response.failed","response":{"id":"resp_1","status":"failed","error":{"code":"`+key+`","message":"bad key `+key+`"}}}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", key)
		w.WriteHeader(401)
		io.WriteString(w, `{"error":{"message":"Incorrect API key provided: `+key+` body `+string(b)+`","type":"invalid_request_error","param":"`+key+`","code":"invalid_api_key"}}`)
	}))
	defer upstream.Close()

	g := newTestGateway(t, map[string]string{
		"OWNKEY_OPENAI_RESPONSES_BASE_URL": upstream.URL + "/v1",
		"OWNKEY_ALLOW_PRIVATE_UPSTREAMS":   "true",
	})
	_, key := g.createAccount("alice")
	azure := map[string]any{"endpoint": upstream.URL, "apiKey": canaryAzureResponses, "apiVersion": "2025-04-01-preview"}
	for _, p := range []map[string]any{
		{"provider": "openai-responses", "key": canaryResponses},
		{"provider": "azure-responses", "key": azure},
	} {
		if r := g.do("POST", "/api/user/provider-keys", key, p); r.Status != 200 {
			t.Fatalf("put %v: %d %s", p["provider"], r.Status, r.Body)
		}
	}
	// Failure modes that carry a canary in the request.
	for _, f := range []any{
		map[string]any{"provider": "azure-responses", "key": `{"endpoint":"http://example.com","apiKey":"` + canaryAzureResponses + `"}`},
		map[string]any{"provider": "azure-responses", "key": `{not json ` + canaryAzureResponses},
		map[string]any{"provider": "openai-responses", "key": " " + canaryResponses},
	} {
		if r := g.do("POST", "/api/user/provider-keys", key, f); r.Status < 400 {
			t.Fatalf("bad put accepted: %d %s", r.Status, r.Body)
		}
	}
	// Key checks against the provider that echoes the key.
	for _, v := range []map[string]any{{"provider": "openai-responses", "key": canaryResponses}, {"provider": "azure-responses", "key": azure}} {
		if r := g.do("POST", "/api/user/provider-keys/validate", key, v); r.Status != 200 || r.json(t)["valid"] != false {
			t.Fatalf("validate %v: %d %s", v["provider"], r.Status, r.Body)
		}
	}
	// Chat: refused (401 echoing the key, in the message, param and
	// Retry-After), and streams whose events echo it.
	for _, p := range []string{"openai-responses", "azure-responses"} {
		for _, tc := range []struct {
			content string
			stream  bool
			status  int
		}{{"hi", false, 401}, {"hi", true, 401}, {"stream please", true, 200}, {"failed please", true, 200}} {
			r := g.do("POST", "/api/v1/chat/completions", key, map[string]any{"model": "gpt-5", "stream": tc.stream,
				"messages": []any{map[string]any{"role": "user", "content": tc.content}}, "byok": map[string]any{"enabled": true, "provider": p}})
			if r.Status != tc.status {
				t.Fatalf("chat via %s (%s): %d %s", p, tc.content, r.Status, r.Body)
			}
			if tc.status == 200 && !strings.Contains(string(r.Body), `"code":"stream_error"`) {
				t.Fatalf("chat via %s (%s): %s", p, tc.content, r.Body)
			}
		}
	}
	g.do("GET", "/api/user/provider-keys", key, nil)
	g.do("GET", "/v1/models", key, nil)
	g.app.accounts.Close() // flush last-used writes before reading the files

	haystacks := map[string][]byte{"logs": []byte(g.logs.String()), "responses": g.transcript.Bytes()}
	for p, b := range g.rawFiles("master.key") {
		haystacks[p] = b
	}
	for name, hay := range haystacks {
		for _, c := range []string{canaryResponses, canaryAzureResponses} {
			if leak := findPiece(hay, c); leak != "" {
				t.Errorf("%s contains %q, a piece of canary …%s", name, leak, c[len(c)-4:])
			}
		}
	}
}
