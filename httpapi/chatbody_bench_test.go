package httpapi

import (
	"bytes"
	"fmt"
	"testing"
)

// longChat is a chat request of about size bytes as an agent sends it: a
// long conversation whose text has escapes, then the routing members, model
// last, and a byok member to remove.
func longChat(size int, stream bool) []byte {
	var b bytes.Buffer
	b.WriteString(`{"messages":[{"role":"system","content":"You are a helpful assistant."}`)
	para := `Here is the function again:\n\n` + "```go" + `\nfunc main() {\n\tfmt.Println(\"caf\u00e9 \" + name)\n}\n` + "```" + `\nIt prints \"café\" but the test expects a trailing newline; why? `
	for i := 0; b.Len() < size-200; i++ {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		fmt.Fprintf(&b, `,{"role":%q,"content":"`, role)
		for j := 0; j < 20 && b.Len() < size-200; j++ {
			b.WriteString(para)
		}
		b.WriteString(`"}`)
	}
	b.WriteString(`],"max_tokens":64,"temperature":0.2,`)
	if stream {
		b.WriteString(`"stream":true,`)
	}
	b.WriteString(`"byok":{"enabled":true,"provider":"openai"},"model":"gpt-4o-mini"}`)
	return b.Bytes()
}

// BenchmarkChatBody is the chat path's work on a body between reading it
// and sending it: validate, find the routing members, make the routing
// edits (byok removed; for a stream, include_usage added) in place.
func BenchmarkChatBody(b *testing.B) {
	for _, size := range []int{1 << 10, 100 << 10, 1 << 20} {
		for _, stream := range []bool{false, true} {
			body := longChat(size, stream)
			buf := make([]byte, len(body), len(body)+bodyHeadroom)
			b.Run(fmt.Sprintf("%dKB/stream=%v", size>>10, stream), func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					buf = append(buf[:0], body...)
					f, err := parseChatBody(buf, 0)
					if err != nil {
						b.Fatal(err)
					}
					out := routedBody(buf, f, "gpt-4o-mini", stream)
					if len(out) == len(body) {
						b.Fatal("byok not removed")
					}
				}
			})
		}
	}
}
