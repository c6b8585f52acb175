package main

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
)

// providerKeyRow is the key list's row for provider.
func providerKeyRow(t *testing.T, g *testGateway, path, key, provider string) map[string]any {
	t.Helper()
	r := g.do("GET", path, key, nil)
	if r.Status != 200 {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	rows, _ := r.json(t)["keys"].([]any)
	for _, row := range rows {
		if m := row.(map[string]any); m["provider"] == provider {
			return m
		}
	}
	t.Fatalf("no %s row: %s", provider, r.Body)
	return nil
}

// TestProviderRefusesStoredKey: the provider's 401 on the account's stored
// key reaches the client as what it is (status kept, code
// byok_provider_auth_failed, the provider's words), not as a wrong ownkey
// key; the key list then shows the key failing, with when and why, stored
// (another replica sees it) until a request with it succeeds, or until it
// is replaced.
func TestProviderRefusesStoredKey(t *testing.T) {
	var refuse atomic.Bool
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		if refuse.Load() {
			w.WriteHeader(401)
			io.WriteString(w, `{"error":{"message":"Invalid API Key `+r.Header.Get("Authorization")+`","type":"invalid_request_error","code":"invalid_api_key"}}`)
			return
		}
		io.WriteString(w, completionJSON)
	})
	g, key, id := chatGateway(t, up.srv.URL, nil)
	client := sdkClient(g, key)
	chat := func() error {
		_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "groq/llama-3.3-70b-versatile",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		return err
	}
	row := func() map[string]any { return providerKeyRow(t, g, "/api/user/provider-keys", key, "groq") }
	stored := func() bool {
		t.Helper()
		if err := g.app.vault.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		rec, err := g.app.store.Credential(t.Context(), id, "groq")
		if err != nil {
			t.Fatal(err)
		}
		return rec.Failure != nil
	}
	if r := row(); r["failing"] != false || r["failure"] != nil {
		t.Fatalf("a fresh key: %v", r)
	}

	refuse.Store(true)
	before := time.Now().UTC().Add(-time.Second)
	err := chat()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "byok_provider_auth_failed" ||
		apiErr.Message != "Your stored Groq key was rejected by Groq: Invalid API Key Bearer [REDACTED]" || apiErr.Type != "invalid_request_error" {
		t.Fatalf("err = %v (%s %q %q %q)", err, apiErr.RawJSON(), apiErr.Code, apiErr.Message, apiErr.Type)
	}
	if strings.Contains(apiErr.Response.Header.Get("WWW-Authenticate"), "ownkey") {
		t.Fatal("the answer asks for another ownkey key")
	}
	r := row()
	f, _ := r["failure"].(map[string]any)
	if r["failing"] != true || f == nil || f["upstream_status"] != 401.0 || f["message"] != "Invalid API Key Bearer [REDACTED]" {
		t.Fatalf("the key list after the refusal: %v", r)
	}
	at, err := time.Parse(time.RFC3339Nano, f["failed_at"].(string))
	if err != nil || at.Before(before) || at.After(time.Now().Add(time.Second)) {
		t.Fatalf("failed_at %v (%v)", f["failed_at"], err)
	}
	if !stored() {
		t.Fatal("the failure is not stored")
	}
	if rec := g.usageRecords(t, id, 1)[0]; rec.Status != 401 || rec.ErrorCode != "provider_auth_failed" {
		t.Fatalf("usage record %+v", rec)
	}

	// It works again: the mark goes, in the list and in the store.
	refuse.Store(false)
	if err := chat(); err != nil {
		t.Fatal(err)
	}
	if r := row(); r["failing"] != false || r["failure"] != nil {
		t.Fatalf("after a success: %v", r)
	}
	if stored() {
		t.Fatal("the failure is still stored after a success")
	}

	// Failing again, then replaced: a new key has not failed.
	refuse.Store(true)
	_ = chat()
	if row()["failing"] != true {
		t.Fatal("not failing again")
	}
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "key": "gsk_replaced_key_0123456789"}); r.Status != 200 {
		t.Fatalf("replace: %d %s", r.Status, r.Body)
	}
	if r := row(); r["failing"] != false || r["failure"] != nil || stored() {
		t.Fatalf("a replaced key: %v", r)
	}
}

// TestPlatformKeyRefused: the provider refusing the platform's key says
// whose key it was; the admin's list shows it failing, the account's list
// does not.
func TestPlatformKeyRefused(t *testing.T) {
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		io.WriteString(w, invalidKeyJSON)
	})
	g := newTestGateway(t, map[string]string{"OWNKEY_GROQ_BASE_URL": up.srv.URL + "/openai/v1"})
	if r := g.do("PUT", "/api/admin/platform-keys/groq", g.adminKey, map[string]any{"key": groqKey}); r.Status != 200 {
		t.Fatalf("put: %d %s", r.Status, r.Body)
	}
	_, key := g.createAccount("alice")
	r := g.do("POST", "/api/v1/chat/completions", key, map[string]any{"model": "llama-3.3-70b-versatile",
		"messages": []any{map[string]any{"role": "user", "content": "hi"}}})
	msg, _, code, _ := errorOf(t, r)
	if r.Status != 401 || code != "platform_provider_auth_failed" || !strings.HasPrefix(msg, "The platform's Groq key was rejected by Groq") {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	a := g.do("GET", "/api/admin/platform-keys/groq", g.adminKey, nil).json(t)
	if a["failing"] != true {
		t.Fatalf("the platform key's row: %v", a)
	}
	if row := providerKeyRow(t, g, "/api/user/provider-keys", key, "groq"); row["failing"] != false || row["status"] != "not_configured" {
		t.Fatalf("the account's row: %v", row)
	}
}

// TestProviderKeyAPIForgives: a provider id in another case is the
// provider, as in the chat headers; a key shaped like another provider's
// is stored with a warning (naming the prefix, never the key); an unknown
// id lists the valid ones.
func TestProviderKeyAPIForgives(t *testing.T) {
	g := newTestGateway(t, nil)
	_, key := g.createAccount("dev")
	r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "OpenAI", "key": "sk-proj-0123456789abcdef"})
	if m := r.json(t); r.Status != 200 || m["provider"] != "openai" || m["warning"] != nil {
		t.Fatalf("OpenAI: %d %s", r.Status, r.Body)
	}
	const anthropicKey = "sk-ant-api03-0123456789abcdefSECRET"
	r = g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "key": anthropicKey})
	m := r.json(t)
	w, _ := m["warning"].(string)
	if r.Status != 200 || m["status"] != "configured" || !strings.Contains(w, "sk-ant-") || !strings.Contains(w, "Anthropic") || strings.Contains(w, "SECRET") {
		t.Fatalf("an Anthropic key saved as groq: %d %s", r.Status, r.Body)
	}
	if row := providerKeyRow(t, g, "/api/user/provider-keys", key, "groq"); row["status"] != "configured" {
		t.Fatalf("not stored: %v", row)
	}
	r = g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "grok", "key": "xai-0123456789abcdef"})
	msg, _, _, param := errorOf(t, r)
	if r.Status != 400 || param != "provider" || !strings.Contains(msg, `unknown provider "grok"`) || !strings.Contains(msg, "groq") || !strings.Contains(msg, "openai") {
		t.Fatalf("unknown provider: %d %s", r.Status, r.Body)
	}
	if r := g.do("DELETE", "/api/user/provider-keys?provider=GROQ", key, nil); r.Status != 200 {
		t.Fatalf("delete GROQ: %d %s", r.Status, r.Body)
	}
}

// TestPrefixWithoutKey: a provider/model prefix whose provider holds no
// key names that provider's missing key, as a forced provider does.
func TestPrefixWithoutKey(t *testing.T) {
	g := newTestGateway(t, nil)
	_, key := g.createAccount("dev")
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "openai", "key": "sk-0123456789abcdef"}); r.Status != 200 {
		t.Fatal(r.Status)
	}
	body := `{"model":"groq/llama-3.3-70b-versatile","messages":[{"role":"user","content":"hi"}]}`
	for _, c := range []struct {
		byok, code, prefix string
	}{
		{"true", "byok_no_key_for_provider", "no Groq key is stored for this account."},
		{"", "no_key_for_provider", "no Groq key: neither this account nor the platform holds one."},
	} {
		r := g.send("POST", "/v1/chat/completions", key, body, "x-use-byok", c.byok)
		msg, _, code, param := errorOf(t, r)
		if r.Status != 400 || code != c.code || param != "model" || !strings.HasPrefix(msg, c.prefix) {
			t.Fatalf("x-use-byok %q: %d %s", c.byok, r.Status, r.Body)
		}
	}
}

// TestValidateKeyWithModel: a key the provider accepts, checked with a
// model it does not serve, is not reported valid.
func TestValidateKeyWithModel(t *testing.T) {
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"list","data":[{"id":"gpt-4o-mini","object":"model"},{"id":"gpt-4o","object":"model"}]}`)
	})
	g := newTestGateway(t, map[string]string{"OWNKEY_OPENAI_BASE_URL": up.srv.URL + "/v1"})
	_, key := g.createAccount("dev")
	for _, c := range []struct {
		model string
		valid bool
		code  string
	}{{"gpt-4o-mini", true, ""}, {"openai/gpt-4o", true, ""}, {"", true, ""}, {"gpt-9", false, "model_not_found"}} {
		r := g.do("POST", "/api/user/provider-keys/validate", key, map[string]any{"provider": "OpenAI", "key": "sk-0123456789abcdef", "model": c.model})
		m := r.json(t)
		if r.Status != 200 || m["valid"] != c.valid || (m["code"] != nil) != (c.code != "") || c.code != "" && m["code"] != c.code {
			t.Fatalf("%q: %d %s", c.model, r.Status, r.Body)
		}
		if !c.valid && !strings.Contains(m["error"].(string), `OpenAI accepted the key but does not serve model "gpt-9"`) {
			t.Fatalf("error %q", m["error"])
		}
	}
	if got := up.last(t).Path; got != "/v1/models" {
		t.Fatalf("checked at %s", got)
	}
}
