// Package websearchtest is the web-search providers' test kit: each
// provider's answer to a search as its API documents it (realistic result
// sets, in the provider's own shape), how it wants the key, and a fake of it
// on 127.0.0.1 that refuses a request whose key arrives in another form.
// Like net/http/httptest, it is for tests only.
package websearchtest

import (
	"net/http"
	"testing"

	"github.com/ownkey/ownkey/provider/providertest"
)

// Answers to a search, one per provider, in the shapes of their API
// references (Tavily's /search, Exa's /search with contents.text, Kagi's
// v0 envelope with a related-searches object, Perplexity's /search).
const (
	TavilyAnswer = `{"query":"latest rust release","follow_up_questions":null,"answer":null,` +
		`"images":["https://images.example.com/rust-logo.png",{"url":"https://cdn.example.org/ferris.png","description":"Ferris the crab, Rust's mascot"}],` +
		`"results":[{"url":"https://blog.rust-lang.org/2025/05/15/Rust-1.87.0/","title":"Announcing Rust 1.87.0 | Rust Blog",` +
		`"content":"The Rust team is happy to announce a new version of Rust, 1.87.0. Rust is a programming language\nempowering everyone to build reliable and efficient software.",` +
		`"score":0.8859,"raw_content":null,"published_date":"Thu, 15 May 2025 00:00:00 GMT"},` +
		`{"url":"https://github.com/rust-lang/rust/releases","title":"Releases · rust-lang/rust · GitHub",` +
		`"content":"Empowering everyone to build reliable and efficient software. - Releases · rust-lang/rust","score":0.7214,"raw_content":null}],` +
		`"response_time":1.09,"request_id":"123e4567-e89b-12d3-a456-426614174111"}`

	ExaAnswer = `{"requestId":"b5947044c4b78efa9552a7c89b306d95","resolvedSearchType":"neural",` +
		`"results":[{"id":"https://arxiv.org/abs/2307.06435","title":"A Comprehensive Overview of Large Language Models",` +
		`"url":"https://arxiv.org/abs/2307.06435","publishedDate":"2023-07-12T00:00:00.000Z","author":"Humza Naveed",` +
		`"score":0.4600,"text":"Large Language Models (LLMs) have recently demonstrated remarkable capabilities in natural language processing tasks and beyond.",` +
		`"image":"https://arxiv.org/static/browse/0.3.4/images/arxiv-logo-fb.png","favicon":"https://arxiv.org/favicon.ico"},` +
		`{"id":"https://www.nature.com/articles/s41586-023-06291-2","title":"Large language models encode clinical knowledge",` +
		`"url":"https://www.nature.com/articles/s41586-023-06291-2","publishedDate":"2023-07-12T00:00:00.000Z","author":"Karan Singhal",` +
		`"highlights":["Large language models (LLMs) have demonstrated impressive capabilities."],"summary":"LLMs encode clinical knowledge and can be evaluated with MultiMedQA."}],` +
		`"searchType":"neural","costDollars":{"total":0.005,"search":{"neural":0.005}}}`

	KagiAnswer = `{"meta":{"id":"69c3f5c4168f66b860e951c585550f1c","node":"us-central1","ms":213,"api_balance":123.456},` +
		`"data":[{"t":0,"rank":1,"url":"https://en.wikipedia.org/wiki/Steve_Jobs","title":"Steve Jobs - Wikipedia",` +
		`"snippet":"Steven Paul Jobs (February 24, 1955 – October 5, 2011) was an American businessman, inventor, and investor best known for co-founding the technology company Apple Inc.",` +
		`"published":"2024-01-02T10:00:00Z","thumbnail":{"url":"/proxy/310px-Steve_Jobs_Headshot_2010-CROP.jpg","width":null,"height":null}},` +
		`{"t":1,"list":["steve jobs death","steve jobs movie","steve jobs quotes"]},` +
		`{"t":0,"rank":2,"url":"https://www.apple.com/stevejobs/","title":"Remembering Steve Jobs - Apple","snippet":"Steve's life and work are remembered."}]}`

	PerplexityAnswer = `{"results":[{"title":"Artificial Intelligence News -- ScienceDaily",` +
		`"url":"https://www.sciencedaily.com/news/computers_math/artificial_intelligence/",` +
		`"snippet":"Artificial Intelligence News. Everything on AI including futuristic robots with artificial intelligence, computer models of human intelligence and more.",` +
		`"date":"2025-10-07","last_updated":"2025-10-08"},` +
		`{"title":"AI News | Latest AI News, Analysis & Events","url":"https://www.artificialintelligence-news.com/",` +
		`"snippet":"AI News reports on the latest artificial intelligence news and insights.","date":null,"last_updated":"2025-10-06"}],` +
		`"id":"e38104d5-6bd7-4d82-bc4e-0a21179d1f77","server_time":null}`
)

// Answer is provider id's answer to a search.
func Answer(id string) string {
	return map[string]string{"tavily": TavilyAnswer, "exa": ExaAnswer, "kagi": KagiAnswer, "perplexity": PerplexityAnswer}[id]
}

// BasePath is where the provider's API sits under its host: Kagi's base
// URL is https://kagi.com/api, the others' the host itself.
func BasePath(id string) string {
	if id == "kagi" {
		return "/api"
	}
	return ""
}

// Auth is the header and value the provider wants key in: Bearer for
// Tavily and Perplexity, x-api-key for Exa, "Bot <key>" for Kagi.
func Auth(id, key string) (header, value string) {
	switch id {
	case "exa":
		return "X-Api-Key", key
	case "kagi":
		return "Authorization", "Bot " + key
	}
	return "Authorization", "Bearer " + key
}

// SearchPath is the method and path of a search at the provider.
func SearchPath(id string) (method, path string) {
	if id == "kagi" {
		return http.MethodGet, "/api/v0/search"
	}
	return http.MethodPost, "/search"
}

// Fake is a fake of provider id on 127.0.0.1 that wants key: a search with
// the key in the provider's form is answered with reply (default: the
// provider's Answer), anything else with the provider's 401.
func Fake(t testing.TB, id, key string, reply ...func(http.ResponseWriter, *http.Request)) *providertest.Upstream {
	t.Helper()
	answer := providertest.JSONReply(http.StatusOK, Answer(id))
	if len(reply) > 0 {
		answer = reply[0]
	}
	header, value := Auth(id, key)
	return providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		method, path := SearchPath(id)
		switch {
		case r.Header.Get(header) != value || other(r, header):
			providertest.JSONReply(http.StatusUnauthorized, Unauthorized(id))(w, r)
		case r.Method != method || r.URL.Path != path:
			providertest.JSONReply(http.StatusNotFound, `{"detail":"Not Found"}`)(w, r)
		default:
			answer(w, r)
		}
	})
}

// other reports whether r carries a credential header besides the one the
// provider reads: a key must travel in one form only.
func other(r *http.Request, header string) bool {
	for _, h := range providertest.CredentialHeaders {
		if h != header && r.Header.Get(h) != "" {
			return true
		}
	}
	return false
}

// Unauthorized is the provider's answer to a bad key.
func Unauthorized(id string) string {
	switch id {
	case "tavily":
		return `{"detail":{"error":"Unauthorized: missing or invalid API key."}}`
	case "exa":
		return `{"requestId":"0b7ea5e4","error":"Invalid API key","tag":"INVALID_API_KEY"}`
	case "kagi":
		return `{"meta":{"id":"bcbf11d2","node":"us-east","ms":0},"data":null,"error":[{"code":2,"msg":"Unauthorized: invalid token","ref":null}]}`
	}
	return `{"error":{"message":"Invalid API key provided.","type":"invalid_api_key","code":401}}`
}
