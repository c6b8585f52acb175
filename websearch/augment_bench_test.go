package websearch

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
)

// BenchmarkAugment is what search-augmented chat adds to a request besides
// the search itself: the query read from the conversation, the context
// written from five results, and the body copied with it injected.
func BenchmarkAugment(b *testing.B) {
	res := &ownkey.WebSearchResult{Query: "q", Provider: "tavily", Timestamp: time.Now()}
	for i := range 5 {
		res.Results = append(res.Results, ownkey.WebResult{Type: "text", Title: fmt.Sprintf("Result %d", i),
			URL: "https://example.com/page", Snippet: string(bytes.Repeat([]byte("snippet text "), 70))})
	}
	for _, size := range []int{1 << 10, 100 << 10} {
		var body bytes.Buffer
		body.WriteString(`{"model":"m","messages":[{"role":"system","content":"Be brief."}`)
		for body.Len() < size {
			body.WriteString(`,{"role":"user","content":"Here is the function again: \"café\" and why does it fail?"},{"role":"assistant","content":"Because of the newline."}`)
		}
		body.WriteString(`]}`)
		in := body.Bytes()
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ChatQuery(in); err != nil {
					b.Fatal(err)
				}
				if out := Inject(in, Context(res)); len(out) <= len(in) {
					b.Fatal("nothing injected")
				}
			}
		})
	}
}
