package responses

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
)

// discardWriter is a client that takes everything at once.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

// BenchmarkWriterStream measures the writer alone on a translated answer
// of 20 sink calls (Start, 12 text deltas with escapes, a tool call and 5
// argument fragments, End), 33 events out: what a Responses client costs
// beyond the adapter's translation.
func BenchmarkWriterStream(b *testing.B) {
	var wr Writer
	cost := &ownkey.Charge{AtCost: 240_000, Charged: 12_000, Markup: 50_000, BYOK: true}
	b.ReportAllocs()
	for b.Loop() {
		wr.Reset(&discardWriter{h: http.Header{}}, true)
		wr.Stream(strings.NewReader(""), nil)
		_ = wr.Start("chatcmpl-1", "llama-3.3-70b-versatile", 1770933892)
		for range 12 {
			_ = wr.Text(`"line \"quoted\"\nnext "`)
		}
		_ = wr.ToolCall(0, "call_a", "get_weather", `""`)
		for _, frag := range []string{`"{\"city\""`, `": \"Par"`, `"is\", "`, `"\"unit\": "`, `"\"celsius\"}"`} {
			_ = wr.ToolArgs(0, frag)
		}
		if err := wr.End("tool_calls", ownkey.Usage{PromptTokens: 16, CompletionTokens: 90}, cost); err != nil {
			b.Fatal(err)
		}
		_ = wr.Flush()
		wr.Finish()
	}
}
