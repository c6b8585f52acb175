package provider

import (
	"errors"
	"io"
	"testing"
	"time"
)

// Moved here with the idle timer from sse.Relay.
func TestIdleReaderCancelsASilentProvider(t *testing.T) {
	pr, pw := io.Pipe()
	cancelled := make(chan struct{})
	r := newIdleReader(pr, 20*time.Millisecond, func() {
		close(cancelled)
		pw.CloseWithError(errors.New("context canceled")) // as cancelling the request does
	})
	defer r.stop()
	go func() {
		pw.Write([]byte("a")) // activity: the timer restarts with every read
	}()
	buf := make([]byte, 8)
	if n, err := r.Read(buf); n != 1 || err != nil {
		t.Fatalf("first read = %d, %v", n, err)
	}
	_, err := r.Read(buf)
	var idle *IdleError
	if !errors.As(err, &idle) || idle.After != 20*time.Millisecond {
		t.Fatalf("read from a silent provider = %v; want an IdleError", err)
	}
	select {
	case <-cancelled:
	default:
		t.Fatal("cancel was not called")
	}
}

func TestIdleReaderStopStopsTheTimer(t *testing.T) {
	r := newIdleReader(nil, 5*time.Millisecond, func() { t.Error("cancel called after stop") })
	r.stop()
	time.Sleep(30 * time.Millisecond)
}
