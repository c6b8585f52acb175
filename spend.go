package ownkey

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SpendLimiter is the chat path's admission seam for the spending limits a
// user sets: the daily limits of an API key (APIKeyLimits, on the amount
// charged) and the spend caps of a stored provider key (SpendCaps, on the
// at-cost spend that ownkey sends through it). chat.Service calls Admit once
// before the billing reservation and Spent once after the settlement
// (package spend implements it).
type SpendLimiter interface {
	// Admit refuses, with an ERATELIMIT error (429) naming the limit and
	// when it resets, a request made with p's API key once one of the key's
	// daily limits is reached, or through cred once one of its spend caps
	// is. cred is the credential the request is about to use: only the
	// account's own key carries caps (a platform key has none).
	Admit(ctx context.Context, p *Principal, cred *Credential) error
	// Spent counts a settled request against what Admit checks: c.Charged
	// against the API key's USD limit, and, when c.BYOK, c.AtCost against
	// the caps of the account's key for provider.
	Spent(p *Principal, provider string, c Charge)
}

// SpendMeter tells what the caps count so far: the key list shows it.
type SpendMeter interface {
	// ProviderSpend is the at-cost spend through the account's own key for
	// provider in the current UTC day and month, as the caps count it.
	ProviderSpend(ctx context.Context, accountID int64, provider string) (Spend, error)
}

// Spend is what was spent in the current UTC day and month.
type Spend struct {
	Today     NanoUSD
	ThisMonth NanoUSD
}

// NoSpendLimits admits everything and counts nothing.
type NoSpendLimits struct{}

func (NoSpendLimits) Admit(context.Context, *Principal, *Credential) error { return nil }
func (NoSpendLimits) Spent(*Principal, string, Charge)                     {}

// APIKeyLimits are an API key's optional daily limits; nil means none. The
// day is the UTC day: counts start again at 00:00 UTC.
type APIKeyLimits struct {
	// USDPerDay bounds what the key's requests are charged per day.
	USDPerDay *NanoUSD
	// RequestsPerDay bounds how many requests the key makes per day.
	RequestsPerDay *int64
}

// SpendCaps are the optional caps on the at-cost spend that ownkey sends
// through one stored provider key (what the provider bills its owner), per
// UTC day and per UTC calendar month; nil means none.
type SpendCaps struct {
	PerDay   *NanoUSD
	PerMonth *NanoUSD
}

// Update is a change to one optional setting: with Set false the setting is
// left as it is; with Set true it becomes To, and a nil To removes it.
type Update[T any] struct {
	Set bool
	To  *T
}

// Apply returns cur changed by u.
func (u Update[T]) Apply(cur *T) *T {
	if u.Set {
		return u.To
	}
	return cur
}

// APIKeyLimitsUpdate changes some of an API key's limits.
type APIKeyLimitsUpdate struct {
	USDPerDay      Update[NanoUSD]
	RequestsPerDay Update[int64]
}

// Apply returns l changed by u.
func (u APIKeyLimitsUpdate) Apply(l APIKeyLimits) APIKeyLimits {
	return APIKeyLimits{USDPerDay: u.USDPerDay.Apply(l.USDPerDay), RequestsPerDay: u.RequestsPerDay.Apply(l.RequestsPerDay)}
}

// SpendCapsUpdate changes some of a provider key's spend caps.
type SpendCapsUpdate struct {
	PerDay   Update[NanoUSD]
	PerMonth Update[NanoUSD]
}

// Apply returns c changed by u.
func (u SpendCapsUpdate) Apply(c SpendCaps) SpendCaps {
	return SpendCaps{PerDay: u.PerDay.Apply(c.PerDay), PerMonth: u.PerMonth.Apply(c.PerMonth)}
}

// MaxLimitUSD bounds a limit or cap: ten million dollars, far below what
// NanoUSD holds, so that sums of spend against it cannot overflow.
const MaxLimitUSD = 10_000_000

// The JSON forms. Money is a decimal string of dollars with nine decimals,
// as balances are shown ("5.000000000"); a limit that is not set is null.

type apiKeyLimitsJSON struct {
	USDPerDay      *string `json:"usd_per_day"`
	RequestsPerDay *int64  `json:"requests_per_day"`
}

func (l APIKeyLimits) MarshalJSON() ([]byte, error) {
	return json.Marshal(apiKeyLimitsJSON{USDPerDay: usdText(l.USDPerDay), RequestsPerDay: l.RequestsPerDay})
}

type spendCapsJSON struct {
	USDPerDay   *string `json:"usd_per_day"`
	USDPerMonth *string `json:"usd_per_month"`
}

func (c SpendCaps) MarshalJSON() ([]byte, error) {
	return json.Marshal(spendCapsJSON{USDPerDay: usdText(c.PerDay), USDPerMonth: usdText(c.PerMonth)})
}

func (s Spend) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Today     string `json:"usd_today"`
		ThisMonth string `json:"usd_this_month"`
	}{FormatUSD(s.Today), FormatUSD(s.ThisMonth)})
}

func usdText(n *NanoUSD) *string {
	if n == nil {
		return nil
	}
	s := FormatUSD(*n)
	return &s
}

// ParseAPIKeyLimitsUpdate reads {"usd_per_day": "5" | 5 | null,
// "requests_per_day": 100 | null} at param (the request field holding it):
// a member left out is left as it is. Errors are EINVALID naming the member.
func ParseAPIKeyLimitsUpdate(param string, raw json.RawMessage) (APIKeyLimitsUpdate, error) {
	var u APIKeyLimitsUpdate
	return u, parseLimits(param, raw, []limitMember{
		{"usd_per_day", usdMember(&u.USDPerDay)},
		{"requests_per_day", countMember(&u.RequestsPerDay)},
	})
}

// ParseSpendCapsUpdate reads {"usd_per_day": …, "usd_per_month": …} at
// param, as ParseAPIKeyLimitsUpdate does.
func ParseSpendCapsUpdate(param string, raw json.RawMessage) (SpendCapsUpdate, error) {
	var u SpendCapsUpdate
	return u, parseLimits(param, raw, []limitMember{
		{"usd_per_day", usdMember(&u.PerDay)},
		{"usd_per_month", usdMember(&u.PerMonth)},
	})
}

// limitMember is one member an object of limits may have, and how to
// read its value (param names it in errors).
type limitMember struct {
	name string
	read func(param string, v json.RawMessage) error
}

// parseLimits decodes an object of limits, each member with its reader,
// refusing unknown members (a misspelt limit silently ignored would be no
// limit at all).
func parseLimits(param string, raw json.RawMessage, known []limitMember) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return nil
	}
	var members map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &members) != nil {
		return FieldError(param, "%s must be an object such as {%q: \"5.00\"}", param, known[0].name)
	}
	names := make([]string, len(known))
	for i, m := range known {
		names[i] = m.name
	}
	for k := range members {
		if !slices.Contains(names, k) {
			return FieldError(param+"."+k, "unknown member %q in %s; expected %s", k, param, strings.Join(names, ", "))
		}
	}
	for _, m := range known {
		if v, ok := members[m.name]; ok {
			if err := m.read(param+"."+m.name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// usdMember reads a dollar amount ("5.00" or 5.00, exactly) or null into u.
func usdMember(u *Update[NanoUSD]) func(string, json.RawMessage) error {
	return func(param string, v json.RawMessage) error {
		*u = Update[NanoUSD]{Set: true}
		if isNull(v) {
			return nil
		}
		text := string(bytes.TrimSpace(v))
		if strings.HasPrefix(text, `"`) {
			if err := json.Unmarshal(v, &text); err != nil {
				return FieldError(param, "%s must be a dollar amount such as \"5.00\"", param)
			}
		}
		n, err := ParseUSD(param, text)
		if err != nil {
			return err
		}
		u.To = &n
		return nil
	}
}

// countMember reads a whole number, 0 or more, or null into u.
func countMember(u *Update[int64]) func(string, json.RawMessage) error {
	return func(param string, v json.RawMessage) error {
		*u = Update[int64]{Set: true}
		if isNull(v) {
			return nil
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil || n < 0 {
			return FieldError(param, "%s must be a whole number, 0 or more, or null for no limit", param)
		}
		u.To = &n
		return nil
	}
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// ParseUSD reads a non-negative decimal dollar amount ("5", "0.25",
// "1.000000001") exactly, without floating point: at most nine decimals and
// at most MaxLimitUSD. Errors are EINVALID naming param.
func ParseUSD(param, s string) (NanoUSD, error) {
	bad := func() (NanoUSD, error) {
		return 0, FieldError(param, "%s must be a dollar amount of at most %d with at most 9 decimals, such as \"5.00\"", param, MaxLimitUSD)
	}
	whole, frac, hasPoint := strings.Cut(strings.TrimSpace(s), ".")
	if whole == "" && frac == "" || hasPoint && frac == "" || len(whole) > 8 || len(frac) > 9 {
		return bad()
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return bad()
			}
		}
	}
	var dollars, nanos int64
	if whole != "" {
		dollars, _ = strconv.ParseInt(whole, 10, 64)
	}
	if frac != "" {
		nanos, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	if dollars > MaxLimitUSD || dollars == MaxLimitUSD && nanos > 0 {
		return bad()
	}
	return NanoUSD(dollars*1_000_000_000 + nanos), nil
}

// FormatUSD writes n as dollars with nine decimals ("12.345678901",
// "-0.000000001"), from the integer: exact.
func FormatUSD(n NanoUSD) string {
	return string(AppendUSD(nil, n))
}

// AppendUSD appends FormatUSD(n) to b.
func AppendUSD(b []byte, n NanoUSD) []byte { return AppendFixed(b, int64(n), 9) }

// ShortUSD writes n for people: dollars with at least two decimals and no
// trailing zeros beyond them ("$5.00", "$0.0123").
func ShortUSD(n NanoUSD) string {
	s := strings.TrimRight(FormatUSD(n), "0")
	if i := strings.IndexByte(s, '.'); len(s)-i-1 < 2 {
		s += strings.Repeat("0", 2-(len(s)-i-1))
	}
	return "$" + s
}

// UTCDay is the start of t's UTC day.
func UTCDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// UTCMonth is the start of t's UTC calendar month.
func UTCMonth(t time.Time) time.Time {
	y, m, _ := t.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
}

// NameKey is the form in which account names are compared for uniqueness:
// case-folded, so that "Bob" and "bob" are one name. ToUpper then ToLower
// folds the characters that have more than one lower-case partner (ſ and s,
// the Kelvin sign and k) together, much as strings.EqualFold does. Names
// are not Unicode-normalised: a composed and a decomposed é differ.
func NameKey(name string) string {
	return strings.ToLower(strings.ToUpper(name))
}

// SpendLedger is what the limiter reads from the ledger, the usage
// records, to learn what every replica has spent (sqlstore.DB).
type SpendLedger interface {
	// APIKeySpendSince counts the key's requests made since since and
	// sums what they were charged.
	APIKeySpendSince(ctx context.Context, accountID, keyID int64, since time.Time) (requests int64, charged NanoUSD, err error)
	// ProviderSpendSince sums the at-cost spend of the account's requests
	// made with its own key (is_byok) through provider: since day (Today)
	// and since month (ThisMonth; month is not after day).
	ProviderSpendSince(ctx context.Context, accountID int64, provider string, day, month time.Time) (Spend, error)
}
