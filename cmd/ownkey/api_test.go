package main

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestAuthentication(t *testing.T) {
	g := newTestGateway(t, nil)
	_, key := g.createAccount("alice")

	cases := []struct {
		name   string
		header [2]string
		code   string
	}{
		{"missing", [2]string{}, "missing_api_key"},
		{"malformed bearer", [2]string{"Authorization", "Bearer not-a-key"}, "invalid_api_key"},
		{"wrong scheme", [2]string{"Authorization", "Basic " + key}, "invalid_api_key"},
		{"unknown", [2]string{"Authorization", "Bearer sk-ownkey-" + strings.Repeat("A", 40)}, "invalid_api_key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", g.srv.URL+"/api/user/provider-keys", nil)
			if c.header[0] != "" {
				req.Header.Set(c.header[0], c.header[1])
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			r := readResponse(t, res)
			if r.Status != 401 {
				t.Fatalf("status %d, want 401: %s", r.Status, r.Body)
			}
			msg, typ, code, _ := errorOf(t, r)
			if code != c.code || typ != "invalid_request_error" {
				t.Fatalf("code %q type %q, want %q: %s", code, typ, c.code, msg)
			}
			if strings.Contains(string(r.Body), key) {
				t.Fatal("401 body echoes the key")
			}
		})
	}

	// Both header forms authenticate.
	if r := g.do("GET", "/api/user/me", key, nil); r.Status != 200 {
		t.Fatalf("bearer: %d %s", r.Status, r.Body)
	}
	req, _ := http.NewRequest("GET", g.srv.URL+"/api/user/me", nil)
	req.Header.Set("x-api-key", key)
	res, _ := http.DefaultClient.Do(req)
	if r := readResponse(t, res); r.Status != 200 {
		t.Fatalf("x-api-key: %d %s", r.Status, r.Body)
	}

	// A revoked key stops working at once.
	keys := g.do("GET", "/api/user/api-keys", key, nil).json(t)["data"].([]any)
	id := int64(keys[0].(map[string]any)["id"].(float64))
	if r := g.do("DELETE", "/api/user/api-keys/"+itoa(id), key, nil); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	r := g.do("GET", "/api/user/me", key, nil)
	if r.Status != 401 {
		t.Fatalf("revoked key: status %d", r.Status)
	}
}

func TestAdminAPI(t *testing.T) {
	g := newTestGateway(t, nil)
	id, key := g.createAccount("bob")
	if id <= 1 || !strings.HasPrefix(key, "sk-ownkey-") {
		t.Fatalf("account %d key %q", id, key)
	}
	// bob is a user: the admin API is closed to him.
	r := g.do("GET", "/api/admin/accounts", key, nil)
	if r.Status != 403 {
		t.Fatalf("user on admin API: %d", r.Status)
	}
	if _, typ, code, _ := errorOf(t, r); typ != "permission_error" || code != "admin_required" {
		t.Fatalf("type %q code %q", typ, code)
	}
	// The admin lists both accounts, adds a second key for bob, revokes it.
	list := g.do("GET", "/api/admin/accounts", g.adminKey, nil).json(t)["data"].([]any)
	if len(list) != 2 {
		t.Fatalf("accounts: %v", list)
	}
	r = g.do("POST", "/api/admin/accounts/"+itoa(id)+"/api-keys", g.adminKey, map[string]any{"name": "ci"}, true)
	if r.Status != 201 {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	k2 := r.json(t)
	if r := g.do("GET", "/api/user/me", k2["key"].(string), nil); r.Status != 200 {
		t.Fatalf("second key: %d", r.Status)
	}
	kid := int64(k2["id"].(float64))
	if r := g.do("DELETE", "/api/admin/accounts/"+itoa(id)+"/api-keys/"+itoa(kid), g.adminKey, nil); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := g.do("GET", "/api/user/me", k2["key"].(string), nil); r.Status != 401 {
		t.Fatalf("revoked second key still works: %d", r.Status)
	}
	// The key list shows last4 and never the key or its hash.
	r = g.do("GET", "/api/admin/accounts/"+itoa(id)+"/api-keys", g.adminKey, nil)
	if strings.Contains(string(r.Body), key) || strings.Contains(string(r.Body), "hash") {
		t.Fatalf("key list leaks: %s", r.Body)
	}
	// Bad input names the field.
	r = g.do("POST", "/api/admin/accounts", g.adminKey, map[string]any{"name": "x", "role": "root"})
	if _, _, _, param := errorOf(t, r); r.Status != 400 || param != "role" {
		t.Fatalf("bad role: %d param %q", r.Status, param)
	}
	r = g.do("POST", "/api/admin/accounts", g.adminKey, map[string]any{"name": "x", "colour": "red"})
	if _, _, _, param := errorOf(t, r); r.Status != 400 || param != "colour" {
		t.Fatalf("unknown field: %d param %q", r.Status, param)
	}
	if r := g.do("GET", "/api/admin/accounts/999", g.adminKey, nil); r.Status != 404 {
		t.Fatalf("missing account: %d", r.Status)
	}
}

func TestProviderKeysLifecycle(t *testing.T) {
	g := newTestGateway(t, map[string]string{"OWNKEY_DISABLED_PROVIDERS": "together"})
	_, key := g.createAccount("alice")

	list := func() map[string]map[string]any {
		r := g.do("GET", "/api/user/provider-keys", key, nil)
		if r.Status != 200 {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		out := map[string]map[string]any{}
		for _, e := range r.json(t)["keys"].([]any) {
			m := e.(map[string]any)
			out[m["provider"].(string)] = m
		}
		return out
	}
	l := list()
	if len(l) != 30 {
		t.Fatalf("catalog has %d providers, want 30", len(l))
	}
	if l["openai"]["status"] != "not_configured" || l["together"]["status"] != "disabled" || l["tavily"]["kind"] != "web_search" {
		t.Fatalf("statuses: openai %v together %v tavily kind %v", l["openai"]["status"], l["together"]["status"], l["tavily"]["kind"])
	}
	if l["aws"]["credential_format"] != "json" || l["groq"]["credential_format"] != "api_key" {
		t.Fatalf("formats: %v %v", l["aws"]["credential_format"], l["groq"]["credential_format"])
	}

	r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "key": "gsk_live_0123456789abcdWXYZ"})
	if r.Status != 200 || r.json(t)["key_suffix"] != "WXYZ" {
		t.Fatalf("put: %d %s", r.Status, r.Body)
	}
	if st := list()["groq"]; st["status"] != "configured" || st["key_suffix"] != "WXYZ" || st["created_at"] == nil {
		t.Fatalf("after put: %v", st)
	}
	// Replace keeps one row and shows the new suffix.
	g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "key": "gsk_live_99999999999999QRST"})
	if st := list()["groq"]; st["key_suffix"] != "QRST" {
		t.Fatalf("after replace: %v", st)
	}

	// JSON credentials, as an object or as a string holding one.
	aws := map[string]any{"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "region": "us-east-1"}
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "aws", "key": aws}); r.Status != 200 || r.json(t)["key_suffix"] != "EKEY" {
		t.Fatalf("aws: %d %s", r.Status, r.Body)
	}
	azure := `{"endpoint":"https://myres.openai.azure.com","apiKey":"azkey-0123456789-LMNO","deploymentName":"gpt4o","apiVersion":"2024-10-21"}`
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "azure", "key": azure}); r.Status != 200 || r.json(t)["key_suffix"] != "LMNO" {
		t.Fatalf("azure as string: %d %s", r.Status, r.Body)
	}

	bad := []struct {
		name  string
		body  map[string]any
		param string
	}{
		{"unknown provider", map[string]any{"provider": "nope", "key": "abcdefghijkl"}, "provider"},
		{"missing provider", map[string]any{"key": "abcdefghijkl"}, "provider"},
		{"empty key", map[string]any{"provider": "openai", "key": ""}, "key"},
		{"disabled provider", map[string]any{"provider": "together", "key": "abcdefghijkl"}, "provider"},
		{"aws missing secret", map[string]any{"provider": "aws", "key": map[string]any{"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "region": "us-east-1"}}, "key.secretAccessKey"},
		{"aws extra field", map[string]any{"provider": "aws", "key": map[string]any{"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "abcdefghijklmnop", "region": "us-east-1", "colour": "red"}}, "key.colour"},
		{"aws bad region", map[string]any{"provider": "aws", "key": map[string]any{"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "abcdefghijklmnop", "region": "mars"}}, "key.region"},
		{"azure empty field", map[string]any{"provider": "azure-responses", "key": map[string]any{"endpoint": "https://x.openai.azure.com", "apiKey": "", "apiVersion": "2024-10-21"}}, "key.apiKey"},
		{"azure plain http", map[string]any{"provider": "azure-anthropic-foundry", "key": map[string]any{"endpoint": "http://example.com/anthropic/", "apiKey": "abcdefghijkl"}}, "key.endpoint"},
		{"azure loopback", map[string]any{"provider": "azure-anthropic-foundry", "key": map[string]any{"endpoint": "https://127.0.0.1/anthropic/", "apiKey": "abcdefghijkl"}}, "key.endpoint"},
		{"azure metadata", map[string]any{"provider": "azure-anthropic-foundry", "key": map[string]any{"endpoint": "https://169.254.169.254/", "apiKey": "abcdefghijkl"}}, "key.endpoint"},
	}
	for _, c := range bad {
		r := g.do("POST", "/api/user/provider-keys", key, c.body)
		if r.Status != 400 {
			t.Errorf("%s: status %d, want 400: %s", c.name, r.Status, r.Body)
			continue
		}
		if _, _, _, param := errorOf(t, r); param != c.param {
			t.Errorf("%s: param %q, want %q", c.name, param, c.param)
		}
	}
	// None of the refused keys was stored.
	l = list()
	for _, p := range []string{"openai", "azure-responses", "azure-anthropic-foundry", "together"} {
		if l[p]["status"] == "configured" {
			t.Errorf("%s stored after a refused put", p)
		}
	}
	if l["aws"]["key_suffix"] != "EKEY" {
		t.Errorf("refused aws put changed the stored key: %v", l["aws"])
	}

	if r := g.do("DELETE", "/api/user/provider-keys?provider=groq", key, nil); r.Status != 200 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if list()["groq"]["status"] != "not_configured" {
		t.Fatal("groq still configured after delete")
	}
	if r := g.do("DELETE", "/api/user/provider-keys?provider=groq", key, nil); r.Status != 404 {
		t.Fatalf("second delete: %d", r.Status)
	}
	if r := g.do("DELETE", "/api/user/provider-keys", key, nil); r.Status != 400 {
		t.Fatalf("delete without provider: %d", r.Status)
	}
}

// TestCrossAccountIsolation proves that account B can neither read, replace,
// delete nor use account A's provider keys or API keys through any endpoint.
func TestCrossAccountIsolation(t *testing.T) {
	g := newTestGateway(t, nil)
	idA, keyA := g.createAccount("alice")
	idB, keyB := g.createAccount("bob")
	g.do("POST", "/api/user/provider-keys", keyA, map[string]any{"provider": "openai", "key": "sk-alice-0123456789-AAAA"})

	status := func(key, provider string) (string, any) {
		for _, e := range g.do("GET", "/api/user/provider-keys", key, nil).json(t)["keys"].([]any) {
			m := e.(map[string]any)
			if m["provider"] == provider {
				return m["status"].(string), m["key_suffix"]
			}
		}
		t.Fatalf("provider %s not listed", provider)
		return "", nil
	}
	if st, _ := status(keyB, "openai"); st != "not_configured" {
		t.Fatalf("B sees A's key: %s", st)
	}
	if r := g.do("DELETE", "/api/user/provider-keys?provider=openai", keyB, nil); r.Status != 404 {
		t.Fatalf("B deleted A's key: %d", r.Status)
	}
	g.do("POST", "/api/user/provider-keys", keyB, map[string]any{"provider": "openai", "key": "sk-bob-0123456789-BBBB"})
	if st, sfx := status(keyA, "openai"); st != "configured" || sfx != "AAAA" {
		t.Fatalf("B's put touched A's key: %s %v", st, sfx)
	}
	if _, sfx := status(keyB, "openai"); sfx != "BBBB" {
		t.Fatalf("B's own key: %v", sfx)
	}
	// The decrypted credential each account gets is its own.
	ctx := t.Context()
	ca, err := g.app.vault.Credential(ctx, idA, "openai")
	if err != nil || ca.APIKey.Reveal() != "sk-alice-0123456789-AAAA" {
		t.Fatalf("A's credential: %v", err)
	}
	cb, err := g.app.vault.Credential(ctx, idB, "openai")
	if err != nil || cb.APIKey.Reveal() != "sk-bob-0123456789-BBBB" {
		t.Fatalf("B's credential: %v", err)
	}
	// API keys: B can't list or revoke A's.
	keysA := g.do("GET", "/api/user/api-keys", keyA, nil).json(t)["data"].([]any)
	aKeyID := int64(keysA[0].(map[string]any)["id"].(float64))
	if r := g.do("DELETE", "/api/user/api-keys/"+itoa(aKeyID), keyB, nil); r.Status != 404 {
		t.Fatalf("B revoked A's API key: %d %s", r.Status, r.Body)
	}
	if r := g.do("GET", "/api/user/me", keyA, nil); r.Status != 200 {
		t.Fatalf("A's key stopped working: %d", r.Status)
	}
	for _, e := range g.do("GET", "/api/user/api-keys", keyB, nil).json(t)["data"].([]any) {
		if int64(e.(map[string]any)["account_id"].(float64)) != idB {
			t.Fatalf("B's key list shows another account's key: %v", e)
		}
	}
	// B is not an admin, so the admin API can't reach A either.
	if r := g.do("GET", "/api/admin/accounts/"+itoa(idA)+"/api-keys", keyB, nil); r.Status != 403 {
		t.Fatalf("B on A's admin key list: %d", r.Status)
	}
	// A sealed credential copied into B's row does not open: the ciphertext
	// is bound to its owner.
	recA, err := g.app.store.Credential(ctx, idA, "openai")
	if err != nil {
		t.Fatal(err)
	}
	recB, _ := g.app.store.Credential(ctx, idB, "openai")
	recB.Sealed, recB.KeyVersion = recA.Sealed, recA.KeyVersion
	if err := g.app.store.PutCredential(ctx, recB); err != nil {
		t.Fatal(err)
	}
	g.app.vault.Forget(idB, "openai")
	if c, err := g.app.vault.Credential(ctx, idB, "openai"); err == nil {
		t.Fatalf("A's ciphertext opened for B: %s", c.APIKey.Last4())
	}
}

func TestOperability(t *testing.T) {
	g := newTestGateway(t, nil)
	if r := g.do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz %d", r.Status)
	}
	if r := g.do("GET", "/readyz", "", nil); r.Status != 200 {
		t.Fatalf("readyz %d %s", r.Status, r.Body)
	}
	// Request ids are always ownkey's own (they key usage records), one
	// per request even when the client sends the same X-Request-ID twice.
	req, _ := http.NewRequest("GET", g.srv.URL+"/healthz", nil)
	ids := map[string]bool{}
	for _, client := range []string{"client-id-123", "client-id-123", "evil\"id with spaces"} {
		req.Header.Set("X-Request-ID", client)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		id := res.Header.Get("X-Request-ID")
		if !strings.HasPrefix(id, "req_") || ids[id] {
			t.Fatalf("request id %q for client id %q: want a fresh req_ id", id, client)
		}
		ids[id] = true
	}
	// Body limit: a clear 413 in the envelope.
	big := `{"provider":"openai","key":"` + strings.Repeat("a", 70<<10) + `"}`
	r := g.do("POST", "/api/user/provider-keys", g.adminKey, big)
	if r.Status != 413 {
		t.Fatalf("oversized body: %d %s", r.Status, r.Body)
	}
	if msg, _, _, _ := errorOf(t, r); !strings.Contains(msg, "64 KiB") {
		t.Fatalf("413 message: %q", msg)
	}
	// Unknown route: 404 in the envelope.
	if r := g.do("GET", "/nope", "", nil); r.Status != 404 {
		t.Fatalf("unknown route %d", r.Status)
	}
	// Metrics count requests by route pattern and status; a made-up method
	// is counted as "other", not as a series of its own.
	g.do("BREW", "/coffee", "", nil)
	m := g.do("GET", "/metrics", "", nil)
	if strings.Contains(string(m.Body), "BREW") ||
		!strings.Contains(string(m.Body), `ownkey_http_requests_total{method="other",route="unmatched",status="404"}`) {
		t.Fatalf("metrics for an unknown method:\n%s", m.Body)
	}
	if !strings.Contains(string(m.Body), `ownkey_http_requests_total{method="GET",route="GET /healthz",status="200"}`) {
		t.Fatalf("metrics missing healthz counter:\n%s", m.Body)
	}
	// Draining fails readiness.
	g.app.server.Drain()
	if r := g.do("GET", "/readyz", "", nil); r.Status != 503 {
		t.Fatalf("readyz while draining: %d", r.Status)
	}
	// Every request was logged as JSON with its request id.
	for id := range ids {
		if !strings.Contains(g.logs.String(), `"request_id":"`+id+`"`) {
			t.Fatalf("access log lacks request id %s", id)
		}
	}
	if !regexp.MustCompile(`"msg":"request","request_id":"req_[0-9a-z_]+","method":"GET","path":"/healthz","status":200,"bytes":\d+,"duration_us":\d+[,}]`).MatchString(g.logs.String()) {
		t.Fatalf("access log line not in the expected shape:\n%s", g.logs.String())
	}
	if !strings.Contains(g.logs.String(), `"client_request_id":"client-id-123"`) || strings.Contains(g.logs.String(), `evil`) {
		t.Fatal("access log should keep the sane client request id and only that one")
	}
}

func readResponse(t *testing.T, res *http.Response) *response {
	t.Helper()
	defer res.Body.Close()
	rec := httptest.NewRecorder()
	_, _ = rec.Body.ReadFrom(res.Body)
	return &response{Status: res.StatusCode, Header: res.Header, Body: rec.Body.Bytes()}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
