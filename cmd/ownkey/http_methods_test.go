package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestWrongMethodIs405 sends known paths the wrong method: a 405 with the
// methods the path serves in Allow, in OpenAI's error envelope, before any
// authentication; an unknown path stays a 404.
func TestWrongMethodIs405(t *testing.T) {
	g := newTestGateway(t, nil)
	for _, c := range []struct{ method, path, allow string }{
		{"PUT", "/api/user/me", "GET, HEAD, OPTIONS"},
		{"GET", "/v1/chat/completions", "POST, OPTIONS"},
		{"DELETE", "/api/v1/chat/completions", "POST, OPTIONS"},
		{"DELETE", "/api/user/api-keys", "GET, HEAD, POST, OPTIONS"},
		{"POST", "/api/user/provider-keys/validate/", ""}, // not the path: 404
		{"PUT", "/api/user/provider-keys", "GET, HEAD, POST, PATCH, DELETE, OPTIONS"},
		{"POST", "/api/admin/accounts/5", "GET, HEAD, PATCH, OPTIONS"},
		{"GET", "/api/admin/prices/openrouter/google/gemini-2.5-pro", "PUT, DELETE, OPTIONS"},
		{"POST", "/", "GET, HEAD, OPTIONS"}, // the dashboard's root
		{"POST", "/healthz", "GET, HEAD, OPTIONS"},
		{"DELETE", "/openapi.json", "GET, HEAD, OPTIONS"},
		{"GET", "/v1/nothing-here", ""},
	} {
		r := g.send(c.method, c.path, "", "")
		msg, typ, code, _ := errorOf(t, r)
		if c.allow == "" {
			if r.Status != http.StatusNotFound || code != "unknown_url" || r.Header.Get("Allow") != "" {
				t.Errorf("%s %s: %d Allow=%q code %s, want 404 unknown_url", c.method, c.path, r.Status, r.Header.Get("Allow"), code)
			}
			continue
		}
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != c.allow || code != "method_not_allowed" ||
			typ != "invalid_request_error" || !strings.Contains(msg, c.method) || !strings.Contains(msg, c.allow) {
			t.Errorf("%s %s: %d Allow=%q %s/%s %q; want 405 Allow=%q", c.method, c.path, r.Status, r.Header.Get("Allow"), typ, code, msg, c.allow)
		}
	}
	// OPTIONS on a known path answers what it allows.
	r := g.send("OPTIONS", "/v1/models", "", "")
	if r.Status != http.StatusNoContent || r.Header.Get("Allow") != "GET, HEAD, OPTIONS" || len(r.Body) != 0 {
		t.Fatalf("OPTIONS /v1/models: %d Allow=%q %s", r.Status, r.Header.Get("Allow"), r.Body)
	}
	// A key-shaped segment is not echoed in the message.
	const canary = "sk-ownkey-CANARY0123456789abcdefghijklmnop"
	r = g.send("PUT", "/api/user/api-keys/"+canary, "", "")
	if r.Status != http.StatusMethodNotAllowed || strings.Contains(string(r.Body), "CANARY") {
		t.Fatalf("PUT with a key in the path: %d %s", r.Status, r.Body)
	}
	if strings.Contains(g.logs.String(), "CANARY") {
		t.Fatal("the key in the path reached the log")
	}
}

// TestCORS: off by default (no CORS header whatever the Origin), and with
// OWNKEY_CORS_ORIGINS an allowed origin's preflight is answered and its
// answers carry Access-Control-Allow-Origin, never Allow-Credentials.
func TestCORS(t *testing.T) {
	preflight := func(g *testGateway, origin, path, method, headers string) *response {
		return g.send("OPTIONS", path, "", "", "Origin", origin, "Access-Control-Request-Method", method,
			"Access-Control-Request-Headers", headers)
	}
	const app = "https://app.example.com"

	off := newTestGateway(t, nil)
	r := off.send("GET", "/v1/models", off.adminKey, "", "Origin", app)
	if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != "" || r.Header.Get("Vary") != "" {
		t.Fatalf("CORS off, GET with Origin: %d %v", r.Status, r.Header)
	}
	r = preflight(off, app, "/v1/chat/completions", "POST", "authorization")
	if r.Header.Get("Access-Control-Allow-Origin") != "" || r.Header.Get("Access-Control-Allow-Methods") != "" {
		t.Fatalf("CORS off, a preflight was allowed: %d %v", r.Status, r.Header)
	}

	on := newTestGateway(t, map[string]string{"OWNKEY_CORS_ORIGINS": app + ", http://localhost:3000/"})
	r = preflight(on, app, "/v1/chat/completions", "POST", "authorization, content-type, x-stainless-os, x-use-byok")
	h := r.Header
	if r.Status != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != app ||
		h.Get("Access-Control-Allow-Methods") != "POST" ||
		h.Get("Access-Control-Allow-Headers") != "authorization, content-type, x-stainless-os, x-use-byok" ||
		h.Get("Access-Control-Max-Age") != "7200" || !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") ||
		h.Get("Access-Control-Allow-Credentials") != "" || len(r.Body) != 0 {
		t.Fatalf("allowed preflight: %d %v %s", r.Status, h, r.Body)
	}
	r = preflight(on, "http://localhost:3000", "/api/user/provider-keys", "DELETE", "")
	if r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Methods") != "GET, HEAD, POST, PATCH, DELETE" ||
		r.Header.Get("Access-Control-Allow-Headers") != "" {
		t.Fatalf("second origin's preflight: %d %v", r.Status, r.Header)
	}
	// Another origin: refused, without CORS headers, so the browser stops.
	r = preflight(on, "https://evil.example", "/v1/chat/completions", "POST", "authorization")
	if _, _, code, _ := errorOf(t, r); r.Status != http.StatusForbidden || code != "cors_origin_not_allowed" ||
		r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("disallowed preflight: %d %v %s", r.Status, r.Header, r.Body)
	}
	// An unknown path, and a header list that is not one.
	if r = preflight(on, app, "/v1/nowhere", "POST", ""); r.Status != http.StatusNotFound {
		t.Fatalf("preflight of an unknown path: %d %s", r.Status, r.Body)
	}
	if r = preflight(on, app, "/v1/models", "GET", "a b"); r.Status != http.StatusBadRequest {
		t.Fatalf("preflight with a malformed header list: %d %s", r.Status, r.Body)
	}

	// The request itself: served for any origin (the key decides), with
	// the CORS headers for the allowed ones only.
	r = on.send("GET", "/v1/models", on.adminKey, "", "Origin", app)
	if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != app ||
		!strings.HasPrefix(r.Header.Get("Access-Control-Expose-Headers"), "X-Request-ID, Retry-After, X-Ownkey-Cost-Usd, ") ||
		r.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("allowed GET: %d %v", r.Status, r.Header)
	}
	r = on.send("GET", "/v1/models", "sk-ownkey-wrong", "", "Origin", app)
	if r.Status != 401 || r.Header.Get("Access-Control-Allow-Origin") != app {
		t.Fatalf("an error to an allowed origin carries the header too (so the page can read it): %d %v", r.Status, r.Header)
	}
	r = on.send("GET", "/v1/models", on.adminKey, "", "Origin", "https://evil.example")
	if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("GET from another origin: %d %v", r.Status, r.Header)
	}
	// An origin written with its default port or in capitals is the same.
	r = on.send("GET", "/v1/models", on.adminKey, "", "Origin", "https://APP.example.com:443")
	if r.Header.Get("Access-Control-Allow-Origin") != "https://APP.example.com:443" {
		t.Fatalf("normalized origin: %v", r.Header)
	}
	// No Origin: no CORS header at all.
	if r = on.send("GET", "/v1/models", on.adminKey, ""); r.Header.Get("Access-Control-Allow-Origin") != "" || r.Header.Get("Vary") != "" {
		t.Fatalf("same-origin request: %v", r.Header)
	}

	star := newTestGateway(t, map[string]string{"OWNKEY_CORS_ORIGINS": "*"})
	r = preflight(star, "https://anyone.example", "/v1/chat/completions", "POST", "authorization")
	if r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("* preflight: %d %v", r.Status, r.Header)
	}
	r = star.send("POST", "/v1/chat/completions", star.adminKey, `{"model":"x"}`, "Origin", "https://anyone.example")
	if r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("* request: %d %v", r.Status, r.Header)
	}
}
