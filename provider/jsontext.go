package provider

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
