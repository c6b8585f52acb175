package openaicompat

import (
	"testing"

	"github.com/ownkey/ownkey"
)

func BenchmarkInspectChunk(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-D8Z5oo6uDh67AD85p73ksdT1KxhE0","object":"chat.completion.chunk","created":1770933892,"model":"gpt-4.1-nano-2025-04-14","service_tier":"default","system_fingerprint":"fp_de604bd877","choices":[{"index":0,"delta":{"content":" Harmony"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Q7"}`)
	x := getExchange(&ownkey.ChatRequest{Stream: true}, &ownkey.ChatResult{})
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		x.inspect(chunk)
	}
}

func BenchmarkSkipChunk(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-D8Z5oo6uDh67AD85p73ksdT1KxhE0","object":"chat.completion.chunk","created":1770933892,"model":"gpt-4.1-nano-2025-04-14","service_tier":"default","system_fingerprint":"fp_de604bd877","choices":[{"index":0,"delta":{"content":" Harmony"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Q7"}`)
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		s := scanner{b: chunk}
		s.skip()
	}
}

func BenchmarkInspectChunkNoPrefix(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-D8Z5oo6uDh67AD85p73ksdT1KxhE0","object":"chat.completion.chunk","created":1770933892,"model":"gpt-4.1-nano-2025-04-14","service_tier":"default","system_fingerprint":"fp_de604bd877","choices":[{"index":0,"delta":{"content":" Harmony"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Q7"}`)
	x := getExchange(&ownkey.ChatRequest{Stream: true}, &ownkey.ChatResult{})
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		x.resume = x.resume[:0]
		x.inspect(chunk)
	}
}
