package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

const usage22x55 = `{"prompt_tokens":22,"completion_tokens":55,"total_tokens":77,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0}}`

var want22x55 = ownkey.Usage{PromptTokens: 22, CompletionTokens: 55, Source: ownkey.UsageFromProvider}

func TestStreamText(t *testing.T) {
	// Bedrock's order: metadata (the usage) after messageStop.
	upstream := stream(msgStart(), textDelta(0, "Hello"), textDelta(0, ""), textDelta(0, " w\u00f6rld\n<&>"), blockStop(0),
		msgStop("end_turn"), metadata(`{"inputTokens":22,"outputTokens":55,"serverToolUsage":{},"totalTokens":77}`))
	for _, tc := range []struct {
		name string
		opts []reqOpt
		want string
	}{
		{"client asked for usage", []reqOpt{withUsage},
			providertest.Frames(roleChunk, delta(`{"content":"Hello"}`), delta(`{"content":" wörld\n<&>"}`), finishChunk("stop"), usageChunk(usage22x55), done)},
		{"client did not ask", nil,
			providertest.Frames(roleChunk, delta(`{"content":"Hello"}`), delta(`{"content":" wörld\n<&>"}`), finishChunk("stop"), done)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := fakeBedrock(t, upstream)
			res, rec, err := run(t, chatRequest(t, up.URL, tc.opts...))
			if err != nil {
				t.Fatal(err)
			}
			providertest.CompareFrames(t, rec.Body.String(), tc.want)
			if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/event-stream" {
				t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
			}
			if res.Status != 200 || !res.Started || res.ModelServed != testModel || res.FinishReason != "stop" || res.Usage != want22x55 ||
				res.ErrorCode != "" || string(res.OutputSample) != "Hello wörld\n<&>" {
				t.Fatalf("result = %+v", res)
			}
			got := up.Only(t)
			if got.Path != "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream" || got.Method != "POST" ||
				got.Header.Get("Accept") != "application/vnd.amazon.eventstream" || got.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("upstream got %s %s, headers %v", got.Method, got.Path, got.Header)
			}
			if want := `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`; string(got.Body) != want {
				t.Fatalf("upstream body %s, want %s", got.Body, want)
			}
		})
	}
}

// The usage is in metadata, which comes after messageStop: the client's
// stream must not end before it. Some servers send it before; either way
// the answer ends once both came, and a stream that ends after
// messageStop without metadata is complete, its usage missing.
func TestStreamMetadataOrder(t *testing.T) {
	const usage = `{"inputTokens":125,"outputTokens":45,"totalTokens":170}`
	want := ownkey.Usage{PromptTokens: 125, CompletionTokens: 45, Source: ownkey.UsageFromProvider}
	for _, tc := range []struct {
		name      string
		events    [][2]string
		usage     ownkey.Usage
		usageSent bool
	}{
		{"after messageStop", [][2]string{msgStart(), textDelta(0, "Hi"), blockStop(0), msgStop("end_turn"), metadata(usage)}, want, true},
		{"before messageStop", [][2]string{textDelta(0, "Hi"), blockStop(0), metadata(usage), msgStop("end_turn")}, want, true},
		{"none", [][2]string{msgStart(), textDelta(0, "Hi"), blockStop(0), msgStop("end_turn")}, ownkey.Usage{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := fakeBedrock(t, stream(tc.events...))
			res, rec, err := run(t, chatRequest(t, up.URL, withUsage))
			if err != nil || res.ErrorCode != "" {
				t.Fatalf("err %v, result %+v", err, res)
			}
			payloads := providertest.Payloads(rec.Body.String())
			if payloads[len(payloads)-1] != done || res.Usage != tc.usage {
				t.Fatalf("client got %s; usage %+v", rec.Body.String(), res.Usage)
			}
			if got := payloads[len(payloads)-2]; tc.usageSent && got != usageChunk(`{"prompt_tokens":125,"completion_tokens":45,"total_tokens":170,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0}}`) {
				t.Fatalf("usage chunk %s", got)
			}
		})
	}
}

func TestStreamTools(t *testing.T) {
	// A text block, a tool with its input in fragments, a tool with no
	// arguments; no messageStart and the metadata first, as in vercel's
	// recording.
	upstream := stream(textDelta(0, "I'll check."), blockStop(0),
		toolStart(1, "tooluse_a", "get_weather"), toolDelta(1, ""), toolDelta(1, `{"city`), toolDelta(1, `": "Par`), toolDelta(1, `is"}`), blockStop(1),
		toolStart(2, "tooluse_b", "get_time"), blockStop(2),
		metadata(`{"inputTokens":22,"outputTokens":55,"totalTokens":77}`), msgStop("tool_use"))
	up := fakeBedrock(t, upstream)
	res, rec, err := run(t, chatRequest(t, up.URL, withUsage))
	if err != nil {
		t.Fatal(err)
	}
	providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(`{"content":"I'll check."}`),
		delta(`{"tool_calls":[{"index":0,"id":"tooluse_a","type":"function","function":{"name":"get_weather","arguments":""}}]}`),
		delta(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city"}}]}`),
		delta(`{"tool_calls":[{"index":0,"function":{"arguments":"\": \"Par"}}]}`),
		delta(`{"tool_calls":[{"index":0,"function":{"arguments":"is\"}"}}]}`),
		delta(`{"tool_calls":[{"index":1,"id":"tooluse_b","type":"function","function":{"name":"get_time","arguments":""}}]}`),
		delta(`{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}`),
		finishChunk("tool_calls"), usageChunk(usage22x55), done))
	if res.FinishReason != "tool_calls" || res.OutputToolCalls != 2 {
		t.Fatalf("result = %+v", res)
	}
}

// Reasoning deltas become reasoning_content, never content; signatures are
// not relayed.
func TestStreamReasoning(t *testing.T) {
	up := fakeBedrock(t, stream(msgStart(), reasoningDelta(0, "Let me count"), reasoningDelta(0, ""), signatureDelta(0), blockStop(0),
		textDelta(1, "Three."), blockStop(1), msgStop("end_turn"), metadata(`{"inputTokens":22,"outputTokens":55}`)))
	_, rec, err := run(t, chatRequest(t, up.URL))
	if err != nil {
		t.Fatal(err)
	}
	providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(`{"reasoning_content":"Let me count"}`),
		delta(`{"content":"Three."}`), finishChunk("stop"), done))
}

func TestStreamStopReasons(t *testing.T) {
	for reason, want := range map[string]string{
		"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "model_context_window_exceeded": "length",
		"tool_use": "tool_calls", "guardrail_intervened": "content_filter", "content_filtered": "content_filter",
		"malformed_model_output": "stop", "malformed_tool_use": "stop", "something_new": "stop",
	} {
		up := fakeBedrock(t, stream(msgStart(), textDelta(0, "x"), msgStop(reason), metadata(`{"inputTokens":1,"outputTokens":1}`)))
		res, rec, err := run(t, chatRequest(t, up.URL))
		if err != nil || res.FinishReason != want || !strings.Contains(rec.Body.String(), `"finish_reason":"`+want+`"`) {
			t.Fatalf("%s: err %v, finish %q, body %s", reason, err, res.FinishReason, rec.Body.String())
		}
	}
}

// Cache reads and writes: prompt = input + cache read + cache write.
func TestStreamCacheUsage(t *testing.T) {
	up := fakeBedrock(t, stream(msgStart(), textDelta(0, "x"), msgStop("end_turn"),
		metadata(`{"inputTokens":100,"outputTokens":500,"cacheReadInputTokens":2000,"cacheWriteInputTokens":1000,"totalTokens":3600}`)))
	res, rec, err := run(t, chatRequest(t, up.URL, withUsage))
	if err != nil {
		t.Fatal(err)
	}
	want := ownkey.Usage{PromptTokens: 3100, CompletionTokens: 500, CachedTokens: 2000, CacheWriteTokens: 1000, Source: ownkey.UsageFromProvider}
	if res.Usage != want || !strings.Contains(rec.Body.String(),
		`"usage":{"prompt_tokens":3100,"completion_tokens":500,"total_tokens":3600,"prompt_tokens_details":{"cached_tokens":2000,"cache_write_tokens":1000}}`) {
		t.Fatalf("usage %+v, body %s", res.Usage, rec.Body.String())
	}
}

func TestStreamJSONResponseFormat(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"response_format":{"type":"json_object"}}`
	up := fakeBedrock(t, stream(msgStart(), toolStart(0, "tooluse_j", "json"), toolDelta(0, `{"a":`), toolDelta(0, `1}`), blockStop(0),
		msgStop("tool_use"), metadata(`{"inputTokens":1,"outputTokens":1}`)))
	res, rec, err := run(t, chatRequest(t, up.URL, withBody(body)))
	if err != nil {
		t.Fatal(err)
	}
	providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(`{"content":"{\"a\":"}`), delta(`{"content":"1}"}`), finishChunk("stop"), done))
	if res.OutputToolCalls != 0 {
		t.Fatalf("result %+v", res)
	}
}

// Exceptions in the stream end it with an error event of their type, in
// Bedrock's words, and no [DONE].
func TestStreamExceptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
		want  string
	}{
		{"throttling", providertest.BedrockException("throttlingException", `{"message":"Too many requests, please wait before trying again."}`),
			`{"error":{"message":"throttlingException: Too many requests, please wait before trying again.","type":"throttlingException","param":null,"code":"stream_error"}}`},
		{"model stream error", providertest.BedrockException("modelStreamErrorException", `{"message":"Model Stream Error","originalStatusCode":500,"originalMessage":"overloaded"}`),
			`{"error":{"message":"modelStreamErrorException: Model Stream Error (the model said: overloaded)","type":"modelStreamErrorException","param":null,"code":"stream_error"}}`},
		{"validation", providertest.BedrockException("validationException", `{"message":"The model returned the following errors: input is too long"}`),
			`{"error":{"message":"validationException: The model returned the following errors: input is too long","type":"validationException","param":null,"code":"stream_error"}}`},
		{"not JSON", providertest.BedrockException("internalServerException", `oops`),
			`{"error":{"message":"internalServerException: AWS Bedrock reported an error in the stream","type":"internalServerException","param":null,"code":"stream_error"}}`},
		{"error message", providertest.BedrockError("InternalFailure", "We encountered an internal error."),
			`{"error":{"message":"InternalFailure: We encountered an internal error.","type":"InternalFailure","param":null,"code":"stream_error"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := fakeBedrock(t, providertest.BedrockStream(append(frames(msgStart(), textDelta(0, "Hel")), tc.frame, providertest.BedrockFrame("messageStop", `{"stopReason":"end_turn"}`))...))
			res, rec, err := run(t, chatRequest(t, up.URL, withUsage))
			if err != nil {
				t.Fatal(err)
			}
			providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(`{"content":"Hel"}`), tc.want))
			if res.ErrorCode != provider.CodeStreamError || res.FinishReason != "" || res.Status != 200 {
				t.Fatalf("result = %+v", res)
			}
		})
	}
}

// Streams that stop short or are not what ConverseStream sends end with an
// error event, never as a whole answer.
func TestStreamBroken(t *testing.T) {
	text := providertest.BedrockFrame(textDelta(0, "Hel")[0], textDelta(0, "Hel")[1])
	for _, tc := range []struct {
		name, body, code, message string
	}{
		{"ends before messageStop", join(text), provider.CodeStreamTruncated, "AWS Bedrock ended the stream before the response was complete"},
		{"ends inside a frame", join(text) + join(text)[:20], provider.CodeStreamTruncated, "the AWS Bedrock stream broke off before the response was complete"},
		{"not JSON", join(text, providertest.BedrockFrame("contentBlockDelta", `{"contentBlockIndex":0,`)), provider.CodeStreamError, "AWS Bedrock sent a stream event that is not valid JSON"},
		{"deep", join(text, providertest.BedrockFrame("contentBlockDelta", strings.Repeat("[", 200)+strings.Repeat("]", 200))), provider.CodeStreamError,
			"AWS Bedrock sent a stream event nested deeper than 128 levels"},
		{"bad index", join(text, providertest.BedrockFrame("contentBlockDelta", `{"contentBlockIndex":-1,"delta":{"text":"x"}}`)), provider.CodeStreamError,
			"AWS Bedrock sent a delta for a content block with an invalid index"},
		{"block index past the bound", join(text, providertest.BedrockFrame("contentBlockDelta", `{"contentBlockIndex":16384,"delta":{"text":"x"}}`)), provider.CodeStreamError,
			"AWS Bedrock sent a delta for a content block with an invalid index"},
		{"tool input for a text block", join(text, providertest.BedrockFrame(toolDelta(0, "{}")[0], toolDelta(0, "{}")[1])), provider.CodeStreamError,
			"AWS Bedrock sent tool input for a content block that is not a tool call"},
		{"unknown message type", join(text, encode(t, eventstream.Headers{{Name: ":message-type", Value: eventstream.StringValue("wrong")}}, `{}`)),
			provider.CodeStreamError, "AWS Bedrock sent a malformed stream event (a message of no known :message-type)"},
		{"corrupt frame", join(text, flip(providertest.BedrockFrame(textDelta(0, "lo")[0], textDelta(0, "lo")[1]), 30)), provider.CodeStreamError,
			"AWS Bedrock sent a malformed stream event (message checksum mismatch)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := fakeBedrock(t, providertest.BedrockStream([]byte(tc.body)))
			res, rec, err := run(t, chatRequest(t, up.URL))
			if err != nil {
				t.Fatal(err)
			}
			payloads := providertest.Payloads(rec.Body.String())
			last := payloads[len(payloads)-1]
			if res.ErrorCode != tc.code || !strings.HasPrefix(last, `{"error":{"message":"`+tc.message) || strings.Contains(rec.Body.String(), done) {
				t.Fatalf("result %+v, client got %s", res, rec.Body.String())
			}
		})
	}
}

// encode is one event-stream message, encoded by the eventstream module.
func encode(t testing.TB, hs eventstream.Headers, payload string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&b, eventstream.Message{Headers: hs, Payload: []byte(payload)}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// flip is frame with the bits of byte i flipped.
func flip(frame []byte, i int) []byte {
	out := bytes.Clone(frame)
	out[i] ^= 0xff
	return out
}

// The highest content block index is maxBlocks-1.
func TestStreamLastBlockIndex(t *testing.T) {
	up := fakeBedrock(t, stream(msgStart(), textDelta(maxBlocks-1, "x"), blockStop(maxBlocks-1), msgStop("end_turn"), metadata(`{"inputTokens":1,"outputTokens":1}`)))
	res, rec, err := run(t, chatRequest(t, up.URL))
	if err != nil || res.ErrorCode != "" || !strings.Contains(rec.Body.String(), `"content":"x"`) {
		t.Fatalf("err %v, result %+v, body %s", err, res, rec.Body.String())
	}
}

// A JSON body answering a stream is Bedrock's error (or, with an output, a
// Converse answer where a stream was asked for): nothing is written, the
// client gets an error.
func TestStreamAnsweredWithJSON(t *testing.T) {
	up := fakeBedrock(t, providertest.JSONReply(200, `{"__type":"com.amazon.coral.validate#ValidationException","message":"Malformed input request, please reformat your input and try again."}`))
	_, rec, err := run(t, chatRequest(t, up.URL))
	e, ok := err.(*ownkey.Error)
	if !ok || e.Status != 400 || e.Type != "ValidationException" || e.Message != "Malformed input request, please reformat your input and try again." || rec.Body.Len() != 0 {
		t.Fatalf("err = %#v, body %q", err, rec.Body.String())
	}
	up = fakeBedrock(t, providertest.JSONReply(200, `{"output":{"message":{"role":"assistant","content":[{"text":"hi"}]}},"stopReason":"end_turn","usage":{"inputTokens":3,"outputTokens":4}}`))
	res, _, err := run(t, chatRequest(t, up.URL))
	if ownkey.StatusOf(err) != 502 || res.Usage.CompletionTokens != 4 {
		t.Fatalf("err = %v, result %+v", err, res)
	}
}

// countingWriter counts the writes and flushes that reach the client.
type countingWriter struct {
	*httptest.ResponseRecorder
	writes, flushes int
}

func (c *countingWriter) Write(b []byte) (int, error) { c.writes++; return c.ResponseRecorder.Write(b) }
func (c *countingWriter) Flush()                      { c.flushes++; c.ResponseRecorder.Flush() }

// oneReadPerFrame hands out one frame per Read, as a provider whose events
// arrive one at a time.
type oneReadPerFrame struct{ frames [][]byte }

func (o *oneReadPerFrame) Read(p []byte) (int, error) {
	if len(o.frames) == 0 {
		return 0, io.EOF
	}
	n := copy(p, o.frames[0])
	if o.frames[0] = o.frames[0][n:]; len(o.frames[0]) == 0 {
		o.frames = o.frames[1:]
	}
	return n, nil
}

// Events that arrived together are written and flushed together; events
// that arrive one by one are each flushed before the next read.
func TestStreamBatchesWhatArrivedTogether(t *testing.T) {
	fs := frames(msgStart(), textDelta(0, "a"), textDelta(0, "b"), textDelta(0, "c"), blockStop(0), msgStop("end_turn"), metadata(`{"inputTokens":1,"outputTokens":3}`))
	req := chatRequest(t, "http://unused")
	tr, err := translateRequest(req, DefaultMaxTokens)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		body io.Reader
		max  int
	}{
		// All at once: the events go out in one write (the first read
		// writes nothing; the end leaves them to the response's end).
		{"together", bytes.NewReader([]byte(join(fs...))), 2},
		{"one by one", &oneReadPerFrame{frames: fs}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &countingWriter{ResponseRecorder: httptest.NewRecorder()}
			wr := openai.NewWriter(w, true, false)
			defer wr.Finish()
			resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {providertest.BedrockEventStream}}, Body: io.NopCloser(tc.body)}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			res, err := respond(ctx, cancel, req, &ownkey.ChatResult{}, tr, resp, wr)
			if err != nil || res.ErrorCode != "" {
				t.Fatalf("err %v, result %+v", err, res)
			}
			providertest.CompareFrames(t, w.Body.String(), providertest.Frames(roleChunk, delta(`{"content":"a"}`), delta(`{"content":"b"}`), delta(`{"content":"c"}`), finishChunk("stop"), done))
			// One by one: a flush before each read but the first and
			// the last; the last events go out with the response's end.
			if w.flushes > tc.max || w.writes > tc.max || (tc.name == "one by one" && w.flushes < 4) {
				t.Fatalf("%d writes, %d flushes", w.writes, w.flushes)
			}
		})
	}
}

// A client that goes away cancels the upstream request at once; the
// output so far is kept.
func TestStreamClientDisconnect(t *testing.T) {
	reply, upstreamCancelled := providertest.StallAfter(join(frames(msgStart(), textDelta(0, "Hello"))...), providertest.BedrockEventStream)
	up := fakeBedrock(t, reply)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := chatRequest(t, up.URL, withUsage)
	res, _, err := providertest.ChatWhenFlushed(t, ctx, testAdapter(), req, `"content":"Hello"`, cancel)
	if err != nil {
		t.Fatal(err)
	}
	providertest.WaitCancelled(t, upstreamCancelled, 20*time.Second)
	if !res.ClientGone || res.ErrorCode != provider.CodeClientDisconnected || !res.Started || string(res.OutputSample) != "Hello" {
		t.Fatalf("result = %+v", res)
	}
}

// A provider that goes silent mid-stream is cut off after the idle timeout
// with an upstream_timeout error event, and the upstream request is
// cancelled.
func TestStreamIdleTimeout(t *testing.T) {
	reply, upstreamCancelled := providertest.StallAfter(join(frames(msgStart(), textDelta(0, "Hel"))...), providertest.BedrockEventStream)
	up := fakeBedrock(t, reply)
	a := testAdapter()
	a.StreamIdleTimeout = 50 * time.Millisecond
	res, rec, err := providertest.Run(t, a, chatRequest(t, up.URL))
	if err != nil {
		t.Fatal(err)
	}
	providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(`{"content":"Hel"}`),
		`{"error":{"message":"AWS Bedrock sent nothing for 50ms; the stream was ended before the response was complete","type":"upstream_error","param":null,"code":"upstream_timeout"}}`))
	if res.ErrorCode != provider.CodeUpstreamTimeout || !res.Started {
		t.Fatalf("result = %+v", res)
	}
	providertest.WaitCancelled(t, upstreamCancelled, 5*time.Second)
}

// An error message's text is an upstream message like any other: control
// characters collapsed, cut to provider.MaxMessageLen characters.
func TestStreamErrorMessageBounded(t *testing.T) {
	up := fakeBedrock(t, providertest.BedrockStream(providertest.BedrockError("InternalFailure", "line one\r\nline\ttwo "+strings.Repeat("x", 1000))))
	_, rec, err := run(t, chatRequest(t, up.URL))
	if err != nil {
		t.Fatal(err)
	}
	payloads := providertest.Payloads(rec.Body.String())
	var ev struct {
		Error struct{ Message, Type string }
	}
	if len(payloads) != 1 || json.Unmarshal([]byte(payloads[0]), &ev) != nil {
		t.Fatalf("client got %s", rec.Body.String())
	}
	msg := ev.Error.Message
	if !strings.HasPrefix(msg, "InternalFailure: line one line two xxx") || !strings.HasSuffix(msg, "x…") ||
		len([]rune(msg)) != len("InternalFailure: ")+provider.MaxMessageLen || ev.Error.Type != "InternalFailure" {
		t.Fatalf("message %q (%d runes), type %q", msg, len([]rune(msg)), ev.Error.Type)
	}
}
