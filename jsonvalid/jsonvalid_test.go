package jsonvalid

import (
	"bytes"
	"encoding/json"
	"slices"

	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

var checkCases = []struct {
	in   string
	want error
}{
	{`{}`, nil}, {`[]`, nil}, {` {"a" : [1, -2.5e+3, true, false, null, "x"]} `, nil},
	{`"\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"`, nil}, {`0`, nil}, {`-0.0E-0`, nil},
	{"\"caf\xc3\xa9 \xff\"", nil}, // invalid UTF-8 is accepted, as by encoding/json
	{`{"a":{"b":{"c":[[[]]]}}}`, nil},
	{``, ErrSyntax}, {` `, ErrSyntax}, {`{`, ErrSyntax}, {`[`, ErrSyntax}, {`]`, ErrSyntax},
	{`{"a"}`, ErrSyntax}, {`{"a":}`, ErrSyntax}, {`{"a":1,}`, ErrSyntax}, {`[1,]`, ErrSyntax},
	{`[1 2]`, ErrSyntax}, {`{"a":1 "b":2}`, ErrSyntax}, {`{a:1}`, ErrSyntax}, {`{"a":1]`, ErrSyntax},
	{`[1}`, ErrSyntax}, {`{} {}`, ErrSyntax}, {`01`, ErrSyntax}, {`-`, ErrSyntax}, {`1.`, ErrSyntax},
	{`.5`, ErrSyntax}, {`1e`, ErrSyntax}, {`1e+`, ErrSyntax}, {`+1`, ErrSyntax}, {`tru`, ErrSyntax},
	{`truex`, ErrSyntax}, {`nul`, ErrSyntax}, {`"abc`, ErrSyntax}, {`"\x"`, ErrSyntax}, {`"\u12"`, ErrSyntax},
	{`"\u12g4"`, ErrSyntax}, {"\"a\tb\"", ErrSyntax}, {"\"a\x00b\"", ErrSyntax}, {"\xef\xbb\xbf{}", ErrSyntax},
	{`NaN`, ErrSyntax}, {`[,]`, ErrSyntax}, {`{,}`, ErrSyntax}, {`"\`, ErrSyntax},
}

func TestCheck(t *testing.T) {
	for _, tc := range checkCases {
		if got := Check([]byte(tc.in), 0); got != tc.want {
			t.Errorf("Check(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if valid := json.Valid([]byte(tc.in)); valid != (tc.want == nil) {
			t.Errorf("case %q disagrees with encoding/json.Valid (%v)", tc.in, valid)
		}
	}
}

// nest is depth '[' then depth ']'; the same with objects when obj.
func nest(depth int, obj bool) []byte {
	if obj {
		return []byte(strings.Repeat(`{"a":`, depth-1) + `{}` + strings.Repeat(`}`, depth-1))
	}
	return []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
}

func TestCheckDepthLimit(t *testing.T) {
	for _, obj := range []bool{false, true} {
		if err := Check(nest(DefaultMaxDepth, obj), 0); err != nil {
			t.Errorf("%d levels (objects %v): %v, want accepted", DefaultMaxDepth, obj, err)
		}
		if err := Check(nest(DefaultMaxDepth+1, obj), 0); err != ErrTooDeep {
			t.Errorf("%d levels (objects %v): %v, want ErrTooDeep", DefaultMaxDepth+1, obj, err)
		}
		if err := Check(nest(300, obj), 300); err != nil {
			t.Errorf("300 levels with limit 300: %v", err)
		}
		if err := Check(nest(MaxDepthCeiling, obj), 1<<30); err != nil {
			t.Errorf("%d levels with a limit above the ceiling: %v", MaxDepthCeiling, err)
		}
		if err := Check(nest(MaxDepthCeiling+1, obj), 1<<30); err != ErrTooDeep {
			t.Errorf("%d levels: %v, want ErrTooDeep (the ceiling)", MaxDepthCeiling+1, err)
		}
	}
	// Mixed containers at the bit-stack's word boundaries.
	var b strings.Builder
	for i := range 200 {
		if i%3 == 0 {
			b.WriteString(`{"k":`)
		} else {
			b.WriteString(`[1,`)
		}
	}
	b.WriteString(`null`)
	for i := 199; i >= 0; i-- {
		if i%3 == 0 {
			b.WriteString(`}`)
		} else {
			b.WriteString(`]`)
		}
	}
	if err := Check([]byte(b.String()), 200); err != nil || !json.Valid([]byte(b.String())) {
		t.Fatalf("mixed nesting: %v", err)
	}
	if err := Check([]byte(b.String()), 199); err != ErrTooDeep {
		t.Fatalf("mixed nesting over the limit: %v", err)
	}
	if Depth(0) != DefaultMaxDepth || Depth(-1) != DefaultMaxDepth || Depth(5) != 5 || Depth(1e9) != MaxDepthCeiling {
		t.Fatal("Depth does not resolve limits as documented")
	}
}

// TestCheckHugeNesting is the input that killed the process through
// gjson.ValidBytes: refused at the first level too many, at once.
func TestCheckHugeNesting(t *testing.T) {
	deep := bytes.Repeat([]byte("["), 6_000_000)
	if err := Check(deep, 0); err != ErrTooDeep {
		t.Fatalf("6,000,000 '[': %v, want ErrTooDeep", err)
	}
	deep = bytes.Repeat([]byte(`{"a":`), 1_000_000)
	if err := Check(deep, 0); err != ErrTooDeep {
		t.Fatalf("1,000,000 objects: %v, want ErrTooDeep", err)
	}
}

func TestCheckAllocatesNothing(t *testing.T) {
	body := chatBody(100 << 10)
	if n := testing.AllocsPerRun(20, func() { _ = Check(body, 0) }); n != 0 {
		t.Fatalf("Check allocated %v times, want 0", n)
	}
}

// refDepth is the nesting depth of valid JSON, read with encoding/json.
func refDepth(data []byte) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return deepest
		}
		if err != nil {
			return -1
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
				deepest = max(deepest, depth)
			} else {
				depth--
			}
		}
	}
}

// FuzzCheck compares Check with encoding/json.Valid: the same verdict
// within the limit, ErrTooDeep exactly when valid JSON goes deeper, and
// never nil for invalid JSON.
func FuzzCheck(f *testing.F) {
	for _, tc := range checkCases {
		f.Add([]byte(tc.in), uint8(4))
	}
	f.Add(nest(5, false), uint8(4))
	f.Add(nest(5, true), uint8(5))
	f.Add(chatBody(2000), uint8(8))
	f.Fuzz(func(t *testing.T, data []byte, limit uint8) {
		maxDepth := int(limit%64) + 1
		err := Check(data, maxDepth)
		if err != nil && err != ErrSyntax && err != ErrTooDeep {
			t.Fatalf("unexpected error %v", err)
		}
		if !json.Valid(data) {
			if err == nil {
				t.Fatalf("Check accepted invalid JSON %q", data)
			}
			return
		}
		d := refDepth(data)
		switch {
		case d <= maxDepth && err != nil:
			t.Fatalf("Check(%q, %d) = %v; valid JSON of depth %d", data, maxDepth, err, d)
		case d > maxDepth && err != ErrTooDeep:
			t.Fatalf("Check(%q, %d) = %v; valid JSON of depth %d, want ErrTooDeep", data, maxDepth, err, d)
		}
		if gjson.ValidBytes(data) != true {
			t.Logf("note: gjson disagrees on %q", data)
		}
		checkMembersAgree(t, data, maxDepth, err)
		checkStringScans(t, data, 80)
	})
}

// checkMembersAgree: CheckMembers returns what Check returned (err), and
// for a valid object reports the members gjson finds, in order.
func checkMembersAgree(t *testing.T, data []byte, maxDepth int, err error) {
	t.Helper()
	var got []string
	merr := CheckMembers(data, maxDepth, func(m Member) {
		got = append(got, string(data[m.KeyStart:m.KeyEnd])+"="+string(data[m.ValueStart:m.ValueEnd]))
	})
	if merr != err {
		t.Fatalf("CheckMembers(%q) = %v, Check = %v", data, merr, err)
	}
	root := gjson.ParseBytes(data)
	if err != nil || !root.IsObject() {
		return
	}
	var want []string
	root.ForEach(func(k, v gjson.Result) bool {
		want = append(want, k.Raw+"="+v.Raw)
		return true
	})
	if !slices.Equal(got, want) {
		t.Fatalf("CheckMembers(%q) reported\n%q\nwant\n%q", data, got, want)
	}
}

func TestCheckMembers(t *testing.T) {
	for _, tc := range checkCases {
		checkMembersAgree(t, []byte(tc.in), 4, Check([]byte(tc.in), 4))
	}
	for _, in := range []string{
		` { "a" : 1 , "b\"c":{"x":[1,{"y":2}]} ,"d":[],"e":{},"f":"s" , "g":null}  `,
		`{"messages":[{"role":"user","content":"x"}],"model":"m"}`,
		`{}`, `[{"a":1}]`, `{"a":{"b":{"c":1}}}`,
	} {
		checkMembersAgree(t, []byte(in), 8, nil)
	}
	body := chatBody(100 << 10)
	n := 0
	if err := CheckMembers(body, 0, func(Member) { n++ }); err != nil || n != 7 {
		t.Fatalf("chat body: %v, %d members, want 7", err, n)
	}
}

// chatBody is a chat request of about size bytes: a few messages of
// prose with escapes, a tool with a schema, numbers and literals.
func chatBody(size int) []byte {
	return chatBodyOf(size, `The quick brown fox jumps over the lazy dog, \"quoted\" text\nand a new line; caf\u00e9 na\u00efve r\u00e9sum\u00e9. `)
}

// proseBody is chatBody with messages of long prose without a single
// escape, as pasted documents are.
func proseBody(size int) []byte {
	return chatBodyOf(size, `It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity. `)
}

// codeBody is chatBody with the code-review turns bench/run.sh sends: an
// escape every few bytes (\n, \t, \", \u00e9) and raw UTF-8.
func codeBody(size int) []byte {
	return chatBodyOf(size, "Here is the function again:\\n\\n```go\\nfunc main() {\\n\\tfmt.Println(\\\"caf\\u00e9 \\\" + name)\\n}\\n```\\nIt prints \\\"caf\xc3\xa9\\\" but the test expects a trailing newline; why? ")
}

// base64Body is a chat request of about size bytes whose bulk is one
// image sent inline: a data URL of base64, which has no escapes at all.
func base64Body(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"model":"gpt-4o-mini","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"What is in this image?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,`)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for x := uint32(1); b.Len() < size-20; {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte(alphabet[x%64])
	}
	b.WriteString(`=="}}]}]}`)
	return b.Bytes()
}

// shortBody is a chat request of about size bytes of many short
// messages: every string is a name, a role or a line of text.
func shortBody(size int) []byte {
	b := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."}`)
	lines := []string{"Hi!", "Hello, how can I help you today?", "What is the weather in Paris?", "Sunny, 21 degrees.", "Thanks", "You're welcome!", "ok", "Can you write a haiku about autumn leaves falling?"}
	for i := 0; len(b) < size-100; i++ {
		b = fmt.Appendf(b, `,{"role":%q,"content":%q,"name":"u%d"}`, []string{"user", "assistant"}[i%2], lines[i%len(lines)], i%7)
	}
	return append(b, "]}"...)
}

// chatBodyOf is a chat request of about size bytes: a tool with a schema,
// numbers and literals, and messages whose contents repeat para (a JSON
// string's contents, escapes written out).
func chatBodyOf(size int, para string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"temperature":0.7,"max_tokens":1024,`)
	b.WriteString(`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1}},"required":["city"]}}}],`)
	b.WriteString(`"messages":[{"role":"system","content":"You are a helpful assistant."}`)
	for i := 0; b.Len() < size-200; i++ {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		fmt.Fprintf(&b, `,{"role":%q,"content":"`, role)
		for j := 0; j < 8 && b.Len() < size-100; j++ {
			b.WriteString(para)
		}
		b.WriteString(`"}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func TestChatBodyIsValid(t *testing.T) {
	for _, size := range []int{1 << 10, 100 << 10, 1 << 20} {
		for kind, body := range map[string][]byte{"chat": chatBody(size), "prose": proseBody(size), "code": codeBody(size), "base64": base64Body(size), "short": shortBody(size)} {
			if !json.Valid(body) || Check(body, 0) != nil || !gjson.ValidBytes(body) {
				t.Fatalf("%s benchmark body of %d bytes is not valid JSON", kind, size)
			}
		}
	}
}

// BenchmarkValidate compares Check with gjson.ValidBytes, which it
// replaced on the chat path, on chat bodies of three sizes; then Check
// alone on 100 KiB bodies of the other kinds of content a chat carries:
// escape-free prose, code dense with escapes, an inline base64 image, and
// many short messages.
func BenchmarkValidate(b *testing.B) {
	for _, size := range []int{1 << 10, 100 << 10, 1 << 20} {
		body := chatBody(size)
		name := fmt.Sprintf("%dKB", size>>10)
		b.Run("jsonvalid/"+name, func(b *testing.B) { benchmarkCheck(b, body) })
		b.Run("gjson/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if !gjson.ValidBytes(body) {
					b.Fatal("invalid")
				}
			}
		})
	}
	for _, kind := range []struct {
		name string
		body func(int) []byte
	}{{"prose", proseBody}, {"code", codeBody}, {"base64", base64Body}, {"short", shortBody}} {
		body := kind.body(100 << 10)
		b.Run("jsonvalid/"+kind.name+"/100KB", func(b *testing.B) { benchmarkCheck(b, body) })
	}
}

func benchmarkCheck(b *testing.B, body []byte) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if Check(body, 0) != nil {
			b.Fatal("invalid")
		}
	}
}

// TestStringEscapesAtEveryAlignment: escapes, runs of backslashes and the
// bytes a borrow in the eight-byte scan can mark falsely (']' after a
// backslash, '#' after a quote, ' ' after a control byte) at every position
// in a word and in a 64-byte block, with the string's end near the end of
// the data and far from it.
func TestStringEscapesAtEveryAlignment(t *testing.T) {
	far := `,"` + strings.Repeat("c", 80) + `"]`
	for _, s := range []string{
		`\\]`, `\\\\]]`, `\"#`, `\u00e9]`, `]\\`, `\\\"#]`, "\x1f ", `\u12`, `\x`, `\`, `ab\/\b\f\n\r\t`,
		`\uD83D\uDE00`, `\u00`, `\u00"0`, "\\u00\x00", `\"\"\"`, "\\\x01", `\\\\\\\"#`,
		strings.Repeat(`\\`, 40), strings.Repeat(`\`, 81) + `"`, strings.Repeat(`\"`, 40), "caf\xc3\xa9 \xff",
	} {
		for pad := range 140 {
			for tail := range 10 {
				body := strings.Repeat("a", pad) + s + strings.Repeat("b", tail)
				for _, in := range []string{`"` + body + `"`, `["` + body + `"` + far} {
					if got, want := Check([]byte(in), 0) == nil, json.Valid([]byte(in)); got != want {
						t.Fatalf("Check(%q) valid = %v, encoding/json says %v", in, got, want)
					}
				}
			}
		}
	}
}
