package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// captureStdout runs f and returns what it printed.
func captureStdout(t *testing.T, f func() error) string {
	t.Helper()
	r, w, _ := os.Pipe()
	old := os.Stdout
	os.Stdout = w
	err := f()
	os.Stdout = old
	w.Close()
	b, _ := io.ReadAll(r)
	if err != nil {
		t.Fatalf("command failed: %v\n%s", err, b)
	}
	return string(b)
}

// TestCLIAgainstRunningServer manages accounts and keys through the CLI while
// the server has the same SQLite database open, and sees the effect over HTTP.
func TestCLIAgainstRunningServer(t *testing.T) {
	g := newTestGateway(t, nil)
	dir := []string{"--data-dir", g.cfg.DataDir}

	out := captureStdout(t, func() error { return runAccounts(append([]string{"create", "carol", "--json"}, dir...)) })
	var key string
	for _, f := range strings.FieldsFunc(out, func(r rune) bool { return r == '"' || r == ' ' || r == '\n' }) {
		if strings.HasPrefix(f, "sk-ownkey-") {
			key = f
		}
	}
	if key == "" {
		t.Fatalf("no key in output: %s", out)
	}
	r := g.do("GET", "/api/user/me", key, nil)
	if r.Status != 200 || r.json(t)["account"].(map[string]any)["name"] != "carol" {
		t.Fatalf("CLI-made key over HTTP: %d %s", r.Status, r.Body)
	}
	id := int64(r.json(t)["account"].(map[string]any)["id"].(float64))

	list := captureStdout(t, func() error { return runAccounts(append([]string{"list"}, dir...)) })
	if !strings.Contains(list, "carol") || !strings.Contains(list, "admin") {
		t.Fatalf("accounts list: %s", list)
	}
	out = captureStdout(t, func() error {
		return runAPIKeys(append([]string{"create", "--account", itoa(id), "--name", "second"}, dir...))
	})
	if !strings.Contains(out, "sk-ownkey-") {
		t.Fatalf("apikeys create: %s", out)
	}
	keys := captureStdout(t, func() error { return runAPIKeys(append([]string{"list", "--account", itoa(id)}, dir...)) })
	if strings.Count(keys, "sk-ownkey-…") != 2 || strings.Contains(keys, key) {
		t.Fatalf("apikeys list shows %q", keys)
	}
	// Revoking through the CLI reaches the server, which has the key
	// cached, once it sees the CLI's commit to the file (polled every
	// second), not only when the cache entry expires.
	me := g.do("GET", "/api/user/api-keys", key, nil).json(t)["data"].([]any)
	first := int64(me[0].(map[string]any)["id"].(float64))
	captureStdout(t, func() error {
		return runAPIKeys(append([]string{"revoke", "--account", itoa(id), "--key", itoa(first)}, dir...))
	})
	until(t, "key revoked by the CLI refused", func() bool { return g.do("GET", "/api/user/me", key, nil).Status == 401 })
	// migrate on an up-to-date database is a no-op that succeeds.
	captureStdout(t, func() error { return runMigrate(dir) })
}

func TestValidateKey(t *testing.T) {
	var gotAuth string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		if r.URL.Path != "/openai/v1/models" {
			http.NotFound(w, r)
			return
		}
		if gotAuth != "Bearer gsk_good_0123456789" {
			w.WriteHeader(401)
			io.WriteString(w, `{"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}`)
			return
		}
		io.WriteString(w, `{"object":"list","data":[{"id":"llama-3.3-70b-versatile","object":"model"}]}`)
	}))
	defer upstream.Close()
	g := newTestGateway(t, map[string]string{"OWNKEY_GROQ_BASE_URL": upstream.URL + "/openai/v1"})

	r := g.do("POST", "/api/user/provider-keys/validate", g.adminKey, map[string]any{"provider": "groq", "key": "gsk_good_0123456789"})
	if m := r.json(t); r.Status != 200 || m["valid"] != true {
		t.Fatalf("good key: %d %s", r.Status, r.Body)
	}
	r = g.do("POST", "/api/user/provider-keys/validate", g.adminKey, map[string]any{"provider": "groq", "key": "gsk_bad_0123456789"})
	m := r.json(t)
	if m["valid"] != false || m["upstream_status"] != float64(401) || !strings.Contains(m["error"].(string), "Invalid API Key") {
		t.Fatalf("bad key: %s", r.Body)
	}
	// Validation stores nothing.
	for _, e := range g.do("GET", "/api/user/provider-keys", g.adminKey, nil).json(t)["keys"].([]any) {
		if e.(map[string]any)["provider"] == "groq" && e.(map[string]any)["status"] != "not_configured" {
			t.Fatal("validate stored the key")
		}
	}
	// Shape errors are 400s naming the field, before any network call.
	r = g.do("POST", "/api/user/provider-keys/validate", g.adminKey, map[string]any{"provider": "aws", "key": map[string]any{"region": "us-east-1"}})
	if _, _, _, p := errorOf(t, r); r.Status != 400 || !strings.HasPrefix(p, "key.") {
		t.Fatalf("aws shape: %d %s", r.Status, r.Body)
	}
}
