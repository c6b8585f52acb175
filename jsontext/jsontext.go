// Package jsontext converts text to and from the contents of JSON strings,
// without building values: AppendUnescaped reads a string's contents as
// encoding/json would, AppendString writes one as encoding/json would. The
// adapters, the client dialect writers and the scrubber share it, so that
// every decoded or encoded string follows the same rules.
package jsontext

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// AppendUnescaped appends the contents of a JSON string (raw, without its
// quotes, still escaped) to dst, unescaped as encoding/json would: surrogate
// pairs joined, lone surrogates replaced by U+FFFD. Adapters use it to sample
// streamed text into a reused buffer instead of allocating per delta.
func AppendUnescaped[T string | []byte](dst []byte, raw T) []byte {
	for i := 0; i < len(raw); {
		j := indexByte(raw[i:], '\\')
		if j < 0 {
			return append(dst, raw[i:]...)
		}
		dst = append(dst, raw[i:i+j]...)
		i += j
		if i+1 >= len(raw) {
			return dst
		}
		c := raw[i+1]
		i += 2
		switch c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(raw[i:])
			if !ok {
				dst = utf8.AppendRune(dst, unicode.ReplacementChar)
				continue
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(-1), false
				if i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					r2, ok = hex4(raw[i+2:])
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != unicode.ReplacementChar {
					r = dec
					i += 6
				} else {
					r = unicode.ReplacementChar
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/' and, in broken input, anything else
			dst = append(dst, c)
		}
	}
	return dst
}

func hex4[T string | []byte](b T) (rune, bool) {
	if len(b) < 4 {
		return -1, false
	}
	var r rune
	for k := range 4 {
		c := b[k]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// indexByte keeps the assembly IndexByte for both input types.
func indexByte[T string | []byte](s T, c byte) int {
	switch v := any(s).(type) {
	case string:
		return strings.IndexByte(v, c)
	case []byte:
		return bytes.IndexByte(v, c)
	}
	return -1
}

// AppendString appends s as a JSON string, quotes included, escaped as
// encoding/json escapes a string with HTML escaping off: '"', '\\' and
// control characters (\b, \f, \n, \r and \t by name, the others as
// \u00XX), U+2028 and U+2029 as \u2028 and \u2029, everything else as it
// is. Invalid UTF-8 becomes U+FFFD, as encoding/json's decoder leaves it,
// so that decoding a JSON string with AppendUnescaped and encoding it again
// gives what encoding/json's round trip gives.
func AppendString[T string | []byte](dst []byte, s T) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= ' ' && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		// A rune is at most 4 bytes: the window converts on the stack.
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
