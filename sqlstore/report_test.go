package sqlstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

// ledgerRow is a usage record with its money, as the ledger stores it.
type ledgerRow struct {
	rec             *ownkey.UsageRecord
	atCost, charged ownkey.NanoUSD
	markup          ownkey.PPM
	byok            bool
	basis           ownkey.PriceBasis
}

// insertLedger stores rows: the usage record through InsertUsage, its
// money columns then set directly (the ledger's recorder writes them with
// the record).
func insertLedger(t *testing.T, db *sqlstore.DB, rows ...ledgerRow) {
	t.Helper()
	for _, r := range rows {
		insertUsage(t, db, r.rec)
		query := `UPDATE usage_records SET at_cost_nano = ?, charged_nano = ?, markup_ppm = ?, is_byok = ?, price_basis = ? WHERE request_id = ?`
		if db.Dialect() == "postgres" {
			query = `UPDATE usage_records SET at_cost_nano = $1, charged_nano = $2, markup_ppm = $3, is_byok = $4, price_basis = $5 WHERE request_id = $6`
		}
		if _, err := db.SQL().ExecContext(ctx, query, int64(r.atCost), int64(r.charged), int64(r.markup), r.byok, string(r.basis), r.rec.RequestID); err != nil {
			t.Fatalf("setting the money of %s: %v", r.rec.RequestID, err)
		}
	}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// reportFixture is an account's ledger around 2025-03-14..16 and what the
// reports must make of it, worked out by hand below.
type reportFixture struct {
	a, b       *ownkey.Account
	key1, key2 *ownkey.APIKey
}

func newReportFixture(t *testing.T, db *sqlstore.DB) reportFixture {
	f := reportFixture{a: createAccount(t, db, "acme"), b: createAccount(t, db, "other")}
	f.key1 = createKey(t, db, f.a.ID, "ci")
	f.key2 = createKey(t, db, f.a.ID, "=cmd|' /C calc'!A0")
	rec := func(id string, acct int64, key *ownkey.APIKey, provider, asked, served, at string, u ownkey.Usage, status int) *ownkey.UsageRecord {
		keyID := int64(0)
		if key != nil {
			keyID = key.ID
		}
		return &ownkey.UsageRecord{RequestID: id, AccountID: acct, APIKeyID: keyID, Provider: provider,
			ModelRequested: asked, ModelServed: served, Usage: u, Status: status, CreatedAt: utc(at),
			Stream: id == "r2", TTFB: 120 * time.Millisecond, UpstreamLatency: 1500 * time.Millisecond}
	}
	provided := func(prompt, completion, cached, cacheWrite, reasoning int64) ownkey.Usage {
		return ownkey.Usage{PromptTokens: prompt, CompletionTokens: completion, CachedTokens: cached,
			CacheWriteTokens: cacheWrite, ReasoningTokens: reasoning, Source: ownkey.UsageFromProvider}
	}
	insertLedger(t, db,
		// Before the range.
		ledgerRow{rec: rec("r0", f.a.ID, f.key1, "openai", "gpt-4o-mini", "gpt-4o-mini", "2025-03-13T23:59:59.999999Z", provided(1, 1, 0, 0, 0), 200),
			atCost: 77, charged: 4, markup: 50_000, byok: true, basis: ownkey.PriceCatalog},
		ledgerRow{rec: rec("r1", f.a.ID, f.key1, "openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "2025-03-14T10:00:00Z", provided(1000, 500, 200, 0, 0), 200),
			atCost: 150_000, charged: 7_500, markup: 50_000, byok: true, basis: ownkey.PriceCatalog},
		ledgerRow{rec: rec("r2", f.a.ID, f.key1, "anthropic", "claude-sonnet-4", "claude-sonnet-4-20250514", "2025-03-14T23:59:59.999999Z", provided(2000, 100, 0, 300, 40), 200),
			atCost: 9_000_000, charged: 450_000, markup: 50_000, byok: true, basis: ownkey.PriceCatalog},
		ledgerRow{rec: rec("r3", f.a.ID, f.key2, "openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "2025-03-15T00:00:00Z", provided(10, 5, 0, 0, 0), 200),
			atCost: 3, charged: 1, markup: 0, byok: false, basis: ownkey.PriceCatalog},
		ledgerRow{rec: rec("r4", f.a.ID, f.key2, "openai", "=HYPERLINK(\"http://x\")", "gpt-4o", "2025-03-16T12:00:00Z",
			ownkey.Usage{PromptTokens: 7, Source: ownkey.UsageEstimated}, 502),
			atCost: 0, charged: 0, markup: 50_000, byok: true, basis: ownkey.PriceFallback},
		// Another account, in the range.
		ledgerRow{rec: rec("r5", f.b.ID, nil, "openai", "gpt-4o", "gpt-4o", "2025-03-14T12:00:00Z", provided(99, 99, 0, 0, 0), 200),
			atCost: 999, charged: 99, byok: true},
		// At the range's end, which is not in it.
		ledgerRow{rec: rec("r6", f.a.ID, f.key2, "openai", "gpt-4o", "gpt-4o", "2025-03-17T00:00:00Z", provided(3, 3, 0, 0, 0), 200),
			atCost: 1_000_000, charged: 1_000, markup: 50_000, byok: true},
	)
	return f
}

func bucket(key string, t ownkey.UsageTotals) ownkey.UsageBucket {
	return ownkey.UsageBucket{Key: key, UsageTotals: t}
}

var reportRange = func(accountID int64) ownkey.UsageQuery {
	return ownkey.UsageQuery{AccountID: accountID, From: utc("2025-03-14T00:00:00Z"), To: utc("2025-03-17T00:00:00Z")}
}

func TestUsageReport(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newReportFixture(t, db)
		q := reportRange(f.a.ID)
		// r1..r4: 1000+2000+10+7 prompt tokens, 500+100+5+0 completion,
		// 150000+9000000+3+0 n$ at cost, 7500+450000+1+0 charged.
		wantTotal := ownkey.UsageTotals{Requests: 4, PromptTokens: 3017, CompletionTokens: 605, CachedTokens: 200,
			CacheWriteTokens: 300, ReasoningTokens: 40, AtCost: 9_150_003, Charged: 457_501}
		for _, tc := range []struct {
			by   ownkey.UsageGrouping
			want []ownkey.UsageBucket
		}{
			{ownkey.GroupByDay, []ownkey.UsageBucket{
				bucket("2025-03-14", ownkey.UsageTotals{Requests: 2, PromptTokens: 3000, CompletionTokens: 600, CachedTokens: 200,
					CacheWriteTokens: 300, ReasoningTokens: 40, AtCost: 9_150_000, Charged: 457_500}),
				bucket("2025-03-15", ownkey.UsageTotals{Requests: 1, PromptTokens: 10, CompletionTokens: 5, AtCost: 3, Charged: 1}),
				bucket("2025-03-16", ownkey.UsageTotals{Requests: 1, PromptTokens: 7}),
			}},
			{ownkey.GroupByModel, []ownkey.UsageBucket{
				bucket("claude-sonnet-4-20250514", ownkey.UsageTotals{Requests: 1, PromptTokens: 2000, CompletionTokens: 100,
					CacheWriteTokens: 300, ReasoningTokens: 40, AtCost: 9_000_000, Charged: 450_000}),
				bucket("gpt-4o", ownkey.UsageTotals{Requests: 1, PromptTokens: 7}),
				bucket("gpt-4o-mini-2024-07-18", ownkey.UsageTotals{Requests: 2, PromptTokens: 1010, CompletionTokens: 505,
					CachedTokens: 200, AtCost: 150_003, Charged: 7_501}),
			}},
			{ownkey.GroupByProvider, []ownkey.UsageBucket{
				bucket("anthropic", ownkey.UsageTotals{Requests: 1, PromptTokens: 2000, CompletionTokens: 100,
					CacheWriteTokens: 300, ReasoningTokens: 40, AtCost: 9_000_000, Charged: 450_000}),
				bucket("openai", ownkey.UsageTotals{Requests: 3, PromptTokens: 1017, CompletionTokens: 505,
					CachedTokens: 200, AtCost: 150_003, Charged: 7_501}),
			}},
		} {
			total, buckets, err := db.UsageReport(ctx, q, tc.by)
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, string(tc.by)+" totals", total, wantTotal)
			wantEqual(t, string(tc.by)+" buckets", buckets, tc.want)
		}
		// Nothing in range: zero totals, no buckets.
		total, buckets, err := db.UsageReport(ctx, ownkey.UsageQuery{AccountID: f.a.ID, From: utc("2024-01-01T00:00:00Z"), To: utc("2024-02-01T00:00:00Z")}, ownkey.GroupByDay)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "empty totals", total, ownkey.UsageTotals{})
		wantEqual(t, "empty buckets", buckets, []ownkey.UsageBucket{})
		_, _, err = db.UsageReport(ctx, q, "week")
		wantCode(t, err, ownkey.EINVALID)
	})
}

func TestExportUsage(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newReportFixture(t, db)
		var got []ownkey.LedgerEntry
		err := db.ExportUsage(ctx, reportRange(f.a.ID), func(e *ownkey.LedgerEntry) error {
			got = append(got, *e)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(got))
		for i, e := range got {
			ids[i] = e.RequestID
		}
		wantEqual(t, "entries", ids, []string{"r1", "r2", "r3", "r4"})
		wantEqual(t, "r2", got[1], ownkey.LedgerEntry{
			UsageRecord: ownkey.UsageRecord{RequestID: "r2", AccountID: f.a.ID, APIKeyID: f.key1.ID, Provider: "anthropic",
				ModelRequested: "claude-sonnet-4", ModelServed: "claude-sonnet-4-20250514",
				Usage: ownkey.Usage{PromptTokens: 2000, CompletionTokens: 100, CacheWriteTokens: 300, ReasoningTokens: 40,
					Source: ownkey.UsageFromProvider},
				Stream: true, Status: 200, TTFB: 120 * time.Millisecond, UpstreamLatency: 1500 * time.Millisecond,
				CreatedAt: utc("2025-03-14T23:59:59.999999Z")},
			AccountName: "acme", APIKeyName: "ci",
			AtCost: 9_000_000, Markup: 50_000, Charged: 450_000, BYOK: true, PriceBasis: ownkey.PriceCatalog,
		})
		if got[3].APIKeyName != f.key2.Name || got[3].Status != 502 || got[3].PriceBasis != ownkey.PriceFallback || got[3].Usage.Source != ownkey.UsageEstimated {
			t.Fatalf("r4: %+v", got[3])
		}
		// An error from fn stops the export and comes back.
		stop := errors.New("client gone")
		n := 0
		err = db.ExportUsage(ctx, reportRange(f.a.ID), func(*ownkey.LedgerEntry) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Fatalf("export stopped by fn: %v after %d entries", err, n)
		}
	})
}

func TestSpendSince(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newReportFixture(t, db)
		// key1 since 03-14: r1 and r2 (r0 is before).
		n, charged, err := db.APIKeySpendSince(ctx, f.a.ID, f.key1.ID, utc("2025-03-14T00:00:00Z"))
		if err != nil || n != 2 || charged != 457_500 {
			t.Fatalf("key1: %d requests, %d n$, %v; want 2, 457500", n, charged, err)
		}
		// key2 since 03-15: r3, r4 and r6.
		n, charged, err = db.APIKeySpendSince(ctx, f.a.ID, f.key2.ID, utc("2025-03-15T00:00:00Z"))
		if err != nil || n != 3 || charged != 1_001 {
			t.Fatalf("key2: %d requests, %d n$, %v; want 3, 1001", n, charged, err)
		}
		// BYOK at cost through openai: today (03-17) r6; this month r0,
		// r1, r4 and r6 (r3 used a platform key, r5 is another account's).
		s, err := db.ProviderSpendSince(ctx, f.a.ID, "openai", utc("2025-03-17T00:00:00Z"), utc("2025-03-01T00:00:00Z"))
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "openai spend", s, ownkey.Spend{Today: 1_000_000, ThisMonth: 1_150_077})
		s, err = db.ProviderSpendSince(ctx, f.a.ID, "groq", utc("2025-03-17T00:00:00Z"), utc("2025-03-01T00:00:00Z"))
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "no spend", s, ownkey.Spend{})
	})
}

func TestUsageByDayAndProvider(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newReportFixture(t, db)
		got, err := db.UsageByDayAndProvider(ctx, reportRange(f.a.ID))
		if err != nil {
			t.Fatal(err)
		}
		// r1 and r2 share 03-14 but not a provider; r3 and r4 are openai
		// on days of their own; r0, r5 and r6 are out of the range or
		// another account's.
		wantEqual(t, "segments", got, []ownkey.DayProviderUsage{
			{Day: "2025-03-14", Provider: "anthropic", UsageTotals: ownkey.UsageTotals{Requests: 1, PromptTokens: 2000, CompletionTokens: 100,
				CacheWriteTokens: 300, ReasoningTokens: 40, AtCost: 9_000_000, Charged: 450_000}},
			{Day: "2025-03-14", Provider: "openai", UsageTotals: ownkey.UsageTotals{Requests: 1, PromptTokens: 1000, CompletionTokens: 500,
				CachedTokens: 200, AtCost: 150_000, Charged: 7_500}},
			{Day: "2025-03-15", Provider: "openai", UsageTotals: ownkey.UsageTotals{Requests: 1, PromptTokens: 10, CompletionTokens: 5, AtCost: 3, Charged: 1}},
			{Day: "2025-03-16", Provider: "openai", UsageTotals: ownkey.UsageTotals{Requests: 1, PromptTokens: 7}},
		})
		got, err = db.UsageByDayAndProvider(ctx, ownkey.UsageQuery{AccountID: f.a.ID, From: utc("2024-01-01T00:00:00Z"), To: utc("2024-02-01T00:00:00Z")})
		if err != nil || len(got) != 0 {
			t.Fatalf("empty range: %v, %v", got, err)
		}
	})
}

func TestRecentUsage(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newReportFixture(t, db)
		ids := func(es []ownkey.LedgerEntry) []string {
			out := make([]string, len(es))
			for i, e := range es {
				out[i] = e.RequestID
			}
			return out
		}
		got, err := db.RecentUsage(ctx, f.a.ID, 3)
		if err != nil {
			t.Fatal(err)
		}
		// Newest first, the account's only (r5 is the other's).
		wantEqual(t, "newest three", ids(got), []string{"r6", "r4", "r3"})
		if e := got[1]; e.APIKeyName != f.key2.Name || e.Usage.Source != ownkey.UsageEstimated || e.Markup != 50_000 || e.PriceBasis != ownkey.PriceFallback {
			t.Fatalf("r4: %+v", e)
		}
		all, err := db.RecentUsage(ctx, f.a.ID, 1000)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "all", ids(all), []string{"r6", "r4", "r3", "r2", "r1", "r0"})
		for _, bad := range []int{0, -1, 1001} {
			_, err := db.RecentUsage(ctx, f.a.ID, bad)
			wantCode(t, err, ownkey.EINVALID)
		}
		none, err := db.RecentUsage(ctx, f.b.ID+100, 10)
		if err != nil || none == nil || len(none) != 0 {
			t.Fatalf("unknown account: %v, %v", none, err)
		}
	})
}
