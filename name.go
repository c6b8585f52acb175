package ownkey

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameBytes bounds account and API key names.
const MaxNameBytes = 200

// HiddenRune reports whether r is invisible or changes how the text around
// it is shown, so that a name holding it could rewrite a terminal (escape
// sequences: C0 controls, DEL, C1 controls) or pass for another name (Unicode
// format characters such as bidi overrides and isolates and zero-width
// marks, line and paragraph separators). The zero-width joiner and
// non-joiner are allowed: emoji sequences and several scripts need them.
func HiddenRune(r rune) bool {
	if r == '\u200c' || r == '\u200d' {
		return false
	}
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// ValidateName checks a display name a client chose (an account's, an API
// key's) and returns it with surrounding space trimmed. param names the
// field in the error. An empty name is returned as is: callers decide
// whether that is an error or means a default.
func ValidateName(param, name string) (string, error) {
	name = strings.TrimSpace(name)
	if len(name) > MaxNameBytes {
		return "", FieldError(param, "%s must be at most %d characters", param, MaxNameBytes)
	}
	if !utf8.ValidString(name) {
		return "", FieldError(param, "%s must be valid UTF-8", param)
	}
	for i, r := range name {
		if HiddenRune(r) {
			return "", FieldError(param, "%s must not contain control or invisible formatting characters (U+%04X at byte %d)", param, r, i)
		}
	}
	return name, nil
}

// EscapeHidden returns s with every hidden rune (see HiddenRune) and every
// byte that is not UTF-8 written as a Go escape (\x1b, \u202e), so that a
// name stored before names were checked cannot act on the terminal that
// prints it.
func EscapeHidden(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || HiddenRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case r < 0x100 && HiddenRune(r):
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		case HiddenRune(r):
			q := strconv.QuoteRuneToASCII(r) // '\u202e'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}
