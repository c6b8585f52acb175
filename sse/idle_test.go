package sse_test

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ownkey/ownkey/sse"
)

func TestRelayIdleTimeoutCancelsASilentProvider(t *testing.T) {
	pr, pw := io.Pipe()
	var out sse.Relay
	out.Reset(&opRecorder{hdr: http.Header{}}, pr, nil)
	cancelled := make(chan struct{})
	out.IdleTimeout(20*time.Millisecond, func() {
		close(cancelled)
		pw.CloseWithError(errors.New("context canceled")) // as cancelling the request does
	})
	defer out.Finish()
	go func() {
		pw.Write([]byte("a")) // activity: the timer restarts with every read
	}()
	buf := make([]byte, 8)
	if n, err := out.Read(buf); n != 1 || err != nil {
		t.Fatalf("first read = %d, %v", n, err)
	}
	_, err := out.Read(buf)
	var idle *sse.IdleError
	if !errors.As(err, &idle) || idle.After != 20*time.Millisecond {
		t.Fatalf("read from a silent provider = %v; want an IdleError", err)
	}
	select {
	case <-cancelled:
	default:
		t.Fatal("cancel was not called")
	}
}

func TestRelayFinishStopsTheIdleTimer(t *testing.T) {
	var out sse.Relay
	out.Reset(&opRecorder{hdr: http.Header{}}, nil, nil)
	out.IdleTimeout(5*time.Millisecond, func() { t.Error("cancel called after Finish") })
	out.Finish()
	time.Sleep(30 * time.Millisecond)
}
