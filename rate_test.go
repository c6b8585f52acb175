package ownkey

import (
	"math/big"
	"strings"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	cases := []struct {
		s       string
		scale   int
		n       int64
		inexact bool
		err     bool
	}{
		{"0", 15, 0, false, false},
		{"-0", 15, 0, false, false},
		{"0.0", 9, 0, false, false},
		{"2.5e-06", 15, 2_500_000_000, false, false}, // $2.50 per million tokens
		{"2.5E-6", 15, 2_500_000_000, false, false},
		{"0.0000025", 15, 2_500_000_000, false, false},
		{"0.00000015", 15, 150_000_000, false, false},
		{"3.75e-06", 15, 3_750_000_000, false, false},
		{"1e-16", 15, 0, true, false},      // finer than a nano-dollar per million tokens
		{"1.5e-15", 15, 1, true, false},    // 1.5 units: truncated, inexact
		{"1.50e-15", 15, 1, true, false},   // trailing zero does not change it
		{"1.0e-15", 15, 1, false, false},   // a zero cut is exact
		{"100e-17", 15, 1, false, false},   // 100 × 10⁻² = 1
		{"0.05", 6, 50_000, false, false},  // 5%
		{"0.050", 6, 50_000, false, false}, //
		{"1", 6, 1_000_000, false, false},
		{"15000", 9, 15_000_000_000_000, false, false},
		{"-1", 9, -1_000_000_000, false, false},
		{"-0.0000001", 6, 0, true, false},
		{"9223372036854775807", 0, 1<<63 - 1, false, false},
		{"9223372036854775808", 0, 0, false, true},
		{"9.3e18", 0, 0, false, true},
		{"1e99999999999999999999", 0, 0, false, true},
		{"1e-99999999999999999999", 0, 0, true, false},
		{"0e99999999999", 0, 0, false, false},
		{"", 6, 0, false, true},
		{"-", 6, 0, false, true},
		{".5", 6, 0, false, true},
		{"5.", 6, 0, false, true},
		{"05", 6, 0, false, true},
		{"+5", 6, 0, false, true},
		{"5%", 6, 0, false, true},
		{"1e", 6, 0, false, true},
		{"1e+", 6, 0, false, true},
		{" 1", 6, 0, false, true},
		{"0x10", 6, 0, false, true},
		{"NaN", 6, 0, false, true},
		{"Infinity", 6, 0, false, true},
	}
	for _, c := range cases {
		n, inexact, err := ParseDecimal(c.s, c.scale)
		if (err != nil) != c.err || (err == nil && (n != c.n || inexact != c.inexact)) {
			t.Errorf("ParseDecimal(%q, %d) = %d, %v, %v; want %d, %v, error %v", c.s, c.scale, n, inexact, err, c.n, c.inexact, c.err)
		}
		if err != nil && StatusOf(err) != 400 {
			t.Errorf("ParseDecimal(%q): %v is not EINVALID", c.s, err)
		}
	}
}

func TestParseRate(t *testing.T) {
	for s, want := range map[string]PPM{"0.05": 50_000, " 0.05 ": 50_000, "0": 0, "0.000001": 1, "1.5": 1_500_000, "5e-2": 50_000} {
		if got, err := ParseRate(s); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "-0.05", "0.0000001", "5%", "five", "0.05.1"} {
		if got, err := ParseRate(s); err == nil {
			t.Errorf("ParseRate(%q) = %d, want an error", s, got)
		}
	}
}

func TestAppendDecimal(t *testing.T) {
	cases := []struct {
		n     int64
		scale int
		want  string
	}{
		{0, 9, "0"},
		{2_500_000_000, 9, "2.5"},
		{12_000, 9, "0.000012"},
		{1, 9, "0.000000001"},
		{10_000_000_000, 9, "10"},
		{50_000, 6, "0.05"},
		{-1_500_000, 6, "-1.5"},
		{-1 << 63, 9, "-9223372036.854775808"},
		{1<<63 - 1, 0, "9223372036854775807"},
		{12, -2, "1200"},
		{0, -2, "0"},
	}
	for _, c := range cases {
		if got := FormatDecimal(c.n, c.scale); got != c.want {
			t.Errorf("FormatDecimal(%d, %d) = %q, want %q", c.n, c.scale, got, c.want)
		}
		if c.scale >= 0 && c.n != -1<<63 { // -2⁶³ is written but not read
			if n, inexact, err := ParseDecimal(c.want, c.scale); err != nil || inexact || n != c.n {
				t.Errorf("ParseDecimal(%q, %d) = %d, %v, %v: does not read back", c.want, c.scale, n, inexact, err)
			}
		}
	}
	if a := testing.AllocsPerRun(100, func() { _ = AppendDecimal(make([]byte, 0, 32)[:0], 123_456_789, 9) }); a > 1 {
		t.Errorf("AppendDecimal allocates %v times", a)
	}
}

// FuzzParseDecimal holds ParseDecimal to math/big: whatever text it
// accepts is the number big.Rat reads, scaled and truncated exactly.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "2.5e-06", "0.00000015", "1e-16", "-1.5", "9223372036854775807", "05", "1e999", "0.05"} {
		f.Add(s, 15)
		f.Add(s, 6)
	}
	f.Fuzz(func(t *testing.T, s string, scale int) {
		scale = scale % 20
		if scale < 0 {
			scale = -scale
		}
		n, inexact, err := ParseDecimal(s, scale)
		// big.Rat accepts more than JSON's grammar; on JSON's grammar the
		// two must agree.
		if err != nil {
			if strings.Contains(err.Error(), "too large") {
				return
			}
			if jsonNumber(s) {
				t.Fatalf("ParseDecimal(%q) refused a JSON number: %v", s, err)
			}
			return
		}
		if !jsonNumber(s) {
			t.Fatalf("ParseDecimal(%q) accepted text that is not a JSON number", s)
		}
		// big.Rat works out 10^exponent: keep it small.
		if i := strings.IndexAny(s, "eE"); len(s) > 200 || i >= 0 && len(strings.TrimLeft(s[i+1:], "+-0")) > 3 {
			return
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("big.Rat cannot read %q", s)
		}
		r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
		q := new(big.Int).Quo(r.Num(), r.Denom()) // truncates toward zero
		if q.Cmp(big.NewInt(n)) != 0 || inexact != !r.IsInt() {
			t.Fatalf("ParseDecimal(%q, %d) = %d, %v; big.Rat says %s, exact %v", s, scale, n, inexact, q, r.IsInt())
		}
		if got := FormatDecimal(n, scale); !inexact {
			if back, _, err := ParseDecimal(got, scale); err != nil || back != n {
				t.Fatalf("FormatDecimal(%d, %d) = %q does not read back: %d %v", n, scale, got, back, err)
			}
		}
	})
}

// jsonNumber is JSON's number grammar, written as the RFC states it.
func jsonNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	return i == len(s)
}
