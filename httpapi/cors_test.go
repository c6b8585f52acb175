package httpapi

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestParseCORSOrigins(t *testing.T) {
	got, err := ParseCORSOrigins(" https://App.Example.com/ , http://localhost:3000,https://x.example:443,http://y.example:80,*,")
	want := []string{"https://app.example.com", "http://localhost:3000", "https://x.example", "http://y.example", "*"}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ParseCORSOrigins = %v, %v; want %v", got, err, want)
	}
	if got, err := ParseCORSOrigins(""); err != nil || got != nil {
		t.Fatalf("empty: %v %v", got, err)
	}
	for _, bad := range []string{"app.example.com", "ftp://x.example", "https://x.example/path", "https://x.example?q", "https://u@x.example",
		"https://x.example#f", "null", "https://"} {
		if _, err := ParseCORSOrigins(bad); err == nil {
			t.Errorf("ParseCORSOrigins(%q) accepted", bad)
		}
	}
}

// FuzzCORSPreflight sends the CORS handler any Origin and header list: it
// never allows an origin that is not on the list, and never writes a header
// value that is not a list of header names.
func FuzzCORSPreflight(f *testing.F) {
	f.Add("https://app.example.com", "authorization, content-type", "POST")
	f.Add("https://APP.example.com:443", "x-stainless-os", "GET")
	f.Add("https://evil.example", "a\r\nb", "DELETE")
	f.Add("null", "", "")
	policy := newCORSPolicy([]string{"https://app.example.com"})
	allowed := func(*http.Request) []string { return []string{"GET", "POST"} }
	h := policy.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), allowed)
	f.Fuzz(func(t *testing.T, origin, headers, method string) {
		r := httptest.NewRequest("OPTIONS", "/v1/chat/completions", nil)
		r.Header["Origin"] = []string{origin}
		r.Header["Access-Control-Request-Headers"] = []string{headers}
		r.Header["Access-Control-Request-Method"] = []string{method}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		acao := w.Header().Get("Access-Control-Allow-Origin")
		if acao != "" && acao != origin {
			t.Fatalf("Allow-Origin %q for origin %q", acao, origin)
		}
		if acao != "" {
			if norm, ok := normalOrigin(origin); !ok || norm != "https://app.example.com" {
				t.Fatalf("origin %q allowed", origin)
			}
		}
		if v := w.Header().Get("Access-Control-Allow-Headers"); v != "" && (v != headers || strings.ContainsAny(v, "\r\n\x00")) {
			t.Fatalf("Allow-Headers %q for %q", v, headers)
		}
		if w.Header().Get("Access-Control-Allow-Credentials") != "" {
			t.Fatal("Allow-Credentials set")
		}
	})
}
