package gemini

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
)

// discardWriter is a client that reads everything at once.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

// benchStream is a 20-event Gemini stream as Gemini frames it (\r\n\r\n):
// a thought, 17 text chunks (with escapes, as real text has, and the
// running usage on each), two function calls in one chunk (one signed),
// and the finish.
func benchStream() string {
	parts := []string{chunk(thoughtPart("**Planning** the \"answer\"\nfirst."), "", usageMeta(120, 0, 64, 0))}
	for i := 0; i < 17; i++ {
		parts = append(parts, chunk(textPart("line \"quoted\"\nnext "), "", usageMeta(120, 4*(i+1), 64, 0)))
	}
	parts = append(parts,
		chunk(callPart("get_weather", `{"city": "Paris", "units": ["c"]}`, "CiQBcsjafE3/+xY9Rk0=")+","+callPart("get_time", `{}`, ""), "", usageMeta(120, 90, 64, 0)),
		chunk(textPart(""), "STOP", usageMeta(120, 96, 64, 0)))
	return frames(parts...)
}

// BenchmarkStreamTranslate measures the translation of a 20-event Gemini
// stream into an OpenAI client's chunks, without the network.
func BenchmarkStreamTranslate(b *testing.B) {
	raw := benchStream()
	req := chatRequest(b, "http://unused", withUsage)
	// The writer is pooled with the request in production (httpapi).
	var wr openai.Writer
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		res := &ownkey.ChatResult{}
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(strings.NewReader(raw))}
		w := &discardWriter{h: http.Header{}}
		wr.Reset(w, true, true)
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := respond(ctx, cancel, req, res, resp, &wr); err != nil || res.ErrorCode != "" || res.OutputToolCalls != 2 {
			b.Fatal(err, res.ErrorCode)
		}
		cancel()
	}
}
