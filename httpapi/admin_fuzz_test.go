package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzAdminAmount: the admin price body's amounts (PUT /v1/admin/prices)
// and the balance adjustment's amount_usd read any bytes without panicking;
// what they accept is exact (a price writes back as it was read) and an
// adjustment is positive.
func FuzzAdminAmount(f *testing.F) {
	for _, s := range []string{`2.5`, `"0.075"`, `0`, `-1`, `1e3`, `"1.0000000001"`, `"`, `""`, `null`, `{"a":1}`, `9223372036854775807`, ` 12 `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a usdAmount
		if err := a.UnmarshalJSON(b); err == nil {
			if a < 0 {
				t.Fatalf("%q read as the negative price %d", b, a)
			}
			out, _ := a.MarshalJSON()
			var back usdAmount
			if err := back.UnmarshalJSON(out); err != nil || back != a {
				t.Fatalf("%q read as %d, written as %s, read back as %d, %v", b, a, out, back, err)
			}
		}
		if n, err := parseAmount(json.RawMessage(b)); err == nil && n <= 0 {
			t.Fatalf("parseAmount(%q) = %d, accepted", b, n)
		}
	})
}

// FuzzUsageQuery: the usage endpoints' query text (from, to, an unknown
// parameter's name) never panics, never echoes an unsafe name, and a time
// the parser accepts is UTC.
func FuzzUsageQuery(f *testing.F) {
	for _, s := range []string{"2025-03-31", "2025-03-31T12:00:00Z", "2025-03-31T12:00:00+02:00", "", "sk-abcdef", "x\x00y", strings.Repeat("a", 41)} {
		f.Add(s)
	}
	def := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// A refused time gets one fixed message, whatever was sent in its place.
	_, refused := parseUsageTime("from", "x", def, false)
	f.Fuzz(func(t *testing.T, s string) {
		for _, end := range []bool{false, true} {
			got, err := parseUsageTime("from", s, def, end)
			if err == nil && got.Location() != time.UTC {
				t.Fatalf("parseUsageTime(%q) = %v, not UTC", s, got)
			}
			if err != nil && err.Error() != refused.Error() {
				t.Fatalf("parseUsageTime(%q) echoes it: %v", s, err)
			}
		}
		p := safeParam(s)
		if p == "[redacted]" {
			return
		}
		if p != s || len(p) > 40 {
			t.Fatalf("safeParam(%q) = %q", s, p)
		}
		for i := 0; i < len(p); i++ {
			if p[i] < 0x21 || p[i] > 0x7e {
				t.Fatalf("safeParam(%q) passes byte %#x", s, p[i])
			}
		}
	})
}
