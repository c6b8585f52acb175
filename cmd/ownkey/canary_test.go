package main

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// Canary keys: distinctive strings that must never leave the vault except
// towards their provider.
const (
	canaryOpenAI    = "sk-canary-OPENAI-q7Zr4Lm9Xw2Tv8Nb5Kc1HjYp"
	canaryGroq      = "gsk_canaryGROQ-Fh3Jk8Lq2Wm6Zx9Rt4Vb7Ny1P"
	canaryAWSSecret = "canaryAWSsecret+Qm5Xr8Tz2Wc7Lv4Nb9Kh3Jp6Fd1"
	canaryAWSToken  = "canaryAWStkn/Zt5Qx8Vm2Rw7Lc4Nh9Kb3Jg6Hy7Ud"
	canaryAzure     = "canaryAZUREapikey-Pv6Rz9Tx3Wm8Lq2Nc5Kh7Jb4"
	canaryFoundry   = "canaryFOUNDRYkey-Wn4Zq7Tr2Xv9Lm6Nc3Kh8Jb5P"
	canaryTavily    = "tvly-canaryTAVILY-Mx3Qz8Rv5Tw2Lc9Nk6Jh4Bp7"
	canaryExa       = "canaryEXAkey-Jq4Wz7Rt2Xm9Lv6Nb3Kc8Hp5D"
	canaryKagi      = "canaryKAGItoken.Tz6Qw9Rx3Vm2Lc8Nh5Kb4Jf7"
	canaryPplx      = "pplx-canaryPPLX-Rm7Zt2Xq9Wv4Lc6Nb3Kh8Jd5"
	canaryAPIKey    = "sk-ownkey-CanaryPresentedKeyR7t2Xw9Lm4Qz8Vb3Nc"
)

// TestSecretsNeverLeak stores canary keys, drives every endpoint and failure
// mode with debug logging on, and then scans the logs, every response and the
// raw database files for the canaries or any 8-character piece of them.
func TestSecretsNeverLeak(t *testing.T) {
	// A provider that refuses every key and echoes it back, as some do.
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		// AWS's session token travels in a header of its own.
		echo := r.Header.Get("Authorization") + r.Header.Get("x-api-key") + r.Header.Get("api-key") + r.Header.Get("x-amz-security-token")
		w.Header().Set("Retry-After", echo)
		w.WriteHeader(401)
		io.WriteString(w, `{"error":{"message":"Incorrect API key provided: `+echo+` body `+string(b)+`","type":"invalid_request_error","code":"invalid_api_key"}}`)
	}))
	defer upstream.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	g := newTestGateway(t, map[string]string{
		"OWNKEY_OPENAI_BASE_URL":         upstream.URL + "/v1",
		"OWNKEY_TAVILY_BASE_URL":         upstream.URL,
		"OWNKEY_AWS_BASE_URL":            upstream.URL,
		"OWNKEY_EXA_BASE_URL":            upstream.URL,
		"OWNKEY_KAGI_BASE_URL":           upstream.URL + "/api",
		"OWNKEY_PERPLEXITY_BASE_URL":     upstream.URL,
		"OWNKEY_GROQ_BASE_URL":           closedURL,
		"OWNKEY_ALLOW_PRIVATE_UPSTREAMS": "true",
	})
	_, key := g.createAccount("alice")

	aws := map[string]any{"accessKeyId": "AKIACANARYACCESSKEY1", "secretAccessKey": canaryAWSSecret, "region": "eu-west-1", "sessionToken": canaryAWSToken}
	azure := map[string]any{"endpoint": upstream.URL, "apiKey": canaryAzure, "deploymentName": "gpt4o", "apiVersion": "2024-10-21"}
	foundry := map[string]any{"endpoint": upstream.URL + "/anthropic/", "apiKey": canaryFoundry}
	puts := []map[string]any{
		{"provider": "openai", "key": canaryOpenAI},
		{"provider": "groq", "key": canaryGroq},
		{"provider": "aws", "key": aws},
		{"provider": "azure", "key": azure},
		{"provider": "azure-anthropic-foundry", "key": foundry},
		{"provider": "tavily", "key": canaryTavily},
		{"provider": "exa", "key": canaryExa},
		{"provider": "kagi", "key": canaryKagi},
		{"provider": "perplexity", "key": canaryPplx},
	}
	for _, p := range puts {
		if r := g.do("POST", "/api/user/provider-keys", key, p); r.Status != 200 {
			t.Fatalf("put %v: %d %s", p["provider"], r.Status, r.Body)
		}
	}
	// Failure modes that carry a canary in the request.
	fails := []any{
		map[string]any{"provider": "aws", "key": map[string]any{"accessKeyId": "AKIACANARYACCESSKEY1", "secretAccessKey": canaryAWSSecret, "region": "nowhere"}},
		map[string]any{"provider": "aws", "key": map[string]any{"secretAccessKey": canaryAWSSecret, "region": "us-east-1", "extra": canaryAzure}},
		map[string]any{"provider": "azure", "key": `{"endpoint":"http://example.com","apiKey":"` + canaryAzure + `"}`},
		map[string]any{"provider": "azure", "key": `{not json ` + canaryAzure},
		map[string]any{"provider": "openai", "key": " " + canaryOpenAI},
		map[string]any{"provider": "nope", "key": canaryOpenAI},
		map[string]any{"provider": "openai", "key": map[string]any{"apiKey": canaryOpenAI}},
		`{"provider":"openai","key":"` + canaryOpenAI + `"`, // truncated JSON
		`{"provider":"openai","key":"` + canaryOpenAI + `","extra":1}`,
	}
	for _, f := range fails {
		if r := g.do("POST", "/api/user/provider-keys", key, f); r.Status < 400 {
			t.Fatalf("bad put accepted: %d %s", r.Status, r.Body)
		}
	}
	// Validation against a provider that echoes the key, and one that is down.
	for _, v := range []map[string]any{
		{"provider": "openai", "key": canaryOpenAI, "model": "gpt-4o-mini"},
		{"provider": "tavily", "key": canaryTavily},
		{"provider": "exa", "key": canaryExa},
		{"provider": "kagi", "key": canaryKagi},
		{"provider": "perplexity", "key": canaryPplx},
		{"provider": "azure", "key": azure},
		{"provider": "groq", "key": canaryGroq},
		{"provider": "aws", "key": aws, "model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"provider": "aws", "key": aws},
	} {
		r := g.do("POST", "/api/user/provider-keys/validate", key, v)
		if r.Status != 200 || r.json(t)["valid"] != false {
			t.Fatalf("validate %v: %d %s", v["provider"], r.Status, r.Body)
		}
	}
	// Chat through every adapter to the provider that echoes the key (AWS:
	// the signature's access key id and the session token), in its message
	// and in Retry-After.
	for _, p := range []string{"openai", "azure-anthropic-foundry", "azure", "aws"} {
		for _, stream := range []bool{false, true} {
			r := g.do("POST", "/api/v1/chat/completions", key, map[string]any{"model": "claude-sonnet-4-5", "stream": stream,
				"messages": []any{map[string]any{"role": "user", "content": "hi"}}, "byok": map[string]any{"enabled": true, "provider": p}})
			if r.Status != 401 {
				t.Fatalf("chat via %s: %d %s", p, r.Status, r.Body)
			}
		}
	}
	// Web search with each search key, and a chat that searches first,
	// against the provider that echoes the key: 401, the key scrubbed.
	for _, p := range []string{"tavily", "exa", "kagi", "perplexity"} {
		if r := g.do("POST", "/api/web", key, map[string]any{"query": "q", "provider": p}); r.Status != 401 {
			t.Fatalf("search via %s: %d %s", p, r.Status, r.Body)
		}
		r := g.do("POST", "/api/v1/chat/completions", key, map[string]any{"model": "gpt-4o-mini:online/" + p,
			"messages": []any{map[string]any{"role": "user", "content": "hi"}}})
		if r.Status != 401 {
			t.Fatalf("chat searching via %s: %d %s", p, r.Status, r.Body)
		}
	}
	// The canary as an ownkey key, in both headers, and in odd places.
	for _, h := range [][2]string{{"Authorization", "Bearer " + canaryAPIKey}, {"x-api-key", canaryAPIKey}, {"Authorization", canaryOpenAI}} {
		req, _ := http.NewRequest("GET", g.srv.URL+"/api/user/provider-keys?provider="+canaryOpenAI, nil)
		req.Header.Set(h[0], h[1])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r := readResponse(t, res)
		if r.Status != 401 {
			t.Fatalf("canary ownkey key: %d", r.Status)
		}
		g.transcript.Write(r.Body)
	}
	// An ownkey key pasted into X-Request-ID, which is otherwise logged.
	for _, rid := range []string{key, canaryAPIKey} {
		req, _ := http.NewRequest("GET", g.srv.URL+"/api/user/me", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("X-Request-ID", rid)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		g.transcript.Write(readResponse(t, res).Body)
	}
	// Keys pasted into the URL path or sent as the method, which the access
	// log and the unknown-URL message would otherwise echo.
	for _, path := range []string{"/v1/" + canaryAPIKey, "/v1/" + key, "/api/v1/models/" + canaryOpenAI,
		"/" + canaryGroq + "/chat/completions", "/v1/" + canaryAzure, "/v1/Bearer%20" + canaryAPIKey} {
		for _, auth := range []string{"", "Bearer " + key} {
			for _, method := range []string{"GET", canaryAPIKey} {
				req, _ := http.NewRequest(method, g.srv.URL+path, nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				r := readResponse(t, res)
				if r.Status < 400 {
					t.Fatalf("%s %s: %d", method[:3], path[:5], r.Status)
				}
				g.transcript.Write(r.Body)
			}
		}
	}
	g.do("GET", "/api/user/provider-keys", key, nil)
	g.do("DELETE", "/api/user/provider-keys?provider=tavily", key, nil)
	g.do("GET", "/api/user/me", key, nil)
	g.do("GET", "/metrics", "", nil)

	// The decrypted credential itself prints as redacted however it is printed.
	c, err := g.app.vault.Credential(t.Context(), 2, "aws")
	if err != nil {
		t.Fatal(err)
	}
	g.app.server.Handler() // keep the app referenced
	g.logs.Write([]byte(sprintAll(c)))

	g.app.accounts.Close() // flush last-used writes before reading the files
	master, _ := os.ReadFile(g.cfg.MasterKeyFile)

	canaries := []string{canaryOpenAI, canaryGroq, canaryAWSSecret, canaryAWSToken, canaryAzure, canaryFoundry, canaryTavily,
		canaryExa, canaryKagi, canaryPplx, canaryAPIKey, key, g.adminKey}
	haystacks := map[string][]byte{"logs": []byte(g.logs.String()), "responses": g.transcript.Bytes()}
	for p, b := range g.rawFiles("master.key") {
		haystacks[p] = b
	}
	for name, hay := range haystacks {
		for _, c := range canaries {
			if name != "logs" && name != "responses" && (c == key || c == g.adminKey) {
				// ownkey keys are stored hashed: check the full key only.
				if bytes.Contains(hay, []byte(c)) {
					t.Errorf("%s contains ownkey API key …%s", name, c[len(c)-4:])
				}
				continue
			}
			if leak := findPiece(hay, c); leak != "" {
				t.Errorf("%s contains %q, a piece of canary …%s", name, leak, c[len(c)-4:])
			}
		}
		// The master key, in its file encoding and raw.
		for _, line := range strings.Split(string(master), "\n") {
			if i := strings.IndexByte(line, ':'); i > 0 && !strings.HasPrefix(line, "#") {
				enc := strings.TrimSpace(line[i+1:])
				raw, _ := base64.StdEncoding.DecodeString(enc)
				if bytes.Contains(hay, []byte(enc)) || (len(raw) == 32 && bytes.Contains(hay, raw)) {
					t.Errorf("%s contains the master key", name)
				}
			}
		}
	}
	// What is stored in clear is the suffix, and nothing more.
	rec, err := g.app.store.Credential(t.Context(), 2, "aws")
	if err != nil || rec.Suffix != canaryAWSSecret[len(canaryAWSSecret)-4:] {
		t.Fatalf("stored suffix %q, err %v", rec.Suffix, err)
	}
}

// findPiece returns the first 8-character window of canary found in hay.
func findPiece(hay []byte, canary string) string {
	for i := 0; i+8 <= len(canary); i++ {
		if bytes.Contains(hay, []byte(canary[i:i+8])) {
			return canary[i : i+8]
		}
	}
	return ""
}
