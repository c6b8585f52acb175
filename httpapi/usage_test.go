package httpapi

import (
	"testing"
	"time"

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
