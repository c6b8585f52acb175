package ownkey

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateNameRefusesHiddenCharacters(t *testing.T) {
	for _, bad := range []string{
		"evil\x1b[2J",            // C0: ESC, a terminal escape sequence
		"bell\x07",               // C0: BEL
		"tab\tin",                // C0: tab breaks columns
		"new\nline",              // C0: line feed
		"del\x7f",                // DEL
		"csi\u009b2J",            // C1: 8-bit CSI
		"admin\u202etxt.exe",     // bidi override
		"iso\u2066late",          // bidi isolate
		"zero\u200bwidth",        // zero-width space (Cf)
		"bom\ufeff",              // zero-width no-break space
		"line\u2028sep",          // line separator
		"bad\xffutf8",            // not UTF-8
		strings.Repeat("x", 201), // too long
	} {
		_, err := ValidateName("name", bad)
		var e *Error
		if err == nil || !errors.As(err, &e) || e.Code != EINVALID || e.Param != "name" {
			t.Errorf("ValidateName(%q) = %v, want EINVALID naming the field", bad, err)
		}
	}
	for _, good := range []string{"laptop", "CI – prod", "Zoë's key", "ключ", "鍵", "👨‍👩‍👧 family", "  padded  ", ""} {
		got, err := ValidateName("name", good)
		if err != nil || got != strings.TrimSpace(good) {
			t.Errorf("ValidateName(%q) = %q, %v", good, got, err)
		}
	}
}

func TestEscapeHidden(t *testing.T) {
	for in, want := range map[string]string{
		"plain name":       "plain name",
		"\x1b]0;pwned\x07": `\x1b]0;pwned\x07`,
		"a\u009bb\x7f":     `a\x9bb\x7f`,
		"admin\u202etxt":   `admin\u202etxt`,
		"bad\xffbyte":      `bad\xffbyte`,
		"👨‍👩‍👧":            "👨‍👩‍👧",
		"\U000e0001tag":    `\U000e0001tag`,
	} {
		if got := EscapeHidden(in); got != want {
			t.Errorf("EscapeHidden(%q) = %q, want %q", in, got, want)
		}
	}
}
