package openai

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
)

var sources = []ownkey.WebSource{
	{Title: "Rust 1.87", URL: "https://blog.rust-lang.org/1.87"},
	{Title: `Releases "rust"`, URL: "https://github.com/rust-lang/rust/releases"},
}

// Citations counted in characters: "Café" is 4 before " [1]".
const (
	citedText = "Café [1] and [2][9]."
	citations = `[{"type":"url_citation","url_citation":{"end_index":8,"start_index":5,"title":"Rust 1.87","url":"https://blog.rust-lang.org/1.87"}},` +
		`{"type":"url_citation","url_citation":{"end_index":16,"start_index":13,"title":"Releases \"rust\"","url":"https://github.com/rust-lang/rust/releases"}}]`
)

// A translated stream (Anthropic, …): the text is scanned as it passes and
// the finish chunk's delta carries the annotations.
func TestCiteTranslatedStream(t *testing.T) {
	w, rec, _ := stream(t, false)
	w.Cite(sources)
	must(t, w.Start("msg_1", "claude-x-1", 1700000000))
	must(t, w.Text(`"Caf\u00e9 [1] and "`))
	must(t, w.Text(`"[2][9]."`))
	must(t, w.End("stop", usage, nil))
	must(t, w.Flush())
	want := delta(`{"role":"assistant","content":""}`) + delta(`{"content":"Caf\u00e9 [1] and "}`) + delta(`{"content":"[2][9]."}`) +
		frame(head+`,"choices":[{"index":0,"delta":{"annotations":`+citations+`},"logprobs":null,"finish_reason":"stop"}]}`) + done
	if got := rec.Body.String(); got != want {
		t.Errorf("stream:\n got %s\nwant %s", got, want)
	}
}

// A translated whole answer: message.annotations.
func TestCiteTranslatedAnswer(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec, false, false)
	w.Cite(sources)
	must(t, w.Start("msg_1", "claude-x-1", 1700000000))
	must(t, w.Text(`"Caf\u00e9 [1] and [2][9]."`))
	must(t, w.End("stop", usage, nil))
	var got struct {
		Choices []struct {
			Message struct {
				Content     string          `json:"content"`
				Annotations json.RawMessage `json:"annotations"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if m := got.Choices[0].Message; m.Content != citedText || string(m.Annotations) != citations {
		t.Errorf("message %+v\nbody %s", m, rec.Body)
	}
}

// Without Cite nothing changes: the bytes of an answer are today's.
func TestNoCiteNoAnnotations(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec, false, false)
	must(t, w.Start("msg_1", "claude-x-1", 1700000000))
	must(t, w.Text(`"[1]"`))
	must(t, w.End("stop", usage, nil))
	if strings.Contains(rec.Body.String(), "annotations") {
		t.Errorf("%s", rec.Body)
	}
	if r := w.Released(); r.cite != nil {
		t.Error("a released writer still cites")
	}
}

// A relayed stream (an OpenAI-compatible provider): the chunks pass as
// they are but for the finish chunk, whose delta gets the annotations,
// also when it carries the last content itself.
func TestCiteRelayedStream(t *testing.T) {
	chunk := func(delta, finish string) string {
		return `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + finish + `}]}`
	}
	for _, c := range []struct {
		name   string
		chunks []string
		last   string // the finish chunk as relayed
	}{
		{"finish apart", []string{chunk(`{"role":"assistant","content":"Caf\u00e9 [1] and "}`, "null"), chunk(`{"content":"[2][9]."}`, "null"), chunk(`{}`, `"stop"`)},
			chunk(`{"annotations":`+citations+`}`, `"stop"`)},
		{"finish with content", []string{chunk(`{"role":"assistant","content":"Café [1] and "}`, "null"), chunk(`{"content":"[2][9]."}`, `"stop"`)},
			chunk(`{"annotations":`+citations+`,"content":"[2][9]."}`, `"stop"`)},
		{"provider's own annotations", []string{chunk(`{"content":"Café [1] and [2][9]."}`, "null"), chunk(` { "annotations" : [ ] } `, `"stop"`)},
			chunk(` { "annotations" : [ `+citations[1:len(citations)-1]+`] } `, `"stop"`)},
		{"provider's own non-empty", []string{chunk(`{"content":"Café [1] and [2][9]."}`, "null"), chunk(`{"annotations":[{"type":"x"}]}`, `"stop"`)},
			chunk(`{"annotations":[{"type":"x"},`+citations[1:len(citations)-1]+`]}`, `"stop"`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, rec, _ := stream(t, false)
			w.Cite(sources)
			var want strings.Builder
			for i, ch := range c.chunks {
				must(t, w.RelayEvent(nil, []byte(ch)))
				if i == len(c.chunks)-1 {
					want.WriteString(frame(c.last))
				} else {
					want.WriteString(frame(ch))
				}
			}
			must(t, w.RelayEvent(nil, []byte("[DONE]")))
			must(t, w.Flush())
			want.WriteString(done)
			if got := rec.Body.String(); got != want.String() {
				t.Errorf("\n got %s\nwant %s", got, want.String())
			}
			var v any
			if err := json.Unmarshal([]byte(c.last), &v); err != nil {
				t.Errorf("finish chunk is not JSON: %v", err)
			}
		})
	}
}

// A relayed whole answer: the annotations go into its message (in place
// of the provider's empty list).
func TestCiteRelayedBody(t *testing.T) {
	for _, body := range []string{
		`{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Caf\u00e9 [1] and [2][9]."},"finish_reason":"stop"}]}`,
		`{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Café [1] and [2][9].","annotations":[]},"finish_reason":"stop"}]}`,
	} {
		rec := httptest.NewRecorder()
		w := NewWriter(rec, false, false)
		w.Cite(sources)
		must(t, w.RelayBody([]byte(body), nil))
		var got struct {
			Choices []struct {
				Message struct {
					Annotations json.RawMessage `json:"annotations"`
				} `json:"message"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("%v: %s", err, rec.Body)
		}
		if a := string(got.Choices[0].Message.Annotations); a != citations {
			t.Errorf("annotations %s\nbody %s", a, rec.Body)
		}
		if n := strings.Count(rec.Body.String(), `"annotations"`); n != 1 {
			t.Errorf("%d annotations members: %s", n, rec.Body)
		}
	}
}

// FuzzCiteRelay: whatever a provider relays, citing never breaks it: a
// chunk or body that was JSON stays JSON with at most the annotations
// added, and anything else passes unchanged.
func FuzzCiteRelay(f *testing.F) {
	for _, s := range []string{
		`{"choices":[{"index":0,"delta":{"content":"a [1]"},"finish_reason":"stop"}]}`,
		`{"choices":[{"delta":{"annotations":[ ]},"finish_reason":"length"}]}`,
		`{"choices":[{"delta":{"annotations":{}},"finish_reason":"stop"}]}`,
		`{"choices":[{"delta":null,"finish_reason":"stop"}]}`,
		`{"choices":[{"message":{"content":"[2]","annotations":[1,2]}}]}`,
		`{"choices":[{"message":{}}]}`, `[DONE]`, `{"choices":`, `{"choices":[{"delta":{"content":"\u005b1]"},"finish_reason":"stop"}]}`,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, streamed bool) {
		rec := httptest.NewRecorder()
		w := NewWriter(rec, streamed, false)
		defer w.Finish()
		w.Cite(sources)
		var out []byte
		if streamed {
			out = w.citeChunk(append([]byte(nil), data...))
		} else {
			out = w.citeBody(append([]byte(nil), data...))
		}
		if string(out) == string(data) {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("invalid JSON edited:\n in %q\nout %q", data, out)
		}
		if !json.Valid(out) {
			t.Fatalf("edit broke JSON:\n in %s\nout %s", data, out)
		}
		var in, got any
		_ = json.Unmarshal(data, &in)
		_ = json.Unmarshal(out, &got)
		if strings.Count(string(out), "annotations") < 1 {
			t.Fatalf("changed without annotations:\n in %s\nout %s", data, out)
		}
	})
}

// BenchmarkStreamDeltasCiting is BenchmarkStreamDeltas for a request that
// searched the web: each delta is also scanned for citations (200 deltas,
// one citing a source), and the finish chunk carries the annotations.
func BenchmarkStreamDeltasCiting(b *testing.B) {
	var w Writer
	rw := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.Reset(rw, true, true)
		w.Cite(sources)
		upstream := w.Stream(strings.NewReader(""), nil)
		_ = w.Start("msg_01XFDUDYJgAACzvnptvVoYEL", "claude-sonnet-4-5-20250929", 1700000000)
		for i := range 200 {
			if i == 100 {
				_ = w.Text(`"as the release notes say [1]\n"`)
				continue
			}
			_ = w.Text(`"line \"quoted\"\nnext "`)
		}
		_ = w.End("stop", usage, nil)
		_, _ = upstream.Read(nil)
		w.Finish()
	}
}

// BenchmarkRelayCiting is the relayed stream of a request that searched
// the web: each chunk is read for its content (200 chunks), the finish
// chunk edited.
func BenchmarkRelayCiting(b *testing.B) {
	chunk := []byte(`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"line \"quoted\"\nnext [1] "},"finish_reason":null}]}`)
	last := []byte(`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`)
	for _, cite := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "citing"}[cite], func(b *testing.B) {
			var w Writer
			rw := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				w.Reset(rw, true, false)
				if cite {
					w.Cite(sources)
				}
				upstream := w.Stream(strings.NewReader(""), nil)
				for range 200 {
					_ = w.RelayEvent(nil, chunk)
				}
				_ = w.RelayEvent(nil, last)
				_, _ = upstream.Read(nil)
				w.Finish()
			}
		})
	}
}
