package anthropic

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ev(typ, data string) string { return "event: " + typ + "\ndata: " + data + "\n\n" }

func stream(t *testing.T) (*Writer, *httptest.ResponseRecorder) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec, true)
	t.Cleanup(w.Finish)
	w.Stream(strings.NewReader(""), nil)
	return w, rec
}

// answer tells w an answer with every kind of delta, a tool call with its
// arguments in fragments and one given whole.
func answer(t *testing.T, w *Writer, cost *ownkey.Charge) {
	must(t, w.Start("msg_1", "llama-x", 1700000000))
	must(t, w.Reasoning(`"Let me think \"hard\"."`))
	must(t, w.Reasoning(`" More."`))
	must(t, w.Text(`"Caf\u00e9 <&>\n"`))
	must(t, w.Text(`""`))
	must(t, w.Text(`"ok"`))
	must(t, w.ToolCall(0, "call_a", "get_<weather>", `""`))
	must(t, w.ToolArgs(0, `"{\"city\":"`))
	must(t, w.ToolArgs(0, `" \"Paris\"}"`))
	must(t, w.ToolCall(1, "call_b", "get_time", `"{}"`))
	must(t, w.End("tool_calls", ownkey.Usage{PromptTokens: 12, CompletionTokens: 30, CachedTokens: 2, CacheWriteTokens: 3}, cost))
}

var cost = &ownkey.Charge{AtCost: 3_000, Charged: 150, Markup: 50_000, BYOK: true}

func TestStream(t *testing.T) {
	w, rec := stream(t)
	answer(t, w, cost)
	must(t, w.Flush())
	want := ev("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"llama-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}}`) +
		ev("ping", `{"type": "ping"}`) +
		ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`) +
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think \"hard\"."}}`) +
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":" More."}}`) +
		ev("content_block_stop", `{"type":"content_block_stop","index":0}`) +
		ev("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}`) +
		ev("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Caf\u00e9 <&>\n"}}`) +
		ev("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"ok"}}`) +
		ev("content_block_stop", `{"type":"content_block_stop","index":1}`) +
		ev("content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"call_a","name":"get_\u003cweather\u003e","input":{}}}`) +
		ev("content_block_delta", `{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\":"}}`) +
		ev("content_block_delta", `{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":" \"Paris\"}"}}`) +
		ev("content_block_stop", `{"type":"content_block_stop","index":2}`) +
		ev("content_block_start", `{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"call_b","name":"get_time","input":{}}}`) +
		ev("content_block_delta", `{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{}"}}`) +
		ev("content_block_stop", `{"type":"content_block_stop","index":3}`) +
		ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":7,"cache_creation_input_tokens":3,"cache_read_input_tokens":2,"output_tokens":30,`+
			`"cost":0.00000015,"is_byok":true,"is_estimated":false,"cost_details":{"upstream_inference_cost":0.000003,"markup_rate":0.05}}}`) +
		ev("message_stop", `{"type":"message_stop"}`)
	if got := rec.Body.String(); got != want {
		t.Fatalf("stream\n%s\nwant\n%s", got, want)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
}

// Each event's data is JSON: the SDKs parse every one.
func TestStreamEventsAreJSON(t *testing.T) {
	w, rec := stream(t)
	answer(t, w, nil)
	must(t, w.Flush())
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if data, ok := strings.CutPrefix(line, "data: "); ok && !json.Valid([]byte(data)) {
			t.Fatalf("not JSON: %s", data)
		}
	}
}

func TestComplete(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec, false)
	answer(t, w, cost)
	want := `{"id":"msg_1","type":"message","role":"assistant","model":"llama-x","content":[` +
		`{"type":"thinking","thinking":"Let me think \"hard\". More.","signature":""},` +
		`{"type":"text","text":"Café <&>\nok"},` +
		`{"type":"tool_use","id":"call_a","name":"get_<weather>","input":{"city": "Paris"}},` +
		`{"type":"tool_use","id":"call_b","name":"get_time","input":{}}],` +
		`"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":7,"cache_creation_input_tokens":3,"cache_read_input_tokens":2,"output_tokens":30,` +
		`"cost":0.00000015,"is_byok":true,"is_estimated":false,"cost_details":{"upstream_inference_cost":0.000003,"markup_rate":0.05}}}` + "\n"
	if got := rec.Body.String(); got != want {
		t.Fatalf("message\n%s\nwant\n%s", got, want)
	}
	if rec.Header().Get("Content-Length") != strconv.Itoa(len(want)) {
		t.Fatalf("content length %s", rec.Header().Get("Content-Length"))
	}
}

// A tool call's arguments that are not a JSON object give an empty input
// (Anthropic's input is an object); text and an answer with nothing at all
// are still a message.
func TestCompleteEdgeCases(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec, false)
	must(t, w.Start("id", "m", 0))
	must(t, w.ToolCall(0, "c", "f", `"not json"`))
	must(t, w.ToolCall(1, "d", "g", `"[1,2]"`))
	must(t, w.ToolArgs(7, `"ignored: no such call"`))
	must(t, w.End("length", ownkey.Usage{}, nil))
	want := `{"id":"id","type":"message","role":"assistant","model":"m","content":[{"type":"tool_use","id":"c","name":"f","input":{}},{"type":"tool_use","id":"d","name":"g","input":{}}],` +
		`"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}` + "\n"
	if got := rec.Body.String(); got != want {
		t.Fatalf("message\n%s\nwant\n%s", got, want)
	}

	rec = httptest.NewRecorder()
	w.Reset(rec, false)
	must(t, w.Start("id2", "m", 0))
	must(t, w.End("stop", ownkey.Usage{PromptTokens: 1}, nil))
	if got := rec.Body.String(); !strings.HasPrefix(got, `{"id":"id2","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn"`) {
		t.Fatalf("empty message %s", got)
	}
}

// A failed stream ends with an error event in Anthropic's envelope and no
// message_stop; the open block is left as it is.
func TestFail(t *testing.T) {
	for _, tc := range []struct{ code, typ, want string }{
		{"stream_error", "overloaded_error", "overloaded_error"},
		{"stream_error", "upstream_error", "api_error"},
		{"stream_truncated", "upstream_error", "api_error"},
		{"upstream_timeout", "upstream_error", "timeout_error"},
		{"stream_error", "rate_limit_error", "rate_limit_error"},
	} {
		w, rec := stream(t)
		must(t, w.Start("msg_1", "m", 0))
		must(t, w.Text(`"partial"`))
		must(t, w.Fail(tc.code, tc.typ, `it "broke"`))
		must(t, w.Flush())
		got := rec.Body.String()
		want := ev("error", `{"type":"error","error":{"type":"`+tc.want+`","message":"it \"broke\""}}`)
		if !strings.HasSuffix(got, want) || strings.Contains(got, "message_stop") {
			t.Fatalf("%s/%s: stream ends\n%s\nwant\n%s", tc.code, tc.typ, got, want)
		}
	}
	w := NewWriter(httptest.NewRecorder(), false)
	if err := w.Fail("x", "y", "z"); err == nil {
		t.Fatal("Fail on an answer that is not streamed")
	}
}

// Relayed events keep their type and data, byte for byte (padding, a data
// spread over lines); a relayed body keeps its bytes and gets the cost in
// headers.
func TestRelay(t *testing.T) {
	w, rec := stream(t)
	must(t, w.RelayEvent([]byte("message_start"), []byte(`{"type":"message_start","message":{}}      `)))
	must(t, w.RelayEvent([]byte("ping"), []byte(`{"type": "ping"}`)))
	must(t, w.RelayEvent(nil, []byte("{\n\"type\":\"x\"}")))
	must(t, w.Flush())
	want := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}      \n\n" +
		"event: ping\ndata: {\"type\": \"ping\"}\n\n" +
		"data: {\ndata: \"type\":\"x\"}\n\n"
	if got := rec.Body.String(); got != want {
		t.Fatalf("relayed\n%q\nwant\n%q", got, want)
	}

	rec = httptest.NewRecorder()
	w = NewWriter(rec, false)
	body := `{"id":"msg_1","type":"message"}`
	must(t, w.RelayBody([]byte(body), &ownkey.Charge{AtCost: 1_234_567, Charged: 61_729, Markup: 50_000, BYOK: true, Estimated: true}))
	h := rec.Header()
	if rec.Body.String() != body || h.Get(openai.HeaderCost) != "0.000061729" || h.Get(openai.HeaderUpstreamCost) != "0.001234567" ||
		h.Get(openai.HeaderMarkupRate) != "0.05" || h.Get(openai.HeaderIsBYOK) != "true" || h.Get(openai.HeaderIsEstimated) != "true" {
		t.Fatalf("relayed body %q, headers %v", rec.Body.String(), h)
	}
	rec = httptest.NewRecorder()
	w.Reset(rec, false)
	must(t, w.RelayBody([]byte(body), nil))
	if rec.Header().Get(openai.HeaderCost) != "" {
		t.Fatal("cost headers without a cost")
	}
}

// A client gone is ErrClientGone from every call.
func TestClientGone(t *testing.T) {
	rec := &failingWriter{ResponseRecorder: httptest.NewRecorder()}
	w := NewWriter(rec, true)
	defer w.Finish()
	w.Stream(strings.NewReader(""), nil)
	must(t, w.Start("m", "x", 0))
	if err := w.Flush(); !errors.Is(err, ownkey.ErrClientGone) {
		t.Fatalf("flush to a gone client: %v", err)
	}
}

type failingWriter struct{ *httptest.ResponseRecorder }

func (f *failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestStopReason(t *testing.T) {
	for finish, want := range map[string]string{"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
		"content_filter": "refusal", "": "end_turn", "other": "end_turn"} {
		if got := StopReason(finish); got != want {
			t.Errorf("StopReason(%q) = %q, want %q", finish, got, want)
		}
	}
}

// A pooled writer keeps its buffers and none of the last answer.
func TestReleased(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec, false)
	answer(t, w, nil)
	r := w.Released()
	r.Reset(httptest.NewRecorder(), true)
	if r.nBlocks != 0 || r.next != 0 || r.open != blockNone || len(r.toolBlock) != 0 || len(r.id) != 0 {
		t.Fatalf("released writer keeps state: %+v", r)
	}
}
