package openaicompat

import (
	"testing"

	"github.com/ownkey/ownkey"
)

const benchChunk = `{"id":"chatcmpl-D8Z5oo6uDh67AD85p73ksdT1KxhE0","object":"chat.completion.chunk","created":1770933892,"model":"gpt-4.1-nano-2025-04-14","service_tier":"default","system_fingerprint":"fp_de604bd877","choices":[{"index":0,"delta":{"content":" Harmony"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Q7"}`

// BenchmarkInspectChunk is the cost of reading one typical chunk in the
// middle of a stream, where inspect's shortcuts apply.
func BenchmarkInspectChunk(b *testing.B) {
	chunk := []byte(benchChunk)
	x := &exchange{req: &ownkey.ChatRequest{Stream: true}, res: &ownkey.ChatResult{}}
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		x.inspect(chunk)
	}
}

// BenchmarkInspectChunkWhole is the same chunk read whole, as the first
// chunk of a stream is.
func BenchmarkInspectChunkWhole(b *testing.B) {
	chunk := []byte(benchChunk)
	x := &exchange{req: &ownkey.ChatRequest{Stream: true}, res: &ownkey.ChatResult{}, noShortcuts: true}
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		x.inspect(chunk)
	}
}
