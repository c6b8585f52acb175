package bedrock

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/provider/providertest"
)

// discardWriter is a client that reads everything at once.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

// benchStream is a ConverseStream of 20 messages, as Bedrock frames them:
// messageStart, 11 text deltas (with escapes, as real text has), a tool
// call (its start, 3 input fragments, its stop), messageStop and metadata.
func benchStream() []byte {
	events := [][2]string{msgStart()}
	for range 11 {
		events = append(events, textDelta(0, "line \"quoted\"\nnext "))
	}
	events = append(events, blockStop(0), toolStart(1, "tooluse_a", "f"))
	for range 3 {
		events = append(events, toolDelta(1, `{"k": "v\n"`))
	}
	events = append(events, blockStop(1), msgStop("tool_use"),
		metadata(`{"inputTokens":120,"outputTokens":300,"cacheReadInputTokens":0,"cacheWriteInputTokens":0,"totalTokens":420}`))
	return []byte(join(frames(events...)...))
}

// BenchmarkStreamTranslate measures the translation of a 20-message
// ConverseStream, event-stream decoding (both CRCs) included, into an
// OpenAI client's chunks, without the network.
func BenchmarkStreamTranslate(b *testing.B) {
	raw := benchStream()
	if n := bytes.Count(raw, []byte(":message-type")); n != 20 {
		b.Fatalf("%d messages", n)
	}
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
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {providertest.BedrockEventStream}}, Body: io.NopCloser(bytes.NewReader(raw))}
		w := &discardWriter{h: http.Header{}}
		wr.Reset(w, true, true)
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := respond(ctx, cancel, req, res, tr, resp, &wr); err != nil || res.ErrorCode != "" || res.FinishReason != "tool_calls" {
			b.Fatal(err, res.ErrorCode)
		}
		cancel()
	}
}
