package jsontext

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// Moved here with AppendUnescaped from the openaicompat and anthropic
// adapters' tests.
func TestAppendUnescaped(t *testing.T) {
	cases := []string{
		``, `plain`, `a\"b`, `back\\slash`, `\/`, `\b\f\n\r\t`, `\u0041\u00e9\u20ac`,
		`\ud83d\ude00`, `\ud800`, `\ud800x`, `\udc00\ud800`, `\ud83d\u0041`, `x\u12`, `tail\`,
	}
	for _, raw := range cases {
		got := string(AppendUnescaped(nil, []byte(raw)))
		var want string
		if err := json.Unmarshal([]byte(`"`+raw+`"`), &want); err != nil {
			// Not valid JSON: only required not to panic and to keep
			// the plain text.
			if !strings.HasPrefix(got, strings.SplitN(raw, `\`, 2)[0]) {
				t.Errorf("AppendUnescaped(%q) = %q", raw, got)
			}
			continue
		}
		if got != want {
			t.Errorf("AppendUnescaped(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestAppendUnescapedString(t *testing.T) {
	for _, raw := range []string{
		`plain`, `line\nbreak\ttab`, `quote \" backslash \\ slash \/`, `\u00e9t\u00e9`,
		`emoji \ud83d\ude00`, `lone \ud83d surrogate`, `bad \uZZZZ escape`, `\b\f\r`,
	} {
		var want string
		if err := json.Unmarshal([]byte(`"`+raw+`"`), &want); err != nil {
			// encoding/json rejects \uZZZZ; U+FFFD is what we promise.
			want = "bad \ufffdZZZZ escape"
		}
		if got := string(AppendUnescaped(nil, raw)); got != want {
			t.Errorf("AppendUnescaped(%s) = %q, want %q", raw, got, want)
		}
	}
}

// marshal is encoding/json's encoding of s, HTML escaping off.
func marshal(t testing.TB, s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{
		"", "plain <b>&</b>", "q\"b\\s/", "\b\f\n\r\t\x00\x01\x1f\x7f", "é€😀", "\u2028\u2029", "a\u2028b",
	} {
		if got, want := string(AppendString(nil, s)), marshal(t, s); got != want {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
		if got, want := string(AppendString(nil, []byte(s))), marshal(t, s); got != want {
			t.Errorf("AppendString([]byte(%q)) = %s, want %s", s, got, want)
		}
	}
	// Invalid UTF-8: U+FFFD per bad byte, as encoding/json's decoder
	// leaves it.
	if got, want := string(AppendString(nil, "a\xffb\xe2\x82")), "\"a\uFFFDb\uFFFD\uFFFD\""; got != want {
		t.Errorf("invalid UTF-8: %q, want %q", got, want)
	}
}

// FuzzRoundTrip: the contents of any JSON string a provider sends,
// unescaped with AppendUnescaped and encoded with AppendString, come out as
// encoding/json's decode and encode make them.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{`plain`, `a\"b\\c\/`, `\ud83d\ude00 \ud800 \u2028`, "raw \xff \u2029 <&>", `\u0000\b\f`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, contents string) {
		var decoded string
		if json.Unmarshal([]byte(`"`+contents+`"`), &decoded) != nil {
			return
		}
		want := marshal(t, decoded)
		if got := string(AppendString(nil, AppendUnescaped(nil, contents))); got != want {
			t.Fatalf("round trip of %q = %s, want %s", contents, got, want)
		}
	})
}
