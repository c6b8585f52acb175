package sse_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownkey/ownkey/sse"
)

// opRecorder is a ResponseWriter that logs, in order, what reaches it.
type opRecorder struct {
	mu  sync.Mutex
	hdr http.Header
	ops []string
}

func (r *opRecorder) Header() http.Header { return r.hdr }
func (r *opRecorder) WriteHeader(int)     {}
func (r *opRecorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, "write "+strings.TrimSpace(string(b)))
	return len(b), nil
}
func (r *opRecorder) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, "flush")
}
func (r *opRecorder) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ops)
}

func TestRelayHeadersGoOutWithTheFirstEvent(t *testing.T) {
	w := &opRecorder{hdr: http.Header{}}
	var out sse.Relay
	out.Reset(w, strings.NewReader("upstream"), nil)
	out.DelayHeaders(time.Hour)
	if !out.Event([]byte(`{"a":1}`)) {
		t.Fatal("event refused")
	}
	if _, err := out.Read(make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	out.Finish()
	if got, want := w.log(), []string{`write data: {"a":1}`, "flush"}; !slices.Equal(got, want) {
		t.Fatalf("writer saw %q; want %q (no header-only flush before the first event)", got, want)
	}
}

func TestRelayFlushesHeadersAloneWhenTheFirstEventIsLate(t *testing.T) {
	w := &opRecorder{hdr: http.Header{}}
	pr, pw := io.Pipe()
	var out sse.Relay
	out.Reset(w, pr, nil)
	out.DelayHeaders(10 * time.Millisecond)
	read := make(chan error, 1)
	go func() {
		_, err := out.Read(make([]byte, 8)) // blocks: the provider is silent
		read <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(w.log(), []string{"flush"}) {
		if time.Now().After(deadline) {
			t.Fatalf("headers not flushed while the first event is late: writer saw %q", w.log())
		}
		time.Sleep(time.Millisecond)
	}
	pw.Write([]byte("x"))
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	out.Event([]byte(`{"b":2}`))
	out.Flush()
	out.Finish()
	if got, want := w.log(), []string{"flush", `write data: {"b":2}`, "flush"}; !slices.Equal(got, want) {
		t.Fatalf("writer saw %q; want %q", got, want)
	}
}

func TestRelayFinishStopsTheHeaderTimer(t *testing.T) {
	w := &opRecorder{hdr: http.Header{}}
	var out sse.Relay
	out.Reset(w, strings.NewReader(""), nil)
	out.DelayHeaders(5 * time.Millisecond)
	out.Finish()
	time.Sleep(50 * time.Millisecond)
	if got := w.log(); len(got) != 0 {
		t.Fatalf("writer touched after Finish: %q", got)
	}
}

// The last events are written without a flush of their own when the handler
// finishes in time: they go out with the response's end.
func TestRelayFlushWithEndLeavesTheEndToTheHandler(t *testing.T) {
	w := &opRecorder{hdr: http.Header{}}
	var out sse.Relay
	out.Reset(w, strings.NewReader(""), nil)
	out.DelayHeaders(time.Hour)
	out.Event([]byte(`{"a":1}`))
	if !out.FlushWithEnd() {
		t.Fatal("FlushWithEnd refused")
	}
	out.Finish() // the handler returns at once
	time.Sleep(sse.EndFlushDelay + 20*time.Millisecond)
	if got, want := w.log(), []string{`write data: {"a":1}`}; !slices.Equal(got, want) {
		t.Fatalf("writer saw %q; want %q (the end, not the relay, flushes)", got, want)
	}
}

// A handler that does not return (a provider slow to close its body) does
// not hold the last events back: the timer flushes them.
func TestRelayFlushWithEndFlushesWhenTheHandlerLingers(t *testing.T) {
	w := &opRecorder{hdr: http.Header{}}
	var out sse.Relay
	out.Reset(w, strings.NewReader(""), nil)
	out.DelayHeaders(time.Hour)
	out.Event([]byte(`{"a":1}`))
	out.FlushWithEnd()
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(w.log(), []string{`write data: {"a":1}`, "flush"}) {
		if time.Now().After(deadline) {
			t.Fatalf("the last events were never flushed: writer saw %q", w.log())
		}
		time.Sleep(time.Millisecond)
	}
	out.Finish()
	// Nothing written since: a second FlushWithEnd arms nothing.
	out.Reset(w, strings.NewReader(""), nil)
	if !out.FlushWithEnd() {
		t.Fatal("FlushWithEnd refused")
	}
	time.Sleep(sse.EndFlushDelay + 20*time.Millisecond)
	if got := w.log(); len(got) != 2 {
		t.Fatalf("an empty FlushWithEnd touched the writer: %q", got)
	}
	out.Finish()
}
