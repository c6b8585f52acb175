package ownkey

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzParseLimits: the limit objects clients send (an API key's limits, a
// provider key's spend caps) never panic the parser; refusals are EINVALID
// naming the field under the request member; every dollar amount accepted
// is non-negative, at most MaxLimitUSD, and written back exactly.
func FuzzParseLimits(f *testing.F) {
	for _, s := range []string{
		`{"usd_per_day": "5.00", "requests_per_day": 100}`, `{"usd_per_day": 0.1}`, `{"usd_per_month": null}`,
		`{"usd_per_day": "10000000"}`, `{"usd_per_day": "10000000.000000001"}`, `{"usd_per_day": 1e3}`,
		`{"usd_per_day": "-0"}`, `{"requests_per_day": 9223372036854775808}`, `{"usd_per_day": "\u0035"}`,
		`{"nope": 1}`, `[]`, `"5"`, `null`, ``, `{"usd_per_day": {}}`, `{"usd_per_day": "1", "usd_per_day": "2"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		check := func(err error, amounts ...Update[NanoUSD]) {
			var e *Error
			if err != nil {
				if !errors.As(err, &e) || e.Code != EINVALID || !strings.HasPrefix(e.Param, "limits") {
					t.Fatalf("%q: error %v; want EINVALID naming a field under limits", raw, err)
				}
				return
			}
			for _, a := range amounts {
				if a.To == nil {
					continue
				}
				n := *a.To
				if n < 0 || n > MaxLimitUSD*1_000_000_000 {
					t.Fatalf("%q: amount %d out of range", raw, n)
				}
				if back, err := ParseUSD("x", FormatUSD(n)); err != nil || back != n {
					t.Fatalf("%q: %d written as %s reads back as %d, %v", raw, n, FormatUSD(n), back, err)
				}
			}
		}
		u, err := ParseAPIKeyLimitsUpdate("limits", json.RawMessage(raw))
		check(err, u.USDPerDay)
		if err == nil && u.RequestsPerDay.To != nil && *u.RequestsPerDay.To < 0 {
			t.Fatalf("%q: negative requests limit", raw)
		}
		c, err := ParseSpendCapsUpdate("limits", json.RawMessage(raw))
		check(err, c.PerDay, c.PerMonth)
	})
}
