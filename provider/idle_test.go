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

// Reads keep a stream alive without moving the timer: a provider that sends
// something every 3/4 of the idle time is never cut off, over many idle
// periods, and the one that then goes silent is, once the idle time has
// passed since its last read began.
func TestIdleReaderCountsFromTheLatestRead(t *testing.T) {
	const after = 40 * time.Millisecond
	pr, pw := io.Pipe()
	cancelled := make(chan time.Time, 1)
	r := newIdleReader(pr, after, func() {
		cancelled <- time.Now()
		pw.CloseWithError(errors.New("context canceled"))
	})
	defer r.stop()
	go func() {
		for range 8 {
			time.Sleep(after * 3 / 4)
			if _, err := pw.Write([]byte("a")); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 8)
	for i := range 8 {
		if _, err := r.Read(buf); err != nil {
			t.Fatalf("read %d of a provider that sends every 3/4 of the idle time: %v", i, err)
		}
	}
	lastStart := time.Now()
	_, err := r.Read(buf)
	var idle *IdleError
	if !errors.As(err, &idle) {
		t.Fatalf("read from a silent provider = %v; want an IdleError", err)
	}
	if at := <-cancelled; at.Sub(lastStart) < after {
		t.Fatalf("cancelled %s after the last read began, before the idle time %s", at.Sub(lastStart), after)
	}
}
