package openaicompat

import (
	"encoding/binary"
	"math/bits"
)

// scanner walks a JSON text once, without building anything: the adapter
// needs a handful of fields out of every stream chunk, and a general
// parser (even gjson, which parses every number and scans nested objects
// twice) was most of the per-chunk cost. Values it is not asked about are
// skipped. It never panics on malformed input: it sets bad and stops, and the
// caller relays the bytes unread.
type scanner struct {
	b   []byte
	i   int
	bad bool
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte without consuming it; 0 at the end.
// Its common case, no space, is small enough to be inlined.
func (s *scanner) peek() byte {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return s.b[s.i]
	}
	return s.peekSlow()
}

func (s *scanner) peekSlow() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	s.bad = true
	return 0
}

func (s *scanner) consume(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// str reads a string and returns its contents without the quotes, still
// escaped, and whether it holds any escape.
func (s *scanner) str() (raw []byte, escaped bool) {
	if s.peek() != '"' {
		s.bad = true
		return nil, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); {
		j += plainPrefix(s.b[j:])
		if j >= len(s.b) {
			break
		}
		if s.b[j] == '"' {
			s.i = j + 1
			return s.b[start:j], escaped
		}
		escaped = true // a backslash: skip it and the byte it escapes
		j += 2
	}
	s.bad = true
	return nil, false
}

// plainPrefix returns how many bytes of b come before the first '"' or
// '\\', eight at a time: strings in a chunk are mostly short, too short
// for IndexByte's setup to pay, and a byte loop is slower still.
func plainPrefix(b []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	n := 0
	for ; n+8 <= len(b); n += 8 {
		w := binary.LittleEndian.Uint64(b[n:])
		q, bs := w^(ones*'"'), w^(ones*'\\')
		// A byte of q or bs is zero where w has a quote or a backslash;
		// the lowest such byte is found exactly (later ones may be
		// false positives, which do not matter).
		if m := ((q-ones)&^q | (bs-ones)&^bs) & highs; m != 0 {
			return n + bits.TrailingZeros64(m)/8
		}
	}
	for ; n < len(b); n++ {
		if b[n] == '"' || b[n] == '\\' {
			return n
		}
	}
	return n
}

// skip consumes one value and returns its raw text.
func (s *scanner) skip() []byte {
	start := s.i
	switch s.peek() {
	case '"':
		start = s.i
		s.str()
	case '{', '[':
		start = s.i
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if s.str(); s.bad {
					return nil
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return s.b[start:s.i]
				}
			}
			s.i++
		}
		s.bad = true
	case 0:
	default:
		start = s.i
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return s.b[start:s.i]
			}
			s.i++
		}
	}
	if s.bad {
		return nil
	}
	return s.b[start:s.i]
}
