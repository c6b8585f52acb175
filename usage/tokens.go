package usage

import (
	"math"
	"math/bits"
	"sync"
	"unicode/utf8"

	"github.com/tiktoken-go/tokenizer"
)

// encoding is o200k_base, the encoding of OpenAI's current models. Its
// vocabulary is compiled into the binary (no download at run time) but takes
// tens of milliseconds and tens of megabytes to build, so it is built on
// first use.
var encoding = sync.OnceValue(func() tokenizer.Codec {
	enc, err := tokenizer.Get(tokenizer.O200kBase)
	if err != nil {
		panic("usage: o200k_base encoding missing from github.com/tiktoken-go/tokenizer: " + err.Error())
	}
	// Invalid UTF-8 (a sample cut inside a character) is counted as U+FFFD,
	// the way the bytes would read after a round trip through JSON.
	enc.SetErrorMode(tokenizer.ErrorModeReplace)
	return enc
})

// countTokens is the number of o200k_base tokens in s. Should the tokenizer
// fail, it falls back to the length in bytes, which byte-level BPE never
// exceeds.
func countTokens(s string) int64 {
	if s == "" {
		return 0
	}
	n, err := encoding().Count(s)
	if err != nil {
		return int64(len(s))
	}
	return int64(n)
}

// The bounds of one count (a request's text, or an answer's sample), so
// that an estimate takes tens of milliseconds at most, whatever the text.
// The tokenizer library reads 3 to 15 MB/s depending on the text and
// allocates about once per byte; textCounter looks up the pieces it has
// seen (see nextPiece), so only text it has not seen costs that.
//
//   - TokenizeLimit: the text counted token by token. About 30 ms for
//     4 MiB of conversation, whose words repeat.
//   - TokenizeWork: the text the library tokenizes, the pieces not seen
//     before: about 50 ms of text that never repeats (random words, keys,
//     encoded data).
//
// Past either, text is counted by its length (see textCounter.total).
const (
	TokenizeLimit = 4 << 20
	TokenizeWork  = 128 << 10
)

// bytesPerTokenBound is the density that text past the bounds is assumed
// to have at least: one token per two bytes. o200k_base averages four to
// five bytes a token on English prose and about three on code and JSON;
// two covers CJK text and most encoded data, whose tokens are shorter.
// Text that the tokenized part shows to be denser still is counted at its
// measured rate.
const bytesPerTokenBound = 2

// textCounter counts the o200k_base tokens of the text of one request or
// answer, tokenizing within its bounds and counting the rest by length.
type textCounter struct {
	budget    int   // bytes that may still be tokenized
	work      int   // bytes the library may still be given
	tokens    int64 // tokens of the text tokenized
	tokenized int64 // bytes tokenized
	counted   int64 // bytes counted by length, past the bounds
	// pieces caches the token counts of the pieces seen (see nextPiece):
	// text repeats its words, so most pieces are looked up, not
	// tokenized.
	pieces map[string]int32
}

// maxPieces bounds the pieces a textCounter remembers (a few megabytes):
// past it, new pieces are tokenized every time, within the work bound.
const maxPieces = 1 << 16

// shortText is the length up to which a text is tokenized whole rather
// than piece by piece.
const shortText = 128

func newTextCounter() textCounter { return textCounter{budget: TokenizeLimit, work: TokenizeWork} }

// add counts s.
func (c *textCounter) add(s string) {
	if s == "" {
		return
	}
	if c.exhausted() {
		c.counted += int64(len(s))
		return
	}
	if len(s) > c.budget {
		cut := cutRunes(s, c.budget)
		c.counted += int64(len(s) - len(cut))
		s = cut
	}
	n, done := c.count(s)
	c.budget -= done
	c.tokenized += int64(done)
	c.tokens += n
	c.counted += int64(len(s) - done)
}

// count is countTokens of a prefix of s, computed piece by piece, each
// distinct piece tokenized once, and the length of that prefix: all of s
// unless the work bound ran out. Invalid UTF-8, which the tokenizer reads
// as U+FFFD first, goes to the tokenizer whole.
func (c *textCounter) count(s string) (tokens int64, done int) {
	if !utf8.ValidString(s) {
		s = cutRunes(s, c.work)
		c.work -= len(s)
		return countTokens(s), len(s)
	}
	if c.pieces == nil {
		c.pieces = make(map[string]int32, min(len(s)/8+8, 1024))
	}
	if len(s) <= shortText {
		// Tokenized whole (one pass of the library's expression costs
		// less than one per piece), and remembered whole: roles, names
		// and short messages recur.
		if v, ok := c.pieces[s]; ok {
			return int64(v), len(s)
		}
		if len(s) > c.work {
			return 0, 0
		}
		return c.tokenize(s), len(s)
	}
	for done < len(s) {
		k := nextPiece(s[done:])
		piece := s[done : done+k]
		v, ok := c.pieces[piece]
		switch {
		case ok:
			tokens += int64(v)
		case k > c.work:
			return tokens, done
		default:
			tokens += c.tokenize(piece)
		}
		done += k
	}
	return tokens, done
}

// tokenize counts s with the library, within the work bound, and
// remembers it.
func (c *textCounter) tokenize(s string) int64 {
	c.work -= len(s)
	v := countTokens(s)
	if len(c.pieces) < maxPieces {
		c.pieces[s] = int32(min(v, 1<<30))
	}
	return v
}

// addLength counts n bytes of text by length only: text the budget could
// not take, given without being unescaped.
func (c *textCounter) addLength(n int) {
	if n > 0 {
		c.counted += int64(n)
	}
}

// exhausted reports whether no more text will be tokenized, so that
// callers need not unescape what they add.
func (c *textCounter) exhausted() bool { return c.budget == 0 || c.work < minWork }

// minWork is the work left below which a count stops tokenizing: no piece
// worth the call fits.
const minWork = 64

// total is the tokens counted: the tokenized text's, plus the rest at the
// tokenized text's rate or one token per bytesPerTokenBound bytes,
// whichever is more.
func (c *textCounter) total() int64 {
	if c.counted == 0 {
		return c.tokens
	}
	rest := (c.counted + bytesPerTokenBound - 1) / bytesPerTokenBound
	if c.tokenized > 0 {
		rest = max(rest, mulDivCeil(c.tokens, c.counted, c.tokenized))
	}
	return satAdd(c.tokens, rest)
}

// cutRunes is the longest prefix of s at most n bytes long that does not
// end inside a UTF-8 sequence.
func cutRunes(s string, n int) string {
	if n >= len(s) {
		return s
	}
	for i := n; i >= 0 && n-i < utf8.UTFMax; i-- {
		if i == 0 || utf8.RuneStart(s[i]) {
			return s[:i]
		}
	}
	return s[:n]
}

// mulDivCeil is ⌈a×b/c⌉ for positive arguments, without overflowing in the
// product, saturating at math.MaxInt64.
func mulDivCeil(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return math.MaxInt64
	}
	q, r := bits.Div64(hi, lo, uint64(c))
	if r != 0 {
		q++
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

// satAdd is a+b for non-negative arguments, saturating at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
