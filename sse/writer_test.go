package sse

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAppendData(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"a":1}`, "data: {\"a\":1}\n\n"},
		{"", "data: \n\n"},
		{"a\nb", "data: a\ndata: b\n\n"},
		{"a\r\nb\rc", "data: a\ndata: b\ndata: c\n\n"},
		{"a\n", "data: a\ndata: \n\n"},
	}
	for _, tc := range cases {
		got := AppendData([]byte("prefix|"), []byte(tc.in))
		if string(got) != "prefix|"+tc.want {
			t.Errorf("AppendData(%q) = %q, want %q", tc.in, got, "prefix|"+tc.want)
		}
		// What is written must read back as exactly the input data, with
		// CRLF and lone CR normalised to LF as any SSE reader does.
		e, err := NewReader(bytes.NewReader([]byte(tc.want)), 100).Next()
		norm := bytes.ReplaceAll(bytes.ReplaceAll([]byte(tc.in), []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
		if err != nil || !bytes.Equal(e.Data, norm) {
			t.Errorf("round trip of %q = %q, %v", tc.in, e.Data, err)
		}
	}
}

func TestAppendEvent(t *testing.T) {
	got := AppendEvent(nil, "message_stop", []byte(`{"type":"message_stop"}`))
	if want := "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// writeCounter records each Write separately.
type writeCounter struct{ writes [][]byte }

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

func TestWriteDataIsOneWrite(t *testing.T) {
	var w writeCounter
	if err := WriteData(&w, []byte("x\ny")); err != nil {
		t.Fatal(err)
	}
	if err := WriteEvent(&w, "ping", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if len(w.writes) != 2 || string(w.writes[0]) != "data: x\ndata: y\n\n" || string(w.writes[1]) != "event: ping\ndata: {}\n\n" {
		t.Fatalf("writes = %q", w.writes)
	}
	if string(Done) != "data: [DONE]\n\n" {
		t.Fatalf("Done = %q", Done)
	}
}

func TestWriteDataError(t *testing.T) {
	boom := errors.New("broken pipe")
	if err := WriteData(errWriter{boom}, []byte("x")); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriteDataAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops objects at random under the race detector")
	}
	data := bytes.Repeat([]byte("x"), 500)
	allocs := testing.AllocsPerRun(100, func() { _ = WriteData(io.Discard, data) })
	if allocs != 0 {
		t.Fatalf("WriteData allocated %v times per call", allocs)
	}
}

// wrapper is middleware that hides the writer's Flush but exposes it by
// Unwrap, which http.ResponseController follows.
type wrapper struct{ http.ResponseWriter }

func (w wrapper) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type flushRecorder struct {
	*httptest.ResponseRecorder
	flushes int
}

func (f *flushRecorder) Flush() { f.flushes++; f.ResponseRecorder.Flush() }

func TestFlushThroughWrapper(t *testing.T) {
	rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
	if err := Flush(wrapper{rec}); err != nil {
		t.Fatal(err)
	}
	if rec.flushes != 1 {
		t.Fatalf("flushes = %d, want 1", rec.flushes)
	}
}

type noFlush struct{ h http.Header }

func (n noFlush) Header() http.Header         { return n.h }
func (n noFlush) Write(p []byte) (int, error) { return len(p), nil }
func (n noFlush) WriteHeader(int)             {}

func TestFlushNotSupported(t *testing.T) {
	if err := Flush(noFlush{http.Header{}}); !errors.Is(err, http.ErrNotSupported) {
		t.Fatalf("err = %v, want http.ErrNotSupported", err)
	}
}

func TestHeaders(t *testing.T) {
	h := http.Header{}
	Headers(h)
	if h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-cache" || h.Get("X-Accel-Buffering") != "no" {
		t.Fatalf("headers = %v", h)
	}
}
