package sse

import (
	"bytes"
	"testing"
)

const benchChunk = `{"id":"chatcmpl-D8Z5oo6uDh67AD85p73ksdT1KxhE0","object":"chat.completion.chunk","created":1770933892,"model":"gpt-4.1-nano-2025-04-14","service_tier":"default","system_fingerprint":"fp_de604bd877","choices":[{"index":0,"delta":{"content":" Harmony"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Q7"}`

// BenchmarkReaderNext is the cost of one typical chat chunk.
func BenchmarkReaderNext(b *testing.B) {
	in := bytes.Repeat([]byte("data: "+benchChunk+"\n\n"), 1000)
	src := bytes.NewReader(in)
	r := NewReader(src, 0)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(in)
		r.Reset(src)
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
}
