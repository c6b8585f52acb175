package ownkey

import (
	"math/big"
	"regexp"
	"strings"
	"testing"
)

// Money on the wire and in balances: a balance is FormatUSD (9 decimals), an
// amount in an answer's usage is AppendDecimal at scale 9, a rate at scale 6.
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
		if got := FormatUSD(c.n); got != c.balance {
			t.Errorf("FormatUSD(%d) = %s, want %s", c.n, got, c.balance)
		}
		if got := string(AppendDecimal(nil, int64(c.n), 9)); got != c.json {
			t.Errorf("AppendDecimal(%d, 9) = %s, want %s", c.n, got, c.json)
		}
	}
	for _, c := range []struct {
		p    PPM
		want string
	}{{DefaultBYOKMarkup, "0.05"}, {0, "0"}, {1, "0.000001"}, {1_250_000, "1.25"}} {
		if got := string(AppendDecimal(nil, int64(c.p), 6)); got != c.want {
			t.Errorf("AppendDecimal(%d, 6) = %s, want %s", c.p, got, c.want)
		}
	}
	// What is written reads back.
	for _, n := range []NanoUSD{0, 1, 999_999_999, 1_000_000_001, 123_456_789_012} {
		if got, err := ParseUSD("x", FormatUSD(n)); err != nil || got != n {
			t.Errorf("ParseUSD(FormatUSD(%d)) = %d, %v", n, got, err)
		}
	}
}

// FuzzParseUSD: amounts typed by an administrator (limits, credits and
// debits in the admin API and the CLI, the starting credit in the
// environment) are read exactly as math/big reads the same decimal, or
// refused; a plain decimal within range (at most 8 whole digits, 9
// decimals, MaxLimitUSD) is never refused, and what is read writes back to
// the same amount.
func FuzzParseUSD(f *testing.F) {
	for _, s := range []string{"0", "12.5", "-0.000000001", ".5", "10000000", "10000000.000000001", "1e3", "1.0000000001", "+1", "--1", "1.", "", " 2 "} {
		f.Add(s)
	}
	plainDecimal := regexp.MustCompile(`^([0-9]{0,8})(\.[0-9]{1,9})?$`)
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseUSD("amount", s)
		trimmed := strings.TrimSpace(s)
		var exact *big.Rat // s in nano-dollars, when s is a plain decimal
		if trimmed != "" && plainDecimal.MatchString(trimmed) {
			r, _ := new(big.Rat).SetString(trimmed)
			exact = r.Mul(r, big.NewRat(1_000_000_000, 1))
		}
		inRange := exact != nil && exact.Cmp(big.NewRat(MaxLimitUSD*1_000_000_000, 1)) <= 0
		switch {
		case err != nil && inRange:
			t.Fatalf("ParseUSD(%q) refused an exact amount in range: %v", s, err)
		case err != nil:
			return
		case !inRange:
			t.Fatalf("ParseUSD(%q) = %d; want it refused", s, n)
		case !exact.IsInt() || exact.Num().Int64() != int64(n):
			t.Fatalf("ParseUSD(%q) = %d, want %s", s, n, exact.RatString())
		}
		if back, err := ParseUSD("amount", FormatUSD(n)); err != nil || back != n {
			t.Fatalf("ParseUSD(FormatUSD(%d)) = %d, %v", n, back, err)
		}
	})
}
