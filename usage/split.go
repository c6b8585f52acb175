package usage

import (
	"unicode"
	"unicode/utf8"
)

// The tokenizer library finds o200k_base's pieces (the words, numbers,
// punctuation and spaces that byte-pair encoding never merges across) with
// a backtracking regular expression that allocates for every piece, which
// is most of its cost. nextPiece finds the same pieces by hand, without
// allocating, so that a count tokenizes each distinct piece once and looks
// the rest up (pieceCounter). FuzzPieces holds it to the library's
// expression:
//
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	|\p{N}{1,3}
//	| ?[^\s\p{L}\p{N}]+[\r\n/]*
//	|\s*[\r\n]+
//	|\s+(?!\S)
//	|\s+
//
// tried in that order at each position, leftmost-first, with greedy loops
// that give back one character at a time, as the library's engine does
// (\s is unicode.IsSpace there too).

// Character classes, as bits.
const (
	clUpper  = 1 << iota // \p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}
	clLower              // \p{Ll}\p{Lm}\p{Lo}\p{M}
	clNumber             // \p{N}
	clSpace              // \s
	clLetter             // \p{L}
)

// asciiClass holds the classes of the ASCII characters.
var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for r := rune(0); r < utf8.RuneSelf; r++ {
		t[r] = classOf(r)
	}
	return t
}()

func classOf(r rune) uint8 {
	var c uint8
	if unicode.In(r, unicode.Lu, unicode.Lt, unicode.Lm, unicode.Lo, unicode.M) {
		c |= clUpper
	}
	if unicode.In(r, unicode.Ll, unicode.Lm, unicode.Lo, unicode.M) {
		c |= clLower
	}
	if unicode.In(r, unicode.N) {
		c |= clNumber
	}
	if unicode.IsSpace(r) {
		c |= clSpace
	}
	if unicode.In(r, unicode.L) {
		c |= clLetter
	}
	return c
}

func class(r rune) uint8 {
	if r < utf8.RuneSelf {
		return asciiClass[r]
	}
	return classOf(r)
}

// runeAt is the rune at s[i] and its length; (-1, 0) at the end.
func runeAt(s string, i int) (rune, int) {
	if i >= len(s) {
		return -1, 0
	}
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// isPrefix: [^\r\n\p{L}\p{N}].
func isPrefix(r rune, c uint8) bool {
	return r >= 0 && r != '\r' && r != '\n' && c&(clLetter|clNumber) == 0
}

// nextPiece returns the length of the piece s starts with (s valid UTF-8,
// not empty).
func nextPiece(s string) int {
	r0, n0 := runeAt(s, 0)
	c0 := class(r0)
	// Branches 1 and 2: a word, optionally after one other character.
	for _, upperFirst := range [2]bool{false, true} {
		starts := [2]int{n0, 0} // with the prefix, then without
		if !isPrefix(r0, c0) {
			starts[0] = -1
		}
		for _, j := range starts {
			if j < 0 {
				continue
			}
			if end := word(s, j, upperFirst); end > 0 {
				return contraction(s, end)
			}
		}
	}
	// Branch 3: up to three digits.
	if c0&clNumber != 0 {
		i := 0
		for k := 0; k < 3; k++ {
			r, n := runeAt(s, i)
			if r < 0 || class(r)&clNumber == 0 {
				break
			}
			i += n
		}
		return i
	}
	// Branch 4: punctuation and symbols, optionally after a space, then
	// line breaks and slashes.
	for _, j := range [2]int{1, 0} {
		if j == 1 && r0 != ' ' {
			continue
		}
		i := j
		for {
			r, n := runeAt(s, i)
			if r < 0 || class(r)&(clSpace|clLetter|clNumber) != 0 {
				break
			}
			i += n
		}
		if i == j {
			continue
		}
		for i < len(s) && (s[i] == '\r' || s[i] == '\n' || s[i] == '/') {
			i++
		}
		return i
	}
	// Branches 5 to 7: white space.
	end, lastBreak := 0, -1
	for {
		r, n := runeAt(s, end)
		if r < 0 || class(r)&clSpace == 0 {
			break
		}
		if r == '\r' || r == '\n' {
			lastBreak = end
		}
		end += n
	}
	switch {
	case lastBreak >= 0: // \s*[\r\n]+: through the last line break
		return lastBreak + 1
	case end == len(s): // \s+(?!\S) at the end
		return end
	}
	// \s+(?!\S): all but the last space, if that leaves one.
	_, last := utf8.DecodeLastRuneInString(s[:end])
	if end-last > 0 {
		return end - last
	}
	return end // \s+
}

// word matches [\p{Lu}…]*[\p{Ll}…]+ (upperFirst false) or
// [\p{Lu}…]+[\p{Ll}…]* (true) at s[j:], returning its end, or 0.
func word(s string, j int, upperFirst bool) int {
	upperEnd := j
	for {
		r, n := runeAt(s, upperEnd)
		if r < 0 || class(r)&clUpper == 0 {
			break
		}
		upperEnd += n
	}
	if upperFirst {
		if upperEnd == j {
			return 0
		}
		return lowerRun(s, upperEnd)
	}
	// The upper loop gives back one character at a time until the lower
	// loop can match at least one.
	for k := upperEnd; k >= j; {
		if r, _ := runeAt(s, k); r >= 0 && class(r)&clLower != 0 {
			return lowerRun(s, k)
		}
		if k == j {
			break
		}
		_, n := utf8.DecodeLastRuneInString(s[j:k])
		k -= n
	}
	return 0
}

// lowerRun is the end of the run of [\p{Ll}\p{Lm}\p{Lo}\p{M}] at s[i:].
func lowerRun(s string, i int) int {
	for {
		r, n := runeAt(s, i)
		if r < 0 || class(r)&clLower == 0 {
			return i
		}
		i += n
	}
}

// contraction extends a word ending at end by (?i:'s|'t|'re|'ve|'m|'ll|'d).
func contraction(s string, end int) int {
	if end >= len(s) || s[end] != '\'' {
		return end
	}
	r1, n1 := runeAt(s, end+1)
	r2, n2 := runeAt(s, end+1+n1)
	switch {
	case isFold(r1, "stmd"):
		return end + 1 + n1
	case isFold(r1, "r") && isFold(r2, "e"), isFold(r1, "v") && isFold(r2, "e"), isFold(r1, "l") && isFold(r2, "l"):
		return end + 1 + n1 + n2
	}
	return end
}

// isFold reports whether r is one of letters (lower case ASCII) ignoring
// case, as the expression's (?i:) compares: s also matches ſ (U+017F).
func isFold(r rune, letters string) bool {
	if r == 'ſ' {
		r = 's'
	}
	if 'A' <= r && r <= 'Z' {
		r += 'a' - 'A'
	}
	for _, l := range letters {
		if r == l {
			return true
		}
	}
	return false
}
