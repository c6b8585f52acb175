package ownkey

import (
	"math/big"
	"strings"
	"testing"
)

func TestParseRate(t *testing.T) {
	good := map[string]PPM{
		"0": 0, "0.05": 50_000, ".05": 50_000, "0.1": 100_000, "1": 1_000_000, "1.5": 1_500_000,
		"0.000001": 1, "0.123456": 123_456, " 0.05 ": 50_000, "000.050000": 50_000, "999999.999999": 999_999_999_999,
	}
	for s, want := range good {
		if got, err := ParseRate(s); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", ".", "5%", "-0.05", "+0.05", "0.0000001", "1e-2", "0,05", "0.05.1", "1.", "1234567", "0x10", "NaN", "0. 5", "٠.٥"} {
		if got, err := ParseRate(s); err == nil {
			t.Errorf("ParseRate(%q) = %d, want an error", s, got)
		}
	}
}

// FuzzParseRate: whatever ParseRate accepts is exactly the decimal it read,
// times a million (checked with math/big), and never negative.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"0", "0.05", ".5", "1.000001", "999999.999999", "1e3", "-1", " 2 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseRate(s)
		if err != nil {
			return
		}
		want, ok := new(big.Rat).SetString(strings.TrimSpace(s))
		if !ok {
			t.Fatalf("ParseRate(%q) = %d, but it is not a decimal", s, got)
		}
		want.Mul(want, big.NewRat(1_000_000, 1))
		if !want.IsInt() || want.Num().Int64() != int64(got) || got < 0 {
			t.Fatalf("ParseRate(%q) = %d, want %s", s, got, want.RatString())
		}
	})
}
