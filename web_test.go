package ownkey

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseOnlineModel(t *testing.T) {
	for _, c := range []struct {
		in, model      string
		provider, dpth string
		search         bool
	}{
		{"gpt-4o-mini", "gpt-4o-mini", "", "", false},
		{"gpt-4o-mini:online", "gpt-4o-mini", "", "", true},
		{"openai/gpt-4o:online/tavily", "openai/gpt-4o", "tavily", "", true},
		{"claude-sonnet-4-5:online/Tavily-DEEP", "claude-sonnet-4-5", "tavily", "deep", true},
		{"x:online/exa-neural", "x", "exa", "neural", true},
		{"meta-llama/llama-3.3-70b:free:online", "meta-llama/llama-3.3-70b:free", "", "", true},
		{"model:onlinex", "model:onlinex", "", "", false},
		{"us.anthropic.claude-v1:0", "us.anthropic.claude-v1:0", "", "", false},
	} {
		model, ws, err := ParseOnlineModel(c.in)
		if err != nil || model != c.model || (ws != nil) != c.search || ws != nil && (ws.Provider != c.provider || ws.Depth != c.dpth) {
			t.Errorf("%q: %q %+v %v", c.in, model, ws, err)
		}
	}
	for _, bad := range []string{":online", "m:online/", "m:online/-deep", "m:online/tavily-"} {
		if _, _, err := ParseOnlineModel(bad); err == nil || err.(*Error).Param != "model" {
			t.Errorf("%q: %v, want a 400 naming model", bad, err)
		}
	}
}

func FuzzParseOnlineModel(f *testing.F) {
	for _, s := range []string{"gpt-4o:online", "a:online/tavily-deep", "a:online/", ":online", "a:online:online/x", "a\x00:online/é-ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		model, ws, err := ParseOnlineModel(in)
		switch {
		case err != nil:
			if e, ok := err.(*Error); !ok || e.Param != "model" || e.Code != EINVALID {
				t.Fatalf("%q: %v", in, err)
			}
		case ws == nil:
			if model != in {
				t.Fatalf("%q changed to %q without a search", in, model)
			}
		default:
			if model == "" || !strings.HasPrefix(in, model+":online") || strings.Contains(ws.Provider, "-") {
				t.Fatalf("%q: %q %+v", in, model, ws)
			}
		}
	})
}

func TestCitationScanner(t *testing.T) {
	src := []WebSource{{"One", "https://1.example/"}, {"Two", "https://2.example/"}, {"Three", "https://3.example/"}}
	cite := func(i, start, end int) URLCitation {
		return URLCitation{URL: src[i].URL, Title: src[i].Title, Start: start, End: end}
	}
	for _, c := range []struct {
		pieces []string
		want   []URLCitation
	}{
		{[]string{"Rust 1.87 is out [1]."}, []URLCitation{cite(0, 17, 20)}},
		// Indices count characters, not bytes; markers cut between pieces.
		{[]string{"Élan ", "[", "2", "][3] and [1, ", "3]"}, []URLCitation{cite(1, 5, 8), cite(2, 8, 11), cite(0, 16, 22), cite(2, 16, 22)}},
		// Numbers out of range, not numbers, too long: no citation.
		{[]string{"[0] [4] [a] [12345] [] [1 ] [1,] [see [2]"}, []URLCitation{cite(1, 38, 41)}},
		{[]string{"naïve [", "3", "]"}, []URLCitation{cite(2, 6, 9)}},
		// A character cut between pieces still counts once.
		{[]string{"\xc3", "\xa9 [1]"}, []URLCitation{cite(0, 2, 5)}},
		{[]string{"no citations at all"}, nil},
	} {
		s := NewCitationScanner(src)
		for _, p := range c.pieces {
			s.Write(p)
		}
		if got := s.Citations(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.pieces, got, c.want)
		}
	}
	s := NewCitationScanner(src)
	s.Write(strings.Repeat("[1]", MaxCitations+10))
	if n := len(s.Citations()); n != MaxCitations {
		t.Errorf("%d citations, want the cap %d", n, MaxCitations)
	}
}

// FuzzCitations: however a text is cut into pieces, the citations are the
// same as for the text whole, and each spans a marker of the text: it
// starts at a '[' and ends after a ']', within the text's characters.
func FuzzCitations(f *testing.F) {
	for _, s := range []string{"a [1] b [2][3] c [1, 2]", "[[1]]", "é[1]ü", "[999] [01]", "\xff[2]\xc3"} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, text string, cut uint8) {
		src := []WebSource{{"a", "https://a/"}, {"b", "https://b/"}, {"c", "https://c/"}}
		whole := NewCitationScanner(src)
		whole.Write(text)
		pieces := NewCitationScanner(src)
		step := int(cut%7) + 1
		for i := 0; i < len(text); i += step {
			pieces.Write(text[i:min(i+step, len(text))])
		}
		if !reflect.DeepEqual(whole.Citations(), pieces.Citations()) {
			t.Fatalf("%q in pieces of %d: %+v, whole: %+v", text, step, pieces.Citations(), whole.Citations())
		}
		runes := []rune(text) // invalid bytes are one character each, as the scanner counts them
		if !utf8.ValidString(text) {
			return
		}
		for _, c := range whole.Citations() {
			if c.Start < 0 || c.End > len(runes) || c.Start >= c.End || runes[c.Start] != '[' || runes[c.End-1] != ']' {
				t.Fatalf("%q: citation %+v is not a marker", text, c)
			}
		}
	})
}
