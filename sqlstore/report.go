package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ownkey/ownkey"
)

var (
	_ ownkey.UsageReporter = (*DB)(nil)
	_ ownkey.UsageHistory  = (*DB)(nil)
)

// usageSums are the summed columns of a usage report, in UsageTotals'
// order.
const usageSums = `count(*),
	CAST(COALESCE(SUM(prompt_tokens), 0) AS BIGINT), CAST(COALESCE(SUM(completion_tokens), 0) AS BIGINT),
	CAST(COALESCE(SUM(cached_tokens), 0) AS BIGINT), CAST(COALESCE(SUM(cache_write_tokens), 0) AS BIGINT),
	CAST(COALESCE(SUM(reasoning_tokens), 0) AS BIGINT),
	CAST(COALESCE(SUM(at_cost_nano), 0) AS BIGINT), CAST(COALESCE(SUM(charged_nano), 0) AS BIGINT)`

// UsageReport sums the account's records in [q.From, q.To) per bucket, in
// the database, and the totals from the buckets (exact: integers).
func (db *DB) UsageReport(ctx context.Context, q ownkey.UsageQuery, by ownkey.UsageGrouping) (ownkey.UsageTotals, []ownkey.UsageBucket, error) {
	var key string
	switch by {
	case ownkey.GroupByDay:
		key = db.dialect.dayNumber("created_at")
	case ownkey.GroupByModel:
		key = "model_served"
	case ownkey.GroupByProvider:
		key = "provider"
	default:
		return ownkey.UsageTotals{}, nil, ownkey.FieldError("group_by", "group_by must be day, model or provider")
	}
	rows, err := db.read.QueryContext(ctx, db.q(`
		SELECT `+key+`, `+usageSums+` FROM usage_records
		WHERE account_id = ? AND created_at >= ? AND created_at < ?
		GROUP BY `+key),
		q.AccountID, db.at(q.From), db.at(q.To))
	if err != nil {
		return ownkey.UsageTotals{}, nil, fmt.Errorf("sqlstore: usage report: %w", err)
	}
	defer rows.Close()
	var total ownkey.UsageTotals
	buckets := []ownkey.UsageBucket{}
	for rows.Next() {
		var b ownkey.UsageBucket
		var day int64
		keyDest := any(&b.Key)
		if by == ownkey.GroupByDay {
			keyDest = &day
		}
		t := &b.UsageTotals
		var atCost, charged int64
		if err := rows.Scan(keyDest, &t.Requests, &t.PromptTokens, &t.CompletionTokens, &t.CachedTokens,
			&t.CacheWriteTokens, &t.ReasoningTokens, &atCost, &charged); err != nil {
			return ownkey.UsageTotals{}, nil, fmt.Errorf("sqlstore: usage report: %w", err)
		}
		t.AtCost, t.Charged = ownkey.NanoUSD(atCost), ownkey.NanoUSD(charged)
		if by == ownkey.GroupByDay {
			b.Key = time.Unix(day*86400, 0).UTC().Format(time.DateOnly)
		}
		total.Requests += t.Requests
		total.PromptTokens += t.PromptTokens
		total.CompletionTokens += t.CompletionTokens
		total.CachedTokens += t.CachedTokens
		total.CacheWriteTokens += t.CacheWriteTokens
		total.ReasoningTokens += t.ReasoningTokens
		total.AtCost += t.AtCost
		total.Charged += t.Charged
		buckets = append(buckets, b)
	}
	if err := rows.Err(); err != nil {
		return ownkey.UsageTotals{}, nil, fmt.Errorf("sqlstore: usage report: %w", err)
	}
	// Sorted here, by bytes, rather than by the database's collation, so
	// that both back ends give one order (days sort as their dates).
	slices.SortFunc(buckets, func(a, b ownkey.UsageBucket) int { return strings.Compare(a.Key, b.Key) })
	return total, buckets, nil
}

// ExportUsage calls fn with each of the account's records in [q.From,
// q.To), oldest first, reading them as fn consumes them. fn gets the same
// *LedgerEntry each time, refilled: it must not keep it.
func (db *DB) ExportUsage(ctx context.Context, q ownkey.UsageQuery, fn func(*ownkey.LedgerEntry) error) error {
	rows, err := db.read.QueryContext(ctx, db.q(ledgerSelect+`
		WHERE u.account_id = ? AND u.created_at >= ? AND u.created_at < ?
		ORDER BY u.created_at, u.id`),
		q.AccountID, db.at(q.From), db.at(q.To))
	if err != nil {
		return fmt.Errorf("sqlstore: export usage: %w", err)
	}
	defer rows.Close()
	var e ownkey.LedgerEntry
	for rows.Next() {
		if err := scanLedgerEntry(rows, &e); err != nil {
			return fmt.Errorf("sqlstore: export usage: %w", err)
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore: export usage: %w", err)
	}
	return nil
}

// ledgerSelect reads ledger entries with their account's and key's names,
// in scanLedgerEntry's order.
const ledgerSelect = `
		SELECT u.request_id, u.account_id, a.name, u.api_key_id, COALESCE(k.name, ''), u.provider,
			u.model_requested, u.model_served, u.prompt_tokens, u.completion_tokens, u.cached_tokens,
			u.cache_write_tokens, u.reasoning_tokens, u.usage_source, u.stream, u.status, u.error_code,
			u.upstream_latency_us, u.ttfb_us, u.client_disconnected, u.created_at,
			u.at_cost_nano, u.markup_ppm, u.charged_nano, u.is_byok, u.price_basis
		FROM usage_records u
		JOIN accounts a ON a.id = u.account_id
		LEFT JOIN api_keys k ON k.id = u.api_key_id`

// scanLedgerEntry reads one row of ledgerSelect into e.
func scanLedgerEntry(rows *sql.Rows, e *ownkey.LedgerEntry) error {
	var source, basis string
	var latencyUS, ttfbUS, atCost, markup, charged int64
	r, u := &e.UsageRecord, &e.Usage
	err := rows.Scan(&r.RequestID, &r.AccountID, &e.AccountName, &r.APIKeyID, &e.APIKeyName, &r.Provider,
		&r.ModelRequested, &r.ModelServed, &u.PromptTokens, &u.CompletionTokens, &u.CachedTokens,
		&u.CacheWriteTokens, &u.ReasoningTokens, &source, &r.Stream, &r.Status, &r.ErrorCode,
		&latencyUS, &ttfbUS, &r.ClientDisconnected, timeColumn{&r.CreatedAt},
		&atCost, &markup, &charged, &e.BYOK, &basis)
	if err != nil {
		return err
	}
	u.Source, e.PriceBasis = ownkey.UsageSource(source), ownkey.PriceBasis(basis)
	r.UpstreamLatency = time.Duration(latencyUS) * time.Microsecond
	r.TTFB = time.Duration(ttfbUS) * time.Microsecond
	e.AtCost, e.Markup, e.Charged = ownkey.NanoUSD(atCost), ownkey.PPM(markup), ownkey.NanoUSD(charged)
	return nil
}

// maxRecentUsage bounds RecentUsage's limit: the page shows a screenful,
// and a larger request reads the export instead.
const maxRecentUsage = 1000

// RecentUsage returns the account's newest entries, newest first (through
// the account index, which the ORDER BY walks backwards), at most limit
// (1..1000) of them.
func (db *DB) RecentUsage(ctx context.Context, accountID int64, limit int) ([]ownkey.LedgerEntry, error) {
	if limit <= 0 || limit > maxRecentUsage {
		return nil, ownkey.FieldError("limit", "limit must be between 1 and %d", maxRecentUsage)
	}
	rows, err := db.read.QueryContext(ctx, db.q(ledgerSelect+`
		WHERE u.account_id = ?
		ORDER BY u.created_at DESC, u.id DESC
		LIMIT ?`), accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: recent usage: %w", err)
	}
	defer rows.Close()
	out := []ownkey.LedgerEntry{}
	for rows.Next() {
		var e ownkey.LedgerEntry
		if err := scanLedgerEntry(rows, &e); err != nil {
			return nil, fmt.Errorf("sqlstore: recent usage: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: recent usage: %w", err)
	}
	return out, nil
}

// UsageByDayAndProvider sums the account's records in [q.From, q.To) per
// UTC day and provider, in the database; sorted in Go (day, then provider,
// by bytes) so that both back ends give one order.
func (db *DB) UsageByDayAndProvider(ctx context.Context, q ownkey.UsageQuery) ([]ownkey.DayProviderUsage, error) {
	day := db.dialect.dayNumber("created_at")
	rows, err := db.read.QueryContext(ctx, db.q(`
		SELECT `+day+`, provider, `+usageSums+` FROM usage_records
		WHERE account_id = ? AND created_at >= ? AND created_at < ?
		GROUP BY `+day+`, provider`),
		q.AccountID, db.at(q.From), db.at(q.To))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: usage by day and provider: %w", err)
	}
	defer rows.Close()
	out := []ownkey.DayProviderUsage{}
	for rows.Next() {
		var b ownkey.DayProviderUsage
		var dayNumber, atCost, charged int64
		t := &b.UsageTotals
		if err := rows.Scan(&dayNumber, &b.Provider, &t.Requests, &t.PromptTokens, &t.CompletionTokens, &t.CachedTokens,
			&t.CacheWriteTokens, &t.ReasoningTokens, &atCost, &charged); err != nil {
			return nil, fmt.Errorf("sqlstore: usage by day and provider: %w", err)
		}
		t.AtCost, t.Charged = ownkey.NanoUSD(atCost), ownkey.NanoUSD(charged)
		b.Day = time.Unix(dayNumber*86400, 0).UTC().Format(time.DateOnly)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: usage by day and provider: %w", err)
	}
	slices.SortFunc(out, func(a, b ownkey.DayProviderUsage) int {
		if c := strings.Compare(a.Day, b.Day); c != 0 {
			return c
		}
		return strings.Compare(a.Provider, b.Provider)
	})
	return out, nil
}
