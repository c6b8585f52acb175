package openaicompat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/internal/fixtures"
)

// observed is everything inspect reports or records for one chunk.
type observed struct {
	ci                     chunkInfo
	sample                 string
	outputBytes            int64
	res                    ownkey.ChatResult
	id, created, model, us string
	sawFinish              bool
}

func observe(x *exchange, ci chunkInfo) observed {
	return observed{ci, string(x.counted.Sample()), x.counted.Bytes(), *x.res, string(x.id), string(x.created), string(x.model), string(x.usage), x.sawFinish}
}

// compareShortcuts feeds chunks, in order, to an exchange that takes
// inspect's shortcuts and to one that reads every chunk whole, and fails at
// the first chunk where anything differs.
func compareShortcuts(t *testing.T, stream bool, chunks [][]byte) (resumed int) {
	t.Helper()
	fast := &exchange{req: &ownkey.ChatRequest{Stream: stream}, res: &ownkey.ChatResult{}}
	whole := &exchange{req: &ownkey.ChatRequest{Stream: stream}, res: &ownkey.ChatResult{}, noShortcuts: true}
	for i, c := range chunks {
		wasResumable := len(fast.resume) > 0 && bytes.HasPrefix(c, fast.resume) && len(c) > len(fast.resume)
		got, want := observe(fast, fast.inspect(c)), observe(whole, whole.inspect(c))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("chunk %d %q:\nwith shortcuts %+v\nread whole     %+v", i, c, got, want)
		}
		if wasResumable {
			resumed++
		}
	}
	return resumed
}

func TestInspectShortcutsMatchWholeReading(t *testing.T) {
	dir := fixtures.Dir(t, "vercel-ai")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.chunks.txt"))
	var resumed int
	for _, path := range files {
		var chunks [][]byte
		for _, l := range fixtures.Lines(t, path) {
			chunks = append(chunks, []byte(l))
		}
		t.Run(filepath.Base(path), func(t *testing.T) { resumed += compareShortcuts(t, true, chunks) })
	}
	if resumed < 500 {
		t.Fatalf("only %d chunks took the shortcut: the test does not exercise it", resumed)
	}
}

// shortcutSeeds are sequences built to walk into the shortcuts and then
// differ in every way that matters right after them.
func shortcutSeeds() [][3]string {
	head := `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":`
	tail := `},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"`
	chunk := func(text, rest string) string { return head + `"` + text + `"` + rest }
	plain := func(text, pad string) string { return chunk(text, tail+pad+`"}`) }
	return [][3]string{
		{plain("a", "x"), plain("b", "yy"), plain("c", "zzz")},
		{plain("a", "x"), plain("b", "x"), chunk("c", `},"logprobs":null,"finish_reason":"stop"}],"usage":null,"obfuscation":"q"}`)},
		{plain("a", "x"), plain("b", "x"), chunk("c", `},"logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":3,"completion_tokens":4},"obfuscation":"q"}`)},
		{plain("a", "x"), plain("b", "x"), chunk("c", `,"reasoning":"r"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"q"}`)},
		{plain("a", "x"), plain("b", "x"), chunk("c", `}},{"index":1,"delta":{"content":"d"}}],"usage":null}`)},
		{plain("a", "x"), plain("b", "x"), chunk("c", `},"logprobs":null,"finish_reason":null}],"error":{"message":"boom"},"obfuscation":"q"}`)},
		{plain("a", "x"), plain("b\\n\\u00e9", "x"), plain("\\ud83d\\ude00", "x")},
		{plain("a", "x"), plain("b", "x"), plain("c", "x")[:60]},
		{plain("a", "x"), plain("b", "x"), head + `null` + tail + `q"}`},
		{plain("a", "x"), plain("b", "x"), `{"id":"c2","object":"chat.completion.chunk","created":2,"model":"m2","choices":[{"index":0,"delta":{"content":"x"}}]}`},
		{head + `"a","tool_calls":[{"index":0,"function":{"arguments":"{"}}]` + tail + `p"}`,
			head + `"b","tool_calls":[{"index":0,"function":{"arguments":"}"}}]` + tail + `p"}`,
			head + `"c","tool_calls":[{"index":0,"function":{"arguments":"x"}}]` + tail + `pq"}`},
		{`{"id":"x","choices":[{"index":0,"delta":{"reasoning_content":"","reasoning":"r1"}}]}`,
			`{"id":"x","choices":[{"index":0,"delta":{"reasoning_content":"r2","reasoning":"r2"}}]}`,
			`{"id":"x","choices":[{"index":0,"delta":{"reasoning_content":"","reasoning":""}}]}`},
	}
}

func TestInspectShortcutSeeds(t *testing.T) {
	for i, seq := range shortcutSeeds() {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			chunks := [][]byte{[]byte(seq[0]), []byte(seq[1]), []byte(seq[2])}
			// Repeat, so that the last chunk is also met after shortcuts
			// were set up by the ones before.
			compareShortcuts(t, true, append(append(chunks, chunks...), chunks...))
		})
	}
}

func FuzzInspectShortcuts(f *testing.F) {
	for _, seq := range shortcutSeeds() {
		f.Add([]byte(seq[0]), []byte(seq[1]), []byte(seq[2]))
	}
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		compareShortcuts(t, true, [][]byte{a, b, c, a, c, b, c})
		compareShortcuts(t, false, [][]byte{a, b, c})
	})
}

// FuzzInspectText checks what inspect counts as output against
// encoding/json, for inputs that are valid JSON.
func FuzzInspectText(f *testing.F) {
	for _, seq := range shortcutSeeds() {
		f.Add([]byte(seq[1]))
	}
	f.Add([]byte(`{"choices":[{"delta":{"content":"a\"b\\c\/d\u0041\ud800x"},"finish_reason":"stop"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		x := &exchange{req: &ownkey.ChatRequest{Stream: true}, res: &ownkey.ChatResult{}}
		ci := x.inspect(data)
		if !json.Valid(data) || !utf8.Valid(data) || bytes.TrimSpace(data)[0] != '{' {
			return // inspect reads objects: null or [] is no chunk, though it decodes
		}
		var c wireChunk
		if err := json.Unmarshal(data, &c); err != nil {
			return // valid JSON of another shape
		}
		if hasDuplicateKeys(data) {
			// encoding/json keeps the last duplicate and matches names
			// in any case; inspect counts all, in exact case.
			return
		}
		var tr transcript
		tr.add(t, c, true)
		want := tr.outputBytes()
		if !ci.ok {
			t.Fatalf("valid chunk not read to its end: %s", data)
		}
		if ci.choices != len(c.Choices) {
			t.Fatalf("choices = %d, want %d", ci.choices, len(c.Choices))
		}
		// transcript does not read refusal, which inspect counts.
		if x.counted.Bytes() != want && !bytes.Contains(data, []byte(`"refusal"`)) {
			t.Fatalf("output bytes = %d, want %d for %s", x.counted.Bytes(), want, data)
		}
	})
}

// hasDuplicateKeys reports keys that encoding/json and inspect read
// differently: a name that matters seen twice anywhere, or in another case.
func hasDuplicateKeys(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	seen := map[string]int{}
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if s, ok := tok.(string); ok {
			for _, name := range []string{"choices", "delta", "content", "reasoning", "reasoning_content", "tool_calls", "function", "arguments", "name", "refusal", "message", "usage", "error"} {
				if s != name && strings.EqualFold(s, name) {
					return true
				}
			}
			seen[s]++
			if seen[s] > 1 && (s == "content" || s == "reasoning" || s == "reasoning_content" || s == "arguments" || s == "delta" || s == "message" || s == "choices" || s == "function" || s == "tool_calls" || s == "refusal") {
				return true
			}
		}
	}
	return false
}

func TestCommonPrefix(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 0}, {"abcdefghijk", "abcdefghijk", 11},
		{"abcdefghijk", "abcdefghijX", 10}, {"abcdefgh", "abcdefgX", 7}, {"Xbc", "abc", 0}, {"abc", "abcdef", 3},
	}
	for _, tc := range cases {
		if got := commonPrefix([]byte(tc.a), []byte(tc.b)); got != tc.want {
			t.Errorf("commonPrefix(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestInspectTruncatedChunks runs inspect on every prefix of realistic
// chunks (truncated JSON is what a broken stream delivers): no panic, and
// none is taken for a whole chunk.
func TestInspectTruncatedChunks(t *testing.T) {
	for _, seq := range shortcutSeeds() {
		for _, c := range seq {
			for n := 0; n <= len(c); n++ {
				x := &exchange{req: &ownkey.ChatRequest{Stream: true}, res: &ownkey.ChatResult{}}
				if ci := x.inspect([]byte(c[:n])); ci.ok && n < len(c) && json.Valid([]byte(c)) {
					t.Fatalf("truncated chunk %q reported as read whole", c[:n])
				}
			}
		}
	}
}
