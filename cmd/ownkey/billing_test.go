package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/billing"
	"github.com/ownkey/ownkey/provider/providertest"
	"github.com/ownkey/ownkey/usage"
)

// Billing through the whole path, with a price book of known prices: the
// charges are worked by hand from the protocol digest's token formulas
// (../shared/reference/provider-protocols.md), as in the root package's
// golden cases.

func usd(dollarsPerMTok string) ownkey.Price {
	n, err := ownkey.ParseUSD("price", dollarsPerMTok)
	if err != nil {
		panic(err)
	}
	return ownkey.PriceOf(n)
}

var (
	miniPrices   = ownkey.Prices{Input: usd("0.15"), CachedInput: usd("0.075"), Output: usd("0.60")}
	sonnetPrices = ownkey.Prices{Input: usd("3"), CachedInput: usd("0.30"), CacheWrite: usd("3.75"), Output: usd("15")}
)

// billedGateway is a gateway with the built-in prices (miniPrices and
// sonnetPrices are theirs) and the given starting
// credit, its OpenAI and Anthropic base URLs at upstream, and a metered
// account holding keys for both.
func billedGateway(t *testing.T, upstream, credit string) (*testGateway, string, int64) {
	g := newTestGatewayWith(t, map[string]string{
		"OWNKEY_OPENAI_BASE_URL": upstream + "/v1", "OWNKEY_ANTHROPIC_BASE_URL": upstream,
		"OWNKEY_STARTING_CREDIT_USD": credit,
	}, nil)
	// The golden charges below are at these prices: the built-in ones.
	for _, c := range []struct {
		provider, model string
		want            ownkey.Prices
	}{{"openai", "gpt-4o-mini", miniPrices}, {"anthropic", "claude-sonnet-4-5", sonnetPrices}} {
		if q := g.app.prices.Quote(c.provider, c.model, c.model); q.AtCost != c.want || q.Basis != ownkey.PriceCatalog {
			t.Fatalf("the price book quotes %s/%s at %+v (%s); the tests assume %+v", c.provider, c.model, q.AtCost, q.Basis, c.want)
		}
	}
	id, key := g.createAccount("payer")
	for p, k := range map[string]string{"openai": "sk-test-openai-0123456789abcdef", "anthropic": "sk-ant-test-0123456789abcdef"} {
		if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": p, "key": k}); r.Status != 200 {
			t.Fatalf("store %s key: %d %s", p, r.Status, r.Body)
		}
	}
	return g, key, id
}

// chatPost is a BYOK chat request with body to the gateway at base.
func chatPost(ctx context.Context, base, key, body string) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("x-use-byok", "true")
	return req
}

// chatBody posts a chat body and returns the response.
func (g *testGateway) chatBody(t *testing.T, key, body string) *response {
	t.Helper()
	res, err := http.DefaultClient.Do(chatPost(t.Context(), g.srv.URL, key, body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// usageOf is the usage object of a whole answer, or of a stream's usage
// chunk.
func usageOf(t *testing.T, r *response) map[string]any {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("chat: %d %s", r.Status, r.Body)
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/event-stream") {
		return r.json(t)["usage"].(map[string]any)
	}
	sc := bufio.NewScanner(strings.NewReader(string(r.Body)))
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var chunk map[string]any
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			t.Fatalf("chunk %s: %v", data, err)
		}
		if u, ok := chunk["usage"].(map[string]any); ok {
			return u
		}
	}
	t.Fatalf("no usage chunk in %s", r.Body)
	return nil
}

// checkCost checks the cost members of a usage object as the client
// decoded them, and that the number is written exactly.
func checkCost(t *testing.T, r *response, u map[string]any, cost, atCost string) {
	t.Helper()
	details, _ := u["cost_details"].(map[string]any)
	if u["is_byok"] != true || u["is_estimated"] != false || details == nil || details["markup_rate"] != 0.05 {
		t.Fatalf("usage %v", u)
	}
	if !strings.Contains(string(r.Body), `"cost":`+cost+`,`) || !strings.Contains(string(r.Body), `"upstream_inference_cost":`+atCost+`,`) {
		t.Fatalf("cost %s at cost %s not written exactly in:\n%s", cost, atCost, r.Body)
	}
}

// checkRecords checks the stored ledger entries: each charged, settled
// against a lease, holding at least what it was charged.
func checkRecords(t *testing.T, g *testGateway, accountID int64, n int, atCost, charged ownkey.NanoUSD) {
	t.Helper()
	for _, r := range g.usageRecords(t, accountID, n) {
		c := r.Charge
		if c.AtCost != atCost || c.Charged != charged || c.Markup != ownkey.DefaultBYOKMarkup || c.Basis != ownkey.PriceCatalog ||
			!c.BYOK || r.Settlement != ownkey.SettlementSettled || r.LeaseID == 0 || r.Reserved < charged {
			t.Fatalf("record %s: %+v; want %d charged of %d at cost, settled against a lease", r.RequestID, r, charged, atCost)
		}
	}
}

func (g *testGateway) balance(t *testing.T, key string) string {
	t.Helper()
	r := g.do("GET", "/api/v1/balance", key, nil)
	if r.Status != 200 {
		t.Fatalf("balance: %d %s", r.Status, r.Body)
	}
	var b struct {
		USD string `json:"usd_balance"`
	}
	if err := json.Unmarshal(r.Body, &b); err != nil || len(r.json(t)) != 1 {
		t.Fatalf("balance body %s", r.Body)
	}
	return b.USD
}

// OpenAI-compatible, cached tokens: prompt_tokens 1000 of which 400
// cached, completion 200: 600×0.15 + 400×0.075 + 200×0.60 = 240 µ$ at cost;
// 5% = 12 µ$ charged.
func TestBillingGoldenOpenAICompatible(t *testing.T) {
	const usageJSON = `{"prompt_tokens":1000,"completion_tokens":200,"total_tokens":1200,"prompt_tokens_details":{"cached_tokens":400}}`
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if strings.Contains(string(body), `"stream":true`) {
			sseReply([]string{
				`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}`,
				`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
				`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":` + usageJSON + `}`,
				`data: [DONE]`,
			}, "\n\n")(w, r, body)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":`+usageJSON+`}`)
	})
	g, key, id := billedGateway(t, up.srv.URL, "10")
	const msgs = `"messages":[{"role":"user","content":"hi"}],"max_tokens":256`
	wholeBody := `{"model":"gpt-4o-mini",` + msgs + `}`
	streamBody := `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},` + msgs + `}`

	whole := g.chatBody(t, key, wholeBody)
	checkCost(t, whole, usageOf(t, whole), "0.000012", "0.00024")
	// The provider's answer is relayed as it came, the cost members added.
	if !strings.HasPrefix(string(whole.Body), `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[`) {
		t.Fatalf("answer rewritten: %s", whole.Body)
	}
	stream := g.chatBody(t, key, streamBody)
	checkCost(t, stream, usageOf(t, stream), "0.000012", "0.00024")

	checkRecords(t, g, id, 2, 240_000, 12_000)
	if b := g.balance(t, key); b != "9.999976000" {
		t.Fatalf("balance %s after two requests of $0.000012", b)
	}
	// What was held for them: the body's bytes (plus the overhead) as
	// prompt tokens and max_tokens of output, at the model's price.
	q := ownkey.Quote{AtCost: miniPrices, MarkupBase: miniPrices}
	held := func(body string) ownkey.NanoUSD {
		return q.Charge(billing.Bound(len(body), 256, miniPrices), ownkey.DefaultBYOKMarkup).Charged
	}
	for _, r := range g.usageRecords(t, id, 2) {
		want := held(wholeBody)
		if r.Stream {
			want = held(streamBody)
		}
		if r.Reserved != want {
			t.Fatalf("held %d, want %d", r.Reserved, want)
		}
	}
}

// Anthropic, cache write and read: input_tokens 100, cache_creation 1000,
// cache_read 2000, output 500 (prompt 3100 in OpenAI's meaning):
// 100×3 + 2000×0.30 + 1000×3.75 + 500×15 = 12150 µ$ at cost; 5% = 607.5 µ$.
func TestBillingGoldenAnthropic(t *testing.T) {
	const use = `"input_tokens":100,"cache_creation_input_tokens":1000,"cache_read_input_tokens":2000`
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if strings.Contains(string(body), `"stream":true`) {
			sseReply([]string{
				"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{" + use + ",\"output_tokens\":1}}}",
				"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Bonjour\"}}",
				"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}",
				"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":500}}",
				"event: message_stop\ndata: {\"type\":\"message_stop\"}",
			}, "\n\n")(w, r, body)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Bonjour"}],"stop_reason":"end_turn","usage":{`+use+`,"output_tokens":500}}`)
	})
	g, key, id := billedGateway(t, up.srv.URL, "10")
	const msgs = `"messages":[{"role":"user","content":"hi"}],"max_tokens":1000`
	whole := g.chatBody(t, key, `{"model":"claude-sonnet-4-5",`+msgs+`}`)
	u := usageOf(t, whole)
	checkCost(t, whole, u, "0.0006075", "0.01215")
	if u["prompt_tokens"] != 3100.0 || u["completion_tokens"] != 500.0 {
		t.Fatalf("usage %v", u)
	}
	stream := g.chatBody(t, key, `{"model":"claude-sonnet-4-5","stream":true,"stream_options":{"include_usage":true},`+msgs+`}`)
	checkCost(t, stream, usageOf(t, stream), "0.0006075", "0.01215")
	checkRecords(t, g, id, 2, 12_150_000, 607_500)
	if b := g.balance(t, key); b != "9.998785000" {
		t.Fatalf("balance %s after two requests of $0.0006075", b)
	}
}

// A metered account at zero gets 402 in OpenAI's envelope, and the
// provider is not called; an unmetered one is served, priced, and its
// balance untouched; a credit makes the first one chat.
func TestBillingMeteredAndUnmetered(t *testing.T) {
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1000,"completion_tokens":200,"prompt_tokens_details":{"cached_tokens":400}}}`)
	})
	g, key, id := billedGateway(t, up.srv.URL, "0")
	const body = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":256}`
	r := g.chatBody(t, key, body)
	msg, typ, code, _ := errorOf(t, r)
	if r.Status != 402 || code != "insufficient_balance" || !strings.Contains(msg, "needs $0.0000") || !strings.Contains(msg, "has $0.000000000") {
		t.Fatalf("metered at zero: %d %s (%s)", r.Status, r.Body, typ)
	}
	up.mu.Lock()
	calls := len(up.reqs)
	up.mu.Unlock()
	if calls != 0 {
		t.Fatal("the provider was called for a refused request")
	}
	if b := g.balance(t, key); b != "0.000000000" {
		t.Fatalf("balance %s", b)
	}
	// POST /api/check-balance answers the same, with x-api-key too.
	req, _ := http.NewRequest("POST", g.srv.URL+"/api/check-balance", nil)
	req.Header.Set("x-api-key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != `{"usd_balance":"0.000000000"}`+"\n" {
		t.Fatalf("check-balance: %d %s", res.StatusCode, b)
	}

	// Unmetered (the admin API's "metered": false): served, priced, not
	// charged.
	cr := g.do("POST", "/api/admin/accounts", g.adminKey, map[string]any{"name": "free", "metered": false}, true)
	var created struct {
		Account struct {
			ID      int64
			Metered bool
		}
		APIKey struct{ Key string } `json:"api_key"`
	}
	if err := json.Unmarshal(cr.Body, &created); err != nil || cr.Status != 201 || created.Account.Metered {
		t.Fatalf("create unmetered: %d %s", cr.Status, cr.Body)
	}
	free := created.APIKey.Key
	if r := g.do("POST", "/api/user/provider-keys", free, map[string]any{"provider": "openai", "key": "sk-test-openai-0123456789abcdef"}); r.Status != 200 {
		t.Fatal(r.Status)
	}
	r = g.chatBody(t, free, body)
	checkCost(t, r, usageOf(t, r), "0.000012", "0.00024")
	rec := g.usageRecords(t, created.Account.ID, 1)[0]
	if rec.Charge.Charged != 12_000 || rec.LeaseID != 0 || rec.Reserved != 0 {
		t.Fatalf("unmetered record %+v", rec)
	}
	if b := g.balance(t, free); b != "0.000000000" {
		t.Fatalf("unmetered balance %s", b)
	}
	// The bootstrap admin is unmetered too.
	if me := g.do("GET", "/api/user/me", g.adminKey, nil).json(t)["account"].(map[string]any); me["metered"] != false {
		t.Fatalf("admin account %v", me)
	}

	// A credit through the admin API, a ledger row with the balance.
	cred := g.do("POST", "/api/admin/accounts/"+itoa(id)+"/credit", g.adminKey, map[string]any{"amount_usd": "0.5", "reason": "welcome"})
	if cred.Status != 200 || cred.json(t)["usd_balance"] != "0.500000000" {
		t.Fatalf("credit: %d %s", cred.Status, cred.Body)
	}
	if r := g.chatBody(t, key, body); r.Status != 200 {
		t.Fatalf("after the credit: %d %s", r.Status, r.Body)
	}
	g.usageRecords(t, id, 1)
	if b := g.balance(t, key); b != "0.499988000" {
		t.Fatalf("balance %s", b)
	}
	deb := g.do("POST", "/api/admin/accounts/"+itoa(id)+"/debit", g.adminKey, map[string]any{"amount_usd": 0.25, "reason": "correction"})
	if deb.Status != 200 || deb.json(t)["usd_balance"] != "0.249988000" {
		t.Fatalf("debit: %d %s", deb.Status, deb.Body)
	}
	adj := deb.json(t)["adjustment"].(map[string]any)
	if adj["amount_nano_usd"] != -250_000_000.0 || adj["reason"] != "correction" || !strings.HasPrefix(adj["actor"].(string), "admin account ") {
		t.Fatalf("adjustment %v", adj)
	}
	for _, bad := range []map[string]any{{"amount_usd": "-1", "reason": "x"}, {"amount_usd": "1e3", "reason": "x"}, {"amount_usd": "1", "reason": ""}} {
		if r := g.do("POST", "/api/admin/accounts/"+itoa(id)+"/credit", g.adminKey, bad); r.Status != 400 {
			t.Fatalf("credit %v: %d %s", bad, r.Status, r.Body)
		}
	}
	if r := g.do("POST", "/api/admin/accounts/"+itoa(id)+"/credit", key, map[string]any{"amount_usd": "1", "reason": "me"}); r.Status != 403 {
		t.Fatalf("a user crediting itself: %d", r.Status)
	}

	// The CLI, against the same database, by name and by id.
	dir := []string{"--data-dir", g.cfg.DataDir}
	out := captureStdout(t, func() error {
		return runAccounts(append([]string{"credit", "payer", "1.25", "--reason", "top-up"}, dir...))
	})
	if !strings.Contains(out, "balance $1.499988000") {
		t.Fatalf("accounts credit: %s", out)
	}
	out = captureStdout(t, func() error {
		return runAccounts(append([]string{"debit", itoa(id), "0.000000001", "--reason", "rounding", "--json"}, dir...))
	})
	if !strings.Contains(out, `"usd_balance": "1.499987999"`) {
		t.Fatalf("accounts debit: %s", out)
	}
	if b := g.balance(t, key); b != "1.499987999" {
		t.Fatalf("balance %s", b)
	}
	list := captureStdout(t, func() error { return runAccounts(append([]string{"list"}, dir...)) })
	if !strings.Contains(list, "unmetered") || !strings.Contains(list, "1.499987999") {
		t.Fatalf("accounts list: %s", list)
	}
}

// A client that leaves mid-stream is charged the whole prompt and the
// output it was sent; the provider's stream is cut.
func TestBillingClientLeavesMidStream(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"usage\":{\"input_tokens\":100,\"output_tokens\":1}}}\n\n"+
			"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
		for range 20 {
			io.WriteString(w, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"All work and no play makes Jack a dull boy. \"}}\n\n")
		}
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	g, key, id := billedGateway(t, up.srv.URL, "10")
	ctx, cancel := context.WithCancel(context.Background())
	res, err := http.DefaultClient.Do(chatPost(ctx, g.srv.URL, key,
		`{"model":"claude-sonnet-4-5","stream":true,"max_tokens":4000,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for sc := bufio.NewScanner(res.Body); sc.Scan() && got < 21; {
		if strings.HasPrefix(sc.Text(), "data: ") {
			got++
		}
	}
	cancel()
	res.Body.Close()
	r := g.usageRecords(t, id, 1)[0]
	// 20 deltas of 44 bytes: the o200k estimate of 880 bytes of that text
	// is about 220 tokens; more than the 1 reported, and the margin for
	// Claude's tokenizer on top.
	if !r.ClientDisconnected || r.Usage.PromptTokens != 100 || r.Usage.CompletionTokens < 200 || r.Usage.Source != ownkey.UsageEstimated ||
		r.Settlement != ownkey.SettlementSettled || r.LeaseID == 0 {
		t.Fatalf("record %+v", r)
	}
	atCost := ownkey.NanoUSD(100*3000 + r.Usage.CompletionTokens*15_000)
	if r.Charge.AtCost != atCost || r.Charge.Charged != (atCost+19)/20 || !r.Charge.Estimated {
		t.Fatalf("charge %+v; want %d at cost", r.Charge, atCost)
	}
	deadline := time.Now().Add(5 * time.Second)
	for g.balance(t, key) != ownkey.FormatUSD(10_000_000_000-r.Charge.Charged) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if b := g.balance(t, key); b != ownkey.FormatUSD(10_000_000_000-r.Charge.Charged) {
		t.Fatalf("balance %s", b)
	}
}

// A provider that breaks off mid-stream: the client gets an error event,
// and the request is charged for the whole prompt and the output it got,
// estimated (the provider reported nothing).
func TestBillingProviderCutsTheStream(t *testing.T) {
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"The quick brown fox "},"finish_reason":null}]}`+"\n\n"+
			`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"jumps over the lazy dog."},"finish_reason":null}]}`+"\n\n")
		// and the connection closes: no finish, no usage, no [DONE]
	})
	g, key, id := billedGateway(t, up.srv.URL, "10")
	r := g.chatBody(t, key, `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say the pangram."}]}`)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"code":"stream_truncated"`) || strings.Contains(string(r.Body), "[DONE]") {
		t.Fatalf("client got %d:\n%s", r.Status, r.Body)
	}
	rec := g.usageRecords(t, id, 1)[0]
	out := []byte("The quick brown fox jumps over the lazy dog.")
	want := usage.Estimate("gpt-4o-mini", []byte(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say the pangram."}]}`),
		&ownkey.ChatResult{OutputSample: out, OutputBytes: int64(len(out))})
	q := ownkey.Quote{Basis: ownkey.PriceCatalog, AtCost: miniPrices, MarkupBase: miniPrices}
	charge := q.Charge(want, ownkey.DefaultBYOKMarkup)
	if rec.ErrorCode != "stream_truncated" || rec.Usage != want || rec.Charge.Charged != charge.Charged || rec.Charge.AtCost != charge.AtCost ||
		!rec.Charge.Estimated || rec.Settlement != ownkey.SettlementSettled || rec.LeaseID == 0 || charge.Charged == 0 {
		t.Fatalf("record %+v; want usage %+v charged %d", rec, want, charge.Charged)
	}
	if b := g.balance(t, key); b != ownkey.FormatUSD(10_000_000_000-charge.Charged) {
		t.Fatalf("balance %s", b)
	}
}

// Bedrock Converse, cache write and read, Claude through the us. inference
// profile (the built-in price: 10% above list): inputTokens 100,
// cacheWriteInputTokens 1000, cacheReadInputTokens 2000, outputTokens 500
// (prompt 3100 in OpenAI's meaning; inputTokens counts neither cache):
// 100×3.30 + 2000×0.33 + 1000×4.125 + 500×16.50 = 13365 µ$ at cost; 5% =
// 668.25 µ$. The stream's usage comes in metadata, after messageStop.
func TestBillingGoldenBedrock(t *testing.T) {
	const use = `"inputTokens":100,"cacheWriteInputTokens":1000,"cacheReadInputTokens":2000,"outputTokens":500,"totalTokens":3600`
	up := providertest.NewBedrock(t, bedrockKey, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.EscapedPath(), "/converse-stream") {
			providertest.BedrockStream(providertest.BedrockFrame("messageStart", `{"role":"assistant"}`),
				providertest.BedrockFrame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Bonjour"}}`),
				providertest.BedrockFrame("contentBlockStop", `{"contentBlockIndex":0}`),
				providertest.BedrockFrame("messageStop", `{"stopReason":"end_turn"}`),
				providertest.BedrockFrame("metadata", `{"metrics":{"latencyMs":100},"usage":{`+use+`}}`))(w, r)
			return
		}
		providertest.JSONReply(200, `{"output":{"message":{"role":"assistant","content":[{"text":"Bonjour"}]}},"stopReason":"end_turn","usage":{`+use+`}}`)(w, r)
	})
	g := newTestGatewayWith(t, map[string]string{"OWNKEY_AWS_BASE_URL": up.URL, "OWNKEY_STARTING_CREDIT_USD": "10"}, nil)
	want := ownkey.Prices{Input: usd("3.30"), CachedInput: usd("0.33"), CacheWrite: usd("4.125"), Output: usd("16.50")}
	if q := g.app.prices.Quote("aws", bedrockModel, bedrockModel); q.AtCost != want || q.Basis != ownkey.PriceCatalog {
		t.Fatalf("the price book quotes aws/%s at %+v (%s); the test assumes %+v", bedrockModel, q.AtCost, q.Basis, want)
	}
	id, key := g.createAccount("payer")
	cred := map[string]any{"accessKeyId": bedrockKey.AccessKeyID, "secretAccessKey": bedrockKey.SecretAccessKey,
		"region": bedrockKey.Region, "sessionToken": bedrockKey.SessionToken}
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "aws", "key": cred}); r.Status != 200 {
		t.Fatalf("store aws key: %d %s", r.Status, r.Body)
	}
	const msgs = `"messages":[{"role":"user","content":"hi"}],"max_tokens":1000`
	whole := g.chatBody(t, key, `{"model":"`+bedrockModel+`",`+msgs+`}`)
	u := usageOf(t, whole)
	checkCost(t, whole, u, "0.00066825", "0.013365")
	details, _ := u["prompt_tokens_details"].(map[string]any)
	if u["prompt_tokens"] != 3100.0 || u["completion_tokens"] != 500.0 || details["cached_tokens"] != 2000.0 || details["cache_write_tokens"] != 1000.0 {
		t.Fatalf("usage %v", u)
	}
	stream := g.chatBody(t, key, `{"model":"`+bedrockModel+`","stream":true,"stream_options":{"include_usage":true},`+msgs+`}`)
	checkCost(t, stream, usageOf(t, stream), "0.00066825", "0.013365")
	checkRecords(t, g, id, 2, 13_365_000, 668_250)
	for _, r := range g.usageRecords(t, id, 2) {
		if r.Usage != (ownkey.Usage{PromptTokens: 3100, CompletionTokens: 500, CachedTokens: 2000, CacheWriteTokens: 1000, Source: ownkey.UsageFromProvider}) {
			t.Fatalf("record usage %+v", r.Usage)
		}
	}
	if b := g.balance(t, key); b != "9.998663500" {
		t.Fatalf("balance %s after two requests of $0.00066825", b)
	}
}
