package openaicompat

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/dialect/responses"
)

// bench20 is a 20-event OpenAI-compatible stream: the role chunk, 11
// content chunks (with escapes, as real text has), a tool call opened and
// 4 argument fragments, the finish chunk, the usage chunk and [DONE], as
// Groq-style providers send it.
var bench20 = func() string {
	head := `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1770933892,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":`
	tail := `,"logprobs":null,"finish_reason":null}]}` + "\n\n"
	var b strings.Builder
	b.WriteString(head + `{"role":"assistant","content":""}` + tail)
	for range 11 {
		b.WriteString(head + `{"content":"line \"quoted\"\nnext "}` + tail)
	}
	b.WriteString(head + `{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]}` + tail)
	for _, frag := range []string{`{\"city\"`, `: \"Par`, `is\", \"unit\": `, `\"celsius\"}`} {
		b.WriteString(head + `{"tool_calls":[{"index":0,"function":{"arguments":"` + frag + `"}}]}` + tail)
	}
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1770933892,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}` + "\n\n")
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1770933892,"model":"llama-3.3-70b-versatile","choices":[],"usage":{"prompt_tokens":16,"completion_tokens":90,"total_tokens":106}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}()

// benchInProcess runs bench20 through the adapter into sink, without the
// network, b.N times.
func benchInProcess(b *testing.B, sink ownkey.ChatSink, reset func(w http.ResponseWriter)) {
	if n := strings.Count(bench20, "\n\n"); n != 20 {
		b.Fatalf("%d events", n)
	}
	req := chatRequest(b, "http://unused")
	req.IncludeUsage = true
	b.SetBytes(int64(len(bench20)))
	b.ReportAllocs()
	for b.Loop() {
		res := &ownkey.ChatResult{}
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(strings.NewReader(bench20))}
		reset(&discardWriter{h: http.Header{}})
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := respond(ctx, cancel, req, res, resp, sink); err != nil || res.ErrorCode != "" || res.FinishReason != "tool_calls" || res.Usage.PromptTokens != 16 {
			b.Fatal(err, res.ErrorCode, res.FinishReason)
		}
		cancel()
	}
}

// BenchmarkStream20ToChat: the 20-event stream relayed to an OpenAI Chat
// client (the pass-through), for comparison with the two below.
func BenchmarkStream20ToChat(b *testing.B) {
	var wr openai.Writer
	benchInProcess(b, &wr, func(w http.ResponseWriter) { wr.Reset(w, true, true) })
}

// BenchmarkStream20ToResponses: the same stream translated for a Responses
// client (POST /v1/responses routed to an OpenAI-compatible provider): the
// sink calls and the Responses writer's event sequence (33 events out,
// with the whole response at the end).
func BenchmarkStream20ToResponses(b *testing.B) {
	var wr responses.Writer
	benchInProcess(b, &wr, func(w http.ResponseWriter) { wr.Reset(w, true) })
}
