package azure

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider/openaicompat"
	"github.com/ownkey/ownkey/provider/providertest"
)

// Azure chat is openaicompat's pass-through with two hooks (the path, the
// dropped prompt-filter chunk): the benchmarks relay the same Azure stream
// through the Azure family and through a plain openaicompat adapter, which
// should cost the same.

// benchStream is an Azure stream: the prompt filter chunk, 300 content
// chunks with their content filter results, the finish, the usage chunk,
// [DONE].
var benchStream = func() []byte {
	var b bytes.Buffer
	b.WriteString("data: " + azPromptFilter + "\n\n")
	for i := range 300 {
		word := fmt.Sprintf(`" word%d"`, i)
		if i%10 == 0 {
			word = `"\n\n**"`
		}
		b.WriteString(`data: {"choices":[{` + azSafe + `,"delta":{"content":` + word + `},"finish_reason":null,"index":0,"logprobs":null}],"created":1762317021,"id":"chatcmpl-CYPS1","model":"gpt-5-nano-2025-08-07","obfuscation":"NNpA6Dj2U","object":"chat.completion.chunk","system_fingerprint":null,"usage":null}` + "\n\n")
	}
	b.WriteString("data: " + azStop + "\n\ndata: " + azUsage + "\n\ndata: [DONE]\n\n")
	return b.Bytes()
}()

// discardWriter is a client that takes everything at once.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func benchRelay(b *testing.B, azure bool) {
	up := providertest.NewUpstream(b, providertest.SSEReply(string(benchStream)))
	base := openaicompat.Adapter{Clients: egress.New(egress.Options{MaxIdleConnsPerHost: 64, AllowPrivate: true})}
	a := &base
	if azure {
		a = NewChat(base).adapter
	}
	b.SetBytes(int64(len(benchStream)))
	b.ReportAllocs()
	var failures atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		var wr openai.Writer
		for pb.Next() {
			req := chatRequest(b, up.URL, "2024-10-21", true)
			if !azure {
				req.BaseURL = up.URL + "/openai/deployments/gpt4o-prod"
			}
			clear(w.h)
			wr.Reset(w, true, true)
			res, err := a.Chat(context.Background(), req, &wr)
			if err != nil || res.ErrorCode != "" || res.Usage.PromptTokens != 15 {
				failures.Add(1)
			}
		}
	})
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d requests failed", n)
	}
}

func BenchmarkChatStream(b *testing.B)             { benchRelay(b, true) }
func BenchmarkChatStreamOpenAICompat(b *testing.B) { benchRelay(b, false) }
