package openaicompat

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
	"github.com/ownkey/ownkey/sse"
)

// An OpenAI stream: role chunk, content, finish, then the separate usage
// chunk (choices empty) that include_usage adds.
const (
	oaRole   = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-x-2025","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"ab"}`
	oaHello  = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-x-2025","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}`
	oaWorld  = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-x-2025","choices":[{"index":0,"delta":{"content":" w\u00f6rld\n"},"logprobs":null,"finish_reason":null}],"usage":null}`
	oaFinish = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-x-2025","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`
	oaUsageU = `{"prompt_tokens":16,"completion_tokens":3,"total_tokens":19,"prompt_tokens_details":{"cached_tokens":4,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}`
	oaUsage  = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000001,"model":"gpt-x-2025","choices":[],"usage":` + oaUsageU + `,"obfuscation":"zz"}`
	// What ownkey writes in place of oaUsage: the last id, created and the
	// model, and the usage object verbatim.
	oaUsageOut = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000001,"model":"gpt-x-2025","choices":[],"usage":` + oaUsageU + `}`
	done       = "[DONE]"
)

func TestStreamOpenAIUsageChunk(t *testing.T) {
	upstream := providertest.Frames(oaRole, oaHello, oaWorld, oaFinish, oaUsage, done)
	cases := []struct {
		name  string
		opts  []reqOpt
		wantW string
	}{
		{"client asked for usage", []reqOpt{withUsage}, providertest.Frames(oaRole, oaHello, oaWorld, oaFinish, oaUsageOut, done)},
		{"client did not ask", nil, providertest.Frames(oaRole, oaHello, oaWorld, oaFinish, done)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.SSEReply(upstream))
			res, rec, err := run(t, chatRequest(t, base(up), tc.opts...))
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.Body.String(); got != tc.wantW {
				t.Fatalf("client got:\n%s\nwant:\n%s", got, tc.wantW)
			}
			h := rec.Header()
			if rec.Code != 200 || h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-cache" || h.Get("X-Accel-Buffering") != "no" {
				t.Fatalf("status %d, headers %v", rec.Code, h)
			}
			wantUsage := ownkey.Usage{PromptTokens: 16, CompletionTokens: 3, CachedTokens: 4, Source: ownkey.UsageFromProvider}
			if res.Usage != wantUsage {
				t.Fatalf("usage = %+v, want %+v", res.Usage, wantUsage)
			}
			text := "Hello wörld\n"
			if !res.Started || res.Status != 200 || res.ErrorCode != "" || res.ClientGone ||
				res.ModelServed != "gpt-x-2025" || res.FinishReason != "stop" ||
				res.OutputBytes != int64(len(text)) || string(res.OutputSample) != text {
				t.Fatalf("result = %+v", res)
			}
			if res.TTFB <= 0 || res.UpstreamLatency < res.TTFB {
				t.Fatalf("TTFB %v, latency %v", res.TTFB, res.UpstreamLatency)
			}
		})
	}
}

func TestStreamGroqUsageOnFinishChunk(t *testing.T) {
	const (
		first    = `{"id":"chatcmpl-g","object":"chat.completion.chunk","created":1770770839,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"x_groq":{"id":"req_1","seed":1}}`
		text     = `{"id":"chatcmpl-g","object":"chat.completion.chunk","created":1770770839,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}`
		usage    = `{"queue_time":0.04,"prompt_tokens":45,"completion_tokens":662,"total_tokens":707}`
		finish   = `{"id":"chatcmpl-g","object":"chat.completion.chunk","created":1770770842,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"x_groq":{"id":"req_1","usage":` + usage + `},"usage":` + usage + `}`
		finishNo = `{"id":"chatcmpl-g","object":"chat.completion.chunk","created":1770770842,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"x_groq":{"id":"req_1","usage":` + usage + `}}`
		usageOut = `{"id":"chatcmpl-g","object":"chat.completion.chunk","created":1770770842,"model":"llama-3.3-70b-versatile","choices":[],"usage":` + usage + `}`
	)
	for _, asked := range []bool{true, false} {
		t.Run(fmt.Sprint("usage asked ", asked), func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(first, text, finish, done)))
			req := chatRequest(t, base(up), withProvider(providertest.Catalog(t, "groq")))
			req.IncludeUsage = asked
			res, rec, err := run(t, req)
			if err != nil {
				t.Fatal(err)
			}
			want := providertest.Frames(first, text, finishNo, usageOut, done)
			if !asked {
				want = providertest.Frames(first, text, finishNo, done)
			}
			if got := rec.Body.String(); got != want {
				t.Fatalf("client got:\n%s\nwant:\n%s", got, want)
			}
			if res.Usage.PromptTokens != 45 || res.Usage.CompletionTokens != 662 || res.FinishReason != "stop" {
				t.Fatalf("result = %+v", res)
			}
		})
	}
}

func TestStreamPerplexityUsageOnEveryChunk(t *testing.T) {
	chunk := func(content string, completion int, object, finish string) string {
		fin := ""
		if finish != "" {
			fin = `,"finish_reason":"` + finish + `"`
		}
		return `{"id":"pp-1","model":"sonar","created":1770768233,"usage":{"prompt_tokens":11,"completion_tokens":` + fmt.Sprint(completion) +
			`,"total_tokens":` + fmt.Sprint(11+completion) + `},"citations":["https://a.example"],"object":"` + object +
			`","choices":[{"index":0,"delta":{"role":"assistant","content":"` + content + `"}` + fin + `}]}`
	}
	stripped := func(content, object, finish string) string {
		fin := ""
		if finish != "" {
			fin = `,"finish_reason":"` + finish + `"`
		}
		return `{"id":"pp-1","model":"sonar","created":1770768233,"citations":["https://a.example"],"object":"` + object +
			`","choices":[{"index":0,"delta":{"role":"assistant","content":"` + content + `"}` + fin + `}]}`
	}
	lastUsage := `{"id":"pp-1","object":"chat.completion.chunk","created":1770768233,"model":"sonar","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":5,"total_tokens":16}}`
	for _, withDone := range []bool{true, false} {
		t.Run(fmt.Sprint("[DONE] sent ", withDone), func(t *testing.T) {
			events := []string{chunk("Eco", 1, "chat.completion.chunk", ""), chunk("Vista", 3, "chat.completion.chunk", ""), chunk("", 5, "chat.completion.done", "stop")}
			if withDone {
				events = append(events, done)
			}
			up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(events...)))
			res, rec, err := run(t, chatRequest(t, base(up), withUsage))
			if err != nil {
				t.Fatal(err)
			}
			// Without [DONE] the stream still ended with a finish reason:
			// a clean end, with [DONE] written by ownkey.
			want := providertest.Frames(stripped("Eco", "chat.completion.chunk", ""), stripped("Vista", "chat.completion.chunk", ""),
				stripped("", "chat.completion.done", "stop"), lastUsage, done)
			if got := rec.Body.String(); got != want {
				t.Fatalf("client got:\n%s\nwant:\n%s", got, want)
			}
			if res.Usage.CompletionTokens != 5 || res.ErrorCode != "" || res.OutputBytes != int64(len("EcoVista")) {
				t.Fatalf("result = %+v", res)
			}
		})
	}
}

// OpenRouter interleaves comments and may use CRLF; the client gets plain
// LF-framed events without the comments.
func TestStreamOpenRouterCommentsAndCRLF(t *testing.T) {
	upstream := ": OPENROUTER PROCESSING\r\n\r\n" +
		"data: " + oaHello + "\r\n\r\n" +
		": OPENROUTER PROCESSING\r\n\r\n" +
		"data: " + oaFinish + "\r\n\r\n" +
		"data: " + oaUsage + "\r\n\r\n" +
		"data: [DONE]\r\n\r\n"
	up := providertest.NewUpstream(t, providertest.SSEReply(upstream))
	res, rec, err := run(t, chatRequest(t, base(up), withProvider(providertest.Catalog(t, "openrouter")), withUsage))
	if err != nil {
		t.Fatal(err)
	}
	if want := providertest.Frames(oaHello, oaFinish, oaUsageOut, done); rec.Body.String() != want {
		t.Fatalf("client got:\n%q\nwant:\n%q", rec.Body.String(), want)
	}
	if res.Usage.PromptTokens != 16 {
		t.Fatalf("usage = %+v", res.Usage)
	}
}

// Azure's first chunk has empty choices and no usage: it is not the usage
// chunk and must reach the client.
func TestStreamAzureEmptyChoicesFirstChunk(t *testing.T) {
	const filter = `{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}`
	up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(filter, oaHello, oaFinish, oaUsage, done)))
	res, rec, err := run(t, chatRequest(t, base(up), withUsage))
	if err != nil {
		t.Fatal(err)
	}
	if want := providertest.Frames(filter, oaHello, oaFinish, oaUsageOut, done); rec.Body.String() != want {
		t.Fatalf("client got:\n%s\nwant:\n%s", rec.Body.String(), want)
	}
	if res.ModelServed != "gpt-x-2025" {
		t.Fatalf("model served = %q: the empty model of the filter chunk must not count", res.ModelServed)
	}
}

func TestStreamMidStreamError(t *testing.T) {
	// OpenRouter's form: an error with a numeric code, next to a choice
	// that finishes with "error". The message echoes the key.
	errChunk := `{"id":"gen-1","object":"chat.completion.chunk","created":1,"model":"m","error":{"code":502,"message":"provider failed for key ` + testKey + `"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}`
	wantErr := strings.ReplaceAll(errChunk, testKey, ownkey.Redacted)
	up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(oaHello, errChunk, oaFinish, oaUsage, done)))
	res, rec, err := run(t, chatRequest(t, base(up), withUsage))
	if err != nil {
		t.Fatal(err)
	}
	if want := providertest.Frames(oaHello, wantErr); rec.Body.String() != want {
		t.Fatalf("client got:\n%s\nwant:\n%s", rec.Body.String(), want)
	}
	if res.ErrorCode != provider.CodeStreamError || !res.Started {
		t.Fatalf("result = %+v", res)
	}
}

func TestStreamTruncated(t *testing.T) {
	t.Run("eof without finish", func(t *testing.T) {
		up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(oaRole, oaHello)))
		res, rec, err := run(t, chatRequest(t, base(up), withUsage))
		if err != nil {
			t.Fatal(err)
		}
		want := providertest.Frames(oaRole, oaHello, `{"error":{"message":"OpenAI ended the stream before the response was complete","type":"upstream_error","param":null,"code":"stream_truncated"}}`)
		if rec.Body.String() != want {
			t.Fatalf("client got:\n%s\nwant:\n%s", rec.Body.String(), want)
		}
		if res.ErrorCode != provider.CodeStreamTruncated || res.OutputBytes != 5 {
			t.Fatalf("result = %+v", res)
		}
	})
	t.Run("connection cut mid-body", func(t *testing.T) {
		up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write([]byte(providertest.Frames(oaHello) + "data: {\"id\":\"chatcmpl-1\",\"cho"))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drops the connection mid-chunk
		})
		res, rec, err := run(t, chatRequest(t, base(up)))
		if err != nil {
			t.Fatal(err)
		}
		want := providertest.Frames(oaHello, `{"error":{"message":"the OpenAI stream broke off before the response was complete","type":"upstream_error","param":null,"code":"stream_truncated"}}`)
		if rec.Body.String() != want || res.ErrorCode != provider.CodeStreamTruncated {
			t.Fatalf("client got:\n%s\nresult %+v", rec.Body.String(), res)
		}
	})
	t.Run("eof after finish is a clean end", func(t *testing.T) {
		up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(oaHello, oaFinish, oaUsage)))
		res, rec, err := run(t, chatRequest(t, base(up), withUsage))
		if err != nil {
			t.Fatal(err)
		}
		if want := providertest.Frames(oaHello, oaFinish, oaUsageOut, done); rec.Body.String() != want || res.ErrorCode != "" {
			t.Fatalf("client got:\n%s\nresult %+v", rec.Body.String(), res)
		}
	})
}

func TestStreamOversizeEvent(t *testing.T) {
	big := `{"id":"x","choices":[{"index":0,"delta":{"content":"` + strings.Repeat("a", sse.DefaultMaxEvent) + `"}}]}`
	up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(oaHello, big, oaFinish, done)))
	res, rec, err := run(t, chatRequest(t, base(up)))
	if err != nil {
		t.Fatal(err)
	}
	want := providertest.Frames(oaHello, `{"error":{"message":"OpenAI sent a stream event larger than 16 MiB","type":"upstream_error","param":null,"code":"stream_error"}}`)
	if rec.Body.String() != want || res.ErrorCode != provider.CodeStreamError {
		t.Fatalf("client got %d bytes:\n%.300s\nresult %+v", rec.Body.Len(), rec.Body.String(), res)
	}
}

func TestStreamToolCallsPassThrough(t *testing.T) {
	// OpenAI: one call in fragments by index; Groq: the whole call in one
	// delta.
	openai := []string{
		`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"weather","arguments":""}}]},"finish_reason":null}],"usage":null}`,
		`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}],"usage":null}`,
		`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}],"usage":null}`,
		`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null}`,
	}
	groq := []string{
		`{"id":"g","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":null},"logprobs":null,"finish_reason":null}]}`,
		`{"id":"g","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"id":"tk1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"},"index":0}]},"logprobs":null,"finish_reason":null}]}`,
		`{"id":"g","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}`,
	}
	for name, chunks := range map[string][]string{"openai fragments": openai, "groq whole call": groq} {
		t.Run(name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(append(chunks, done)...)))
			res, rec, err := run(t, chatRequest(t, base(up)))
			if err != nil {
				t.Fatal(err)
			}
			if want := providertest.Frames(append(chunks, done)...); rec.Body.String() != want {
				t.Fatalf("client got:\n%s\nwant:\n%s", rec.Body.String(), want)
			}
			// The call's name and arguments.
			output := `weather{"city":"Paris"}`
			if res.FinishReason != "tool_calls" || res.OutputBytes != int64(len(output)) || string(res.OutputSample) != output || res.OutputToolCalls != 1 {
				t.Fatalf("result = %+v (sample %q)", res, res.OutputSample)
			}
		})
	}
}

// Reasoning arrives as reasoning_content (DeepSeek, xAI) or reasoning
// (OpenRouter), sometimes both with the same text: it counts once.
func TestStreamReasoningCountedOnce(t *testing.T) {
	chunks := []string{
		`{"id":"r","choices":[{"index":0,"delta":{"reasoning_content":"think","reasoning":"think"}}]}`,
		`{"id":"r","choices":[{"index":0,"delta":{"reasoning":"more"}}]}`,
		`{"id":"r","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}`,
	}
	up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(append(chunks, done)...)))
	res, _, err := run(t, chatRequest(t, base(up)))
	if err != nil {
		t.Fatal(err)
	}
	if res.OutputBytes != int64(len("thinkmoreok")) || string(res.OutputSample) != "thinkmoreok" {
		t.Fatalf("output bytes %d, sample %q", res.OutputBytes, res.OutputSample)
	}
}

func TestStreamOutputSampleBounded(t *testing.T) {
	// 3-byte characters, so that the 16 KiB cut falls inside one.
	piece := strings.Repeat("€", 1000)
	var chunks []string
	for range 10 {
		chunks = append(chunks, `{"choices":[{"index":0,"delta":{"content":"`+piece+`"}}]}`)
	}
	chunks = append(chunks, oaFinish, done)
	up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(chunks...)))
	res, _, err := run(t, chatRequest(t, base(up)))
	if err != nil {
		t.Fatal(err)
	}
	if res.OutputBytes != 10*int64(len(piece)) {
		t.Fatalf("output bytes = %d", res.OutputBytes)
	}
	wantSample := strings.Repeat("€", provider.SampleLimit/3)
	if string(res.OutputSample) != wantSample {
		t.Fatalf("sample is %d bytes, want %d whole characters", len(res.OutputSample), provider.SampleLimit/3)
	}
}

// Pooled state must not leak from one request into the next: a stream
// without usage after one with usage gets no usage chunk.
func TestStreamNoStateCarriedOver(t *testing.T) {
	a := testAdapter()
	up1 := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(oaHello, oaFinish, oaUsage, done)))
	up2 := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(`{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}]}`, done)))
	for i := 0; i < 3; i++ {
		rec := httptest.NewRecorder()
		req := chatRequest(t, base(up1), withUsage)
		if _, err := a.Chat(context.Background(), req, providertest.Writer(t, rec, req)); err != nil {
			t.Fatal(err)
		}
		rec = httptest.NewRecorder()
		req = chatRequest(t, base(up2), withUsage)
		res, err := a.Chat(context.Background(), req, providertest.Writer(t, rec, req))
		if err != nil {
			t.Fatal(err)
		}
		want := providertest.Frames(`{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}]}`, done)
		if rec.Body.String() != want || !res.Usage.IsZero() || res.ModelServed != "" || res.Usage.Source != "" {
			t.Fatalf("second request got:\n%s\nresult %+v", rec.Body.String(), res)
		}
	}
}

// TestStreamFlushesEachEvent proves events are not held back: the upstream
// sends its first event and then waits until the client has read it.
func TestStreamFlushesEachEvent(t *testing.T) {
	release := make(chan struct{})
	up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(providertest.Frames(oaHello)))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write([]byte(providertest.Frames(oaFinish, done)))
	})
	gw := gateway(t, base(up), nil)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a safety net, not an assertion
	defer cancel()
	resp := gw.post(t, ctx)
	defer resp.Body.Close()
	rd := sse.NewReader(resp.Body, 0)
	ev, err := rd.Next()
	if err != nil {
		t.Fatalf("first event not delivered before the upstream finished: %v", err)
	}
	if string(ev.Data) != oaHello {
		t.Fatalf("first event = %s", ev.Data)
	}
	close(release)
	var rest []string
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		rest = append(rest, string(ev.Data))
	}
	if strings.Join(rest, "|") != oaFinish+"|"+done {
		t.Fatalf("rest = %q", rest)
	}
}

// gatewayServer is ownkey's side as a real HTTP server calling the adapter.
type gatewayServer struct {
	*httptest.Server
	results chan *ownkey.ChatResult
}

func gateway(t *testing.T, base string, opts []reqOpt) *gatewayServer {
	t.Helper()
	g := &gatewayServer{results: make(chan *ownkey.ChatResult, 1)}
	a := testAdapter()
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// As ownkey's handler does: reading the body to its end is what
		// lets net/http notice a client that goes away.
		_, _ = io.Copy(io.Discard, r.Body)
		req := chatRequest(t, base, opts...)
		wr := openai.NewWriter(w, req.Stream, req.IncludeUsage)
		defer wr.Finish()
		res, err := a.Chat(r.Context(), req, wr)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
		g.results <- res
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *gatewayServer) post(t *testing.T, ctx context.Context) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, strings.NewReader("{}"))
	resp, err := g.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestStreamClientDisconnect: the client goes away mid-stream; the upstream
// request is cancelled and what was consumed so far is reported.
func TestStreamClientDisconnect(t *testing.T) {
	const withUsageChunk = `{"id":"pp","model":"sonar","usage":{"prompt_tokens":11,"completion_tokens":3,"total_tokens":14},"choices":[{"index":0,"delta":{"content":"Eco"}}]}`
	reply, upstreamGone := providertest.StallAfter(providertest.Frames(withUsageChunk))
	up := providertest.NewUpstream(t, reply)
	gw := gateway(t, base(up), []reqOpt{withUsage})

	ctx, cancel := context.WithCancel(context.Background())
	resp := gw.post(t, ctx)
	rd := bufio.NewReader(resp.Body)
	line, err := rd.ReadString('\n')
	if err != nil || !strings.Contains(line, `"Eco"`) {
		t.Fatalf("first line = %q, %v", line, err)
	}
	cancel()
	resp.Body.Close()

	select {
	case <-upstreamGone:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not cancelled after the client left")
	}
	var res *ownkey.ChatResult
	select {
	case res = <-gw.results:
	case <-time.After(5 * time.Second):
		t.Fatal("the adapter did not return after the client left")
	}
	if !res.ClientGone || res.ErrorCode != provider.CodeClientDisconnected || !res.Started {
		t.Fatalf("result = %+v", res)
	}
	if res.Usage.PromptTokens != 11 || res.Usage.CompletionTokens != 3 || res.OutputBytes != 3 {
		t.Fatalf("consumption so far not reported: usage %+v, output %d", res.Usage, res.OutputBytes)
	}
}

// A write that fails (the client is gone but ctx has not noticed yet)
// stops the stream and cancels upstream just the same.
func TestStreamWriteFailureStopsUpstream(t *testing.T) {
	reply, upstreamGone := providertest.StallAfter(providertest.Frames(oaHello))
	up := providertest.NewUpstream(t, reply)
	w := &failingWriter{ResponseRecorder: httptest.NewRecorder(), failAfter: 0}
	req := chatRequest(t, base(up))
	res, err := testAdapter().Chat(context.Background(), req, providertest.Writer(t, w, req))
	if err != nil {
		t.Fatal(err)
	}
	if !res.ClientGone || res.ErrorCode != provider.CodeClientDisconnected || res.OutputBytes != 5 {
		t.Fatalf("result = %+v", res)
	}
	select {
	case <-upstreamGone:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not cancelled")
	}
}

type failingWriter struct {
	*httptest.ResponseRecorder
	failAfter int
	writes    int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.writes >= f.failAfter {
		return 0, errors.New("broken pipe")
	}
	f.writes++
	return f.ResponseRecorder.Write(p)
}

// A chunk with usage and choices loses exactly its usage member, wherever
// it sits among the others.
func TestWithoutUsage(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"a":1,"usage":{"prompt_tokens":1},"choices":[{}]}`, `{"a":1,"choices":[{}]}`},
		{`{"usage":{"prompt_tokens":1},"choices":[{}]}`, `{"choices":[{}]}`},
		{`{"choices":[{}],"usage":{"prompt_tokens":1}}`, `{"choices":[{}]}`},
		{`{ "choices": [{}] , "usage" : { "prompt_tokens": 1 } }`, `{ "choices": [{}]  }`},
		{`{"usage" : {"prompt_tokens":1} , "choices":[{}]}`, `{ "choices":[{}]}`},
	}
	for _, tc := range cases {
		x := getExchange(&ownkey.ChatRequest{Stream: true}, &ownkey.ChatResult{})
		ci := x.inspect([]byte(tc.in))
		if ci.usageEnd == 0 || ci.choices != 1 {
			t.Fatalf("%s: inspect = %+v", tc.in, ci)
		}
		if got := string(x.withoutUsage([]byte(tc.in), ci)); got != tc.want {
			t.Errorf("withoutUsage(%s) = %s, want %s", tc.in, got, tc.want)
		}
		if !bytes.Equal(x.usage, []byte(`{"prompt_tokens":1}`)) && !bytes.Equal(x.usage, []byte(`{ "prompt_tokens": 1 }`)) {
			t.Errorf("%s: usage kept = %s", tc.in, x.usage)
		}
		putExchange(x)
	}
}

// A provider that goes silent mid-stream is cut off after the idle timeout:
// an upstream_timeout error event, no [DONE], and the upstream request is
// cancelled.
func TestStreamIdleTimeout(t *testing.T) {
	reply, upstreamGone := providertest.StallAfter(providertest.Frames(oaRole, oaHello))
	up := providertest.NewUpstream(t, reply)
	a := testAdapter()
	a.StreamIdleTimeout = 50 * time.Millisecond
	rec := httptest.NewRecorder()
	req := chatRequest(t, base(up), withUsage)
	res, err := a.Chat(context.Background(), req, providertest.Writer(t, rec, req))
	if err != nil {
		t.Fatal(err)
	}
	want := providertest.Frames(oaRole, oaHello, `{"error":{"message":"OpenAI sent nothing for 50ms; the stream was ended before the response was complete","type":"upstream_error","param":null,"code":"upstream_timeout"}}`)
	if rec.Body.String() != want {
		t.Fatalf("client got:\n%s\nwant:\n%s", rec.Body.String(), want)
	}
	if res.ErrorCode != provider.CodeUpstreamTimeout || res.ClientGone || res.OutputBytes != 5 {
		t.Fatalf("result = %+v", res)
	}
	select {
	case <-upstreamGone:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not cancelled at the idle timeout")
	}
}
