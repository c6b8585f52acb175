package main

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
	"github.com/ownkey/ownkey/websearch/websearchtest"
)

// searchKeys are the accounts' search keys in the tests, in each
// provider's own format.
var searchKeys = map[string]string{
	"tavily": "tvly-dev-Qz8Rv5Tw2Lc9Nk6Jh4Bp7Mx3", "exa": "3f2a9c1e-7b4d-4e8a-9c2f-1a5b6d7e8f90",
	"kagi": "kagiBotToken.Xw2Tv8Nb5Kc1HjYpQ7Zr4Lm9", "perplexity": "pplx-Fh3Jk8Lq2Wm6Zx9Rt4Vb7Ny1Pq5",
}

// searchGateway is a gateway whose search providers are fakes that want
// searchKeys (replaced by the upstreams in override), with env added, and an
// account holding the search keys of keys.
func searchGateway(t *testing.T, env map[string]string, override map[string]*providertest.Upstream, keys ...string) (*testGateway, string, int64, map[string]*providertest.Upstream) {
	t.Helper()
	all := map[string]string{}
	fakes := map[string]*providertest.Upstream{}
	for id, k := range searchKeys {
		fakes[id] = websearchtest.Fake(t, id, k)
		if up := override[id]; up != nil {
			fakes[id] = up
		}
		p, _ := ownkey.LookupProvider(id)
		all[p.BaseURLEnv()] = fakes[id].URL + websearchtest.BasePath(id)
	}
	for k, v := range env {
		all[k] = v
	}
	g := newTestGateway(t, all)
	id, key := g.createAccount("searcher")
	for _, p := range keys {
		if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": p, "key": searchKeys[p]}); r.Status != 200 {
			t.Fatalf("store %s key: %d %s", p, r.Status, r.Body)
		}
	}
	return g, key, id, fakes
}

// webItem and webAnswer are /api/web's answer as a client reads it.
type webAnswer struct {
	Data []struct {
		Type        string  `json:"type"`
		Title       string  `json:"title"`
		URL         string  `json:"url"`
		Snippet     *string `json:"snippet"`
		ImageURL    string  `json:"imageUrl"`
		PublishedAt *string `json:"publishedAt"`
	} `json:"data"`
	Metadata map[string]any `json:"metadata"`
}

func decodeWeb(t *testing.T, r *response) webAnswer {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("/api/web: %d %s", r.Status, r.Body)
	}
	var a webAnswer
	if err := json.Unmarshal(r.Body, &a); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	return a
}

// POST /api/web with each provider: the provider is asked in its own form
// (the fakes refuse a key in any other) and the answer comes back in one
// shape, whatever the provider.
func TestWebSearchEachProvider(t *testing.T) {
	g, key, _, fakes := searchGateway(t, nil, nil, "tavily", "exa", "kagi", "perplexity")
	cases := []struct {
		id, path, body string
		first          string // the first result's title
		n              int
		metadata       map[string]any
	}{
		{"tavily", "/api/web", `{"query":"latest rust release","provider":"tavily","depth":"deep","maxResults":5,"includeImages":true}`,
			"Announcing Rust 1.87.0 | Rust Blog", 4, map[string]any{"query": "latest rust release", "provider": "tavily", "depth": "deep"}},
		{"exa", "/api/v1/web", `{"query":"llm surveys","provider":"exa","numResults":2}`,
			"A Comprehensive Overview of Large Language Models", 2, map[string]any{"query": "llm surveys", "provider": "exa", "depth": "standard"}},
		{"kagi", "/api/v1/data/web/search", `{"query":"steve jobs","provider":"kagi"}`,
			"Steve Jobs - Wikipedia", 2, map[string]any{"query": "steve jobs", "provider": "kagi", "depth": "standard"}},
		{"perplexity", "/api/web", `{"query":"ai news","provider":"perplexity","fromDate":"2025-10-01","outputType":"searchResults"}`,
			"Artificial Intelligence News -- ScienceDaily", 2, map[string]any{"query": "ai news", "provider": "perplexity", "depth": "standard"}},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			a := decodeWeb(t, g.do("POST", c.path, key, c.body))
			if len(a.Data) != c.n || a.Data[0].Type != "text" || a.Data[0].Title != c.first || a.Data[0].Snippet == nil || *a.Data[0].Snippet == "" ||
				!strings.HasPrefix(a.Data[0].URL, "https://") {
				t.Fatalf("data %+v", a.Data)
			}
			for k, v := range c.metadata {
				if a.Metadata[k] != v {
					t.Errorf("metadata.%s = %v, want %v", k, a.Metadata[k], v)
				}
			}
			if a.Metadata["cost"] != 0.0 || a.Metadata["outputType"] != "searchResults" {
				t.Errorf("metadata %v", a.Metadata)
			}
			if ts, err := time.Parse(time.RFC3339Nano, a.Metadata["timestamp"].(string)); err != nil || time.Since(ts) > time.Minute {
				t.Errorf("timestamp %v", a.Metadata["timestamp"])
			}
			if len(fakes[c.id].Requests()) != 1 {
				t.Errorf("%s asked %d times", c.id, len(fakes[c.id].Requests()))
			}
		})
	}
	// Tavily's images are image items; a date is normalized, a missing one null.
	a := decodeWeb(t, g.do("POST", "/api/web", key, `{"query":"rust","provider":"tavily","includeImages":true}`))
	img := a.Data[3]
	if img.Type != "image" || img.ImageURL != "https://cdn.example.org/ferris.png" || img.Title != "Ferris the crab, Rust's mascot" || img.Snippet != nil {
		t.Errorf("image item %+v", img)
	}
	if a.Data[0].PublishedAt == nil || *a.Data[0].PublishedAt != "2025-05-15T00:00:00Z" || a.Data[1].PublishedAt != nil {
		t.Errorf("dates %v %v", a.Data[0].PublishedAt, a.Data[1].PublishedAt)
	}
	var raw map[string][]map[string]any
	_ = json.Unmarshal(g.do("POST", "/api/web", key, `{"query":"rust","provider":"tavily","includeImages":true}`).Body, &raw)
	if keys := sortedKeys(raw["data"][0]); keys != "publishedAt,snippet,title,type,url" {
		t.Errorf("text item members %s", keys)
	}
	if keys := sortedKeys(raw["data"][3]); keys != "imageUrl,publishedAt,title,type,url" {
		t.Errorf("image item members %s", keys)
	}
}

func sortedKeys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return strings.Join(ks, ",")
}

// No provider named: the first of tavily, exa, kagi, perplexity the account
// holds a key for.
func TestWebSearchDefaultProvider(t *testing.T) {
	g, key, _, fakes := searchGateway(t, nil, nil, "perplexity", "kagi")
	a := decodeWeb(t, g.do("POST", "/api/web", key, `{"query":"steve jobs"}`))
	if a.Metadata["provider"] != "kagi" || len(fakes["kagi"].Requests()) != 1 || len(fakes["perplexity"].Requests()) != 0 {
		t.Errorf("metadata %v", a.Metadata)
	}
}

// /api/web's refusals and each provider failure, as the client gets them.
func TestWebSearchErrors(t *testing.T) {
	stall, _ := providertest.StallAfter("")
	bad := map[string]*providertest.Upstream{
		// Tavily refuses the key and echoes it; Exa rate limits; Kagi
		// fails; Perplexity hangs.
		"tavily": providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			providertest.JSONReply(401, `{"detail":{"error":"Unauthorized: missing or invalid API key `+r.Header.Get("Authorization")+`"}}`)(w, r)
		}),
		"exa":        providertest.NewUpstream(t, providertest.JSONReply(429, `{"error":"You have exceeded your rate limit"}`, "Retry-After", "12")),
		"kagi":       providertest.NewUpstream(t, providertest.JSONReply(500, `{"meta":{"id":"x"},"data":null,"error":[{"code":0,"msg":"Internal error"}]}`)),
		"perplexity": providertest.NewUpstream(t, stall),
	}
	g, key, id, _ := searchGateway(t, map[string]string{"OWNKEY_WEB_SEARCH_TIMEOUT": "300ms"}, bad, "tavily", "exa", "kagi", "perplexity")
	_, bare := g.createAccount("no-keys")
	cases := []struct {
		name, key, body  string
		status           int
		typ, param, code string
		says             string
		retryAfter       string
	}{
		{"no key for it", bare, `{"query":"q","provider":"tavily"}`, 503, "service_unavailable", "provider", "provider_key_missing",
			"Provider key missing: add a Tavily key to search with Tavily on the BYOK page", ""},
		{"no key at all", bare, `{"query":"q"}`, 503, "service_unavailable", "provider", "provider_key_missing",
			"Provider key missing: add a web search key (tavily, exa, kagi, perplexity)", ""},
		{"no query", key, `{"provider":"tavily"}`, 400, "invalid_request_error", "query", "invalid", "query is required", ""},
		{"kagi filters", key, `{"query":"q","provider":"kagi","includeDomains":["a.com"]}`, 400, "invalid_request_error", "includeDomains", "invalid",
			"Kagi does not support domain filters", ""},
		{"perplexity images", key, `{"query":"q","provider":"perplexity","includeImages":true}`, 400, "invalid_request_error", "includeImages", "invalid", "Perplexity does not support image results", ""},
		{"too many", key, `{"query":"q","provider":"tavily","maxResults":50}`, 400, "invalid_request_error", "maxResults", "invalid", "Tavily returns 1 to 20 results", ""},
		{"unknown field", key, `{"query":"q","topic":"news"}`, 400, "invalid_request_error", "topic", "invalid", `unknown field "topic"`, ""},
		{"other output", key, `{"query":"q","outputType":"sourcedAnswer"}`, 400, "invalid_request_error", "outputType", "invalid", "outputType must be searchResults", ""},
		{"bad key", key, `{"query":"q","provider":"tavily"}`, 401, "upstream_error", "", "invalid_api_key",
			"Tavily rejected the key: Unauthorized: missing or invalid API key Bearer " + ownkey.Redacted, ""},
		{"rate limited", key, `{"query":"q","provider":"exa"}`, 429, "upstream_error", "", "rate_limit_exceeded",
			"Exa is rate limiting this key: You have exceeded your rate limit", "12"},
		{"server error", key, `{"query":"q","provider":"kagi"}`, 500, "upstream_error", "", "", "Kagi answered HTTP 500: Internal error", ""},
		{"timeout", key, `{"query":"q","provider":"perplexity"}`, 504, "timeout_error", "", "timeout", "Perplexity did not answer the search within 300ms", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := g.do("POST", "/api/web", c.key, c.body)
			msg, typ, code, param := errorOf(t, r)
			if r.Status != c.status || typ != c.typ || param != c.param || code != c.code || !strings.HasPrefix(msg, c.says) ||
				r.Header.Get("Retry-After") != c.retryAfter {
				t.Errorf("%d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
			}
			if strings.Contains(string(r.Body), searchKeys["tavily"]) {
				t.Errorf("the key leaked: %s", r.Body)
			}
		})
	}
	// Each search that reached a provider is in the ledger, at zero, with
	// its status.
	recs := g.usageRecords(t, id, 4)
	statuses := map[string]int{}
	for _, r := range recs {
		statuses[r.Provider] = r.Status
		if r.Charge.Charged != 0 || r.ModelServed != "search:standard" || r.ErrorCode == "" {
			t.Errorf("record %+v", r)
		}
	}
	if !reflect.DeepEqual(statuses, map[string]int{"tavily": 401, "exa": 429, "kagi": 500, "perplexity": 504}) {
		t.Errorf("statuses %v", statuses)
	}
}

// The operator's fee: a metered account pays exactly it per search, held
// and settled against a lease; without a fee (the default) a BYOK search
// is recorded at zero and the balance does not move.
func TestWebSearchBilling(t *testing.T) {
	t.Run("fee", func(t *testing.T) {
		g, key, id, _ := searchGateway(t, map[string]string{"OWNKEY_WEB_SEARCH_FEE_USD": "0.0123", "OWNKEY_STARTING_CREDIT_USD": "1"}, nil, "tavily", "exa")
		a := decodeWeb(t, g.do("POST", "/api/web", key, `{"query":"q","provider":"tavily"}`))
		if a.Metadata["cost"] != 0.0123 {
			t.Errorf("cost %v", a.Metadata["cost"])
		}
		decodeWeb(t, g.do("POST", "/api/web", key, `{"query":"q","provider":"exa","depth":"deep"}`))
		recs := g.usageRecords(t, id, 2)
		for _, r := range recs {
			want := ownkey.Charge{Charged: 12_300_000, Basis: ownkey.PriceSearchFee, BYOK: true}
			if r.Provider == "exa" {
				want.AtCost = 5_000_000 // Exa's own price of the search, reported
			}
			if r.Charge != want || r.LeaseID == 0 || r.Reserved != 12_300_000 || r.Usage.PromptTokens != 0 || r.Usage.CompletionTokens != 0 ||
				r.Settlement != ownkey.SettlementSettled {
				t.Errorf("record %+v", r)
			}
			if wantModel := map[string]string{"tavily": "search:standard", "exa": "search:deep"}[r.Provider]; r.ModelRequested != wantModel {
				t.Errorf("model %q", r.ModelRequested)
			}
		}
		if b := g.balance(t, key); b != "0.975400000" {
			t.Errorf("balance %s, want 1 - 2 × 0.0123", b)
		}
		// A balance that cannot pay the fee: 402, nothing searched.
		broke, brokeKey := g.createAccount("broke")
		g.do("POST", "/api/admin/accounts/"+itoa(broke)+"/debit", g.adminKey, map[string]any{"amount_usd": "1", "reason": "test"})
		g.do("POST", "/api/user/provider-keys", brokeKey, map[string]any{"provider": "tavily", "key": searchKeys["tavily"]})
		r := g.do("POST", "/api/web", brokeKey, `{"query":"q","provider":"tavily"}`)
		if _, _, code, _ := errorOf(t, r); r.Status != 402 || code != "insufficient_balance" {
			t.Errorf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("no fee", func(t *testing.T) {
		g, key, id, _ := searchGateway(t, map[string]string{"OWNKEY_STARTING_CREDIT_USD": "1"}, nil, "kagi")
		a := decodeWeb(t, g.do("POST", "/api/web", key, `{"query":"q"}`))
		if a.Metadata["cost"] != 0.0 {
			t.Errorf("cost %v", a.Metadata["cost"])
		}
		r := g.usageRecords(t, id, 1)[0]
		if r.Charge != (ownkey.Charge{Basis: ownkey.PriceSearchFee, BYOK: true}) || r.Provider != "kagi" || r.Status != 200 || r.LeaseID != 0 {
			t.Errorf("record %+v", r)
		}
		if b := g.balance(t, key); b != "1.000000000" {
			t.Errorf("balance %s", b)
		}
	})
}

// The key checks: free for Tavily (its usage) and Perplexity; a search for
// Kagi and Exa, which the answer says.
func TestWebSearchKeyValidation(t *testing.T) {
	tavily := providertest.NewUpstream(t, providertest.JSONReply(200, `{"key":{"usage":150,"limit":1000},"account":{"current_plan":"Bootstrap","plan_usage":500,"plan_limit":15000}}`))
	g, key, _, fakes := searchGateway(t, nil, map[string]*providertest.Upstream{"tavily": tavily})
	for _, c := range []struct {
		id, cost string
	}{{"tavily", ""}, {"kagi", "Kagi has no free way to check a key"}, {"exa", "Exa has no free way to check a key"}} {
		r := g.do("POST", "/api/user/provider-keys/validate", key, map[string]any{"provider": c.id, "key": searchKeys[c.id]})
		m := r.json(t)
		cost, _ := m["check_cost"].(string)
		if r.Status != 200 || m["valid"] != true || !strings.HasPrefix(cost, c.cost) || (c.cost == "") != (cost == "") {
			t.Errorf("%s: %d %s", c.id, r.Status, r.Body)
		}
	}
	if got := tavily.Only(t); got.Method != "GET" || got.Path != "/usage" || got.Header.Get("Authorization") != "Bearer "+searchKeys["tavily"] {
		t.Errorf("tavily check %s %s", got.Method, got.Path)
	}
	if got := fakes["kagi"].Only(t); got.RawQuery != "q=ownkey&limit=1" {
		t.Errorf("kagi check %s?%s", got.Path, got.RawQuery)
	}
}

// chatAnswer is what the fake model says: it cites the first two sources.
const chatAnswer = "Rust 1.87 is out [1], see the releases [2]."

// citationsOf checks annotations, as the SDK decoded them, against
// chatAnswer citing Tavily's first two results.
func checkCitations(t *testing.T, content string, anns []openai.ChatCompletionMessageAnnotation) {
	t.Helper()
	if content != chatAnswer || len(anns) != 2 {
		t.Fatalf("content %q annotations %+v", content, anns)
	}
	for i, want := range []struct {
		url, title string
		marker     string
	}{
		{"https://blog.rust-lang.org/2025/05/15/Rust-1.87.0/", "Announcing Rust 1.87.0 | Rust Blog", "[1]"},
		{"https://github.com/rust-lang/rust/releases", "Releases · rust-lang/rust · GitHub", "[2]"},
	} {
		a := anns[i]
		runes := []rune(content)
		if a.Type != "url_citation" || a.URLCitation.URL != want.url || a.URLCitation.Title != want.title ||
			string(runes[a.URLCitation.StartIndex:a.URLCitation.EndIndex]) != want.marker {
			t.Errorf("annotation %d: %+v", i, a)
		}
	}
}

// checkInjected checks what the model was sent: the model without its
// suffix, the search's context as a system message after the client's, no
// webSearch member.
func checkInjected(t *testing.T, body []byte, model string) {
	t.Helper()
	var sent struct {
		Model    string `json:"model"`
		System   any    `json:"system"` // Anthropic's
		Messages []struct {
			Role    string `json:"role"`
			Content any    `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if sent.Model != model || strings.Contains(string(body), "webSearch") || strings.Contains(string(body), ":online") {
		t.Errorf("model %q in %s", sent.Model, body)
	}
	all, _ := json.Marshal(sent)
	for _, want := range []string{"Web search results for the user's latest message, from Tavily", "Cite each source you use by its number in square brackets",
		"[1] Announcing Rust 1.87.0 | Rust Blog\\nURL: https://blog.rust-lang.org/2025/05/15/Rust-1.87.0/\\nPublished: 2025-05-15T00:00:00Z",
		"[2] Releases · rust-lang/rust · GitHub", "Answer briefly."} {
		if !strings.Contains(string(all), want) {
			t.Errorf("the model was not sent %q:\n%s", want, all)
		}
	}
}

// :online through an OpenAI-compatible provider (groq, pass-through), with
// the official SDK: the search's context reaches the model, the citations
// reach the client, whole and streamed.
func TestOnlineChatOpenAICompatible(t *testing.T) {
	content, _ := json.Marshal(chatAnswer)
	up := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if strings.Contains(string(body), `"stream":true`) {
			half := len(chatAnswer) / 2
			a, _ := json.Marshal(chatAnswer[:half])
			b, _ := json.Marshal(chatAnswer[half:])
			sseReply([]string{
				`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"role":"assistant","content":` + string(a) + `},"finish_reason":null}]}`,
				`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"content":` + string(b) + `},"finish_reason":null}]}`,
				`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":400,"completion_tokens":12,"total_tokens":412}}`,
				`data: [DONE]`,
			}, "\n\n")(w, r, body)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"message":{"role":"assistant","content":`+string(content)+`,"annotations":[]},"finish_reason":"stop"}],"usage":{"prompt_tokens":400,"completion_tokens":12,"total_tokens":412}}`)
	})
	g, key, id, fakes := searchGateway(t, map[string]string{"OWNKEY_GROQ_BASE_URL": up.srv.URL + "/openai/v1"}, nil, "tavily")
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "key": groqKey}); r.Status != 200 {
		t.Fatal(r.Status)
	}
	client := sdkClient(g, key)
	params := openai.ChatCompletionNewParams{
		Model: "groq/llama-3.3-70b-versatile:online/tavily",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Answer briefly."),
			openai.UserMessage("Tell me about Rust"), openai.AssistantMessage("It is a language."), openai.UserMessage("latest release?")},
	}
	t.Run("whole", func(t *testing.T) {
		resp, err := client.Chat.Completions.New(t.Context(), params)
		if err != nil {
			t.Fatal(err)
		}
		checkCitations(t, resp.Choices[0].Message.Content, resp.Choices[0].Message.Annotations)
		checkInjected(t, []byte(up.last(t).Body), "llama-3.3-70b-versatile")
	})
	t.Run("stream", func(t *testing.T) {
		stream := client.Chat.Completions.NewStreaming(t.Context(), params)
		var text strings.Builder
		var anns []openai.ChatCompletionMessageAnnotation
		for stream.Next() {
			c := stream.Current()
			if len(c.Choices) == 0 {
				continue
			}
			text.WriteString(c.Choices[0].Delta.Content)
			if raw, ok := c.Choices[0].Delta.JSON.ExtraFields["annotations"]; ok {
				if c.Choices[0].FinishReason != "stop" {
					t.Errorf("annotations on a chunk that is not the last: %s", c.RawJSON())
				}
				if err := json.Unmarshal([]byte(raw.Raw()), &anns); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		checkCitations(t, text.String(), anns)
		checkInjected(t, []byte(up.last(t).Body), "llama-3.3-70b-versatile")
	})
	// The query: the short latest user message after the one before it.
	for _, r := range fakes["tavily"].Requests() {
		if q := decodeJSON(t, r.Body)["query"]; q != "Tell me about Rust latest release?" {
			t.Errorf("searched for %v", q)
		}
	}
	// Two chats, two searches: each in the ledger apart, the search under
	// the chat's id plus -web.
	recs := g.usageRecords(t, id, 4)
	ids := map[string]bool{}
	for _, r := range recs {
		ids[r.RequestID] = true
	}
	for _, r := range recs {
		if r.Provider == "tavily" && (!ids[strings.TrimSuffix(r.RequestID, "-web")] || !strings.HasSuffix(r.RequestID, "-web")) {
			t.Errorf("search record %s has no chat record", r.RequestID)
		}
	}
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return m
}

// Search-augmented chat through Anthropic (translated), asked for with the
// body's webSearch object: whole and streamed, with the SDK.
func TestOnlineChatAnthropic(t *testing.T) {
	reply := func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") == "text/event-stream" {
			claudeStream([]string{claudeStart, claudePing}, claudeText("0", "Rust 1.87 is out [1], ", "see the releases [2]."),
				[]string{claudeFinish("end_turn", `{"output_tokens":12}`), claudeStop})(w, r)
			return
		}
		text, _ := json.Marshal(chatAnswer)
		providertest.JSONReply(200, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x-1","content":[{"type":"text","text":`+string(text)+`}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":400,"output_tokens":12}}`)(w, r)
	}
	claude := providertest.NewUpstream(t, reply)
	g, key, _, _ := searchGateway(t, map[string]string{"OWNKEY_ANTHROPIC_BASE_URL": claude.URL}, nil, "tavily", "exa")
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "anthropic", "key": claudeKey}); r.Status != 200 {
		t.Fatal(r.Status)
	}
	// The body picks Tavily over the suffix's Exa: the body wins.
	client := sdkClient(g, key, option.WithJSONSet("webSearch", map[string]any{"enabled": true, "provider": "tavily", "maxResults": 2}))
	params := openai.ChatCompletionNewParams{
		Model:    "claude-sonnet-4-5:online/exa",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Answer briefly."), openai.UserMessage("What is the latest Rust release?")},
	}
	t.Run("whole", func(t *testing.T) {
		resp, err := client.Chat.Completions.New(t.Context(), params)
		if err != nil {
			t.Fatal(err)
		}
		checkCitations(t, resp.Choices[0].Message.Content, resp.Choices[0].Message.Annotations)
		reqs := claude.Requests()
		checkInjected(t, reqs[len(reqs)-1].Body, "claude-sonnet-4-5")
	})
	t.Run("stream", func(t *testing.T) {
		stream := client.Chat.Completions.NewStreaming(t.Context(), params)
		var text strings.Builder
		var anns []openai.ChatCompletionMessageAnnotation
		for stream.Next() {
			c := stream.Current()
			if len(c.Choices) == 0 {
				continue
			}
			text.WriteString(c.Choices[0].Delta.Content)
			if raw, ok := c.Choices[0].Delta.JSON.ExtraFields["annotations"]; ok {
				_ = json.Unmarshal([]byte(raw.Raw()), &anns)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		checkCitations(t, text.String(), anns)
		reqs := claude.Requests()
		checkInjected(t, reqs[len(reqs)-1].Body, "claude-sonnet-4-5")
	})
}

// A chat whose search cannot be made fails before the model is called:
// no search key is a 400 naming the key to add; a provider's error keeps
// its status; only the search is in the ledger.
func TestOnlineChatFailsFast(t *testing.T) {
	model := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		t.Error("the model was called")
		w.WriteHeader(500)
	})
	tavily := providertest.NewUpstream(t, providertest.JSONReply(429, `{"detail":{"error":"Too Many Requests"}}`, "Retry-After", "40"))
	g, key, id, _ := searchGateway(t, map[string]string{"OWNKEY_GROQ_BASE_URL": model.srv.URL}, map[string]*providertest.Upstream{"tavily": tavily}, "tavily")
	if r := g.do("POST", "/api/user/provider-keys", key, map[string]any{"provider": "groq", "key": groqKey}); r.Status != 200 {
		t.Fatal(r.Status)
	}
	chat := func(model string) *response {
		return g.do("POST", "/api/v1/chat/completions", key, map[string]any{"model": model,
			"messages": []any{map[string]any{"role": "user", "content": "What is new in Rust?"}}})
	}
	r := chat("groq/llama-3.3-70b-versatile:online/kagi")
	msg, _, code, param := errorOf(t, r)
	if r.Status != 400 || code != "web_search_key_missing" || param != "model" || !strings.Contains(msg, "add a Kagi key") {
		t.Errorf("no kagi key: %d %s", r.Status, r.Body)
	}
	r = chat("groq/llama-3.3-70b-versatile:online")
	msg, _, code, _ = errorOf(t, r)
	if r.Status != 429 || code != "rate_limit_exceeded" || r.Header.Get("Retry-After") != "40" || msg != "web search failed: Tavily is rate limiting this key: Too Many Requests" {
		t.Errorf("tavily 429: %d %s", r.Status, r.Body)
	}
	rec := g.usageRecords(t, id, 1)[0]
	if rec.Provider != "tavily" || rec.Status != 429 || !strings.HasSuffix(rec.RequestID, "-web") {
		t.Errorf("record %+v", rec)
	}
}
