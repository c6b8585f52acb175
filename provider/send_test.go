package provider

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/ownkey/ownkey"
)

// The body Send posts is the chat request's pooled buffer: once the adapter
// has closed the response, the transport must be done with it, even when
// the provider answered before it read the body.
func TestSendReleasesTheBodyBeforeTheResponseCloses(t *testing.T) {
	var gotLength int64
	var chunked bool
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotLength, chunked = r.ContentLength, len(r.TransferEncoding) > 0
		w.WriteHeader(http.StatusBadRequest) // answered without reading the body
		_, _ = io.WriteString(w, `{"error":{"message":"no"}}`)
	}))
	t.Cleanup(up.Close)
	body := bytes.Repeat([]byte("x"), 8<<20)
	req := &ownkey.ChatRequest{Provider: mustProvider(t, "groq"), BaseURL: up.URL, Auth: Bearer{},
		Credential: &ownkey.Credential{APIKey: ownkey.NewSecret("sk-test-0123456789abcdef")}}
	for range 5 {
		res := &ownkey.ChatResult{}
		resp, _, err := Send(context.Background(), context.Background(), up.Client(), req, res, "/chat/completions", body, "")
		if err != nil {
			t.Fatal(err)
		}
		sent := resp.Body.(*sentResponse).sent
		_ = resp.Body.Close()
		select {
		case <-sent.last.closed:
		default:
			t.Fatal("the response closed while the transport still held the request body")
		}
	}
	if gotLength != int64(len(body)) || chunked {
		t.Fatalf("upstream saw Content-Length %d (chunked %v), want %d", gotLength, chunked, len(body))
	}
}

// Every chat request names its authorizer (its family): none is a bug in
// ownkey, reported as such before anything is sent.
func TestSendWithoutAnAuthorizer(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("a request without an authorizer was sent")
	}))
	t.Cleanup(up.Close)
	req := &ownkey.ChatRequest{Provider: mustProvider(t, "groq"), BaseURL: up.URL,
		Credential: &ownkey.Credential{APIKey: ownkey.NewSecret("sk-test-0123456789abcdef")}}
	res := &ownkey.ChatResult{}
	resp, _, err := Send(context.Background(), context.Background(), up.Client(), req, res, "/chat/completions", []byte(`{}`), "")
	if resp != nil || ownkey.ErrorCode(err) != ownkey.EINTERNAL || res.Status != http.StatusInternalServerError {
		t.Fatalf("resp %v, err %v, status %d; want EINTERNAL 500", resp, err, res.Status)
	}
}

// countingConn counts the writes on a connection to the upstream.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// A small body goes out with its headers in one write (one TCP send instead
// of two, which is most of what the hop costs at that size); any body
// arrives whole, with its length.
func TestSendWritesASmallRequestOnce(t *testing.T) {
	var got []byte
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		_, _ = io.WriteString(w, `{}`)
	}))
	t.Cleanup(up.Close)
	var writes atomic.Int64
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		return countingConn{c, &writes}, err
	}}}
	req := &ownkey.ChatRequest{Provider: mustProvider(t, "groq"), BaseURL: up.URL, Auth: Bearer{},
		Credential: &ownkey.Credential{APIKey: ownkey.NewSecret("sk-test-0123456789abcdef")}}
	for _, tc := range []struct {
		size     int
		oneWrite bool
	}{{1 << 10, true}, {smallBody, true}, {smallBody + 1, false}, {200 << 10, false}} {
		body := bytes.Repeat([]byte("ab"), tc.size/2+1)[:tc.size]
		writes.Store(0)
		resp, _, err := Send(context.Background(), context.Background(), client, req, &ownkey.ChatResult{}, "/chat/completions", body, "")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if !bytes.Equal(got, body) {
			t.Fatalf("%d-byte body: upstream got %d bytes, not the body", tc.size, len(got))
		}
		if n := writes.Load(); (n == 1) != tc.oneWrite {
			t.Fatalf("%d-byte body: %d writes to the upstream, want one: %v", tc.size, n, tc.oneWrite)
		}
	}
}

// A small body is sent from a copy of its own: the bodies the transport
// reads, the first and any retry's (GetBody, after a kept-alive connection
// the upstream closed meanwhile), hold the request whatever the caller does
// with its pooled buffer once Send returned.
func TestSendSmallBodyIsTheTransports(t *testing.T) {
	buf := []byte(`{"model":"first"}`)
	hreq := &http.Request{}
	if sent := setBody(hreq, buf); sent != nil {
		t.Fatal("a small body is waited for")
	}
	copy(buf, `{"model":"XXXXX"}`)
	retry, err := hreq.GetBody()
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]io.Reader{"first": hreq.Body, "retry": retry} {
		if b, _ := io.ReadAll(r); string(b) != `{"model":"first"}` {
			t.Fatalf("the %s body reads %q", name, b)
		}
	}
	if hreq.ContentLength != int64(len(buf)) {
		t.Fatalf("ContentLength %d", hreq.ContentLength)
	}
}
