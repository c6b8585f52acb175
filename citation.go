package ownkey

import "unicode/utf8"

// WebSource is a search result a chat answer may cite: number n in the
// injected context is sources[n-1].
type WebSource struct {
	Title string
	URL   string
}

// URLCitation is one place where an answer cites a source: the marker
// ("[2]", or "[1, 3]" for each of its numbers) spans Start to End (end
// exclusive), counted in Unicode characters (code points) of the answer's
// content, as OpenAI's url_citation annotations count.
type URLCitation struct {
	URL   string
	Title string
	Start int
	End   int
}

// Limits of the citation scan: a marker holds at most maxMarkerNumbers
// numbers of at most maxMarkerDigits digits, and an answer gets at most
// MaxCitations citations (the rest are not annotated), so that an answer
// full of brackets cannot make the scan hold much.
const (
	MaxCitations     = 256
	maxMarkerNumbers = 16
	maxMarkerDigits  = 3
)

// CitationScanner finds the numbered citations in an answer's text as it
// arrives, piece by piece (a stream's deltas): "[1]", "[2][3]", "[1, 2]";
// numbers outside 1..len(sources) are not citations. It keeps only the
// marker it is inside, never the text.
type CitationScanner struct {
	sources []WebSource
	pos     int // code points seen
	// The marker being read: where its '[' is, the numbers so far, the
	// digits of the current one.
	in     bool
	start  int
	nums   [maxMarkerNumbers]int
	n      int
	cur    int
	digits int
	// partial holds the bytes of a UTF-8 sequence cut between pieces.
	partial []byte
	found   []URLCitation
}

// NewCitationScanner scans for citations of sources.
func NewCitationScanner(sources []WebSource) *CitationScanner {
	return &CitationScanner{sources: sources}
}

// Write scans the next piece of the answer's text (unescaped).
func (s *CitationScanner) Write(text string) {
	if len(s.partial) > 0 {
		// A character was cut at the end of the last piece: read on from
		// its first byte (rare: a copy only then).
		text = string(s.partial) + text
		s.partial = s.partial[:0]
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			s.char(rune(c))
			i++
			continue
		}
		if !utf8.FullRuneInString(text[i:]) {
			s.partial = append(s.partial[:0], text[i:]...)
			return
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		s.char(r)
		i += size
	}
}

// char reads one character at s.pos.
func (s *CitationScanner) char(r rune) {
	pos := s.pos
	s.pos++
	if !s.in {
		if r == '[' {
			s.open(pos)
		}
		return
	}
	switch {
	case r >= '0' && r <= '9' && s.digits < maxMarkerDigits:
		s.cur = s.cur*10 + int(r-'0')
		s.digits++
	case r == ',' && s.digits > 0 && s.n < maxMarkerNumbers-1:
		s.nums[s.n] = s.cur
		s.n++
		s.cur, s.digits = 0, 0
	case r == ' ' && (s.digits == 0 && s.n > 0):
		// "[1, 2]": spaces after a comma.
	case r == ']' && s.digits > 0:
		s.nums[s.n] = s.cur
		s.n++
		s.close(pos + 1)
	case r == '[':
		s.open(pos) // "[see [1]": the inner marker counts
	default:
		s.in = false
	}
}

func (s *CitationScanner) open(pos int) {
	s.in, s.start, s.n, s.cur, s.digits = true, pos, 0, 0, 0
}

// close ends a marker at end: each of its numbers that names a source is a
// citation spanning the marker.
func (s *CitationScanner) close(end int) {
	s.in = false
	for _, n := range s.nums[:s.n] {
		if n < 1 || n > len(s.sources) || len(s.found) >= MaxCitations {
			continue
		}
		src := s.sources[n-1]
		s.found = append(s.found, URLCitation{URL: src.URL, Title: src.Title, Start: s.start, End: end})
	}
}

// Citations are the citations found so far, in the order of the text.
func (s *CitationScanner) Citations() []URLCitation { return s.found }
