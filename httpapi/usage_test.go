package httpapi

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ownkey/ownkey"
)

func TestCSVText(t *testing.T) {
	for in, want := range map[string]string{
		"gpt-4o":             "gpt-4o",
		"=1+1":               "'=1+1",
		"+1":                 "'+1",
		"-1":                 "'-1",
		"@SUM(A1)":           "'@SUM(A1)",
		"\t=1":               "'\t=1",
		"\r=1":               "'\r=1",
		"   =cmd|' /C calc'": "'   =cmd|' /C calc'",
		"a=b":                "a=b",
		"":                   "",
		"  ":                 "  ",
	} {
		if got := csvText(in); got != want {
			t.Errorf("csvText(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestExactFormats(t *testing.T) {
	for r, want := range map[ownkey.PPM]string{0: "0.000000", 50_000: "0.050000", 1: "0.000001", 1_250_000: "1.250000", -7: "-0.000007"} {
		if got := formatRate(r); got != want {
			t.Errorf("formatRate(%d) = %q; want %q", r, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "0.000", time.Microsecond: "0.001", 1234567 * time.Microsecond: "1234.567",
		2*time.Second + 999*time.Nanosecond: "2000.000"} {
		if got := millis(d); got != want {
			t.Errorf("millis(%v) = %q; want %q", d, got, want)
		}
	}
}

func TestSafeParam(t *testing.T) {
	for in, want := range map[string]string{
		"groupby":                      "groupby",
		"sk-proj-abcdefghijklmnop1234": "[redacted]",
		"gsk_test_groq_key_0123456789": "[redacted]",
		"a b":                          "[redacted]",
		"\x1b[31m":                     "[redacted]",
		"averyveryveryveryverylongparameter_name_beyond": "[redacted]",
	} {
		if got := safeParam(in); got != want {
			t.Errorf("safeParam(%q) = %q; want %q", in, got, want)
		}
	}
}

// FuzzCSVCell: any text a client chose (a model id, a key name) comes back
// from the export's CSV as written, but for the defusing quote, and never
// starts a cell a spreadsheet would evaluate.
func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"gpt-4o", "=1+1", " -2", "@x", "\t=1", "a,b", "\"q\"", "line\nbreak", "\r\n", "'", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // stored text is UTF-8
		}
		var b strings.Builder
		w := csv.NewWriter(&b)
		_ = w.Write([]string{csvText(s), "x"})
		w.Flush()
		rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
		if err != nil || len(rows) != 1 || len(rows[0]) != 2 {
			t.Fatalf("%q: %q reads back as %q, %v", s, b.String(), rows, err)
		}
		got := rows[0][0]
		// encoding/csv reads \r\n inside a quoted field as \n.
		want := strings.ReplaceAll(csvText(s), "\r\n", "\n")
		if got != want {
			t.Fatalf("%q: cell reads back as %q; want %q", s, got, want)
		}
		if rest := strings.TrimLeft(got, " "); rest != "" && strings.IndexByte("=+-@\t\r", rest[0]) >= 0 {
			t.Fatalf("%q: cell %q starts a formula", s, got)
		}
	})
}
