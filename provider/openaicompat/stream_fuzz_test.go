package openaicompat

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
)

// FuzzStreamRelay: whatever a provider streams, the relay does not panic
// or hang, passes no key on in an error event (plain or \u-escaped; other
// events are the model's output, relayed as they come), and ends the
// client's stream with [DONE] or an error event; a priced answer's usage
// chunk carries its cost. dropEmpty runs it with Adapter.DropEmptyChunks
// (Azure's).
func FuzzStreamRelay(f *testing.F) {
	f.Add([]byte(providertest.Frames(oaHello, oaFinish, oaUsage, done)), true, false)
	f.Add([]byte(providertest.Frames(oaHello, `{"error":{"message":"bad key `+providertest.EscapedKey(testKey)+`"}}`)), false, false)
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1}}\r\n\r\n"), true, false)
	f.Add([]byte("data: "+strings.Repeat("[", 300)+"\n\n"), false, false)
	f.Add([]byte("data: {\"usage\":{\"prompt_tokens\":"+strings.Repeat("[", 300)+"\n\n"), true, false)
	f.Add([]byte(providertest.Frames(promptFilterChunk, oaHello, oaFinish, oaUsage, done)), true, true)
	f.Add([]byte(providertest.Frames(promptFilterChunk, `{"choices":[]}`)), false, true)
	f.Fuzz(func(t *testing.T, raw []byte, includeUsage, dropEmpty bool) {
		req := chatRequest(t, "http://unused", func(r *ownkey.ChatRequest) { r.IncludeUsage = includeUsage }, withPricer(&testPricer{}))
		res := &ownkey.ChatResult{}
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(raw))}
		rec := httptest.NewRecorder()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if _, err := respondWith(ctx, cancel, req, res, resp, providertest.Writer(t, rec, req), dropEmpty); err != nil {
			t.Fatal(err)
		}
		got := rec.Body.String()
		events := strings.Split(strings.TrimSuffix(got, "\n\n"), "\n\n")
		if res.ErrorCode != "" && providertest.Leaks(events[len(events)-1], testKey) {
			t.Fatalf("the key reached the client in the error event:\n%s", got)
		}
		last := events[len(events)-1]
		if last != "data: [DONE]" && !strings.HasPrefix(last, `data: {"error":`) && res.ErrorCode == "" {
			t.Fatalf("stream ends with neither [DONE] nor an error: %q", last)
		}
		if res.Priced && includeUsage && (len(events) < 2 || !strings.Contains(events[len(events)-2], `,"cost_details":{"upstream_inference_cost":`)) {
			t.Fatalf("a priced answer's usage chunk without its cost:\n%s", got)
		}
	})
}

// TestDeepChunksDoNotRecurse: the relay's readers of provider JSON (the
// chunk scanner, ParseUsage's gjson walk) are iterative, so a chunk nested
// millions deep is read (or given up on) without a stack overflow.
func TestDeepChunksDoNotRecurse(t *testing.T) {
	deep := strings.Repeat("[", 4<<20)
	x := &exchange{req: &ownkey.ChatRequest{Stream: true}, res: &ownkey.ChatResult{}}
	if ci := x.inspect([]byte(`{"choices":` + deep)); ci.ok {
		t.Fatal("an unterminated deep chunk was read as whole")
	}
	if ci := x.inspect([]byte(`{"usage":{"prompt_tokens":1,"x":` + deep + strings.Repeat("]", 4<<20) + `}}`)); !ci.ok || ci.usageEnd == 0 {
		t.Fatalf("deep usage chunk: %+v", ci)
	}
	if u := ParseUsage([]byte(`{"prompt_tokens":` + deep)); !u.IsZero() {
		t.Fatalf("usage from garbage: %+v", u)
	}
}
