package ownkey

import (
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

func TestParseUSD(t *testing.T) {
	for _, c := range []struct {
		in   string
		want NanoUSD
	}{
		{"0", 0}, {"12", 12_000_000_000}, {"12.5", 12_500_000_000}, {".5", 500_000_000}, {"12.", 12_000_000_000},
		{"0.000000001", 1}, {"-0.000000001", -1}, {"+3.25", 3_250_000_000},
		{"1.1000000000000", 1_100_000_000}, // zeros past the nano-dollar are exact
		{"9223372036.854775807", 1<<63 - 1},
	} {
		got, err := ParseUSD(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseUSD(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", ".", "-", "1e3", "0x10", "1,000", "$1", "1.0000000001", "9223372036.854775808", " 1", "1 ", "NaN"} {
		if got, err := ParseUSD(in); err == nil {
			t.Errorf("ParseUSD(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, c := range []struct {
		in   string
		want PPM
	}{{"0.05", 50_000}, {"0", 0}, {"0.000001", 1}, {"1", 1_000_000}, {"0.125", 125_000}, {"2.5", 2_500_000}} {
		got, err := ParseRate(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"-0.05", "0.0000001", "5%", "0.05x"} {
		if got, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) = %d, want an error", in, got)
		}
	}
}

func TestFormatMoney(t *testing.T) {
	for _, c := range []struct {
		n             NanoUSD
		balance, json string
	}{
		{0, "0.000000000", "0"},
		{1, "0.000000001", "0.000000001"},
		{12_000, "0.000012000", "0.000012"},
		{12_345_678_901, "12.345678901", "12.345678901"},
		{2_000_000_000, "2.000000000", "2"},
		{-1, "-0.000000001", "-0.000000001"},
		{-1 << 63, "-9223372036.854775808", "-9223372036.854775808"},
	} {
		if got := FormatBalance(c.n); got != c.balance {
			t.Errorf("FormatBalance(%d) = %s, want %s", c.n, got, c.balance)
		}
		if got := string(AppendUSD(nil, c.n)); got != c.json {
			t.Errorf("AppendUSD(%d) = %s, want %s", c.n, got, c.json)
		}
	}
	for _, c := range []struct {
		p    PPM
		want string
	}{{DefaultBYOKMarkup, "0.05"}, {0, "0"}, {1, "0.000001"}, {1_250_000, "1.25"}} {
		if got := string(AppendRate(nil, c.p)); got != c.want {
			t.Errorf("AppendRate(%d) = %s, want %s", c.p, got, c.want)
		}
	}
	// What is written reads back.
	for _, n := range []NanoUSD{0, 1, 999_999_999, 1_000_000_001, 123_456_789_012} {
		if got, err := ParseUSD(FormatBalance(n)); err != nil || got != n {
			t.Errorf("ParseUSD(FormatBalance(%d)) = %d, %v", n, got, err)
		}
	}
}

// FuzzParseUSD: amounts typed by an administrator (the admin API, the CLI,
// the environment) are read exactly as math/big reads the same decimal, or
// refused; a plain decimal within range is never refused, and what is read
// writes back to the same amount.
func FuzzParseUSD(f *testing.F) {
	for _, s := range []string{"0", "12.5", "-0.000000001", ".5", "9223372036.854775807", "9223372036.854775808", "-9223372036.854775808", "1e3", "1.0000000001", "+1", "--1", "1.", ""} {
		f.Add(s)
	}
	plainDecimal := regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseUSD(s)
		var exact *big.Rat // s in nano-dollars, when s is a plain decimal
		if plainDecimal.MatchString(s) {
			r, _ := new(big.Rat).SetString(strings.TrimPrefix(s, "+"))
			exact = r.Mul(r, big.NewRat(1_000_000_000, 1))
		}
		// The range is symmetric: ±(2⁶³-1) nano-dollars.
		inRange := exact != nil && exact.IsInt() && exact.Num().IsInt64() && exact.Num().Int64() != math.MinInt64
		switch {
		case err != nil && inRange:
			t.Fatalf("ParseUSD(%q) refused an exact amount in range: %v", s, err)
		case err != nil:
			return
		case !inRange:
			t.Fatalf("ParseUSD(%q) = %d; want it refused", s, n)
		case exact.Num().Int64() != int64(n):
			t.Fatalf("ParseUSD(%q) = %d, want %s", s, n, exact.RatString())
		}
		if back, err := ParseUSD(FormatBalance(n)); err != nil || back != n {
			t.Fatalf("ParseUSD(FormatBalance(%d)) = %d, %v", n, back, err)
		}
	})
}
