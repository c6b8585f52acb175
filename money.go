package ownkey

import (
	"errors"
	"strconv"
)

// Money as text. Amounts are read and written as exact decimals, digit by
// digit: never through a float, which cannot hold 0.1 or most prices.

// ParseUSD reads a decimal amount of US dollars, such as "12", "-0.5" or
// "0.000000001", exactly: at most 9 decimals (the nano-dollar) unless the
// rest are zeros, and within ±(2⁶³-1) nano-dollars. No exponent, no thousands
// separators, no currency sign.
func ParseUSD(s string) (NanoUSD, error) {
	n, err := parseDecimal(s, 9)
	return NanoUSD(n), err
}

// ParseRate reads a rate written as a decimal fraction ("0.05" is 5%)
// exactly, to the part per million: at most 6 decimals unless the rest are
// zeros. Negative rates are refused.
func ParseRate(s string) (PPM, error) {
	n, err := parseDecimal(s, 6)
	if err == nil && n < 0 {
		return 0, errors.New("a rate cannot be negative")
	}
	return PPM(n), err
}

// parseDecimal reads s as a decimal number scaled by 10^scale, exactly.
func parseDecimal(s string, scale int) (int64, error) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	whole, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			whole, frac = s[:i], s[i+1:]
			break
		}
	}
	if whole == "" && frac == "" {
		return 0, errors.New("not a decimal number")
	}
	const limit = 1<<63 - 1
	var n uint64
	digit := func(c byte) (uint64, error) {
		if c < '0' || c > '9' {
			return 0, errors.New("not a decimal number (digits and one '.' only)")
		}
		return uint64(c - '0'), nil
	}
	push := func(d uint64) error {
		if n > (limit-d)/10 {
			return errors.New("amount too large")
		}
		n = n*10 + d
		return nil
	}
	for i := 0; i < len(whole); i++ {
		d, err := digit(whole[i])
		if err != nil {
			return 0, err
		}
		if err := push(d); err != nil {
			return 0, err
		}
	}
	for i := 0; i < len(frac); i++ {
		d, err := digit(frac[i])
		if err != nil {
			return 0, err
		}
		if i >= scale {
			if d != 0 {
				return 0, errors.New("more than " + strconv.Itoa(scale) + " decimals")
			}
			continue
		}
		if err := push(d); err != nil {
			return 0, err
		}
	}
	for i := len(frac); i < scale; i++ {
		if err := push(0); err != nil {
			return 0, err
		}
	}
	if neg {
		return -int64(n), nil
	}
	return int64(n), nil
}

// FormatBalance writes an amount as a balance is shown: dollars with all 9
// decimals, "12.345678901", "-0.000000001", "0.000000000".
func FormatBalance(n NanoUSD) string {
	return string(appendDecimal(nil, int64(n), 9, false))
}

// AppendUSD appends an amount as an exact JSON number of dollars, without
// trailing zeros: 12000 n$ is 0.000012, 2 000 000 000 n$ is 2.
func AppendUSD(b []byte, n NanoUSD) []byte { return appendDecimal(b, int64(n), 9, true) }

// AppendRate appends a rate as an exact JSON number, a fraction: 5% is 0.05.
func AppendRate(b []byte, p PPM) []byte { return appendDecimal(b, int64(p), 6, true) }

// appendDecimal appends n/10^scale, with every decimal or (trim) without
// trailing zeros and without the point when nothing follows it.
func appendDecimal(b []byte, n int64, scale int, trim bool) []byte {
	u := uint64(n)
	if n < 0 {
		b = append(b, '-')
		u = uint64(-n) // -MinInt64 wraps to itself, whose uint64 is right
	}
	var pow uint64 = 1
	for range scale {
		pow *= 10
	}
	b = strconv.AppendUint(b, u/pow, 10)
	frac := u % pow
	if trim && frac == 0 {
		return b
	}
	var digits [20]byte
	d := strconv.AppendUint(digits[:0], frac, 10)
	b = append(b, '.')
	for range scale - len(d) {
		b = append(b, '0')
	}
	if trim {
		for len(d) > 0 && d[len(d)-1] == '0' {
			d = d[:len(d)-1]
		}
	}
	return append(b, d...)
}
