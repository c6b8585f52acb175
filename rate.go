package ownkey

import (
	"strconv"
	"strings"
)

// Exact decimals: money and rates arrive as decimal text (a provider's
// per-token price, an operator's markup) and are kept as integers. They are
// never parsed into a float, which could not hold 0.1 or 0.000003 exactly.

// maxDecimalExponent bounds the exponent ParseDecimal reads: any number
// with a larger one is zero after scaling or does not fit an int64 anyway.
const maxDecimalExponent = 1 << 20

// ParseDecimal reads s, a number in JSON's grammar (-?int(.frac)?(e[+-]?exp)?,
// such as 0.05, 2.5e-06 or 1E-7), and returns its value times 10^scale,
// truncated toward zero: so 2.5e-06 at scale 15 is 2500000000. inexact
// reports that digits were cut (the value had more than scale decimals); the
// caller decides whether that is an error or rounds. err is an EINVALID
// error for text that is not such a number or a value beyond ±(2⁶³−1).
func ParseDecimal(s string, scale int) (n int64, inexact bool, err error) {
	bad := func(why string) (int64, bool, error) {
		return 0, false, Errorf(EINVALID, "%s is not a decimal number: %s", quoteShort(s), why)
	}
	i, neg := 0, false
	if i < len(s) && s[i] == '-' {
		neg, i = true, 1
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[start:i]
	switch {
	case intPart == "":
		return bad("digits expected")
	case len(intPart) > 1 && intPart[0] == '0':
		return bad("leading zero")
	}
	var frac string
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if frac = s[start:i]; frac == "" {
			return bad("digits expected after the point")
		}
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		expNeg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			expNeg = s[i] == '-'
			i++
		}
		start = i
		for i < len(s) && isDigit(s[i]) {
			if exp < maxDecimalExponent {
				exp = exp*10 + int(s[i]-'0')
			}
			i++
		}
		if i == start {
			return bad("digits expected in the exponent")
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != len(s) {
		return bad("unexpected " + strconv.QuoteRune(rune(s[i])))
	}

	// The value is digits × 10^shift, digits being the integer and the
	// fraction written together.
	shift := exp - len(frac) + scale
	digits := strings.TrimLeft(intPart, "0")
	if digits == "" {
		frac = strings.TrimLeft(frac, "0")
	}
	digits += frac
	if digits == "" {
		return 0, false, nil
	}
	if shift < 0 {
		keep := len(digits) + shift
		if keep <= 0 {
			return 0, true, nil // a nonzero value below one unit
		}
		inexact = strings.TrimRight(digits[keep:], "0") != ""
		digits, shift = digits[:keep], 0
	}
	const maxInt = uint64(1<<63 - 1)
	var v uint64
	for j := 0; j < len(digits); j++ {
		d := uint64(digits[j] - '0')
		if v > (maxInt-d)/10 {
			return bad("too large")
		}
		v = v*10 + d
	}
	for ; shift > 0 && v != 0; shift-- {
		if v > maxInt/10 {
			return bad("too large")
		}
		v *= 10
	}
	if neg {
		return -int64(v), inexact, nil
	}
	return int64(v), inexact, nil
}

// ParseRate reads a rate written as an exact decimal fraction, such as
// OWNKEY_BYOK_MARKUP=0.05 (5%), into parts per million. It refuses a
// negative rate and one finer than a part per million (0.0000001), rather
// than round an operator's setting.
func ParseRate(s string) (PPM, error) {
	n, inexact, err := ParseDecimal(strings.TrimSpace(s), 6)
	switch {
	case err != nil:
		return 0, err
	case n < 0:
		return 0, Errorf(EINVALID, "rate %s is negative", quoteShort(s))
	case inexact:
		return 0, Errorf(EINVALID, "rate %s is finer than one part per million (at most 6 decimals)", quoteShort(s))
	}
	return PPM(n), nil
}

// AppendDecimal appends n × 10^-scale as the shortest exact decimal:
// AppendDecimal(b, 2500000000, 9) appends 2.5, (12000, 9) 0.000012, (0, 9) 0.
// Its output is a valid JSON number, so it writes amounts on the wire from
// the integers without a float.
func AppendDecimal(dst []byte, n int64, scale int) []byte {
	if scale <= 0 {
		dst = strconv.AppendInt(dst, n, 10)
		for ; scale < 0 && n != 0; scale++ {
			dst = append(dst, '0')
		}
		return dst
	}
	// The fixed form with its trailing zeros, and then the point, cut.
	return trimFraction(AppendFixed(dst, n, scale))
}

// AppendFixed appends n × 10^-scale with exactly scale decimals (scale ≥ 1),
// trailing zeros kept: AppendFixed(b, 50000, 6) appends 0.050000, (-1, 9)
// -0.000000001. Balances (AppendUSD) and the usage export's rates and
// latencies are written so, at a fixed width people can compare.
func AppendFixed(dst []byte, n int64, scale int) []byte {
	u := uint64(n)
	if n < 0 {
		dst = append(dst, '-')
		u = -u // also right for the smallest int64
	}
	var buf [20]byte
	digits := strconv.AppendUint(buf[:0], u, 10)
	intLen := len(digits) - scale
	if intLen > 0 {
		dst = append(dst, digits[:intLen]...)
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, '.')
	for k := intLen; k < 0; k++ {
		dst = append(dst, '0')
	}
	return append(dst, digits[max(intLen, 0):]...)
}

// trimFraction cuts the trailing zeros of b's fraction, and its point when
// none are left: 2.500 becomes 2.5, 2.000 becomes 2.
func trimFraction(b []byte) []byte {
	for b[len(b)-1] == '0' {
		b = b[:len(b)-1]
	}
	if b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	return b
}

// FormatDecimal is AppendDecimal to a string.
func FormatDecimal(n int64, scale int) string {
	var buf [32]byte
	return string(AppendDecimal(buf[:0], n, scale))
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// quoteShort quotes s for an error message, cut to a readable length.
func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}
