package websearch

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/websearch/websearchtest"
)

// FuzzParseResults: every provider's parser takes any bytes without
// panicking, and whatever results it makes are fit to hand a client: a
// known type, an http(s) URL, valid UTF-8, text cut to MaxSnippetChars, a
// normalized date or none, and never a negative price.
func FuzzParseResults(f *testing.F) {
	for _, id := range []string{"tavily", "exa", "kagi", "perplexity"} {
		f.Add([]byte(websearchtest.Answer(id)))
		f.Add([]byte(websearchtest.Unauthorized(id)))
	}
	for _, s := range []string{
		`{"results":[{"url":"https://a.example/","title":"\ud800","content":"\u0000x","published_date":"2025-02-30"}]}`,
		`{"images":[1,"https://x.example/i.png",{"url":"http://y.example/"},null]}`,
		`{"data":[{"t":0,"url":"https://k.example/"},{"t":1,"list":null},{"t":"0"}]}`,
		`{"costDollars":{"total":"1e400"},"results":[]}`, `{"costDollars":{"total":-1}}`, `{"costDollars":{"total":1e-12}}`,
		`{"error":[{"code":101,"msg":"Insufficient credit"}]}`, `null`, `[]`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if jsonvalid.Check(b, 0) != nil {
			return // the caller refuses it before any parser sees it
		}
		var all []*SearchResult
		for _, parse := range []func([]byte) (*SearchResult, error){
			parseTavily, parsePerplexity,
			func(b []byte) (*SearchResult, error) { return parseExa(b, true) },
			func(b []byte) (*SearchResult, error) {
				r, kerr := parseKagi(b)
				if kerr != nil {
					return nil, errUnreadable
				}
				return r, nil
			},
		} {
			if r, err := parse(b); err == nil {
				all = append(all, r)
			}
		}
		for _, r := range all {
			if r.AtCost < 0 {
				t.Fatalf("negative price %d", r.AtCost)
			}
			for _, w := range r.Results {
				checkResult(t, w)
			}
		}
	})
}

func checkResult(t *testing.T, w ownkey.WebResult) {
	t.Helper()
	if w.Type != "text" && w.Type != "image" {
		t.Fatalf("type %q", w.Type)
	}
	if webURL(w.URL) == "" || (w.Type == "image" && webURL(w.ImageURL) == "") {
		t.Fatalf("URL %q, image %q", w.URL, w.ImageURL)
	}
	for _, s := range []string{w.Title, w.Snippet, w.URL, w.ImageURL, w.PublishedAt} {
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 %q", s)
		}
	}
	if utf8.RuneCountInString(w.Title) > MaxSnippetChars || utf8.RuneCountInString(w.Snippet) > MaxSnippetChars {
		t.Fatalf("text not cut: %d, %d characters", utf8.RuneCountInString(w.Title), utf8.RuneCountInString(w.Snippet))
	}
	if w.PublishedAt != "" && publishedAt(w.PublishedAt) != w.PublishedAt {
		t.Fatalf("date %q is not normalized", w.PublishedAt)
	}
}

// FuzzChatAugment: for any chat body the chat path would accept (a JSON
// object with a messages array), the query is a bounded piece of its user
// text or a 400 naming messages, and Inject adds exactly one system
// message holding the context, leaves every other message as it was and
// keeps the body valid JSON.
func FuzzChatAugment(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"What is new in Rust?"}]}`,
		`{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"developer","content":"x"},{"role":"user","content":"and 2024?"}]}`,
		`{"messages":[{"role":"user","content":"Tell me about Go"},{"role":"assistant","content":"Go is…"},{"role":"user","content":"why?"}],"model":"m"}`,
		`{"messages":[{"role":"system","content":"only system"}]}`, `{"messages":[]}`, `{"messages" : [ ] , "x":1}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"describe"},{"type":"image_url","image_url":{"url":"data:,"}}]}]}`,
		`{"messages":[{"role":"user","content":"` + strings.Repeat("long ", 200) + `"}]}`,
	} {
		f.Add([]byte(s), "[1] context \"quoted\" \u2028")
	}
	f.Fuzz(func(t *testing.T, body []byte, text string) {
		if jsonvalid.Check(body, 32) != nil {
			return
		}
		var in struct {
			Messages []json.RawMessage `json:"messages"`
		}
		if json.Unmarshal(body, &in) != nil || in.Messages == nil {
			return
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil {
			return
		}
		q, err := ChatQuery(body)
		if err != nil {
			if e, ok := err.(*ownkey.Error); !ok || e.Param != "messages" {
				t.Fatalf("ChatQuery: %v", err)
			}
		} else if q == "" || utf8.RuneCountInString(q) > MaxQueryChars {
			t.Fatalf("query %q", q)
		}
		out := Inject(body, text)
		var got struct {
			Messages []json.RawMessage `json:"messages"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("injected body is not JSON: %v\n in %s\nout %s", err, body, out)
		}
		if len(got.Messages) != len(in.Messages)+1 {
			t.Fatalf("%d messages, want %d\n in %s\nout %s", len(got.Messages), len(in.Messages)+1, body, out)
		}
		// Exactly one message was added: the system message with text.
		var want string
		enc, _ := json.Marshal(text) // as the injection encodes it: invalid UTF-8 replaced
		_ = json.Unmarshal(enc, &want)
		for k := range got.Messages {
			var m struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			}
			if json.Unmarshal(got.Messages[k], &m) != nil || m.Role != "system" || m.Content != want {
				continue
			}
			rest := append(append([]json.RawMessage{}, got.Messages[:k]...), got.Messages[k+1:]...)
			same := true
			for i := range rest {
				same = same && string(rest[i]) == string(in.Messages[i])
			}
			if same {
				return
			}
		}
		t.Fatalf("not exactly one system message added\n in %s\nout %s", body, out)
	})
}
