package ownkey

import (
	"context"
	"time"
)

// UsageGrouping is how a usage report buckets the requests it sums.
type UsageGrouping string

const (
	GroupByDay      UsageGrouping = "day"      // the UTC day the request was made
	GroupByModel    UsageGrouping = "model"    // the model that served it (the one it is billed at)
	GroupByProvider UsageGrouping = "provider" // the provider that served it
)

// UsageQuery selects one account's ledger entries made in [From, To).
type UsageQuery struct {
	AccountID int64
	From, To  time.Time
}

// UsageTotals sums ledger entries. Tokens are in Usage's meaning (prompt
// tokens include cached and cache-write ones, completion tokens include
// reasoning ones); money is exact.
type UsageTotals struct {
	Requests         int64
	PromptTokens     int64
	CompletionTokens int64
	CachedTokens     int64
	CacheWriteTokens int64
	ReasoningTokens  int64
	// AtCost is what the providers bill; Charged what ownkey charged.
	AtCost  NanoUSD
	Charged NanoUSD
}

// UsageBucket is the totals of one group: Key is the day ("2025-01-31"),
// the model id or the provider id.
type UsageBucket struct {
	Key string
	UsageTotals
}

// LedgerEntry is one request's ledger entry, its usage record and its
// money, with the names of the account and API key: a row of the usage
// export.
type LedgerEntry struct {
	UsageRecord
	AccountName string
	APIKeyName  string
	AtCost      NanoUSD
	Markup      PPM
	Charged     NanoUSD
	BYOK        bool
	PriceBasis  PriceBasis
}

// UsageReporter reads the ledger for reports (sqlstore.DB).
type UsageReporter interface {
	// UsageReport sums the entries q selects, in all and per bucket
	// (buckets in key order; days without requests are left out).
	UsageReport(ctx context.Context, q UsageQuery, by UsageGrouping) (UsageTotals, []UsageBucket, error)
	// ExportUsage calls fn with each entry q selects, oldest first, as the
	// database returns them (never all in memory at once); an error from
	// fn stops it and is returned.
	ExportUsage(ctx context.Context, q UsageQuery, fn func(*LedgerEntry) error) error
}

// DayProviderUsage is the totals of one provider's entries on one UTC day
// (Day as "2025-01-31"): a bar segment of the dashboard's spend chart.
type DayProviderUsage struct {
	Day      string
	Provider string
	UsageTotals
}

// UsageHistory reads what the dashboard's usage page shows beyond the
// reports (sqlstore.DB).
type UsageHistory interface {
	// UsageByDayAndProvider sums the entries q selects per UTC day and
	// provider, in day then provider order (days without requests are
	// left out).
	UsageByDayAndProvider(ctx context.Context, q UsageQuery) ([]DayProviderUsage, error)
	// RecentUsage returns the account's newest entries, newest first, at
	// most limit of them.
	RecentUsage(ctx context.Context, accountID int64, limit int) ([]LedgerEntry, error)
}
