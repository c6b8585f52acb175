package ownkey

import (
	"errors"
	"strings"
)

// ParseRate reads a rate written as an exact decimal fraction of the
// at-cost price ("0.05" is 5%, "0" nothing, "1.5" 150%) into PPM, without
// floating point: the digits are the rate, so what the operator wrote is
// what is billed. At most six decimal places (a PPM's precision) and six
// integer digits; no sign, exponent or percent sign.
func ParseRate(s string) (PPM, error) {
	s = strings.TrimSpace(s)
	whole, frac, dot := strings.Cut(s, ".")
	switch {
	case whole == "" && (frac == "" || !dot):
		return 0, errRate
	case len(whole) > 6 || len(frac) > 6 || (dot && frac == ""):
		return 0, errRate
	}
	var r int64
	for _, c := range whole {
		if c < '0' || c > '9' {
			return 0, errRate
		}
		r = r*10 + int64(c-'0')
	}
	r *= 1_000_000
	scale := int64(100_000)
	for _, c := range frac {
		if c < '0' || c > '9' {
			return 0, errRate
		}
		r += int64(c-'0') * scale
		scale /= 10
	}
	return PPM(r), nil
}

var errRate = errors.New("not a rate: write a decimal fraction of the at-cost price such as 0.05 (5%) or 0, with at most 6 decimal places")
