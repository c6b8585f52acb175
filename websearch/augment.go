package websearch

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsontext"
)

// Search-augmented chat: the query a conversation asks, and the context a
// search gives the model. The chat body reaching these was checked whole
// (valid JSON within the depth limit) before routing.

// ShortQueryChars: a latest user message shorter than this ("and in
// 2023?", "why?") is searched for together with the user message before it.
const ShortQueryChars = 30

// ChatQuery is what a chat asks the web: the text of its latest user
// message (its text parts, for content given as parts), after the previous
// user message's when the latest is shorter than ShortQueryChars. When
// longer than MaxQueryChars, the end is kept (a question is usually at the
// end of a message), from a word's start. A conversation without user text
// is an EINVALID error naming messages.
func ChatQuery(body []byte) (string, error) {
	// The user messages are kept as they are (a Result holds the raw
	// message) and read from the latest back until two have text: a long
	// conversation's text is not unescaped.
	var msgs []gjson.Result
	gjson.Get(view(body), "messages").ForEach(func(_, m gjson.Result) bool {
		if m.Get("role").Str == "user" {
			msgs = append(msgs, m)
		}
		return true
	})
	var users []string // latest first
	for i := len(msgs) - 1; i >= 0 && len(users) < 2; i-- {
		if t := messageText(msgs[i].Get("content")); t != "" {
			users = append(users, t)
		}
	}
	if len(users) == 0 {
		return "", ownkey.FieldError("messages", "web search needs a user message with text to search for")
	}
	q := users[0]
	if utf8.RuneCountInString(q) < ShortQueryChars && len(users) > 1 {
		q = users[1] + " " + q
	}
	q = strings.Join(strings.Fields(q), " ")
	if n := utf8.RuneCountInString(q); n > MaxQueryChars {
		r := []rune(q)
		cut := r[n-MaxQueryChars:]
		if i := indexRune(cut, ' '); i >= 0 && i < len(cut)-1 {
			cut = cut[i+1:]
		}
		q = string(cut)
	}
	return q, nil
}

// view is b as a string without a copy, for reads that keep nothing of it.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func indexRune(r []rune, c rune) int {
	for i, x := range r {
		if x == c {
			return i
		}
	}
	return -1
}

// messageText is a message's text: a string content, or its text parts
// joined by newlines.
func messageText(content gjson.Result) string {
	if content.Type == gjson.String {
		return strings.TrimSpace(content.Str)
	}
	var parts []string
	content.ForEach(func(_, part gjson.Result) bool {
		if part.Get("type").Str == "text" {
			if t := strings.TrimSpace(part.Get("text").Str); t != "" {
				parts = append(parts, t)
			}
		}
		return true
	})
	return strings.Join(parts, "\n")
}

// Context is the system message a search gives a chat: the instruction to
// cite by number, then each text result numbered from 1 (title, URL,
// date when known, snippet). The model is told to write the numbers in
// square brackets, which the answer's writer finds (ownkey.CitationScanner)
// and turns into citations of those sources.
//
//	Web search results for the user's latest message, from <Provider> on
//	<YYYY-MM-DD> (query: "<query>").
//
//	Use them to answer when they are relevant. Cite each source you use by
//	its number in square brackets right after the statement it supports,
//	like [1] or [2][3]. Do not cite sources that are not listed here. If
//	the results do not answer the question, say so and answer from what
//	you know.
//
//	[1] <title>
//	URL: <url>
//	Published: <date>
//	<snippet>
//
//	[2] …
func Context(res *ownkey.WebSearchResult) string {
	var b strings.Builder
	size := 600
	for _, r := range res.Results {
		size += len(r.Title) + len(r.URL) + len(r.PublishedAt) + len(r.Snippet) + 40
	}
	b.Grow(size)
	name := res.Provider
	if p, ok := ownkey.LookupProvider(res.Provider); ok {
		name = p.ShortName()
	}
	b.WriteString("Web search results for the user's latest message, from ")
	b.WriteString(name)
	b.WriteString(" on ")
	b.WriteString(res.Timestamp.UTC().Format(time.DateOnly))
	b.WriteString(" (query: ")
	b.WriteString(strconv.Quote(res.Query))
	b.WriteString(").\n\n")
	b.WriteString("Use them to answer when they are relevant. Cite each source you use by its number in square brackets " +
		"right after the statement it supports, like [1] or [2][3]. Do not cite sources that are not listed here. " +
		"If the results do not answer the question, say so and answer from what you know.")
	n := 0
	for _, r := range res.Results {
		if r.Type != "text" {
			continue
		}
		n++
		b.WriteString("\n\n[")
		b.WriteString(strconv.Itoa(n))
		b.WriteString("] ")
		b.WriteString(r.Title)
		b.WriteString("\nURL: ")
		b.WriteString(r.URL)
		if r.PublishedAt != "" {
			b.WriteString("\nPublished: ")
			b.WriteString(r.PublishedAt)
		}
		if r.Snippet != "" {
			b.WriteString("\n")
			b.WriteString(r.Snippet)
		}
	}
	if n == 0 {
		b.WriteString("\n\nThe search found nothing.")
	}
	return b.String()
}

// Inject returns a copy of body with a system message holding text added
// to its messages: after the client's leading system and developer
// messages, before the conversation, so that the client's own instructions
// stay first and providers that want system messages at the start get
// them there. body must hold a messages array (the chat path checked it).
func Inject(body []byte, text string) []byte {
	msgs := gjson.Get(view(body), "messages") // in place: nothing read is kept
	if !msgs.IsArray() {
		return body
	}
	msg := make([]byte, 0, len(text)+len(text)/8+40)
	msg = append(msg, `{"role":"system","content":`...)
	msg = append(jsontext.AppendString(msg, text), '}')
	at, after := -1, false
	msgs.ForEach(func(_, m gjson.Result) bool {
		if r := m.Get("role").Str; r == "system" || r == "developer" {
			return true
		}
		at = m.Index
		return false
	})
	if at < 0 {
		// Only system messages, or none: at the end of the array.
		at = msgs.Index + len(msgs.Raw) - 1
		for at > msgs.Index && body[at] != ']' {
			at--
		}
		after = nonEmptyArray(msgs)
	}
	out := make([]byte, 0, len(body)+len(msg)+1)
	out = append(out, body[:at]...)
	if after {
		out = append(out, ',')
	}
	out = append(out, msg...)
	if !after && at != msgs.Index+len(msgs.Raw)-1 {
		out = append(out, ',')
	}
	return append(out, body[at:]...)
}

func nonEmptyArray(v gjson.Result) bool {
	found := false
	v.ForEach(func(_, _ gjson.Result) bool { found = true; return false })
	return found
}
