package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ownkey/ownkey/httpapi"
)

// rawConn is a client connection driven by hand, to send what a well-behaved
// HTTP client would not (a body trickled byte by byte, a request never
// finished, a response never read).
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

// send writes a request head: method, path, headers ("Name: value").
func (rc *rawConn) send(method, path string, headers ...string) {
	rc.t.Helper()
	head := method + " " + path + " HTTP/1.1\r\nHost: ownkey\r\n"
	for _, h := range headers {
		head += h + "\r\n"
	}
	if _, err := io.WriteString(rc.c, head+"\r\n"); err != nil {
		rc.t.Fatal(err)
	}
}

// response reads one response, waiting up to d.
func (rc *rawConn) response(d time.Duration) (*response, error) {
	_ = rc.c.SetReadDeadline(time.Now().Add(d))
	res, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// closedWithin reports whether the server closes the connection within d.
func (rc *rawConn) closedWithin(d time.Duration) bool {
	_ = rc.c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, rc.br)
	return err == nil || errors.Is(err, syscall.ECONNRESET) // EOF, or reset
}

// get sends a request on a connection of its own.
func get(t *testing.T, url, key string) *response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Close = true
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// eventually retries f until it returns true, for up to 10 s.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !f(); {
		if time.Now().After(end) {
			t.Fatalf("not within 10 s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func wantError(t *testing.T, r *response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if _, _, c, _ := errorOf(t, r); c != code {
		t.Fatalf("error code %q, want %q: %s", c, code, r.Body)
	}
}

// chatBody is a chat request of about size bytes.
func chatBody(size int) []byte {
	return []byte(`{"model":"groq/llama-3.3-70b-versatile","stream":true,"messages":[{"role":"user","content":"` +
		strings.Repeat("a", size) + `"}]}`)
}

// A slowloris: headers announcing a body, then a byte every 200 ms. The
// server must close the connection once the body falls behind the minimum
// rate, with or without a valid key, while a large body sent at link speed
// still gets through.
func TestProcessSlowBodyLosesItsConnection(t *testing.T) {
	// An upstream whose stream lasts well past the body deadline.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 6; i++ {
			_, _ = io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`+"\n\n")
			w.(http.Flusher).Flush()
			time.Sleep(500 * time.Millisecond)
		}
		_, _ = io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n")
	}))
	t.Cleanup(slow.Close)
	p := mustStartOwnkey(t, map[string]string{"OWNKEY_DATA_DIR": t.TempDir(),
		"OWNKEY_BODY_READ_TIMEOUT": "1s", "OWNKEY_BODY_MIN_RATE": "1024", "OWNKEY_GROQ_BASE_URL": slow.URL + "/openai/v1"})
	// 1 s of grace plus what 5 bytes a second earn at 1 KiB/s; the rest
	// is slack for a loaded machine. Without a bound the connection stays
	// open for the 11 hours the body would take.
	const bound = 15 * time.Second
	for _, tc := range []struct {
		name, key string
		status    int
		code      string
	}{
		{"unauthenticated", "", http.StatusUnauthorized, "missing_api_key"},
		{"authenticated", p.AdminKey, http.StatusRequestTimeout, "request_body_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, p.Addr)
			headers := []string{"Content-Type: application/json", "Content-Length: 200000"}
			if tc.key != "" {
				headers = append(headers, "Authorization: Bearer "+tc.key)
			}
			rc.send("POST", "/api/v1/chat/completions", headers...)
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(200 * time.Millisecond):
						if _, err := rc.c.Write([]byte("{")); err != nil {
							return
						}
					}
				}
			}()
			start := time.Now()
			r, err := rc.response(bound)
			if err != nil {
				t.Fatalf("no answer within %s (the server held the connection): %v", bound, err)
			}
			wantError(t, r, tc.status, tc.code)
			if !rc.closedWithin(bound) {
				t.Fatalf("the connection is still open %s after the answer", bound)
			}
			t.Logf("connection closed %s after the headers", time.Since(start).Round(time.Millisecond))
		})
	}
	t.Run("stream outlives the body deadline", func(t *testing.T) {
		// Once the body is read its deadline must be gone: net/http's
		// background read would otherwise time out and cancel the stream.
		g := &testGateway{t: t, srv: &httptest.Server{URL: p.URL()}, adminKey: p.AdminKey}
		if r := g.do("POST", "/api/user/provider-keys", p.AdminKey, map[string]any{"provider": "groq", "key": groqKey}); r.Status != 200 {
			t.Fatalf("store groq key: %d %s", r.Status, r.Body)
		}
		req, _ := http.NewRequest("POST", p.URL()+"/api/v1/chat/completions", bytes.NewReader(chatBody(10)))
		req.Header.Set("Authorization", "Bearer "+p.AdminKey)
		req.Header.Set("x-use-byok", "true")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || strings.Count(string(b), `"content":"x"`) != 6 || !strings.HasSuffix(string(b), "data: [DONE]\n\n") {
			t.Fatalf("stream cut short: %d %s", res.StatusCode, b)
		}
	})
	t.Run("large body at link speed", func(t *testing.T) {
		body := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"` + strings.Repeat("a", 8<<20) + `"}]}`)
		req, _ := http.NewRequest("POST", p.URL()+"/api/v1/chat/completions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+p.AdminKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		// Read and parsed whole: the answer is the chat path's own (no key
		// for gpt-4o, the account's or the platform's).
		wantError(t, &response{Status: res.StatusCode, Body: b}, http.StatusBadRequest, "no_provider_for_model")
	})
}

// Connections beyond OWNKEY_MAX_CONNECTIONS get a 503 and are closed; once
// connections close, the server serves again.
func TestProcessConnectionCap(t *testing.T) {
	p := mustStartOwnkey(t, map[string]string{"OWNKEY_DATA_DIR": t.TempDir(), "OWNKEY_MAX_CONNECTIONS": "3"})
	var held []*rawConn
	for i := 0; i < 3; i++ {
		rc := dialRaw(t, p.Addr)
		rc.send("GET", "/healthz")
		if r, err := rc.response(10 * time.Second); err != nil || r.Status != http.StatusOK {
			t.Fatalf("connection %d within the cap: %v %+v", i+1, err, r)
		}
		held = append(held, rc) // kept alive, idle
	}
	extra := dialRaw(t, p.Addr)
	extra.send("GET", "/healthz")
	r, err := extra.response(10 * time.Second)
	if err != nil {
		t.Fatalf("connection beyond the cap got no answer: %v", err)
	}
	wantError(t, r, http.StatusServiceUnavailable, "server_overloaded")
	if r.Header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if !extra.closedWithin(5 * time.Second) {
		t.Fatal("the refused connection stayed open")
	}
	for _, rc := range held {
		rc.c.Close()
	}
	eventually(t, "served again once connections closed", func() bool {
		rc := dialRaw(t, p.Addr)
		rc.send("GET", "/healthz", "Connection: close")
		r, err := rc.response(5 * time.Second)
		return err == nil && r.Status == http.StatusOK
	})
}

// holdRequest starts a chat request whose body never finishes: it stays in
// flight until the connection closes.
func holdRequest(t *testing.T, addr, key string, size int) *rawConn {
	rc := dialRaw(t, addr)
	rc.send("POST", "/api/v1/chat/completions", "Authorization: Bearer "+key,
		"Content-Type: application/json", "Content-Length: "+strconv.Itoa(size))
	if _, err := rc.c.Write([]byte("{")); err != nil {
		t.Fatal(err)
	}
	return rc
}

// Requests beyond OWNKEY_MAX_IN_FLIGHT_PER_ACCOUNT are a 429 for that
// account while another account is still served; beyond
// OWNKEY_MAX_IN_FLIGHT everyone gets a 503, except the liveness check.
func TestProcessInFlightCaps(t *testing.T) {
	p := mustStartOwnkey(t, map[string]string{"OWNKEY_DATA_DIR": t.TempDir(),
		"OWNKEY_MAX_IN_FLIGHT": "3", "OWNKEY_MAX_IN_FLIGHT_PER_ACCOUNT": "2", "OWNKEY_BODY_READ_TIMEOUT": "2m"})
	g := &testGateway{t: t, srv: &httptest.Server{URL: p.URL()}, adminKey: p.AdminKey}
	_, bob := g.createAccount("bob")

	// The holds must be in flight before anything else is sent: a request
	// racing one of them could take its slot.
	a1 := holdRequest(t, p.Addr, p.AdminKey, 100)
	a2 := holdRequest(t, p.Addr, p.AdminKey, 100)
	waitInFlight(t, p, 2)
	r := get(t, p.URL()+"/api/user/me", p.AdminKey)
	wantError(t, r, http.StatusTooManyRequests, "too_many_concurrent_requests")
	if r.Header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if r := get(t, p.URL()+"/api/user/me", bob); r.Status != http.StatusOK {
		t.Fatalf("bob starved by the admin account: %d %s", r.Status, r.Body)
	}

	b1 := holdRequest(t, p.Addr, bob, 100)
	waitInFlight(t, p, 3)
	wantError(t, get(t, p.URL()+"/api/user/me", bob), http.StatusServiceUnavailable, "server_overloaded")
	wantError(t, get(t, p.URL()+"/api/v1/models", ""), http.StatusServiceUnavailable, "server_overloaded")
	if r := get(t, p.URL()+"/healthz", ""); r.Status != http.StatusOK {
		t.Fatalf("liveness check refused under load: %d", r.Status)
	}

	for _, rc := range []*rawConn{a1, a2, b1} {
		rc.c.Close()
	}
	eventually(t, "served again once requests ended", func() bool {
		return get(t, p.URL()+"/api/user/me", p.AdminKey).Status == http.StatusOK
	})
}

// waitInFlight waits until the server counts n requests in flight (the
// /metrics request asking is not counted).
func waitInFlight(t *testing.T, p *ownkeyProc, n int) {
	t.Helper()
	want := "\nownkey_http_requests_in_flight " + strconv.Itoa(n) + "\n"
	eventually(t, strconv.Itoa(n)+" requests in flight", func() bool {
		return strings.Contains(string(get(t, p.URL()+"/metrics", "").Body), want)
	})
}

// endlessStream is an upstream that streams chunks until its client goes
// away; gone is closed then.
func endlessStream(t *testing.T) (url string, gone <-chan struct{}, sent *atomic.Int64) {
	done := make(chan struct{})
	sent = new(atomic.Int64)
	chunk := []byte(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"` +
		strings.Repeat("x", 8<<10) + `"},"finish_reason":null}]}` + "\n\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		defer close(done)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			sent.Add(int64(len(chunk)))
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, done, sent
}

// A client that stops reading a stream loses it after the write timeout:
// the upstream request is cancelled and the handler returns.
func TestProcessSlowReaderStreamEnds(t *testing.T) {
	upstream, gone, sent := endlessStream(t)
	p := mustStartOwnkey(t, map[string]string{"OWNKEY_DATA_DIR": t.TempDir(),
		"OWNKEY_GROQ_BASE_URL": upstream + "/openai/v1", "OWNKEY_WRITE_TIMEOUT": "500ms"})
	g := &testGateway{t: t, srv: &httptest.Server{URL: p.URL()}, adminKey: p.AdminKey}
	if r := g.do("POST", "/api/user/provider-keys", p.AdminKey, map[string]any{"provider": "groq", "key": groqKey}); r.Status != 200 {
		t.Fatalf("store groq key: %d %s", r.Status, r.Body)
	}
	body := chatBody(10)
	rc := dialRaw(t, p.Addr)
	if tc, ok := rc.c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4 << 10) // fill up sooner
	}
	rc.send("POST", "/api/v1/chat/completions", "Authorization: Bearer "+p.AdminKey, "x-use-byok: true",
		"Content-Type: application/json", "Content-Length: "+strconv.Itoa(len(body)))
	if _, err := rc.c.Write(body); err != nil {
		t.Fatal(err)
	}
	// Never read. Without a write deadline the handler blocks in a write
	// for as long as the client keeps the connection.
	select {
	case <-gone:
		t.Logf("upstream cancelled after %d MiB streamed", sent.Load()>>20)
	case <-time.After(30 * time.Second):
		t.Fatalf("upstream still streaming 30 s after the client stopped reading (%d MiB sent)", sent.Load()>>20)
	}
	eventually(t, "the chat handler returned", func() bool {
		for _, line := range strings.Split(p.Stderr(), "\n") {
			var rec struct{ Msg, Path string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "request" && rec.Path == "/api/v1/chat/completions" {
				return true
			}
		}
		return false
	})
}

// A request body beyond the body memory budget is refused with 503 while
// others hold it, and accepted again once they are done.
func TestBodyMemoryBudget(t *testing.T) {
	// The test gateway's body limit is 1 MiB: the budget is one such body.
	g, key, _ := chatGateway(t, "http://127.0.0.1:1", map[string]string{"OWNKEY_MAX_BODY_MEMORY": strconv.Itoa(1<<20 + 300)})
	addr := strings.TrimPrefix(g.srv.URL, "http://")
	// A model no key serves: the chat path's own cheap 400, no upstream.
	small := bytes.Replace(chatBody(100<<10), []byte("groq/llama-3.3-70b-versatile"), []byte("no-such-model"), 1)
	post := func() *response { return g.do("POST", "/api/v1/chat/completions", key, string(small)) }
	wantError(t, post(), http.StatusBadRequest, "no_provider_for_model") // fits

	hold := holdRequest(t, addr, key, 1<<20-100)
	// Wait for the hold's reservation: a request racing it could take it.
	eventually(t, "the held body reserved", func() bool {
		return strings.Contains(string(g.do("GET", "/metrics", "", nil).Body), "\nownkey_request_body_memory_bytes 1.048")
	})
	r := post()
	wantError(t, r, http.StatusServiceUnavailable, "request_body_memory_full")
	if r.Header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	hold.c.Close()
	eventually(t, "bodies accepted again", func() bool { return post().Status == http.StatusBadRequest })
}

// A large chat body costs a small part of its own size in allocations, even
// when the routing edits are needed (here: the provider prefix on the model,
// and usage forced on for a stream): read into a pooled size-class buffer
// without growth, no string copy for parsing, the edits made in place.
// Measured, not timed; under the race detector, which drops pooled objects
// at random, only "no more than about once".
func TestChatBodyAllocatesAboutItsSize(t *testing.T) {
	reply := sseReply([]string{
		`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`,
		`data: [DONE]`}, "\n\n")
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // the fake must not allocate the body either
		reply(w, r, nil)
	}))
	t.Cleanup(up.Close)
	g, key, _ := chatGateway(t, up.URL, nil)
	body := chatBody(900 << 10)
	h := g.app.server.Handler()
	serve := func() {
		req := httptest.NewRequest("POST", "/api/v1/chat/completions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("x-use-byok", "true")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "[DONE]") {
			t.Fatalf("chat: %d %s", rec.Code, rec.Body)
		}
	}
	serve() // warm up pools and connections
	serve()
	const n = 10
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		serve()
	}
	runtime.ReadMemStats(&after)
	per := float64(after.TotalAlloc-before.TotalAlloc) / n
	t.Logf("allocated %.0f KiB per request for a %d KiB body (%.2fx)", per/1024, len(body)>>10, per/float64(len(body)))
	if per > 1.5*float64(len(body)) {
		t.Fatalf("allocated %.2fx the body size per request, want about 1x", per/float64(len(body)))
	}
	if !raceEnabled && per > 0.25*float64(len(body)) {
		t.Fatalf("allocated %.2fx the body size per request: the body buffer was not reused", per/float64(len(body)))
	}
}

// benchWrap puts a benchmark's listener under the serving limits, as
// runServe does.
func benchWrap(ln net.Listener) net.Listener {
	return httpapi.LimitListener(ln, httpapi.DefaultMaxConnections, httpapi.DefaultWriteTimeout)
}
