package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkChatSmallBody is one non-streaming chat request with a small
// body, end to end through a real listener (with the serving limits) to a
// fake upstream: the per-request cost of the gateway's own path.
func BenchmarkChatSmallBody(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, completionJSON)
	}))
	defer up.Close()
	g, key, _ := chatGateway(b, up.URL, nil)
	srv := httptest.NewUnstartedServer(g.app.server.Handler())
	srv.Listener = benchWrap(srv.Listener)
	srv.Start()
	defer srv.Close()
	body := []byte(`{"model":"groq/llama-3.3-70b-versatile","messages":[{"role":"user","content":"Say hello in one short sentence, please."}]}`)
	client := srv.Client()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("x-use-byok", "true")
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
}
