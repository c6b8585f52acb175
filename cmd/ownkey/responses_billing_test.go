package main

import (
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
)

// OpenAI Responses, reasoning and cached tokens, through the whole path
// (the golden case of the root package's TestQuoteChargeGolden): input
// 1200 of which 1024 cached, output 340 of which 256 reasoning, at gpt-5's
// built-in prices (reasoning at the output rate): 176×1.25 + 1024×0.125 +
// 340×10 = 3748 µ$ at cost; 5% = 187.4 µ$ charged.
func TestBillingGoldenResponses(t *testing.T) {
	gpt5 := ownkey.Prices{Input: usd("1.25"), CachedInput: usd("0.125"), Output: usd("10")}
	whole := `{"id":"resp_1","object":"response","created_at":1765552659,"status":"completed","model":"gpt-5-2025-08-07","output":[` +
		`{"id":"rs_1","type":"reasoning","summary":[]},{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi"}]}],"usage":` + respUsage + `}`
	stream := providertest.NamedFrames(respLifecycle("response.created", "in_progress", "null"),
		`{"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"Hi"}`,
		respLifecycle("response.completed", "completed", respUsage))
	up := providertest.NewUpstream(t, providertest.JSONReply(200, whole), providertest.SSEReply(stream))
	g := newTestGatewayWith(t, map[string]string{"OWNKEY_OPENAI_RESPONSES_BASE_URL": up.URL + "/v1", "OWNKEY_STARTING_CREDIT_USD": "10"}, nil)
	if q := g.app.prices.Quote("openai-responses", "gpt-5", "gpt-5"); q.AtCost != gpt5 || q.Basis != ownkey.PriceCatalog {
		t.Fatalf("the price book quotes openai-responses/gpt-5 at %+v (%s); the test assumes %+v", q.AtCost, q.Basis, gpt5)
	}
	id, key := g.createAccount("payer")
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "openai-responses", "key": responsesKey}); r.Status != 200 {
		t.Fatalf("store key: %d %s", r.Status, r.Body)
	}
	const msgs = `"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":1000`
	// gpt-5 with only an openai-responses key: routed there.
	w := g.chatBody(t, key, `{"model":"gpt-5",`+msgs+`}`)
	u := usageOf(t, w)
	checkCost(t, w, u, "0.0001874", "0.003748")
	details, _ := u["completion_tokens_details"].(map[string]any)
	if u["prompt_tokens"] != 1200.0 || u["completion_tokens"] != 340.0 || details["reasoning_tokens"] != 256.0 {
		t.Fatalf("usage %v", u)
	}
	s := g.chatBody(t, key, `{"model":"gpt-5","stream":true,"stream_options":{"include_usage":true},`+msgs+`}`)
	checkCost(t, s, usageOf(t, s), "0.0001874", "0.003748")
	if !strings.HasSuffix(string(s.Body), "data: [DONE]\n\n") {
		t.Fatalf("stream %s", s.Body)
	}
	checkRecords(t, g, id, 2, 3_748_000, 187_400)
	for _, r := range g.usageRecords(t, id, 2) {
		if r.Provider != "openai-responses" || r.Usage != respWantUsage {
			t.Fatalf("record %+v", r)
		}
	}
	if b := g.balance(t, key); b != "9.999625200" {
		t.Fatalf("balance %s after two requests of $0.0001874", b)
	}
}
