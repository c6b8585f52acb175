package responses

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3/packages/ssestream"
	sdk "github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
)

// frame is one event as a client reads it.
type frame struct{ event, data string }

// frames splits a stream into its events, checking the framing: an event:
// line and one data: line each, a blank line after.
func frames(t *testing.T, body string) []frame {
	t.Helper()
	if !strings.HasSuffix(body, "\n\n") {
		t.Fatalf("stream does not end with a blank line: %q", body)
	}
	var out []frame
	for _, ev := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		lines := strings.Split(ev, "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "event: ") || !strings.HasPrefix(lines[1], "data: ") {
			t.Fatalf("malformed event %q", ev)
		}
		out = append(out, frame{strings.TrimPrefix(lines[0], "event: "), strings.TrimPrefix(lines[1], "data: ")})
	}
	return out
}

// checkSequence checks that each event's data is valid JSON of its event
// type and that sequence_number counts from 0 without a gap, and returns
// the event types.
func checkSequence(t *testing.T, fs []frame) []string {
	t.Helper()
	var types []string
	for i, f := range fs {
		if !json.Valid([]byte(f.data)) {
			t.Fatalf("event %d is not JSON: %s", i, f.data)
		}
		d := gjson.Parse(f.data)
		if d.Get("type").Str != f.event || d.Get("sequence_number").Int() != int64(i) || !d.Get("sequence_number").Exists() {
			t.Fatalf("event %d: event %s, data %s", i, f.event, f.data)
		}
		types = append(types, f.event)
	}
	return types
}

// sdkEvents reads body with the openai-go SDK's stream decoder, as
// client.Responses.NewStreaming does.
func sdkEvents(t *testing.T, body string) ([]sdk.ResponseStreamEventUnion, error) {
	t.Helper()
	res := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(strings.NewReader(body))}
	s := ssestream.NewStream[sdk.ResponseStreamEventUnion](ssestream.NewDecoder(res), nil)
	var evs []sdk.ResponseStreamEventUnion
	for s.Next() {
		evs = append(evs, s.Current())
	}
	return evs, s.Err()
}

var testCost = ownkey.Charge{AtCost: 240_000, Charged: 12_000, Markup: 50_000, BYOK: true}

var testUsage = ownkey.Usage{PromptTokens: 1200, CompletionTokens: 340, CachedTokens: 1024, ReasoningTokens: 256}

// answer tells w a whole answer: reasoning, text, two tool calls.
func answer(t *testing.T, w *Writer, finish string) {
	t.Helper()
	steps := []error{
		w.Start("chatcmpl-7", "llama-x", 1765552659),
		w.Reasoning(`"Think "`), w.Reasoning(`"\"hard\"."`),
		w.Text(`"Hello, "`), w.Text(`"w\u00f6rld <&>"`), w.Text(`""`),
		w.ToolCall(0, "call_a", "get_weather", `""`), w.ToolArgs(0, `"{\"city\":"`), w.ToolArgs(0, `"\"Paris\"}"`),
		w.ToolCall(1, "call_b", "get_time", `"{}"`),
		w.ToolArgs(7, `"dropped"`),
		w.End(finish, testUsage, &testCost),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
}

func TestWriterStream(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec, true)
	w.Echo(EchoIndex("instructions"), []byte(`"Be brief."`))
	w.Echo(EchoIndex("tools"), []byte(`[{"type":"function","name":"get_weather"}]`))
	w.Stream(strings.NewReader(""), nil)
	answer(t, w, "tool_calls")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	w.Finish()
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	fs := frames(t, rec.Body.String())
	want := []string{
		"response.created", "response.in_progress",
		"response.output_item.added", "response.reasoning_summary_part.added",
		"response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
		"response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
		"response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done", "response.output_item.done",
		"response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
		"response.output_item.added", "response.function_call_arguments.delta",
		"response.function_call_arguments.done", "response.output_item.done",
		"response.function_call_arguments.done", "response.output_item.done",
		"response.completed",
	}
	if got := checkSequence(t, fs); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Deltas are the provider's literals, as they came.
	if d := gjson.Get(fs[12].data, "delta").Raw; d != `"w\u00f6rld <&>"` {
		t.Fatalf("delta %s", d)
	}

	evs, err := sdkEvents(t, rec.Body.String())
	if err != nil || len(evs) != len(want) {
		t.Fatalf("SDK read %d events: %v", len(evs), err)
	}
	created := evs[0].AsResponseCreated().Response
	if created.ID != "resp_chatcmpl-7" || created.Status != "in_progress" || created.Model != "llama-x" || created.CreatedAt != 1765552659 ||
		created.Instructions.OfString != "Be brief." || len(created.Tools) != 1 || gjson.Get(created.RawJSON(), "store").Raw != "false" {
		t.Fatalf("created %s", evs[0].RawJSON())
	}
	if d := evs[12].AsResponseOutputTextDelta(); d.Delta != "wörld <&>" || d.ItemID != "msg_chatcmpl-7_1" || d.OutputIndex != 1 {
		t.Fatalf("text delta %s", evs[12].RawJSON())
	}
	if d := evs[13].AsResponseOutputTextDone(); d.Text != "Hello, wörld <&>" {
		t.Fatalf("text done %s", evs[13].RawJSON())
	}
	if d := evs[6].AsResponseReasoningSummaryTextDone(); d.Text != `Think "hard".` || d.ItemID != "rs_chatcmpl-7_0" {
		t.Fatalf("reasoning done %s", evs[6].RawJSON())
	}
	if a := evs[16].AsResponseOutputItemAdded().Item; a.Type != "function_call" || a.CallID != "call_a" || a.Name != "get_weather" || a.Status != "in_progress" {
		t.Fatalf("call added %s", evs[16].RawJSON())
	}
	if d := evs[21].AsResponseFunctionCallArgumentsDone(); d.Arguments != `{"city":"Paris"}` || d.OutputIndex != 2 || d.ItemID != "fc_chatcmpl-7_2" {
		t.Fatalf("arguments done %s", evs[21].RawJSON())
	}
	if d := evs[23].AsResponseFunctionCallArgumentsDone(); d.Arguments != `{}` || d.OutputIndex != 3 {
		t.Fatalf("second call's arguments %s", evs[23].RawJSON())
	}
	final := evs[len(evs)-1].AsResponseCompleted().Response
	checkWhole(t, &final, "completed")
}

// checkWhole checks a whole response of answer.
func checkWhole(t *testing.T, r *sdk.Response, status string) {
	t.Helper()
	if r.ID != "resp_chatcmpl-7" || string(r.Status) != status || len(r.Output) != 4 || r.OutputText() != "Hello, wörld <&>" {
		t.Fatalf("response %s", r.RawJSON())
	}
	if rs := r.Output[0]; rs.Type != "reasoning" || len(rs.Summary) != 1 || rs.Summary[0].Text != `Think "hard".` {
		t.Fatalf("reasoning item %s", rs.RawJSON())
	}
	for i, want := range []struct{ id, name, args string }{{"call_a", "get_weather", `{"city":"Paris"}`}, {"call_b", "get_time", "{}"}} {
		c := r.Output[2+i]
		if c.Type != "function_call" || c.CallID != want.id || c.Name != want.name || c.Arguments.OfString != want.args || c.Status != "completed" {
			t.Fatalf("call %d: %s", i, c.RawJSON())
		}
	}
	u := r.Usage
	if u.InputTokens != 1200 || u.InputTokensDetails.CachedTokens != 1024 || u.OutputTokens != 340 || u.OutputTokensDetails.ReasoningTokens != 256 || u.TotalTokens != 1540 {
		t.Fatalf("usage %s", u.RawJSON())
	}
	if c := u.JSON.ExtraFields["cost"].Raw(); c != "0.000012" {
		t.Fatalf("cost %s in %s", c, u.RawJSON())
	}
	if c := gjson.Get(u.RawJSON(), "cost_details.upstream_inference_cost").Raw; c != "0.00024" {
		t.Fatalf("upstream cost %s", c)
	}
}

func TestWriterWhole(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec, false)
	answer(t, w, "tool_calls")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Content-Length") != "" && rec.Header().Get("Content-Length") != itoa(rec.Body.Len()) {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	var r sdk.Response
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	checkWhole(t, &r, "completed")
	for h, want := range map[string]string{HeaderCost: "0.000012", HeaderUpstreamCost: "0.00024", HeaderMarkupRate: "0.05", HeaderIsBYOK: "true", HeaderCostEstimated: "false"} {
		if got := rec.Header().Get(h); got != want {
			t.Fatalf("%s: %q, want %q", h, got, want)
		}
	}
	// The members the request did not give: the API's defaults.
	for path, want := range map[string]string{"instructions": "null", "tools": "[]", "tool_choice": `"auto"`, "store": "false", "previous_response_id": "null", "parallel_tool_calls": "true"} {
		if got := gjson.GetBytes(rec.Body.Bytes(), path).Raw; got != want {
			t.Fatalf("%s: %s, want %s", path, got, want)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestWriterIncomplete(t *testing.T) {
	for finish, reason := range map[string]string{"length": "max_output_tokens", "content_filter": "content_filter"} {
		rec := httptest.NewRecorder()
		w := NewWriter(rec, true)
		w.Stream(strings.NewReader(""), nil)
		for _, err := range []error{w.Start("resp_x", "m", 1), w.Text(`"cut"`), w.End(finish, ownkey.Usage{PromptTokens: 3, CompletionTokens: 4}, nil), w.Flush()} {
			if err != nil {
				t.Fatal(err)
			}
		}
		fs := frames(t, rec.Body.String())
		types := checkSequence(t, fs)
		last := fs[len(fs)-1]
		if types[len(types)-1] != "response.incomplete" || gjson.Get(last.data, "response.status").Str != "incomplete" ||
			gjson.Get(last.data, "response.incomplete_details.reason").Str != reason || gjson.Get(last.data, "response.id").Str != "resp_x" ||
			gjson.Get(last.data, "response.output.0.status").Str != "incomplete" || gjson.Get(last.data, "response.usage.cost").Exists() {
			t.Fatalf("%s: %s", finish, last.data)
		}
		item := fs[len(fs)-2]
		if item.event != "response.output_item.done" || gjson.Get(item.data, "item.status").Str != "incomplete" {
			t.Fatalf("%s: %s", finish, item.data)
		}
	}
}

func TestWriterFail(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec, true)
	w.Stream(strings.NewReader(""), nil)
	for _, err := range []error{w.Start("resp_x", "m", 1), w.Text(`"partial"`), w.Fail("stream_truncated", "upstream_error", "the stream broke off"), w.Flush()} {
		if err != nil {
			t.Fatal(err)
		}
	}
	fs := frames(t, rec.Body.String())
	types := checkSequence(t, fs)
	if n := len(types); types[n-2] != "error" || types[n-1] != "response.failed" {
		t.Fatalf("events %v", types)
	}
	e := gjson.Parse(fs[len(fs)-2].data)
	if e.Get("code").Str != "stream_truncated" || e.Get("message").Str != "the stream broke off" || e.Get("error.type").Str != "upstream_error" {
		t.Fatalf("error event %s", e.Raw)
	}
	f := gjson.Parse(fs[len(fs)-1].data)
	if f.Get("response.status").Str != "failed" || f.Get("response.error.code").Str != "stream_truncated" || f.Get("response.output.0.content.0.text").Str != "partial" ||
		f.Get("response.output.0.status").Str != "incomplete" {
		t.Fatalf("failed event %s", f.Raw)
	}
	// The SDK reads the error event as the stream's error.
	evs, err := sdkEvents(t, rec.Body.String())
	var se *ssestream.StreamError
	if !asStreamError(err, &se) || !strings.Contains(se.Message, "the stream broke off") || len(evs) != len(fs)-2 {
		t.Fatalf("SDK: %d events, %v", len(evs), err)
	}
	// Not streaming, there is nothing to fail: the error is returned.
	if err := NewWriter(httptest.NewRecorder(), false).Fail("x", "y", "z"); err == nil {
		t.Fatal("Fail on a whole answer")
	}
}

func asStreamError(err error, se **ssestream.StreamError) bool {
	e, ok := err.(*ssestream.StreamError)
	*se = e
	return ok
}

// A relayed stream: the provider's events as they came, named; a failure
// Core adds is an error event numbered after the provider's last (or
// after as many as were relayed, when the last has no number).
func TestWriterRelay(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec, true)
	w.Stream(strings.NewReader(""), nil)
	ev1 := `{"type":"response.created","sequence_number":0,"response":{"id":"resp_1"}}`
	ev2 := `{"type":"response.output_text.delta","sequence_number":1,"delta":"hi"}`
	for _, err := range []error{w.RelayEvent([]byte("response.created"), []byte(ev1)), w.RelayEvent([]byte("response.output_text.delta"), []byte(ev2)),
		w.RelayEvent(nil, []byte("line one\nline two")), w.Fail("stream_truncated", "upstream_error", "cut"), w.Flush()} {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := "event: response.created\ndata: " + ev1 + "\n\nevent: response.output_text.delta\ndata: " + ev2 + "\n\ndata: line one\ndata: line two\n\n" +
		`event: error` + "\n" + `data: {"type":"error","sequence_number":3,"code":"stream_truncated","message":"cut","param":null,"error":{"type":"upstream_error","code":"stream_truncated","message":"cut","param":null}}` + "\n\n"
	if got := rec.Body.String(); got != want {
		t.Fatalf("relayed\n%q\nwant\n%q", got, want)
	}

	rec = httptest.NewRecorder()
	w = NewWriter(rec, false)
	body := `{"id":"resp_1","object":"response"}`
	if err := w.RelayBody([]byte(body), &ownkey.Charge{AtCost: 1_000_000_000, Charged: 50_000_000, Markup: 50_000, BYOK: true, Estimated: true}); err != nil {
		t.Fatal(err)
	}
	if rec.Body.String() != body || rec.Header().Get(HeaderCost) != "0.05" || rec.Header().Get(HeaderUpstreamCost) != "1" || rec.Header().Get(HeaderCostEstimated) != "true" {
		t.Fatalf("relayed body %q headers %v", rec.Body.String(), rec.Header())
	}
	// Without a cost (billing off), no cost headers.
	rec = httptest.NewRecorder()
	_ = NewWriter(rec, false).RelayBody([]byte(body), nil)
	if rec.Header().Get(HeaderCost) != "" {
		t.Fatalf("cost header without a cost: %v", rec.Header())
	}
}

// A writer reused from the pool writes the next answer as a new one.
func TestWriterReuse(t *testing.T) {
	w := NewWriter(httptest.NewRecorder(), true)
	w.Stream(strings.NewReader(""), nil)
	w.Echo(EchoIndex("instructions"), []byte(`"first"`))
	answer(t, w, "stop")
	rel := w.Released()
	w2 := &rel
	rec := httptest.NewRecorder()
	w2.Reset(rec, false)
	for _, err := range []error{w2.Start("resp_2", "m", 2), w2.Text(`"second"`), w2.End("stop", ownkey.Usage{PromptTokens: 1, CompletionTokens: 1}, nil)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	var r sdk.Response
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.ID != "resp_2" || len(r.Output) != 1 || r.OutputText() != "second" || gjson.GetBytes(rec.Body.Bytes(), "instructions").Raw != "null" {
		t.Fatalf("second answer %s", rec.Body.String())
	}
}

// What the writer keeps of an answer is bounded: past MaxKept a stream
// ends with an error event and response.failed, and the call fails so
// that the adapter stops; a whole answer is the client's 502.
func TestWriterMaxKept(t *testing.T) {
	defer func(n int) { MaxKept = n }(MaxKept)
	MaxKept = 2*itemCost + 20 // two items, 20 bytes of text
	rec := httptest.NewRecorder()
	w := NewWriter(rec, true)
	w.Stream(strings.NewReader(""), nil)
	if err := w.Start("resp_x", "m", 1); err != nil {
		t.Fatal(err)
	}
	if err := w.Text(`"0123456789"`); err != nil {
		t.Fatal(err)
	}
	if err := w.ToolCall(0, "c", "f", `"0123456789"`); err != ErrAnswerTooLarge {
		t.Fatalf("past the bound: %v", err)
	}
	if err := w.Text(`"more"`); err != ErrAnswerTooLarge {
		t.Fatalf("after: %v", err)
	}
	_ = w.Flush()
	fs := frames(t, rec.Body.String())
	types := checkSequence(t, fs)
	if n := len(types); types[n-2] != "error" || types[n-1] != "response.failed" || strings.Count(rec.Body.String(), "event: error") != 1 ||
		gjson.Get(fs[n-2].data, "code").Str != "response_too_large" {
		t.Fatalf("events %v\n%s", types, rec.Body.String())
	}
	w = NewWriter(httptest.NewRecorder(), false)
	_ = w.Start("resp_x", "m", 1)
	if err := w.Text(`"` + strings.Repeat("x", 300) + `"`); err != ErrAnswerTooLarge || ownkey.StatusOf(err) != 502 {
		t.Fatalf("whole: %v", err)
	}
	// Items count too: many tiny ones cannot grow the table unbounded.
	w = NewWriter(httptest.NewRecorder(), false)
	_ = w.Start("resp_x", "m", 1)
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		if err = w.Text(`"a"`); err == nil {
			err = w.Reasoning(`"b"`)
		}
	}
	if err != ErrAnswerTooLarge || w.nItems > 2 {
		t.Fatalf("%d items: %v", w.nItems, err)
	}
}
