package anthropic

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	messages "github.com/ownkey/ownkey/dialect/anthropic"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/provider/providertest"
)

// The pass-through (Relay): an Anthropic client's request and Anthropic's
// answer, as bytes, with dialect/anthropic's Writer as the client side.

// messagesBody is an Anthropic client's request, with the routing edits
// made: as the Relay gets it.
const messagesBody = `{"model":"claude-x","max_tokens":1024,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}],"stream":true}`

func relayRequest(t testing.TB, base string, opts ...reqOpt) *ownkey.ChatRequest {
	r := chatRequest(t, base, withBody(messagesBody))
	r.Header = http.Header{"Anthropic-Version": {"2023-06-01"}, "Anthropic-Beta": {"interleaved-thinking-2025-05-14", "context-1m-2025-08-07"}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// runRelay sends req through the Relay to a Messages client.
func runRelay(t *testing.T, req *ownkey.ChatRequest) (*ownkey.ChatResult, *httptest.ResponseRecorder, error) {
	t.Helper()
	rec := httptest.NewRecorder()
	w := messages.NewWriter(rec, req.Stream)
	defer w.Finish()
	adapter := Family{Adapter: testAdapter()}.Passthrough(ownkey.DialectAnthropicMessages)
	res, err := adapter.Chat(context.Background(), req, w)
	return res, rec, err
}

func TestPassthroughOnlyForMessagesClients(t *testing.T) {
	f := Family{Adapter: testAdapter()}
	if f.Passthrough(ownkey.DialectOpenAIChat) != nil || (Family{}).Passthrough(ownkey.DialectAnthropicMessages) != nil {
		t.Fatal("a pass-through for another dialect, or without an adapter")
	}
	if _, ok := f.Passthrough(ownkey.DialectAnthropicMessages).(*Relay); !ok {
		t.Fatal("no Relay for Messages clients")
	}
}

// thinkingStream has what a translation would lose: a signature, redacted
// thinking, a server tool's blocks, a citation; and Anthropic's padding.
var thinkingStream = []string{msgStart, ping,
	`{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hmm \"quoted\"."}   }`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCkYIBRgCIkB=="}}`,
	blockStop(0),
	`{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3va=="}}`,
	blockStop(1),
	`{"type":"content_block_start","index":2,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}`,
	`{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"query\": \"x\"}"}}`,
	blockStop(2),
	textStart(3), textDelta(3, "Café\n"),
	`{"type":"content_block_delta","index":3,"delta":{"type":"citations_delta","citation":{"type":"web_search_result_location","url":"https://e.com","title":"E","encrypted_index":"Eo8B","cited_text":"c"}}}`,
	blockStop(3),
	toolStart(4, "toolu_a", "get_weather"), jsonDelta(4, ""), jsonDelta(4, `{"city": "Paris"}`), blockStop(4),
	msgDelta("tool_use", `{"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":50,"output_tokens":75,"server_tool_use":{"web_search_requests":1}}`),
	msgStop}

// A stream passes through byte for byte, its usage read on the way.
func TestRelayStream(t *testing.T) {
	raw := events(thinkingStream...)
	up := providertest.NewUpstream(t, sseReply(raw))
	res, rec, err := runRelay(t, relayRequest(t, up.URL))
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Body.String(); got != raw {
		t.Fatalf("client got\n%s\nAnthropic sent\n%s", got, raw)
	}
	got := up.Only(t)
	if string(got.Body) != messagesBody || got.Path != "/v1/messages" || got.Header.Get("X-Api-Key") != testKey ||
		got.Header.Get("Anthropic-Version") != "2023-06-01" || strings.Join(got.Header.Values("Anthropic-Beta"), ",") != "interleaved-thinking-2025-05-14,context-1m-2025-08-07" ||
		got.Header.Get("Accept") != "text/event-stream" {
		t.Fatalf("upstream got %s %v\n%s", got.Path, got.Header, got.Body)
	}
	want := ownkey.Usage{PromptTokens: 162, CompletionTokens: 75, CachedTokens: 50, CacheWriteTokens: 100, Source: ownkey.UsageFromProvider}
	if res.Usage != want || res.FinishReason != "tool_calls" || res.ModelServed != "claude-x-1" || res.ErrorCode != "" || !res.Started || res.Status != 200 {
		t.Fatalf("result %+v", res)
	}
	// Output counted for an estimate: thinking, text, the tool names and
	// input fragments.
	if res.OutputBytes != int64(len(`Hmm "quoted".`)+len("{\"query\": \"x\"}")+len("Café\n")+len("get_weather")+len(`{"city": "Paris"}`)) {
		t.Fatalf("output counted %d bytes: %q", res.OutputBytes, res.OutputSample)
	}
}

// Without the client's headers, the family's anthropic-version is sent;
// the client's never replace the key.
func TestRelayHeaders(t *testing.T) {
	up := providertest.NewUpstream(t, sseReply(events(msgStart, msgDelta("end_turn", `{"output_tokens":1}`), msgStop)))
	req := relayRequest(t, up.URL)
	req.Header = nil
	if _, _, err := runRelay(t, req); err != nil {
		t.Fatal(err)
	}
	if h := up.Only(t).Header; h.Get("Anthropic-Version") != APIVersion || h.Get("Anthropic-Beta") != "" {
		t.Fatalf("headers %v", h)
	}
	up = providertest.NewUpstream(t, sseReply(events(msgStart, msgDelta("end_turn", `{"output_tokens":1}`), msgStop)))
	req = relayRequest(t, up.URL)
	req.Header.Set("X-Api-Key", "sk-ownkey-client-key")
	req.Header.Set("Authorization", "Bearer sk-ownkey-client-key")
	if _, _, err := runRelay(t, req); err != nil {
		t.Fatal(err)
	}
	if h := up.Only(t).Header; h.Get("X-Api-Key") != testKey || h.Get("Authorization") != "" {
		t.Fatalf("headers %v", h)
	}
}

// A whole message passes through with its cost in headers.
func TestRelayComplete(t *testing.T) {
	msg := `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x-1","content":[{"type":"thinking","thinking":"t","signature":"S=="},` +
		`{"type":"text","text":"Hello"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1000000,"cache_read_input_tokens":0,"output_tokens":500000}}`
	up := providertest.NewUpstream(t, providertest.JSONReply(200, msg))
	p := &fixedPricer{charge: ownkey.Charge{AtCost: 3_000_000, Charged: 150_000, Markup: 50_000, BYOK: true}}
	res, rec, err := runRelay(t, relayRequest(t, up.URL, nonStream, func(r *ownkey.ChatRequest) { r.Pricer = p }))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Body.String() != msg || rec.Code != 200 {
		t.Fatalf("client got %d %s", rec.Code, rec.Body)
	}
	if h := rec.Header(); h.Get(openai.HeaderCost) != "0.00015" || h.Get(openai.HeaderUpstreamCost) != "0.003" || h.Get(openai.HeaderIsBYOK) != "true" {
		t.Fatalf("cost headers %v", h)
	}
	if p.calls != 1 || res.Usage.PromptTokens != 1_000_000 || res.Usage.CompletionTokens != 500_000 || res.FinishReason != "stop" || res.ModelServed != "claude-x-1" {
		t.Fatalf("result %+v, priced %d times", res, p.calls)
	}
	if h := up.Only(t).Header; h.Get("Accept") != "application/json" {
		t.Fatalf("headers %v", h)
	}
}

// fixedPricer prices every answer at one charge, as the chat service's
// Pricer fixes a charge once.
type fixedPricer struct {
	charge ownkey.Charge
	calls  int
}

func (p *fixedPricer) Price(_ *ownkey.ChatRequest, res *ownkey.ChatResult) ownkey.Charge {
	if !res.Priced {
		p.calls++
		res.Charge, res.Priced = p.charge, true
	}
	return res.Charge
}

// Failures: Anthropic's errors become the client's, with their status;
// mid-stream errors are relayed less any echo of the key; a stream cut
// short ends with an error event.
func TestRelayFailures(t *testing.T) {
	t.Run("error answer", func(t *testing.T) {
		up := providertest.NewUpstream(t, providertest.JSONReply(529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded `+testKey+`"}}`, "Retry-After", "7"))
		res, _, err := runRelay(t, relayRequest(t, up.URL))
		var e *ownkey.Error
		if !errors.As(err, &e) || e.Type != "overloaded_error" || ownkey.StatusOf(e) != 503 || strings.Contains(e.Message, testKey) || e.RetryAfter != "7" || res.Started {
			t.Fatalf("err %+v, result %+v", err, res)
		}
		if typ, status := messages.ErrorFor(ownkey.StatusOf(e), e.Type); typ != "overloaded_error" || status != 529 {
			t.Fatalf("an Anthropic client would get %d %s", status, typ)
		}
	})
	t.Run("error event", func(t *testing.T) {
		errEvent := `{"type":"error","error":{"type":"api_error","message":"bad ` + providertest.EscapedKey(testKey) + ` and ` + testKey + `"}}`
		up := providertest.NewUpstream(t, sseReply(events(msgStart, textStart(0), textDelta(0, "partial"), errEvent)))
		res, rec, err := runRelay(t, relayRequest(t, up.URL))
		if err != nil {
			t.Fatal(err)
		}
		body := rec.Body.String()
		if res.ErrorCode != "stream_error" || providertest.Leaks(body, testKey) || !strings.HasSuffix(body, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"bad [REDACTED] and [REDACTED]\"}}\n\n") ||
			!strings.HasPrefix(body, events(msgStart, textStart(0), textDelta(0, "partial"))) {
			t.Fatalf("result %+v, client got\n%s", res, body)
		}
	})
	t.Run("cut short", func(t *testing.T) {
		up := providertest.NewUpstream(t, sseReply(events(msgStart, textStart(0), textDelta(0, "partial"))))
		res, rec, err := runRelay(t, relayRequest(t, up.URL))
		if err != nil {
			t.Fatal(err)
		}
		body := rec.Body.String()
		if res.ErrorCode != "stream_truncated" || res.FinishReason != "" || res.Usage.PromptTokens != 12 || res.OutputBytes != int64(len("partial")) ||
			!strings.HasSuffix(body, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Anthropic ended the stream before the response was complete\"}}\n\n") {
			t.Fatalf("result %+v, client got\n%s", res, body)
		}
	})
	t.Run("error in a 200", func(t *testing.T) {
		up := providertest.NewUpstream(t, providertest.JSONReply(200, `{"type":"error","error":{"type":"api_error","message":"oops"}}`))
		res, rec, err := runRelay(t, relayRequest(t, up.URL, nonStream))
		if ownkey.ErrorCode(err) != ownkey.EUPSTREAM || res.Started || rec.Body.Len() != 0 {
			t.Fatalf("err %v, result %+v, body %s", err, res, rec.Body)
		}
	})
	t.Run("not a message", func(t *testing.T) {
		for _, body := range []string{`{"type":"completion"}`, `[1]`, `{"type":"message"`, strings.Repeat("[", 200) + strings.Repeat("]", 200)} {
			up := providertest.NewUpstream(t, providertest.JSONReply(200, body))
			res, rec, err := runRelay(t, relayRequest(t, up.URL, nonStream))
			if ownkey.ErrorCode(err) != ownkey.EUPSTREAM || res.Started || rec.Body.Len() != 0 {
				t.Fatalf("%s: err %v, result %+v", body, err, res)
			}
		}
	})
	t.Run("JSON for a stream", func(t *testing.T) {
		up := providertest.NewUpstream(t, providertest.JSONReply(200, `{"type":"error","error":{"type":"overloaded_error","message":"busy"}}`))
		_, _, err := runRelay(t, relayRequest(t, up.URL))
		var e *ownkey.Error
		if !errors.As(err, &e) || e.Type != "overloaded_error" || !strings.Contains(e.Message, "busy") {
			t.Fatalf("err %v", err)
		}
	})
}

// count_tokens: Anthropic's exact count, with the client's headers; its
// errors are the client's.
func TestCountTokens(t *testing.T) {
	const body = `{"model":"claude-x","messages":[{"role":"user","content":"hi"}]}`
	up := providertest.NewUpstream(t, providertest.JSONReply(200, `{"input_tokens":42}`),
		providertest.JSONReply(401, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key `+testKey+`"}}`),
		providertest.JSONReply(200, `{"tokens":42}`),
		providertest.JSONReply(200, `{"input_tokens":42,"pad":"`+strings.Repeat("x", 1<<20)+`"}`))
	req := relayRequest(t, up.URL, withBody(body), nonStream)
	fam := Family{Adapter: testAdapter()}
	n, err := fam.CountTokens(context.Background(), req)
	if err != nil || n != 42 {
		t.Fatalf("count %d, %v", n, err)
	}
	got := up.Requests()[0]
	if got.Path != "/v1/messages/count_tokens" || string(got.Body) != body || got.Header.Get("X-Api-Key") != testKey || got.Header.Get("Anthropic-Beta") == "" {
		t.Fatalf("upstream got %s %v %s", got.Path, got.Header, got.Body)
	}
	_, err = fam.CountTokens(context.Background(), relayRequest(t, up.URL, withBody(body), nonStream))
	var e *ownkey.Error
	if !errors.As(err, &e) || ownkey.StatusOf(e) != 401 || e.Type != "authentication_error" || strings.Contains(e.Message, testKey) {
		t.Fatalf("err %+v", err)
	}
	if _, err := fam.CountTokens(context.Background(), relayRequest(t, up.URL, withBody(body), nonStream)); ownkey.ErrorCode(err) != ownkey.EUPSTREAM {
		t.Fatalf("an answer without input_tokens: %v", err)
	}
	// The answer is read up to provider.MaxErrorBody (1 MiB): a longer one
	// is not a count.
	if _, err := fam.CountTokens(context.Background(), relayRequest(t, up.URL, withBody(body), nonStream)); ownkey.ErrorCode(err) != ownkey.EUPSTREAM {
		t.Fatalf("an answer over the limit: %v", err)
	}
}
