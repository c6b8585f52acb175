package openaicompat

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider/providertest"
)

// The benchmarks compare the adapter with the floor it must stay near: a bare
// httputil.ReverseProxy relaying the same upstream bytes, through the same
// transport, to the same no-op client writer. Both run in parallel, so the
// numbers are throughput under load rather than the latency of one request.

// benchStream is an OpenAI-style stream: 300 content chunks of realistic
// size (with escapes), the finish chunk, the usage chunk and [DONE].
var benchStream = func() []byte {
	var b bytes.Buffer
	head := `{"id":"chatcmpl-D8Z5oo6uDh67AD85p73ksdT1KxhE0","object":"chat.completion.chunk","created":1770933892,"model":"gpt-4.1-nano-2025-04-14","service_tier":"default","system_fingerprint":"fp_de604bd877","choices":[{"index":0,"delta":{"content":`
	for i := range 300 {
		word := fmt.Sprintf(`" word%d"`, i)
		if i%10 == 0 {
			word = `"\n\n**"`
		}
		b.WriteString("data: " + head + word + `},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Qup1BsQ3"}` + "\n\n")
	}
	b.WriteString("data: " + oaFinish + "\n\n")
	b.WriteString("data: " + oaUsage + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}()

var benchBody = func() []byte {
	content := strings.Repeat(`Galaxy Day celebrates the universe's vastness, beauty, and our collective curiosity.\n\n`, 20)
	return []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1770933883,"model":"gpt-4.1-nano-2025-04-14","choices":[{"index":0,"message":{"role":"assistant","content":"` +
		content + `","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":16,"completion_tokens":363,"total_tokens":379,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}},"service_tier":"default","system_fingerprint":"fp_1"}`)
}()

// discardWriter is a client that takes everything at once.
type discardWriter struct {
	h http.Header
	n int64
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}
func (d *discardWriter) Write(p []byte) (int, error) { d.n += int64(len(p)); return len(p), nil }

func benchUpstream(b *testing.B, stream bool) *providertest.Upstream {
	if stream {
		return providertest.NewUpstream(b, providertest.SSEReply(string(benchStream)))
	}
	return providertest.NewUpstream(b, providertest.JSONReply(200, string(benchBody)))
}

func benchClients() *egress.Clients {
	return egress.New(egress.Options{MaxIdleConnsPerHost: 64})
}

func benchAdapter(b *testing.B, stream bool) {
	up := benchUpstream(b, stream)
	a := &Adapter{Clients: benchClients()}
	size := benchBody
	if stream {
		size = benchStream
	}
	b.SetBytes(int64(len(size)))
	b.ReportAllocs()
	var failures atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		// The writer is pooled with the request in production (httpapi).
		var wr openai.Writer
		for pb.Next() {
			req := chatRequest(b, base(up))
			req.Stream, req.IncludeUsage = stream, true
			clear(w.h)
			wr.Reset(w, stream, true)
			res, err := a.Chat(context.Background(), req, &wr)
			if err != nil || res.ErrorCode != "" || res.Usage.PromptTokens != 16 {
				failures.Add(1)
			}
		}
	})
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d requests failed", n)
	}
}

func benchReverseProxy(b *testing.B, stream bool) {
	up := benchUpstream(b, stream)
	target, _ := url.Parse(base(up))
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.URL.Path = "/v1/chat/completions"
			r.Out.Header.Set("Authorization", "Bearer "+testKey)
		},
		Transport: benchClients().Trusted.Transport,
	}
	body := chatRequest(b, base(up)).Body
	size := benchBody
	if stream {
		size = benchStream
	}
	b.SetBytes(int64(len(size)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			r, _ := http.NewRequest(http.MethodPost, "http://ownkey.local/v1/chat/completions", bytes.NewReader(body))
			clear(w.h)
			rp.ServeHTTP(w, r)
		}
	})
}

func BenchmarkStream(b *testing.B)                { benchAdapter(b, true) }
func BenchmarkStreamReverseProxy(b *testing.B)    { benchReverseProxy(b, true) }
func BenchmarkNonStream(b *testing.B)             { benchAdapter(b, false) }
func BenchmarkNonStreamReverseProxy(b *testing.B) { benchReverseProxy(b, false) }

// The end-to-end benchmarks put real HTTP on both sides: a client reads the
// gateway's response, and the upstream flushes each event on its own, as a
// model generating tokens does. Each event then costs a read from the
// upstream and a write and flush to the client, for the proxy as for the
// adapter, which is the comparison that matters in production.

func pacedUpstream(b *testing.B) *providertest.Upstream {
	events := bytes.SplitAfter(benchStream, []byte("\n\n"))
	return providertest.NewUpstream(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		for _, ev := range events {
			_, _ = w.Write(ev)
			f.Flush()
		}
	})
}

func benchEndToEnd(b *testing.B, handler func(base string) http.Handler) {
	up := pacedUpstream(b)
	gw := httptest.NewServer(handler(base(up)))
	b.Cleanup(gw.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetBytes(int64(len(benchStream)))
	b.ReportAllocs()
	var failures atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(gw.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{}`))
			if err != nil {
				failures.Add(1)
				continue
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if n < int64(len(benchStream))-200 {
				failures.Add(1)
			}
		}
	})
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d requests failed", n)
	}
}

// writers pools the handler's writers, as httpapi pools them with the
// request.
var writers = sync.Pool{New: func() any { return new(openai.Writer) }}

func BenchmarkStreamEndToEnd(b *testing.B) {
	a := &Adapter{Clients: benchClients()}
	benchEndToEnd(b, func(base string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			req := chatRequest(b, base, withUsage)
			wr := writers.Get().(*openai.Writer)
			wr.Reset(w, req.Stream, req.IncludeUsage)
			if _, err := a.Chat(r.Context(), req, wr); err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
			}
			*wr = wr.Released()
			writers.Put(wr)
		})
	})
}

func BenchmarkStreamEndToEndReverseProxy(b *testing.B) {
	benchEndToEnd(b, func(base string) http.Handler {
		target, _ := url.Parse(base)
		return &httputil.ReverseProxy{
			Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(target)
				r.Out.URL.Path = "/v1/chat/completions"
				r.Out.Header.Set("Authorization", "Bearer "+testKey)
			},
			Transport: benchClients().Trusted.Transport,
		}
	})
}
