package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ownkey/ownkey/provider/providertest"
)

// Canary keys of the Messages API's tests.
const (
	canaryAnthropic = "sk-ant-canaryANTHROPIC-Wq3Zt8Lm5Xv2Nc7Rb4Kp9J"
	canaryGroqMsg   = "gsk_canaryGROQMSG-Tx6Lq9Wm2Zr5Nc8Kv3Hb7Jd4P"
)

// TestMessagesSecretsNeverLeak drives the Messages API (pass-through to
// anthropic and azure-anthropic-foundry, translated to groq, count_tokens,
// streams) against providers that echo every key they get, in error
// answers, Retry-After and a stream's error event (plainly and escaped),
// with debug logging on; then scans the logs, every response and the raw
// database files for any 8-character piece of the canaries. The client's
// own ownkey key must never reach a provider, although a pass-through
// forwards some of the client's headers.
func TestMessagesSecretsNeverLeak(t *testing.T) {
	var mu sync.Mutex
	var seen []string // every upstream request's headers and body
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var hdr strings.Builder
		_ = r.Header.Write(&hdr)
		mu.Lock()
		seen = append(seen, hdr.String()+string(b))
		mu.Unlock()
		key := r.Header.Get("x-api-key") + r.Header.Get("api-key") + r.Header.Get("Authorization")
		if strings.Contains(string(b), "stream please") {
			w.Header().Set("Content-Type", "text/event-stream")
			esc := providertest.EscapedKey(strings.TrimPrefix(key, "Bearer "))
			io.WriteString(w, providertest.NamedFrames(thinkingToolStream[0],
				`{"type":"error","error":{"type":"api_error","message":"bad key `+esc+` `+key+`"}}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", key)
		w.WriteHeader(401)
		if r.Header.Get("Authorization") != "" {
			io.WriteString(w, `{"error":{"message":"Incorrect API key provided: `+key+` body `+string(b)+`","type":"invalid_request_error","code":"invalid_api_key"}}`)
			return
		}
		io.WriteString(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key `+key+` body `+string(b)+`"}}`)
	}))
	defer upstream.Close()

	g := newTestGateway(t, map[string]string{
		"OWNKEY_ANTHROPIC_BASE_URL":      upstream.URL,
		"OWNKEY_GROQ_BASE_URL":           upstream.URL,
		"OWNKEY_ALLOW_PRIVATE_UPSTREAMS": "true",
	})
	_, key := g.createAccount("alice")
	foundry := map[string]any{"endpoint": upstream.URL + "/anthropic/", "apiKey": canaryFoundry}
	for _, p := range []map[string]any{
		{"provider": "anthropic", "key": canaryAnthropic},
		{"provider": "azure-anthropic-foundry", "key": foundry},
		{"provider": "groq", "key": canaryGroqMsg},
	} {
		if r := g.do("POST", "/api/user/provider-keys", key, p); r.Status != 200 {
			t.Fatalf("put %v: %d %s", p["provider"], r.Status, r.Body)
		}
	}
	msg := func(p, content string, stream bool) map[string]any {
		return map[string]any{"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": stream,
			"messages": []any{map[string]any{"role": "user", "content": content}}, "byok": map[string]any{"enabled": true, "provider": p}}
	}
	for _, p := range []string{"anthropic", "azure-anthropic-foundry", "groq"} {
		for _, path := range []string{"/v1/messages", "/api/v1/messages"} {
			for _, stream := range []bool{false, true} {
				r := g.do("POST", path, key, msg(p, "hi", stream))
				if r.Status != 401 || !strings.Contains(string(r.Body), `"type":"error"`) {
					t.Fatalf("%s via %s: %d %s", path, p, r.Status, r.Body)
				}
			}
			if p != "groq" {
				r := g.do("POST", path, key, msg(p, "stream please", true))
				if r.Status != 200 || !strings.Contains(string(r.Body), "event: error") {
					t.Fatalf("%s stream via %s: %d %s", path, p, r.Status, r.Body)
				}
			}
			r := g.do("POST", path+"/count_tokens", key, map[string]any{"model": "claude-sonnet-4-5",
				"messages": []any{map[string]any{"role": "user", "content": "hi"}}, "byok": map[string]any{"enabled": true, "provider": p}})
			if want := map[bool]int{true: 200, false: 401}[p == "groq"]; r.Status != want {
				t.Fatalf("count_tokens via %s: %d %s", p, r.Status, r.Body)
			}
		}
	}
	// A canary as the ownkey key, in each header the Messages API reads.
	for _, h := range [][2]string{{"x-api-key", canaryAPIKey}, {"Authorization", "Bearer " + canaryAPIKey}} {
		for _, path := range []string{"/v1/messages", "/v1/messages/count_tokens"} {
			req, _ := http.NewRequest("POST", g.srv.URL+path, strings.NewReader(`{"model":"claude-x","max_tokens":1,"messages":[{"role":"user","content":"`+canaryAPIKey+`"}]}`))
			req.Header.Set(h[0], h[1])
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			r := readResponse(t, res)
			if r.Status != 401 || !strings.Contains(string(r.Body), `"authentication_error"`) {
				t.Fatalf("canary ownkey key on %s: %d %s", path, r.Status, r.Body)
			}
			g.transcript.Write(r.Body)
		}
	}
	g.app.accounts.Close() // flush last-used writes before reading the files

	mu.Lock()
	for _, s := range seen {
		if strings.Contains(s, key) {
			t.Errorf("a provider was sent the client's ownkey key:\n%s", s)
		}
	}
	mu.Unlock()
	haystacks := map[string][]byte{"logs": []byte(g.logs.String()), "responses": g.transcript.Bytes()}
	for p, b := range g.rawFiles("master.key") {
		haystacks[p] = b
	}
	for name, hay := range haystacks {
		for _, c := range []string{canaryAnthropic, canaryFoundry, canaryGroqMsg, canaryAPIKey} {
			if leak := findPiece(hay, c); leak != "" {
				t.Errorf("%s contains %q, a piece of canary …%s", name, leak, c[len(c)-4:])
			}
		}
		if name != "logs" && name != "responses" && strings.Contains(string(hay), key) {
			t.Errorf("%s contains the ownkey key", name)
		}
	}
}
