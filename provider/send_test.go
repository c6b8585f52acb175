package provider

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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
