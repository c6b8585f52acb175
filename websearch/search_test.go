package websearch

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider/providertest"
	"github.com/ownkey/ownkey/websearch/websearchtest"
)

// searchers are the four families, with clients that reach the fakes.
func searchers() map[string]Searcher {
	up := Upstream{Clients: egress.New(egress.Options{AllowPrivate: true}), UserAgent: "ownkey/test"}
	return map[string]Searcher{"tavily": Tavily{Upstream: up}, "exa": Exa{Upstream: up}, "kagi": Kagi{Upstream: up}, "perplexity": Perplexity{Upstream: up}}
}

// request is a search of provider id at the fake up, with key.
func request(t *testing.T, id string, up *providertest.Upstream, key string, r ownkey.WebSearchRequest) *SearchRequest {
	t.Helper()
	p := providertest.Catalog(t, id)
	if err := CheckCommon(&r); err != nil {
		t.Fatal(err)
	}
	if err := searchers()[id].Check(&r); err != nil {
		t.Fatal(err)
	}
	return &SearchRequest{WebSearchRequest: r, Provider: p, Credential: &ownkey.Credential{Provider: id, APIKey: ownkey.NewSecret(key)},
		BaseURL: up.URL + websearchtest.BasePath(id)}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("request body %q: %v", b, err)
	}
	return m
}

// Each provider is sent the search in its own form (auth header, method,
// path, body or query) and its answer comes back normalized.
func TestSearchEachProvider(t *testing.T) {
	text := func(title, url, snippet, published string) ownkey.WebResult {
		return ownkey.WebResult{Type: "text", Title: title, URL: url, Snippet: snippet, PublishedAt: published}
	}
	cases := []struct {
		id      string
		req     ownkey.WebSearchRequest
		sent    func(t *testing.T, r providertest.Received)
		want    []ownkey.WebResult
		wantFee ownkey.NanoUSD
	}{{
		id: "tavily",
		req: ownkey.WebSearchRequest{Query: "  latest rust release ", Depth: "deep", MaxResults: 2, IncludeDomains: []string{"rust-lang.org", "github.com"},
			ExcludeDomains: []string{"reddit.com"}, FromDate: "2025-01-01", ToDate: "2025-06-30", IncludeImages: true},
		sent: func(t *testing.T, r providertest.Received) {
			want := map[string]any{"query": "latest rust release", "search_depth": "advanced", "max_results": 2.0,
				"include_domains": []any{"rust-lang.org", "github.com"}, "exclude_domains": []any{"reddit.com"},
				"start_date": "2025-01-01", "end_date": "2025-06-30", "include_images": true}
			if got := decode(t, r.Body); !reflect.DeepEqual(got, want) {
				t.Errorf("body = %v\nwant %v", got, want)
			}
		},
		want: []ownkey.WebResult{
			text("Announcing Rust 1.87.0 | Rust Blog", "https://blog.rust-lang.org/2025/05/15/Rust-1.87.0/",
				"The Rust team is happy to announce a new version of Rust, 1.87.0. Rust is a programming language empowering everyone to build reliable and efficient software.",
				"2025-05-15T00:00:00Z"),
			text("Releases · rust-lang/rust · GitHub", "https://github.com/rust-lang/rust/releases",
				"Empowering everyone to build reliable and efficient software. - Releases · rust-lang/rust", ""),
			{Type: "image", URL: "https://images.example.com/rust-logo.png", ImageURL: "https://images.example.com/rust-logo.png"},
			{Type: "image", Title: "Ferris the crab, Rust's mascot", URL: "https://cdn.example.org/ferris.png", ImageURL: "https://cdn.example.org/ferris.png"},
		},
	}, {
		id:  "exa",
		req: ownkey.WebSearchRequest{Query: "llm surveys", Depth: "neural", MaxResults: 2, IncludeDomains: []string{"arxiv.org"}, FromDate: "2023-01-01", ToDate: "2023-12-31", IncludeImages: true},
		sent: func(t *testing.T, r providertest.Received) {
			want := map[string]any{"query": "llm surveys", "type": "neural", "numResults": 2.0, "includeDomains": []any{"arxiv.org"},
				"startPublishedDate": "2023-01-01T00:00:00.000Z", "endPublishedDate": "2023-12-31T23:59:59.999Z",
				"contents": map[string]any{"text": map[string]any{"maxCharacters": 1000.0}}}
			if got := decode(t, r.Body); !reflect.DeepEqual(got, want) {
				t.Errorf("body = %v\nwant %v", got, want)
			}
		},
		want: []ownkey.WebResult{
			text("A Comprehensive Overview of Large Language Models", "https://arxiv.org/abs/2307.06435",
				"Large Language Models (LLMs) have recently demonstrated remarkable capabilities in natural language processing tasks and beyond.", "2023-07-12T00:00:00Z"),
			text("Large language models encode clinical knowledge", "https://www.nature.com/articles/s41586-023-06291-2",
				"LLMs encode clinical knowledge and can be evaluated with MultiMedQA.", "2023-07-12T00:00:00Z"),
			{Type: "image", Title: "A Comprehensive Overview of Large Language Models", URL: "https://arxiv.org/abs/2307.06435",
				ImageURL: "https://arxiv.org/static/browse/0.3.4/images/arxiv-logo-fb.png", PublishedAt: "2023-07-12T00:00:00Z"},
		},
		wantFee: 5_000_000, // costDollars.total 0.005
	}, {
		id:  "kagi",
		req: ownkey.WebSearchRequest{Query: "steve jobs & apple", MaxResults: 3},
		sent: func(t *testing.T, r providertest.Received) {
			if r.RawQuery != "limit=3&q=steve+jobs+%26+apple" || len(r.Body) != 0 {
				t.Errorf("query %q, body %q", r.RawQuery, r.Body)
			}
		},
		want: []ownkey.WebResult{
			text("Steve Jobs - Wikipedia", "https://en.wikipedia.org/wiki/Steve_Jobs",
				"Steven Paul Jobs (February 24, 1955 – October 5, 2011) was an American businessman, inventor, and investor best known for co-founding the technology company Apple Inc.",
				"2024-01-02T10:00:00Z"),
			text("Remembering Steve Jobs - Apple", "https://www.apple.com/stevejobs/", "Steve's life and work are remembered.", ""),
		},
	}, {
		id:  "perplexity",
		req: ownkey.WebSearchRequest{Query: "ai news", MaxResults: 2, IncludeDomains: []string{"sciencedaily.com"}, ExcludeDomains: []string{"example.com"}, FromDate: "2025-10-01", ToDate: "2025-10-31"},
		sent: func(t *testing.T, r providertest.Received) {
			want := map[string]any{"query": "ai news", "max_results": 2.0, "search_domain_filter": []any{"sciencedaily.com", "-example.com"},
				"search_after_date_filter": "10/01/2025", "search_before_date_filter": "10/31/2025"}
			if got := decode(t, r.Body); !reflect.DeepEqual(got, want) {
				t.Errorf("body = %v\nwant %v", got, want)
			}
		},
		want: []ownkey.WebResult{
			text("Artificial Intelligence News -- ScienceDaily", "https://www.sciencedaily.com/news/computers_math/artificial_intelligence/",
				"Artificial Intelligence News. Everything on AI including futuristic robots with artificial intelligence, computer models of human intelligence and more.", "2025-10-07"),
			text("AI News | Latest AI News, Analysis & Events", "https://www.artificialintelligence-news.com/",
				"AI News reports on the latest artificial intelligence news and insights.", "2025-10-06"),
		},
	}}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			key := providertest.Key(c.id)
			up := websearchtest.Fake(t, c.id, key)
			res, err := searchers()[c.id].Search(context.Background(), request(t, c.id, up, key, c.req))
			if err != nil {
				t.Fatal(err)
			}
			r := up.Only(t)
			method, path := websearchtest.SearchPath(c.id)
			if r.Method != method || r.Path != path {
				t.Errorf("sent %s %s", r.Method, r.Path)
			}
			if ct := r.Header.Get("Content-Type"); (method == http.MethodPost) != (ct == "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if ua := r.Header.Get("User-Agent"); ua != "ownkey/test" {
				t.Errorf("User-Agent %q", ua)
			}
			c.sent(t, r)
			if !reflect.DeepEqual(res.Results, c.want) {
				t.Errorf("results:\n got %+v\nwant %+v", res.Results, c.want)
			}
			if res.AtCost != c.wantFee {
				t.Errorf("AtCost = %d, want %d", res.AtCost, c.wantFee)
			}
		})
	}
}

// What a provider cannot do is refused before anything is sent, naming
// the field.
func TestCheckRefusesWhatTheProviderCannotDo(t *testing.T) {
	cases := []struct {
		id    string
		req   ownkey.WebSearchRequest
		field string
	}{
		{"tavily", ownkey.WebSearchRequest{Depth: "neural"}, "depth"},
		{"tavily", ownkey.WebSearchRequest{MaxResults: 21}, "maxResults"},
		{"exa", ownkey.WebSearchRequest{MaxResults: 101}, "maxResults"},
		{"exa", ownkey.WebSearchRequest{Depth: "ultra"}, "depth"},
		{"kagi", ownkey.WebSearchRequest{Depth: "deep"}, "depth"},
		{"kagi", ownkey.WebSearchRequest{MaxResults: 21}, "maxResults"},
		{"kagi", ownkey.WebSearchRequest{IncludeDomains: []string{"a.com"}}, "includeDomains"},
		{"kagi", ownkey.WebSearchRequest{ExcludeDomains: []string{"a.com"}}, "excludeDomains"},
		{"kagi", ownkey.WebSearchRequest{FromDate: "2025-01-01"}, "fromDate"},
		{"kagi", ownkey.WebSearchRequest{ToDate: "2025-01-01"}, "toDate"},
		{"kagi", ownkey.WebSearchRequest{IncludeImages: true}, "includeImages"},
		{"perplexity", ownkey.WebSearchRequest{Depth: "deep"}, "depth"},
		{"perplexity", ownkey.WebSearchRequest{IncludeImages: true}, "includeImages"},
		{"perplexity", ownkey.WebSearchRequest{MaxResults: 25}, "maxResults"},
		{"perplexity", ownkey.WebSearchRequest{IncludeDomains: make([]string, 11), ExcludeDomains: make([]string, 10)}, "excludeDomains"},
	}
	for _, c := range cases {
		c.req.Query = "q"
		if c.req.Depth == "" {
			c.req.Depth = ownkey.DepthStandard
		}
		err := searchers()[c.id].Check(&c.req)
		var e *ownkey.Error
		if !errors.As(err, &e) || e.Code != ownkey.EINVALID || e.Param != c.field {
			t.Errorf("%s %+v: %v, want a 400 naming %s", c.id, c.req, err, c.field)
		}
	}
	for _, ok := range []struct {
		id  string
		req ownkey.WebSearchRequest
	}{
		{"tavily", ownkey.WebSearchRequest{Depth: "deep", MaxResults: 20, IncludeImages: true}},
		{"exa", ownkey.WebSearchRequest{Depth: "keyword", MaxResults: 100, IncludeImages: true}},
		{"kagi", ownkey.WebSearchRequest{Depth: "standard", MaxResults: 20}},
		{"perplexity", ownkey.WebSearchRequest{Depth: "standard", MaxResults: 20, IncludeDomains: []string{"a.com"}, FromDate: "2025-01-01"}},
	} {
		ok.req.Query = "q"
		if err := searchers()[ok.id].Check(&ok.req); err != nil {
			t.Errorf("%s %+v: %v", ok.id, ok.req, err)
		}
	}
}

func TestCheckCommon(t *testing.T) {
	for _, c := range []struct {
		req   ownkey.WebSearchRequest
		field string
	}{
		{ownkey.WebSearchRequest{Query: "  "}, "query"},
		{ownkey.WebSearchRequest{Query: strings.Repeat("é", MaxQueryChars+1)}, "query"},
		{ownkey.WebSearchRequest{Query: "q", FromDate: "2025-13-01"}, "fromDate"},
		{ownkey.WebSearchRequest{Query: "q", ToDate: "01/02/2025"}, "toDate"},
		{ownkey.WebSearchRequest{Query: "q", FromDate: "2025-02-01", ToDate: "2025-01-01"}, "toDate"},
		{ownkey.WebSearchRequest{Query: "q", IncludeDomains: []string{"https://a.com"}}, "includeDomains"},
		{ownkey.WebSearchRequest{Query: "q", ExcludeDomains: []string{"a b.com"}}, "excludeDomains"},
		{ownkey.WebSearchRequest{Query: "q", IncludeDomains: make([]string, 21)}, "includeDomains"},
		{ownkey.WebSearchRequest{Query: "q", MaxResults: -1}, "maxResults"},
	} {
		err := CheckCommon(&c.req)
		var e *ownkey.Error
		if !errors.As(err, &e) || e.Code != ownkey.EINVALID || e.Param != c.field {
			t.Errorf("%+v: %v, want a 400 naming %s", c.req, err, c.field)
		}
	}
	r := ownkey.WebSearchRequest{Query: " q ", Depth: " DEEP "}
	if err := CheckCommon(&r); err != nil || r.Query != "q" || r.Depth != "deep" {
		t.Errorf("%+v %v", r, err)
	}
	r = ownkey.WebSearchRequest{Query: "q"}
	if err := CheckCommon(&r); err != nil || r.Depth != ownkey.DepthStandard {
		t.Errorf("no depth: %+v %v", r, err)
	}
}

// A provider's error answer comes back with its status, its own words
// minus the key (which some echo), its Retry-After, and a machine code.
func TestSearchErrors(t *testing.T) {
	for id := range searchers() {
		key := providertest.Key(id)
		t.Run(id+"/bad key", func(t *testing.T) {
			// The worst provider: it echoes the key it got, escaped too.
			up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				h, _ := websearchtest.Auth(id, key)
				echo := r.Header.Get(h) + " " + providertest.EscapedKey(key)
				providertest.JSONReply(http.StatusUnauthorized, `{"error":{"message":"bad key `+echo+`"}}`, "Retry-After", key)(w, r)
			})
			_, err := searchers()[id].Search(context.Background(), request(t, id, up, key, ownkey.WebSearchRequest{Query: "q"}))
			e := asError(t, err)
			if e.Status != 401 || e.Reason != "invalid_api_key" || e.RetryAfter != "" || !strings.Contains(e.Message, "rejected the key: bad key") {
				t.Errorf("%+v", e)
			}
			if providertest.ErrorLeaks(t, err, "", key) {
				t.Errorf("the key leaked: %+v", e)
			}
		})
		t.Run(id+"/rate limited", func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(http.StatusTooManyRequests, `{"detail":{"error":"Too Many Requests"}}`, "Retry-After", "17"))
			_, err := searchers()[id].Search(context.Background(), request(t, id, up, key, ownkey.WebSearchRequest{Query: "q"}))
			e := asError(t, err)
			if e.Status != 429 || e.RetryAfter != "17" || e.Reason != "rate_limit_exceeded" || !strings.HasSuffix(e.Message, "Too Many Requests") {
				t.Errorf("%+v", e)
			}
		})
		t.Run(id+"/server error", func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(http.StatusServiceUnavailable, `<html>upstream down</html>`, "Content-Type", "text/html"))
			_, err := searchers()[id].Search(context.Background(), request(t, id, up, key, ownkey.WebSearchRequest{Query: "q"}))
			e := asError(t, err)
			if e.Status != 503 || e.Code != ownkey.EUPSTREAM || !strings.HasSuffix(e.Message, "answered HTTP 503: Service Unavailable") {
				t.Errorf("%+v", e)
			}
		})
		t.Run(id+"/not JSON", func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(http.StatusOK, `{"results":[`))
			_, err := searchers()[id].Search(context.Background(), request(t, id, up, key, ownkey.WebSearchRequest{Query: "q"}))
			if e := asError(t, err); e.Status != 502 || !strings.Contains(e.Message, "not JSON") {
				t.Errorf("%+v", e)
			}
		})
		t.Run(id+"/too deep", func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(http.StatusOK, `{"results":`+strings.Repeat("[", 200)+strings.Repeat("]", 200)+`}`))
			_, err := searchers()[id].Search(context.Background(), request(t, id, up, key, ownkey.WebSearchRequest{Query: "q"}))
			if e := asError(t, err); e.Status != 502 || !strings.Contains(e.Message, "nested too deep") {
				t.Errorf("%+v", e)
			}
		})
		t.Run(id+"/too large", func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONReply(http.StatusOK, `{"results":[],"pad":"`+strings.Repeat("x", MaxAnswerBytes)+`"}`))
			_, err := searchers()[id].Search(context.Background(), request(t, id, up, key, ownkey.WebSearchRequest{Query: "q"}))
			if e := asError(t, err); e.Status != 502 || !strings.Contains(e.Message, "larger than 8 MiB") {
				t.Errorf("%+v", e)
			}
		})
		t.Run(id+"/no answer in time", func(t *testing.T) {
			reply, cancelled := providertest.StallAfter("")
			up := providertest.NewUpstream(t, reply)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := searchers()[id].Search(ctx, request(t, id, up, key, ownkey.WebSearchRequest{Query: "q"}))
			if e := asError(t, err); e.Code != ownkey.ETIMEOUT || ownkey.StatusOf(e) != 504 {
				t.Errorf("%+v", e)
			}
			<-cancelled // the provider saw the request end
		})
	}
}

// Kagi answers some errors with a 2xx and its error list: the status its
// code stands for.
func TestKagiErrorEnvelope(t *testing.T) {
	key := providertest.Key("kagi")
	for _, c := range []struct {
		body   string
		status int
	}{
		{`{"meta":{"id":"x"},"data":null,"error":[{"code":101,"msg":"Insufficient credit","ref":null}]}`, 402},
		{`{"meta":{"id":"x"},"data":null,"error":[{"code":2,"msg":"Unauthorized"}]}`, 401},
		{`{"meta":{"id":"x"},"data":null,"error":[{"code":1,"msg":"Missing q parameter"}]}`, 400},
		{`{"meta":{"id":"x"},"data":null,"error":[{"code":0,"msg":"Internal error"}]}`, 502},
		{`["not","kagi"]`, 502},
	} {
		up := providertest.NewUpstream(t, providertest.JSONReply(http.StatusOK, c.body))
		_, err := searchers()["kagi"].Search(context.Background(), request(t, "kagi", up, key, ownkey.WebSearchRequest{Query: "q"}))
		if e := asError(t, err); e.Status != c.status {
			t.Errorf("%s: %+v, want %d", c.body, e, c.status)
		}
	}
}

func asError(t *testing.T, err error) *ownkey.Error {
	t.Helper()
	var e *ownkey.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want an *ownkey.Error", err)
	}
	return e
}

func TestPublishedAt(t *testing.T) {
	for in, want := range map[string]string{
		"2025-03-10": "2025-03-10", "2023-11-16T01:36:32.547Z": "2023-11-16T01:36:32Z", "2024-01-02T10:00:00+02:00": "2024-01-02T08:00:00Z",
		"Mon, 10 Mar 2025 14:03:00 GMT": "2025-03-10T14:03:00Z", "2025-03-10T14:03:00": "2025-03-10T14:03:00Z",
		"": "", "yesterday": "", "10/07/2025": "2025-10-07",
	} {
		if got := publishedAt(in); got != want {
			t.Errorf("publishedAt(%q) = %q, want %q", in, got, want)
		}
	}
}

// Results a client cannot open (no http(s) URL) are dropped; text is cut
// and its spaces collapsed.
func TestResultsAreNormalized(t *testing.T) {
	long := strings.Repeat("word ", 400)
	res, err := parsePerplexity([]byte(`{"results":[{"title":"a","url":"javascript:alert(1)","snippet":"x"},{"title":"b","url":"ftp://x"},` +
		`{"title":"c\n\tc","url":"https://ok.example/","snippet":"` + long + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 1 || res.Results[0].Title != "c c" || len([]rune(res.Results[0].Snippet)) != MaxSnippetChars ||
		!strings.HasSuffix(res.Results[0].Snippet, "…") {
		t.Errorf("%+v", res.Results)
	}
}
