package chat

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/websearch"
)

// fakeSearch answers every search with res or err and keeps the calls.
type fakeSearch struct {
	res   *ownkey.WebSearchResult
	err   error
	calls []*ownkey.WebSearchCall
}

func (s *fakeSearch) Search(_ context.Context, call *ownkey.WebSearchCall) (*ownkey.WebSearchResult, error) {
	s.calls = append(s.calls, call)
	return s.res, s.err
}

// citing is a sink that keeps the sources it is told to cite.
type citing struct {
	*openai.Writer
	sources []ownkey.WebSource
}

func (c *citing) Cite(s []ownkey.WebSource) { c.sources = s }

func (f *fixture) onlineChat(t *testing.T, ws *ownkey.WebSearchRequest, sink ownkey.ChatSink) error {
	t.Helper()
	return f.svc.Chat(context.Background(), &ownkey.ChatCall{
		RequestID: "req-1", Model: "groq/llama-3.3-70b-versatile", Keys: f.keys, WebSearch: ws, Sink: sink,
		Body:      &body{b: []byte(`{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is new in Rust this year?"}]}`)},
		Principal: &ownkey.Principal{Account: &ownkey.Account{ID: 7}, APIKey: &ownkey.APIKey{ID: 9}},
	})
}

var searchResult = &ownkey.WebSearchResult{Query: "What is new in Rust this year?", Provider: "tavily", Depth: "standard",
	Timestamp: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
	Results: []ownkey.WebResult{
		{Type: "text", Title: "Rust 1.87", URL: "https://blog.rust-lang.org/1.87", Snippet: "Rust 1.87 is out."},
		{Type: "image", URL: "https://img.example/x.png", ImageURL: "https://img.example/x.png"},
		{Type: "text", Title: "Releases", URL: "https://github.com/rust-lang/rust/releases", PublishedAt: "2025-05-15"},
	}}

// The search is made with the conversation's query, under its own request
// id, before the model call; its results reach the model as a system
// message after the client's own; the sink is told the sources.
func TestOnlineSearchesThenChats(t *testing.T) {
	f := newFixture(t, &ownkey.ChatResult{Status: 200, Started: true, Usage: ownkey.Usage{PromptTokens: 1, CompletionTokens: 1}}, nil)
	search := &fakeSearch{res: searchResult}
	f.svc.WebSearch = search
	sink := &citing{Writer: openai.NewWriter(httptest.NewRecorder(), false, false)}
	ws := &ownkey.WebSearchRequest{Provider: "tavily", Depth: "deep", MaxResults: 3}
	if err := f.onlineChat(t, ws, sink); err != nil {
		t.Fatal(err)
	}
	if len(search.calls) != 1 {
		t.Fatalf("%d searches", len(search.calls))
	}
	c := search.calls[0]
	if c.RequestID != "req-1-web" || c.Principal.Account.ID != 7 ||
		!reflect.DeepEqual(c.Request, ownkey.WebSearchRequest{Query: "What is new in Rust this year?", Provider: "tavily", Depth: "deep", MaxResults: 3}) {
		t.Errorf("search call %+v", c)
	}
	var sent struct {
		Messages []struct{ Role, Content string } `json:"messages"`
	}
	if err := json.Unmarshal(f.adapter.got.Body, &sent); err != nil {
		t.Fatalf("%v: %s", err, f.adapter.got.Body)
	}
	if len(sent.Messages) != 3 || sent.Messages[0].Content != "Be brief." || sent.Messages[1].Role != "system" ||
		sent.Messages[1].Content != websearch.Context(searchResult) || sent.Messages[2].Role != "user" {
		t.Errorf("messages sent: %+v", sent.Messages)
	}
	if !strings.Contains(sent.Messages[1].Content, "[2] Releases\nURL: https://github.com/rust-lang/rust/releases\nPublished: 2025-05-15") {
		t.Errorf("context: %s", sent.Messages[1].Content)
	}
	want := []ownkey.WebSource{{Title: "Rust 1.87", URL: "https://blog.rust-lang.org/1.87"}, {Title: "Releases", URL: "https://github.com/rust-lang/rust/releases"}}
	if len(sink.sources) != 2 || sink.sources[0] != want[0] || sink.sources[1] != want[1] {
		t.Errorf("cited sources %+v", sink.sources)
	}
}

// A failed search fails the chat before the model is called: a missing key
// is the client's 400 naming the key to add; the provider's error keeps
// its status and Retry-After; a refused field is named where the chat gave
// it.
func TestOnlineSearchFailuresFailFast(t *testing.T) {
	for _, c := range []struct {
		name   string
		err    error
		status int
		check  func(t *testing.T, e *ownkey.Error)
	}{
		{"no key", websearch.KeyMissing(nil), 400, func(t *testing.T, e *ownkey.Error) {
			if e.Reason != "web_search_key_missing" || e.Param != "model" || !strings.HasPrefix(e.Message, "web search needs a search key: add a web search key") {
				t.Errorf("%+v", e)
			}
		}},
		{"rate limited", &ownkey.Error{Code: ownkey.EUPSTREAM, Status: 429, RetryAfter: "30", Reason: "rate_limit_exceeded", Message: "Tavily is rate limiting this key: slow down"}, 429,
			func(t *testing.T, e *ownkey.Error) {
				if e.RetryAfter != "30" || e.Message != "web search failed: Tavily is rate limiting this key: slow down" {
					t.Errorf("%+v", e)
				}
			}},
		{"refused field", ownkey.FieldError("depth", "Kagi searches at depth standard"), 400, func(t *testing.T, e *ownkey.Error) {
			if e.Param != "webSearch.depth" {
				t.Errorf("%+v", e)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, led := billedFixture(t, &ownkey.ChatResult{Status: 200}, nil, true)
			f.svc.WebSearch = &fakeSearch{err: c.err}
			err := f.onlineChat(t, &ownkey.WebSearchRequest{}, openai.NewWriter(httptest.NewRecorder(), false, false))
			e, ok := err.(*ownkey.Error)
			if !ok || ownkey.StatusOf(e) != c.status {
				t.Fatalf("err %v, want status %d", err, c.status)
			}
			c.check(t, e)
			if f.adapter.got != nil || len(led.holds) != 0 || len(f.rec.recs) != 0 {
				t.Errorf("the model was called (%v), held %d, recorded %d", f.adapter.got != nil, len(led.holds), len(f.rec.recs))
			}
		})
	}
}

// Without web search nothing of it runs: the body the adapter gets is the
// routed body itself.
func TestNoOnlineNoSearch(t *testing.T) {
	f := newFixture(t, &ownkey.ChatResult{Status: 200, Started: true}, nil)
	search := &fakeSearch{res: searchResult}
	f.svc.WebSearch = search
	if _, err := f.chat("groq/llama-3.3-70b-versatile", ""); err != nil {
		t.Fatal(err)
	}
	if len(search.calls) != 0 || string(f.adapter.got.Body) != chatBody {
		t.Errorf("searched %d times; body %s", len(search.calls), f.adapter.got.Body)
	}
}
