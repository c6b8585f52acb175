package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/ownkey/ownkey"
)

var _ ownkey.SpendLedger = (*DB)(nil)

// APIKeySpendSince counts the key's usage records since since and sums
// their charges. The account is part of the query so that it reads the
// account's range of usage_records_account_idx, not the whole table.
func (db *DB) APIKeySpendSince(ctx context.Context, accountID, keyID int64, since time.Time) (int64, ownkey.NanoUSD, error) {
	var requests, charged int64
	err := db.read.QueryRowContext(ctx, db.q(`
		SELECT count(*), CAST(COALESCE(SUM(charged_nano), 0) AS BIGINT) FROM usage_records
		WHERE account_id = ? AND created_at >= ? AND api_key_id = ?`),
		accountID, db.at(since), keyID).Scan(&requests, &charged)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlstore: API key spend: %w", err)
	}
	return requests, ownkey.NanoUSD(charged), nil
}

// ProviderSpendSince sums, in one pass over the account's records since
// month, the at-cost spend of its BYOK requests through provider since
// month and since day.
func (db *DB) ProviderSpendSince(ctx context.Context, accountID int64, provider string, day, month time.Time) (ownkey.Spend, error) {
	var today, thisMonth int64
	err := db.read.QueryRowContext(ctx, db.q(`
		SELECT CAST(COALESCE(SUM(CASE WHEN created_at >= ? THEN at_cost_nano ELSE 0 END), 0) AS BIGINT),
		       CAST(COALESCE(SUM(at_cost_nano), 0) AS BIGINT)
		FROM usage_records
		WHERE account_id = ? AND created_at >= ? AND provider = ? AND is_byok`),
		db.at(day), accountID, db.at(month), provider).Scan(&today, &thisMonth)
	if err != nil {
		return ownkey.Spend{}, fmt.Errorf("sqlstore: provider spend: %w", err)
	}
	return ownkey.Spend{Today: ownkey.NanoUSD(today), ThisMonth: ownkey.NanoUSD(thisMonth)}, nil
}
