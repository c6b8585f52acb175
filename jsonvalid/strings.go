package jsonvalid

import (
	"encoding/binary"
	"math/bits"
)

// The string scan is most of the check's work: chat bodies are mostly
// string contents, those of code and chat logs with an escape every few
// words. It goes 64 bytes at a time where scanBlock is fast (amd64), else
// eight; either way the bytes that backslashes escape follow from the
// backslashes by arithmetic on masks, so the scan moves on by whole blocks
// or words whatever the escapes, and looks at no byte alone but the escaped
// ones, to validate them. It accepts what stringEndBytes, a byte at a
// time, accepts; the tests and FuzzCheck hold them to it.

// The word scan treats eight bytes as the lanes of a uint64, a byte's mark
// being its lane's high bit. x-ones borrows in each lane where x is zero,
// marking it; the borrow may mark the lane above too when that lane is 1
// (a ']' after a backslash, a '#' after a quote), so the lowest mark is
// sure and the others are looked at before they count.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
	lows  = 0x7f7f7f7f7f7f7f7f
)

// stringEnd returns the index after the closing quote of the string whose
// contents start at i, or -1 if it is not a valid JSON string.
func stringEnd(data []byte, i int) int {
	// Most strings of a request are short (names, roles, ids, a line of
	// text): the first two words decide them, with no setup.
	for k := i; k < i+16 && k+8 <= len(data); k += 8 {
		w := binary.LittleEndian.Uint64(data[k:])
		marks := (((w ^ (ones * '"')) - ones) | ((w ^ (ones * '\\')) - ones) | (w - ones*0x20)) &^ w & highs
		if marks != 0 {
			j := k + bits.TrailingZeros64(marks)/8
			if c := data[j]; c == '"' {
				return j + 1
			} else if c < 0x20 {
				return -1
			}
			break // an escape: for the scans below
		}
	}
	if blockScan {
		return stringEndBlocks(data, i)
	}
	return stringEndWords(data, i)
}

// blockWindow is a block and the lookahead its escapes may need: a \u
// escape's hex digits run up to four bytes past the block.
const blockWindow = 64 + 8

// stringEndBlocks is stringEnd 64 bytes at a time, scanBlock marking a
// block's quotes, backslashes and control bytes a bit per byte.
func stringEndBlocks(data []byte, i int) int {
	var carry uint64 // 1 if data[i] is escaped
	for i+blockWindow <= len(data) {
		win := (*[blockWindow]byte)(data[i : i+blockWindow])
		quotes, backslashes, controls := scanBlock((*[64]byte)(win[:64]))
		escaped, carryOut := backslashes<<1|carry, backslashes>>63
		if backslashes&escaped != 0 {
			// A backslash after a backslash, maybe the one
			// before the block.
			escaped, carryOut = escapedBytes(backslashes, carry)
		}
		// Quotes not escaped and control bytes end the string, the
		// latter as invalid.
		if ends := quotes&^escaped | controls; ends != 0 {
			j := bits.TrailingZeros64(ends)
			if controls&(1<<j) != 0 {
				return -1
			}
			if before := escaped & (1<<j - 1); before != 0 && !escapesValid(win[:], before) {
				return -1
			}
			return i + j + 1
		}
		for m := escaped; m != 0; m &= m - 1 {
			if !escapeValid(win[:], bits.TrailingZeros64(m)&63) {
				return -1
			}
		}
		carry = carryOut
		i += 64
	}
	// data[i-1] is the backslash of an escape if carry is set.
	return stringEndWords(data, i-int(carry))
}

// escapedBytes returns the marks of the bytes of a block that its
// backslashes escape, escaped backslashes aside (they are valid and escape
// nothing), carry being 1 if the block's first byte is escaped; and the
// carry into the next block. A byte is escaped when the run of backslashes
// just before it has odd length. Adding a run's lowest bit to the run
// carries past its end; the bit the carry lands on is escaped if its
// parity differs from the run's start's. simdjson's technique: a few
// operations per block, whatever the runs.
func escapedBytes(backslashes, carry uint64) (escaped, carryOut uint64) {
	const even = 0x5555555555555555
	starts := backslashes &^ (backslashes << 1)
	// A run whose first backslash is escaped from the block before starts,
	// in effect, a bit later: it counts with the runs of the other parity.
	evenStarts := starts & (even ^ carry)
	oddStarts := starts &^ (even ^ carry)
	evenEnds := (backslashes + evenStarts) &^ backslashes
	oddSums, carryOut := bits.Add64(backslashes, oddStarts, 0)
	oddEnds := (oddSums | carry) &^ backslashes
	return evenEnds&^even | oddEnds&even, carryOut
}

// stringEndWords is stringEnd eight bytes at a time.
func stringEndWords(data []byte, i int) int {
	n := len(data)
	var carry uint64 // the lowest lane's mark if data[i] is escaped
	for i+16 <= n {
		// The word and a word of lookahead: a \u escape's hex digits
		// run up to four bytes past the word.
		win := (*[16]byte)(data[i : i+16])
		w := binary.LittleEndian.Uint64(win[:8])
		ascii := ^w & highs
		backslashLanes := (w ^ (ones * '\\')) - ones
		quoteLanes := (w ^ (ones * '"')) - ones
		controlLanes := w - ones*0x20
		if (backslashLanes|quoteLanes|controlLanes)&ascii|carry == 0 {
			i += 8 // nothing to see: the common case in prose
			continue
		}
		backslashes := backslashLanes & ascii
		escaped := backslashes<<8 | carry
		if backslashes&escaped != 0 {
			// A backslash after a backslash, or a borrow's mark
			// after one.
			backslashes, escaped = escapedInRun(w, carry)
		}
		// Quotes not escaped and control bytes end the string, the
		// latter as invalid.
		if ends := (quoteLanes&^escaped | controlLanes) & ascii; ends != 0 {
			for ; ends != 0; ends &= ends - 1 {
				j := bits.TrailingZeros64(ends) / 8
				switch c := win[j&7]; {
				case c == '"':
					if before := escaped & (1<<(8*j) - 1); before != 0 && !escapesValid(win[:], lanes(before)) {
						return -1
					}
					return i + j + 1
				case c < 0x20:
					return -1
				}
			}
		}
		for m := escaped; m != 0; m &= m - 1 {
			if !escapeValid(win[:], bits.TrailingZeros64(m)/8&7) {
				return -1
			}
		}
		carry = (backslashes &^ escaped) >> 56
		i += 8
	}
	return stringEndBytes(data, i-int(carry>>7))
}

// escapedInRun returns the exact marks of w's backslashes and of the bytes
// they escape, carry marking its lowest byte as escaped. It takes a step
// per backslash in a run, so it is only for the words that have runs.
func escapedInRun(w, carry uint64) (backslashes, escaped uint64) {
	x := w ^ (ones * '\\')
	backslashes = ^((x&lows + lows) | x) & highs
	escaped = backslashes<<8 | carry
	for {
		// A lane is escaped if the one below is a backslash that is
		// not; each round settles at least one more lane from the
		// bottom, and the one solution is where it stops.
		next := (backslashes&^escaped)<<8 | carry
		if next == escaped {
			return backslashes, escaped
		}
		escaped = next
	}
}

// lanes turns lane marks into bits: bit k for lane k.
func lanes(marks uint64) uint64 {
	return (marks >> 7) * 0x0102040810204080 >> 56
}

// escapesValid reports whether the bytes of win at the set bits of escaped,
// each escaped by a backslash before it, make valid escapes: one of
// "\/bfnrt, or u and four hex digits. win reaches five bytes past each.
func escapesValid(win []byte, escaped uint64) bool {
	for ; escaped != 0; escaped &= escaped - 1 {
		if !escapeValid(win, bits.TrailingZeros64(escaped)) {
			return false
		}
	}
	return true
}

// escapeValid reports whether win[p], escaped by a backslash before it,
// makes a valid escape: one of "\/bfnrt, or u and four hex digits.
func escapeValid(win []byte, p int) bool {
	c := win[p]
	return escapeLen[c] == 2 || c == 'u' && hexQuad(binary.LittleEndian.Uint32(win[p+1:]))
}

// hexQuad reports whether the four bytes of x are all hex digits.
func hexQuad(x uint32) bool {
	const o = 0x01010101
	low := x & (o * 0x7f)
	lower := low | o*0x20 // 'A'-'F' to 'a'-'f', digits unchanged
	// In each lane, bit 7 of low+(0x80-lo) is set when low >= lo, and of
	// low+(0x7f-hi) when low > hi; no lane carries into the next.
	digit := (low + o*(0x80-'0')) &^ (low + o*(0x7f-'9'))
	letter := (lower + o*(0x80-'a')) &^ (lower + o*(0x7f-'f'))
	return (digit|letter)&^x&(o*0x80) == o*0x80
}

// stringEndBytes is stringEnd a byte at a time, for the last bytes of the
// data. i must not be inside an escape.
func stringEndBytes(data []byte, i int) int {
	for i < len(data) {
		switch c := data[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i = escapeEnd(data, i); i < 0 {
				return -1
			}
		case c < 0x20:
			return -1
		default:
			i++
		}
	}
	return -1
}

// escapeLen is the length of the escape sequence that starts with a
// backslash and the byte indexed, 0 for none.
var escapeLen = [256]uint8{'"': 2, '\\': 2, '/': 2, 'b': 2, 'f': 2, 'n': 2, 'r': 2, 't': 2, 'u': 6}

// escapeEnd returns the index after the escape sequence whose backslash is
// at i, or -1 if it is not a valid one.
func escapeEnd(data []byte, i int) int {
	if i+1 >= len(data) {
		return -1
	}
	switch escapeLen[data[i+1]] {
	case 2:
		return i + 2
	case 6:
		if i+6 > len(data) || !isHex(data[i+2]) || !isHex(data[i+3]) || !isHex(data[i+4]) || !isHex(data[i+5]) {
			return -1
		}
		return i + 6
	}
	return -1
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
