package anthropic

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	messages "github.com/ownkey/ownkey/dialect/anthropic"
	"github.com/ownkey/ownkey/dialect/openai"
)

// benchStream is a stream of 200 text deltas (with escapes, as real text
// has) and 50 tool-argument fragments.
func benchStream() string {
	var parts []string
	parts = append(parts, msgStart, textStart(0))
	for i := 0; i < 200; i++ {
		parts = append(parts, textDelta(0, "line \"quoted\"\nnext "))
	}
	parts = append(parts, blockStop(0), toolStart(1, "toolu_a", "f"))
	for i := 0; i < 50; i++ {
		parts = append(parts, jsonDelta(1, `{"k": "v\n"`))
	}
	parts = append(parts, blockStop(1), msgDelta("tool_use", `{"output_tokens":300}`), msgStop)
	return events(parts...)
}

// discardWriter is a client that reads everything at once.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

// BenchmarkStreamTranslate measures the translation of a stream of 200 text
// deltas (with escapes, as real text has) and 50 tool-argument fragments,
// without the network. Allocations per stream must not grow with its
// length: at the time of writing, 20 per stream.
func BenchmarkStreamTranslate(b *testing.B) {
	raw := benchStream()
	req := chatRequest(b, "http://unused", withUsage)
	tr, err := translateRequest(req, DefaultMaxTokens)
	if err != nil {
		b.Fatal(err)
	}
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
		if _, err := respond(ctx, cancel, req, res, tr, resp, &wr); err != nil || res.ErrorCode != "" {
			b.Fatal(err, res.ErrorCode)
		}
		cancel()
	}
}

// BenchmarkRelayStream measures the pass-through of the same stream as
// BenchmarkStreamTranslate (200 text deltas, 50 tool-argument fragments) to
// an Anthropic Messages client (dialect/anthropic's Writer): every event
// relayed as it came, read only for accounting (usage, stop reason, output
// counted for an estimate). Allocations per stream must not grow with its
// length.
func BenchmarkRelayStream(b *testing.B) {
	raw := benchStream()
	req := chatRequest(b, "http://unused", withBody(messagesBody))
	var wr messages.Writer
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		res := &ownkey.ChatResult{}
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(strings.NewReader(raw))}
		wr.Reset(&discardWriter{h: http.Header{}}, true)
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := respondRelay(ctx, cancel, req, res, resp, &wr); err != nil || res.ErrorCode != "" {
			b.Fatal(err, res.ErrorCode)
		}
		cancel()
	}
}
