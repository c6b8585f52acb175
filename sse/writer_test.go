package sse

import (
	"bytes"
	"net/http"
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

func TestDone(t *testing.T) {
	if string(Done) != "data: [DONE]\n\n" {
		t.Fatalf("Done = %q", Done)
	}
}

func TestHeaders(t *testing.T) {
	h := http.Header{}
	Headers(h)
	if h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-cache" || h.Get("X-Accel-Buffering") != "no" {
		t.Fatalf("headers = %v", h)
	}
}
