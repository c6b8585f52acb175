package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type ev struct{ typ, data string }

// readAll collects every event until Next fails, and that error.
func readAll(r *Reader) ([]ev, error) {
	var out []ev
	for {
		e, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, ev{string(e.Type), string(e.Data)})
	}
}

var framingCases = []struct {
	name string
	in   string
	want []ev
}{
	{"openai lf", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []ev{{"", `{"a":1}`}, {"", "[DONE]"}}},
	{"crlf", "data: one\r\n\r\ndata: two\r\n\r\n", []ev{{"", "one"}, {"", "two"}}},
	{"lone cr", "data: one\r\rdata: two\r\r", []ev{{"", "one"}, {"", "two"}}},
	{"mixed terminators", "data: a\r\ndata: b\rdata: c\n\r\n", []ev{{"", "a\nb\nc"}}},
	{"no space after colon", "data:x\n\ndata:  two spaces\n\n", []ev{{"", "x"}, {"", " two spaces"}}},
	{"multi-line data joined", "data: line1\ndata: line2\ndata\n\n", []ev{{"", "line1\nline2\n"}}},
	{"empty data dispatches empty event", "data:\n\n", []ev{{"", ""}}},
	{"comments skipped", ": OPENROUTER PROCESSING\n\n: ping\ndata: x\n: mid-event\n\n", []ev{{"", "x"}}},
	{"event type", "event: message_start\ndata: {}\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n",
		[]ev{{"message_start", "{}"}, {"ping", `{"type":"ping"}`}}},
	{"type resets after dispatch", "event: a\ndata: 1\n\ndata: 2\n\n", []ev{{"a", "1"}, {"", "2"}}},
	{"type without data is dropped", "event: lonely\n\ndata: 2\n\n", []ev{{"", "2"}}},
	{"id retry and unknown ignored", "id: 7\nretry: 100\nfoo: bar\nnocolon\ndata: x\n\n", []ev{{"", "x"}}},
	{"colon in value kept", "data: {\"url\":\"https://x\"}\n\n", []ev{{"", `{"url":"https://x"}`}}},
	{"eof without blank line", "data: one\n\ndata: tail", []ev{{"", "one"}, {"", "tail"}}},
	{"eof after data line", "data: tail\n", []ev{{"", "tail"}}},
	{"eof after lone cr", "data: tail\r", []ev{{"", "tail"}}},
	{"shortcut then slow path", "data: a\n\ndata: b\r\n\r\ndata: c\n\ndata:d\n\n: x\ndata: e\n\ndata: f\n\n",
		[]ev{{"", "a"}, {"", "b"}, {"", "c"}, {"", "d"}, {"", "e"}, {"", "f"}}},
	{"cr inside a shortcut line", "data: a\n\ndata: b\rdata: c\n\n", []ev{{"", "a"}, {"", "b\nc"}}},
	{"leading blank lines", "\n\n\r\ndata: x\n\n", []ev{{"", "x"}}},
	{"bom stripped", "\xEF\xBB\xBFdata: x\n\n", []ev{{"", "x"}}},
	{"only comments", ": a\n: b\n", nil},
	{"empty stream", "", nil},
}

func TestReaderFraming(t *testing.T) {
	for _, tc := range framingCases {
		readers := map[string]func(string) io.Reader{
			"whole":    func(s string) io.Reader { return strings.NewReader(s) },
			"one-byte": func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
			"half":     func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
		}
		for how, mk := range readers {
			t.Run(tc.name+"/"+how, func(t *testing.T) {
				got, err := readAll(NewReader(mk(tc.in), 1024))
				if err != io.EOF {
					t.Fatalf("final error = %v, want io.EOF", err)
				}
				if !equalEvents(got, tc.want) {
					t.Fatalf("events = %q, want %q", got, tc.want)
				}
			})
		}
	}
}

func equalEvents(a, b []ev) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A CR at the very end of one read and its LF at the start of the next are
// one line break, not a line break and an empty line (which would dispatch
// early and split the event).
func TestReaderCRLFSplitAcrossReads(t *testing.T) {
	src := io.MultiReader(strings.NewReader("data: a\r"), strings.NewReader("\ndata: b\r"), strings.NewReader("\n\r\n"))
	got, err := readAll(NewReader(src, 100))
	if err != io.EOF || !equalEvents(got, []ev{{"", "a\nb"}}) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestReaderLongLineAcrossRefills(t *testing.T) {
	payload := strings.Repeat("x", 3*bufSize+17)
	in := "data: " + payload + "\n\ndata: after\n\n"
	got, err := readAll(NewReader(strings.NewReader(in), 4*bufSize))
	if err != io.EOF || len(got) != 2 || got[0].data != payload || got[1].data != "after" {
		t.Fatalf("got %d events, err %v", len(got), err)
	}
}

func TestReaderOversizeEvent(t *testing.T) {
	cases := map[string]string{
		"one long line":        "data: " + strings.Repeat("y", 200) + "\n\n",
		"long line at eof":     "data: " + strings.Repeat("y", 200),
		"many short lines":     strings.Repeat("data: 0123456789\n", 20) + "\n",
		"line spans refills":   "data: " + strings.Repeat("z", bufSize+10) + "\n\n",
		"huge comment at once": ":" + strings.Repeat("c", bufSize*2) + "\n",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			r := NewReader(io.MultiReader(strings.NewReader("data: ok\n\n"), strings.NewReader(in)), 100)
			e, err := r.Next()
			if err != nil || string(e.Data) != "ok" {
				t.Fatalf("first event = %q, %v", e.Data, err)
			}
			if _, err := r.Next(); !errors.Is(err, ErrEventTooLarge) {
				t.Fatalf("err = %v, want ErrEventTooLarge", err)
			}
			if _, err := r.Next(); !errors.Is(err, ErrEventTooLarge) {
				t.Fatalf("error is not sticky: %v", err)
			}
		})
	}
}

func TestReaderEventAtLimit(t *testing.T) {
	data := strings.Repeat("a", 50) + "\n" + strings.Repeat("b", 49) // exactly 100 bytes
	in := "data: " + strings.Repeat("a", 50) + "\ndata: " + strings.Repeat("b", 49) + "\n\n"
	got, err := readAll(NewReader(strings.NewReader(in), 100))
	if err != io.EOF || len(got) != 1 || got[0].data != data {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestReaderReadErrorDropsPendingEvent(t *testing.T) {
	boom := errors.New("connection reset")
	src := io.MultiReader(strings.NewReader("data: whole\n\ndata: part"), iotest.ErrReader(boom))
	got, err := readAll(NewReader(src, 100))
	if !errors.Is(err, boom) || !equalEvents(got, []ev{{"", "whole"}}) {
		t.Fatalf("got %q, %v", got, err)
	}
}

// Event data stays valid until the next call, even though later input is
// read into the same buffers.
func TestReaderEventValidUntilNextCall(t *testing.T) {
	r := NewReader(strings.NewReader("event: t1\ndata: first\n\nevent: t2\ndata: second\n\n"), 100)
	e1, _ := r.Next()
	if string(e1.Type) != "t1" || string(e1.Data) != "first" {
		t.Fatalf("first = %q %q", e1.Type, e1.Data)
	}
	e2, _ := r.Next()
	if string(e2.Type) != "t2" || string(e2.Data) != "second" {
		t.Fatalf("second = %q %q", e2.Type, e2.Data)
	}
}

func TestReaderResetClearsFailure(t *testing.T) {
	r := NewReader(strings.NewReader("event: stale\ndata: "+strings.Repeat("x", 50)+"\n\n"), 10)
	if _, err := r.Next(); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("err = %v, want ErrEventTooLarge", err)
	}
	r.Reset(strings.NewReader("data: ok\n\n"))
	got, err := readAll(r)
	if err != io.EOF || !equalEvents(got, []ev{{"", "ok"}}) {
		t.Fatalf("after Reset got %q, %v", got, err)
	}
}

func TestReaderSteadyStateAllocs(t *testing.T) {
	chunk := `data: {"id":"x","choices":[{"index":0,"delta":{"content":"hi"}}]}` + "\n\n"
	in := strings.Repeat(chunk, 100)
	src := strings.NewReader(in)
	r := NewReader(src, 0)
	allocs := testing.AllocsPerRun(50, func() {
		src.Reset(in)
		r.Reset(src)
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("reading 100 events allocated %v times, want 0", allocs)
	}
}

// FuzzReader: never a panic, never an event over the limit, and the same
// events whether the input arrives whole (where Next's shortcut applies) or
// one byte at a time (where it never does).
func FuzzReader(f *testing.F) {
	for _, tc := range framingCases {
		f.Add([]byte(tc.in), 64)
	}
	f.Add([]byte("data: a\r\n\r\ndata: b\r\r"), 4)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		max = max%4096 + 1
		if max < 1 {
			max = -max + 1
		}
		read := func(src io.Reader) ([]ev, error) {
			r := NewReader(src, max)
			var out []ev
			for i := 0; i <= len(in)+1; i++ {
				e, err := r.Next()
				if err != nil {
					if err != io.EOF && !errors.Is(err, ErrEventTooLarge) {
						t.Fatalf("unexpected error %v", err)
					}
					return out, err
				}
				if len(e.Data) > max {
					t.Fatalf("event of %d bytes exceeds limit %d", len(e.Data), max)
				}
				out = append(out, ev{string(e.Type), string(e.Data)})
			}
			t.Fatalf("more events than input bytes")
			return nil, nil
		}
		whole, err1 := read(bytes.NewReader(in))
		bytewise, err2 := read(iotest.OneByteReader(bytes.NewReader(in)))
		if err1 != err2 || !equalEvents(whole, bytewise) {
			t.Fatalf("whole input: %q, %v\none byte at a time: %q, %v", whole, err1, bytewise, err2)
		}
	})
}
