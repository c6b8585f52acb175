package responses

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

// benchEvents is a 20-event Responses stream as the API sends it: the
// response created, a message of 10 text deltas (with escapes, as real text
// has), a function call of 4 argument fragments, and the completed
// response with its usage.
var benchEvents = func() string {
	parts := []string{created, messageAdded(0)}
	for range 10 {
		parts = append(parts, textDelta(0, "line \"quoted\"\nnext "))
	}
	parts = append(parts, messageDone(0, strings.Repeat("line \"quoted\"\nnext ", 10)), callAdded(1, "call_a", "get_weather"))
	for _, frag := range []string{`{"city"`, `: "Par`, `is", "unit": `, `"celsius"}`} {
		parts = append(parts, argsDelta(1, frag))
	}
	parts = append(parts, callDone(1, "call_a", "get_weather", `{"city": "Paris", "unit": "celsius"}`), completed(usageJSON))
	return events(parts...)
}()

// BenchmarkStreamTranslate measures the translation of a 20-event stream
// into OpenAI chunks, without the network (as the Anthropic adapter's
// BenchmarkStreamTranslate does for its 250-delta stream).
func BenchmarkStreamTranslate(b *testing.B) {
	if n := strings.Count(benchEvents, "\n\n"); n != 20 {
		b.Fatalf("%d events", n)
	}
	req := chatRequest(b, "http://unused", withUsage)
	// The writer is pooled with the request in production (httpapi).
	var wr openai.Writer
	b.SetBytes(int64(len(benchEvents)))
	b.ReportAllocs()
	for b.Loop() {
		res := &ownkey.ChatResult{}
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(strings.NewReader(benchEvents))}
		w := &discardWriter{h: http.Header{}}
		wr.Reset(w, true, true)
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := respond(ctx, cancel, req, res, resp, &wr); err != nil || res.ErrorCode != "" || res.FinishReason != "tool_calls" {
			b.Fatal(err, res.ErrorCode)
		}
		cancel()
	}
}
