package openai

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
)

const (
	head = `{"id":"msg_1","object":"chat.completion.chunk","created":1700000000,"model":"claude-x-1"`
	done = "data: [DONE]\n\n"
)

func frame(payload string) string { return "data: " + payload + "\n\n" }

func delta(d string) string {
	return frame(head + `,"choices":[{"index":0,"delta":` + d + `,"logprobs":null,"finish_reason":null}]}`)
}

func finish(reason string) string {
	return frame(head + `,"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"` + reason + `"}]}`)
}

var usage = ownkey.Usage{PromptTokens: 12, CompletionTokens: 30, CachedTokens: 2, CacheWriteTokens: 3}

const usageJSON = `{"prompt_tokens":12,"completion_tokens":30,"total_tokens":42,"prompt_tokens_details":{"cached_tokens":2,"cache_write_tokens":3}}`

// must fails t on a sink call's error.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// stream opens a streamed answer on a recorder, over an empty upstream.
func stream(t *testing.T, includeUsage bool) (*Writer, *httptest.ResponseRecorder, io.Reader) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec, true, includeUsage)
	t.Cleanup(w.Finish)
	return w, rec, w.Stream(strings.NewReader(""), nil)
}

// answer tells w an answer with every kind of delta.
func answer(t *testing.T, w *Writer) {
	must(t, w.Start("msg_1", "claude-x-1", 1700000000))
	must(t, w.Reasoning(`"Let me think \"hard\"."`))
	must(t, w.Text(`"Caf\u00e9 <&>\n"`))
	must(t, w.Text(`"ok"`))
	must(t, w.ToolCall(0, "toolu_a", "get_<weather>", `""`))
	must(t, w.ToolArgs(0, `"{\"city\":"`))
	must(t, w.ToolArgs(0, `" \"Paris\"}"`))
	must(t, w.ToolCall(1, "toolu_b", "get_time", `"{}"`))
	must(t, w.End("tool_calls", usage, nil))
}

func TestStream(t *testing.T) {
	for _, includeUsage := range []bool{true, false} {
		w, rec, _ := stream(t, includeUsage)
		answer(t, w)
		must(t, w.Flush())
		want := delta(`{"role":"assistant","content":""}`) +
			delta(`{"reasoning_content":"Let me think \"hard\"."}`) +
			delta(`{"content":"Caf\u00e9 <&>\n"}`) +
			delta(`{"content":"ok"}`) +
			delta(`{"tool_calls":[{"index":0,"id":"toolu_a","type":"function","function":{"name":"get_\u003cweather\u003e","arguments":""}}]}`) +
			delta(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}`) +
			delta(`{"tool_calls":[{"index":0,"function":{"arguments":" \"Paris\"}"}}]}`) +
			delta(`{"tool_calls":[{"index":1,"id":"toolu_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]}`) +
			finish("tool_calls")
		if includeUsage {
			want += frame(head + `,"choices":[],"usage":` + usageJSON + `}`)
		}
		want += done
		if got := rec.Body.String(); got != want {
			t.Fatalf("include_usage %v: client got:\n%s\nwant:\n%s", includeUsage, got, want)
		}
		h := rec.Header()
		if rec.Code != 200 || h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-cache" || h.Get("X-Accel-Buffering") != "no" {
			t.Fatalf("status %d, headers %v", rec.Code, h)
		}
	}
}

// Events are batched until the next read of the provider's body, which
// first writes and flushes them all.
func TestStreamFlushesBeforeEachRead(t *testing.T) {
	w, rec, upstream := stream(t, false)
	must(t, w.Start("msg_1", "claude-x-1", 1700000000))
	if rec.Body.Len() != 0 {
		t.Fatalf("written before the read: %q", rec.Body.String())
	}
	if _, err := upstream.Read(make([]byte, 8)); err != io.EOF {
		t.Fatalf("read = %v", err)
	}
	if got := rec.Body.String(); got != delta(`{"role":"assistant","content":""}`) || !rec.Flushed {
		t.Fatalf("after the read the client has %q (flushed %v)", got, rec.Flushed)
	}
}

func TestStreamFail(t *testing.T) {
	// After the start: the error event ends the stream, no [DONE].
	w, rec, _ := stream(t, true)
	must(t, w.Start("msg_1", "claude-x-1", 1700000000))
	must(t, w.Text(`"Hel"`))
	must(t, w.Fail("stream_truncated", "upstream_error", `Anthropic ended the stream before the response was "complete" <now>`))
	must(t, w.Flush())
	want := delta(`{"role":"assistant","content":""}`) + delta(`{"content":"Hel"}`) +
		frame(`{"error":{"message":"Anthropic ended the stream before the response was \"complete\" \u003cnow\u003e","type":"upstream_error","param":null,"code":"stream_truncated"}}`)
	if got := rec.Body.String(); got != want {
		t.Fatalf("client got:\n%s\nwant:\n%s", got, want)
	}

	// Before the start (the stream has begun, no message yet): the error
	// event alone.
	w, rec, _ = stream(t, true)
	must(t, w.Fail("stream_error", "overloaded_error", "Overloaded"))
	must(t, w.Flush())
	if got, want := rec.Body.String(), frame(`{"error":{"message":"Overloaded","type":"overloaded_error","param":null,"code":"stream_error"}}`); got != want {
		t.Fatalf("client got %q, want %q", got, want)
	}

	// Not streamed: nothing is written before End, so a failure is the
	// adapter's error return; Fail writes nothing.
	rec = httptest.NewRecorder()
	w = NewWriter(rec, false, false)
	must(t, w.Start("msg_1", "claude-x-1", 1700000000))
	if err := w.Fail("stream_error", "upstream_error", "x"); err == nil || rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
		t.Fatalf("Fail on a non-streaming answer: %v, client got %q", err, rec.Body.String())
	}
}

func TestComplete(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec, false, false)
	answer(t, w)
	// As encoding/json writes it, whatever escapes the provider chose: no
	// HTML escaping, é as itself.
	want := `{"id":"msg_1","object":"chat.completion","created":1700000000,"model":"claude-x-1","choices":[{"index":0,"message":{"role":"assistant",` +
		`"content":"Café <&>\nok","reasoning_content":"Let me think \"hard\".",` +
		`"tool_calls":[{"id":"toolu_a","type":"function","function":{"name":"get_<weather>","arguments":"{\"city\": \"Paris\"}"}},` +
		`{"id":"toolu_b","type":"function","function":{"name":"get_time","arguments":"{}"}}],"refusal":null},"logprobs":null,"finish_reason":"tool_calls"}],` +
		`"usage":` + usageJSON + `}` + "\n"
	if got := rec.Body.String(); got != want {
		t.Fatalf("client got:\n%s\nwant:\n%s", got, want)
	}
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Content-Length") != strconv.Itoa(len(want)) {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
}

// A priced answer carries its cost in the usage object, in OpenRouter's
// members, as exact decimals of the nano-dollar amounts: streamed (in the
// usage chunk) and whole.
func TestCost(t *testing.T) {
	cost := &ownkey.Charge{AtCost: 240_000, Markup: ownkey.DefaultBYOKMarkup, Charged: 12_000, Basis: ownkey.PriceCatalog, BYOK: true}
	const costJSON = `,"cost":0.000012,"is_byok":true,"is_estimated":false,"cost_details":{"upstream_inference_cost":0.00024,"markup_rate":0.05}}`
	withCost := usageJSON[:len(usageJSON)-1] + costJSON

	w, rec, _ := stream(t, true)
	must(t, w.Start("msg_1", "claude-x-1", 1700000000))
	must(t, w.End("stop", usage, cost))
	must(t, w.Flush())
	want := delta(`{"role":"assistant","content":""}`) + finish("stop") + frame(head+`,"choices":[],"usage":`+withCost+`}`) + done
	if got := rec.Body.String(); got != want {
		t.Fatalf("client got:\n%s\nwant:\n%s", got, want)
	}

	rec = httptest.NewRecorder()
	w = NewWriter(rec, false, false)
	must(t, w.Start("m", "x", 1))
	estimated := *cost
	estimated.Estimated, estimated.BYOK, estimated.Charged, estimated.AtCost = true, false, 2_000_000_001, 0
	must(t, w.End("stop", ownkey.Usage{}, &estimated))
	want = `{"id":"m","object":"chat.completion","created":1,"model":"x","choices":[{"index":0,"message":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},` +
		`"cost":2.000000001,"is_byok":false,"is_estimated":true,"cost_details":{"upstream_inference_cost":0,"markup_rate":0.05}}}` + "\n"
	if got := rec.Body.String(); got != want {
		t.Fatalf("client got:\n%s\nwant:\n%s", got, want)
	}
}

// InsertCost puts the cost into a usage object where it stands in a
// provider's JSON, touching nothing else.
func TestInsertCost(t *testing.T) {
	c := ownkey.Charge{AtCost: 1, Markup: 1, Charged: 1}
	const members = `"cost":0.000000001,"is_byok":false,"is_estimated":false,"cost_details":{"upstream_inference_cost":0.000000001,"markup_rate":0.000001}`
	for _, tc := range []struct{ text, want string }{
		{`{"a":1, "usage": {"prompt_tokens":1} ,"z":2}`, `{"a":1, "usage": {"prompt_tokens":1,` + members + `} ,"z":2}`},
		{`{"prompt_tokens":1 }`, `{"prompt_tokens":1 ,` + members + `}`},
		{`{ }`, `{ ` + members + `}`},
	} {
		end := strings.LastIndexByte(tc.text[:len(tc.text)-1], '}')
		if strings.HasPrefix(tc.text, `{"prompt`) || tc.text == `{ }` {
			end = len(tc.text) - 1
		}
		if got := string(InsertCost([]byte("x"), []byte(tc.text), end, c)); got != "x"+tc.want {
			t.Errorf("InsertCost(%s) = %s, want x%s", tc.text, got, tc.want)
		}
	}
}

func TestCompleteContentNullOnlyBesideToolCalls(t *testing.T) {
	for _, tc := range []struct {
		calls func(w *Writer)
		want  string
	}{
		{func(w *Writer) { _ = w.ToolCall(0, "t", "f", `""`) }, `"content":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":""}}],`},
		{func(*Writer) {}, `"content":"",`},
	} {
		rec := httptest.NewRecorder()
		w := NewWriter(rec, false, false)
		must(t, w.Start("m", "x", 1))
		tc.calls(w)
		must(t, w.End("stop", ownkey.Usage{ReasoningTokens: 4, CompletionTokens: 5}, nil))
		if got := rec.Body.String(); !strings.Contains(got, `"role":"assistant",`+tc.want+`"refusal":null`) ||
			!strings.Contains(got, `"completion_tokens_details":{"reasoning_tokens":4}`) {
			t.Fatalf("client got %s, want %s in it", got, tc.want)
		}
	}
}

func TestRelay(t *testing.T) {
	w, rec, _ := stream(t, true)
	must(t, w.RelayEvent(nil, []byte(`{"choices":[]}`)))
	must(t, w.RelayEvent([]byte("ignored"), []byte("[DONE]")))
	must(t, w.Flush())
	if got, want := rec.Body.String(), frame(`{"choices":[]}`)+done; got != want {
		t.Fatalf("client got %q, want %q", got, want)
	}
	rec = httptest.NewRecorder()
	w = NewWriter(rec, false, false)
	body := `{"id":"chatcmpl-1","choices":[]}`
	must(t, w.RelayBody([]byte(body), nil))
	if rec.Body.String() != body || rec.Header().Get("Content-Length") != strconv.Itoa(len(body)) || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("client got %q, headers %v", rec.Body.String(), rec.Header())
	}
}

// failingWriter is a client that is gone: every write fails.
type failingWriter struct{ h http.Header }

func (f *failingWriter) Header() http.Header       { return f.h }
func (f *failingWriter) WriteHeader(int)           {}
func (f *failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestClientGone(t *testing.T) {
	// A stream: the failed write shows at the next read of the provider's
	// body, and every call after it fails.
	w := NewWriter(&failingWriter{h: http.Header{}}, true, false)
	defer w.Finish()
	upstream := w.Stream(strings.NewReader("more"), nil)
	must(t, w.Start("msg_1", "claude-x-1", 1700000000))
	if _, err := upstream.Read(make([]byte, 8)); !errors.Is(err, ownkey.ErrClientGone) {
		t.Fatalf("read after a failed write = %v", err)
	}
	if err := w.Text(`"x"`); err != nil {
		// Batched: the next write is what fails.
		t.Fatalf("Text = %v", err)
	}
	if err := w.Flush(); !errors.Is(err, ownkey.ErrClientGone) {
		t.Fatalf("Flush = %v", err)
	}

	// A client whose request context ended: the next read fails at once.
	done := make(chan struct{})
	close(done)
	w = NewWriter(httptest.NewRecorder(), true, false)
	defer w.Finish()
	upstream = w.Stream(strings.NewReader("more"), done)
	if _, err := upstream.Read(make([]byte, 8)); !errors.Is(err, ownkey.ErrClientGone) {
		t.Fatalf("read after the client left = %v", err)
	}

	// Not streamed: End's write fails.
	w = NewWriter(&failingWriter{h: http.Header{}}, false, false)
	must(t, w.Start("m", "x", 1))
	if err := w.End("stop", ownkey.Usage{}, nil); !errors.Is(err, ownkey.ErrClientGone) {
		t.Fatalf("End = %v", err)
	}
}

// A pooled writer starts its next answer clean.
func TestResetForgetsTheLastAnswer(t *testing.T) {
	var w Writer
	w.Reset(httptest.NewRecorder(), false, false)
	answer(t, &w)
	w = w.Released()
	rec := httptest.NewRecorder()
	w.Reset(rec, false, false)
	must(t, w.Start("m", "x", 1))
	must(t, w.Text(`"hi"`))
	must(t, w.End("stop", ownkey.Usage{}, nil))
	want := `{"id":"m","object":"chat.completion","created":1,"model":"x","choices":[{"index":0,"message":{"role":"assistant","content":"hi","refusal":null},"logprobs":null,"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0}}}` + "\n"
	if got := rec.Body.String(); got != want {
		t.Fatalf("second answer:\n%s\nwant:\n%s", got, want)
	}
}

// BenchmarkStreamDeltas is the writer's cost per text delta of a stream.
func BenchmarkStreamDeltas(b *testing.B) {
	var w Writer
	rw := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.Reset(rw, true, true)
		upstream := w.Stream(strings.NewReader(""), nil)
		_ = w.Start("msg_01XFDUDYJgAACzvnptvVoYEL", "claude-sonnet-4-5-20250929", 1700000000)
		for range 200 {
			_ = w.Text(`"line \"quoted\"\nnext "`)
		}
		_ = w.End("stop", usage, nil)
		_, _ = upstream.Read(nil)
		w.Finish()
	}
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) Flush()                      {}
