package ownkey

import (
	"encoding/json"
	"testing"
)

func TestParseUSD(t *testing.T) {
	for in, want := range map[string]NanoUSD{
		"0": 0, "5": 5_000_000_000, "5.00": 5_000_000_000, "0.25": 250_000_000, ".5": 500_000_000,
		"1.000000001": 1_000_000_001, "10000000": 10_000_000_000_000_000, " 7.1 ": 7_100_000_000,
	} {
		if got, err := ParseUSD("x", in); err != nil || got != want {
			t.Errorf("ParseUSD(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".", "5.", "-1", "+1", "1e3", "1.0000000001", "10000000.000000001", "99999999", "1,5", "0x10", "NaN", "1 000"} {
		if got, err := ParseUSD("limits.usd_per_day", in); ErrorCode(err) != EINVALID || err.(*Error).Param != "limits.usd_per_day" {
			t.Errorf("ParseUSD(%q) = %d, %v; want EINVALID naming the field", in, got, err)
		}
	}
}

func TestFormatUSD(t *testing.T) {
	for n, want := range map[NanoUSD]string{
		0: "0.000000000", 1: "0.000000001", 12_345_678_901: "12.345678901", -1: "-0.000000001",
		-9_223_372_036_854_775_808: "-9223372036.854775808", 9_223_372_036_854_775_807: "9223372036.854775807",
	} {
		if got := FormatUSD(n); got != want {
			t.Errorf("FormatUSD(%d) = %q; want %q", n, got, want)
		}
	}
	for n, want := range map[NanoUSD]string{0: "$0.00", 5_000_000_000: "$5.00", 12_300_000: "$0.0123", 1_500_000_000: "$1.50", 3_700: "$0.0000037"} {
		if got := ShortUSD(n); got != want {
			t.Errorf("ShortUSD(%d) = %q; want %q", n, got, want)
		}
	}
}

func TestNameKey(t *testing.T) {
	same := [][2]string{{"Bob", "bob"}, {"BOB", "bOb"}, {"ſam", "SAM"}, {"\u212Aelvin", "kelvin"}, {"ÉMILE", "émile"}}
	for _, p := range same {
		if NameKey(p[0]) != NameKey(p[1]) {
			t.Errorf("NameKey(%q) = %q, NameKey(%q) = %q; want one name", p[0], NameKey(p[0]), p[1], NameKey(p[1]))
		}
	}
	if NameKey("bob") == NameKey("bobby") || NameKey("é") == NameKey("e") {
		t.Error("different names fold together")
	}
}

func TestParseLimitUpdates(t *testing.T) {
	u, err := ParseAPIKeyLimitsUpdate("limits", json.RawMessage(`{"usd_per_day": "2.5", "requests_per_day": null}`))
	if err != nil || !u.USDPerDay.Set || *u.USDPerDay.To != 2_500_000_000 || !u.RequestsPerDay.Set || u.RequestsPerDay.To != nil {
		t.Fatalf("update = %+v, %v", u, err)
	}
	l := u.Apply(APIKeyLimits{RequestsPerDay: new(int64)})
	if l.RequestsPerDay != nil || *l.USDPerDay != 2_500_000_000 {
		t.Fatalf("applied = %+v", l)
	}
	// A number is read from its text, exactly: no float on the way.
	u, err = ParseAPIKeyLimitsUpdate("limits", json.RawMessage(`{"usd_per_day": 0.1}`))
	if err != nil || *u.USDPerDay.To != 100_000_000 || u.RequestsPerDay.Set {
		t.Fatalf("number = %+v, %v", u, err)
	}
	for raw, param := range map[string]string{
		`{"usd_per_day": "x"}`:      "limits.usd_per_day",
		`{"requests_per_day": -1}`:  "limits.requests_per_day",
		`{"requests_per_day": "5"}`: "limits.requests_per_day",
		`{"daily": 1}`:              "limits.daily",
		`[1]`:                       "limits",
	} {
		if _, err := ParseAPIKeyLimitsUpdate("limits", json.RawMessage(raw)); err == nil || err.(*Error).Param != param {
			t.Errorf("%s: %v; want an error naming %s", raw, err, param)
		}
	}
	c, err := ParseSpendCapsUpdate("spend_cap", json.RawMessage(`{"usd_per_month": "100"}`))
	if err != nil || c.PerDay.Set || !c.PerMonth.Set || *c.PerMonth.To != 100_000_000_000 {
		t.Fatalf("caps = %+v, %v", c, err)
	}
	if c, err := ParseSpendCapsUpdate("spend_cap", nil); err != nil || c.PerDay.Set || c.PerMonth.Set {
		t.Fatalf("no caps = %+v, %v", c, err)
	}
	b, _ := json.Marshal(SpendCaps{PerDay: c.PerDay.To})
	if string(b) != `{"usd_per_day":null,"usd_per_month":null}` {
		t.Fatalf("caps JSON %s", b)
	}
}
