package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/ownkey/ownkey"
)

var _ ownkey.UsageStore = (*DB)(nil)

const usageColumns = `request_id, account_id, api_key_id, provider, model_requested, model_served,
	prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, usage_source,
	stream, status, error_code, upstream_latency_us, ttfb_us, client_disconnected, created_at,
	at_cost_nano, charged_nano, markup_ppm, price_basis, is_byok, reserved_nano, settlement, lease_id`

const usageColumnCount = 27

// maxUsageRowsPerInsert, a power of two, bounds one INSERT to 3,456
// parameters: well under SQLite's limit (32,766 since 3.32) and
// PostgreSQL's (65,535). Larger chunks saved nothing measurable.
const maxUsageRowsPerInsert = 128

// usageInsertSizes is how many chunk sizes there are: 1, 2, 4, … 128.
const usageInsertSizes = 8

// chunkSize is the largest power of two that is at most n and
// maxUsageRowsPerInsert.
func chunkSize(n int) int {
	return 1 << min(bits.Len(uint(n))-1, usageInsertSizes-1)
}

// usageInserts returns the prepared multi-row INSERTs that n records need,
// indexed by log2 of their row count, preparing the missing ones first;
// with returning, those that say which rows they stored. It must run
// outside any transaction: on SQLite the writer pool has one connection,
// which a transaction holds.
func (db *DB) usageInserts(ctx context.Context, n int, returning bool) ([usageInsertSizes]*sql.Stmt, error) {
	db.usageMu.Lock()
	defer db.usageMu.Unlock()
	stmts := &db.usageStmts
	if returning {
		stmts = &db.usageReturningStmts
	}
	for n > 0 {
		size := chunkSize(n)
		n -= size
		i := bits.TrailingZeros(uint(size))
		if stmts[i] != nil {
			continue
		}
		stmt, err := db.write.PrepareContext(ctx, db.q(insertUsageQuery(size, returning)))
		if err != nil {
			return *stmts, err
		}
		stmts[i] = stmt
	}
	// A copy: Close may clear the array while this batch is written.
	return *stmts, nil
}

// errStoredBefore: an INSERT stored fewer rows than it was given, some of
// its records being stored already (a retried batch, a replayed spill).
// Which ones it stored decides which charges it settles, so the batch is
// written again by the INSERTs that name the rows they store.
var errStoredBefore = errors.New("some records were stored before")

// InsertUsage stores recs in one transaction, skipping any whose RequestID
// is already stored, so a retried batch never counts a request twice (within
// recs, the first of two records with one RequestID wins). A zero CreatedAt
// means now. Durations are stored in whole microseconds.
//
// It is also where a charge is settled: in the same transaction, the
// Charge.Charged of each record it stored (not of one it skipped) is added
// to its lease's spent amount, so that a record and its charge are stored
// together or not at all, and a retried batch or a replayed spill never
// charges twice. A charge whose lease was returned meanwhile (a record that
// waited in the spill longer than its lease lived) is taken from the
// account's balance instead.
//
// Nothing is stored when an error is returned: EINVALID for a record that
// fails validation, ENOTFOUND when a record names an account that does not
// exist. Retrying those cannot succeed; any other error may be transient.
func (db *DB) InsertUsage(ctx context.Context, recs []*ownkey.UsageRecord) error {
	for i, r := range recs {
		if err := validateUsage(i, r); err != nil {
			return err
		}
	}
	if len(recs) == 0 {
		return nil
	}
	now := storedTime(ownkey.Now())
	err := db.insertUsage(ctx, recs, now, false)
	if errors.Is(err, errStoredBefore) {
		err = db.insertUsage(ctx, recs, now, true)
	}
	switch db.dialect.classify(err) {
	case violationForeignKey:
		return errNotFound("account")
	case violationCheck:
		return ownkey.Errorf(ownkey.EINVALID, "usage record has an invalid field")
	}
	if err != nil {
		return fmt.Errorf("sqlstore: insert usage: %w", err)
	}
	return nil
}

// insertUsage writes recs and settles their charges in one transaction.
// Rows go in as a sum of power-of-two chunks (256 = one 128-row INSERT run
// twice, 50 = 32+16+2), each chunk size's statement prepared once and
// reused: re-parsing a multi-row INSERT for every batch cost as much as a
// quarter of the write. Without returning, a chunk that stores every row it
// is given settles every record's charge, and one that stores fewer ends
// the transaction with errStoredBefore; with returning, the rows each
// INSERT names are the records it stored, and only their charges settle.
func (db *DB) insertUsage(ctx context.Context, recs []*ownkey.UsageRecord, now time.Time, returning bool) error {
	stmts, err := db.usageInserts(ctx, len(recs), returning)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		args := make([]any, 0, min(len(recs), maxUsageRowsPerInsert)*usageColumnCount)
		var charges leaseCharges
		var rep repeated
		for len(recs) > 0 {
			size := chunkSize(len(recs))
			chunk := recs[:size]
			recs = recs[size:]
			args = args[:0]
			for _, r := range chunk {
				createdAt := now
				if !r.CreatedAt.IsZero() {
					createdAt = storedTime(r.CreatedAt)
				}
				u, c := r.Usage, r.Charge
				args = append(args,
					r.RequestID, r.AccountID, r.APIKeyID, r.Provider, r.ModelRequested, r.ModelServed,
					u.PromptTokens, u.CompletionTokens, u.CachedTokens, u.CacheWriteTokens, u.ReasoningTokens, string(u.Source),
					r.Stream, r.Status, r.ErrorCode, r.UpstreamLatency.Microseconds(), r.TTFB.Microseconds(),
					r.ClientDisconnected, db.at(createdAt),
					int64(c.AtCost), int64(c.Charged), rep.markup(c.Markup), rep.basis(c.Basis), c.BYOK, int64(r.Reserved),
					rep.settlement(r.Settlement), rep.lease(r.LeaseID))
			}
			stmt := tx.StmtContext(ctx, stmts[bits.TrailingZeros(uint(size))])
			if returning {
				rows, err := stmt.QueryContext(ctx, args...)
				if err != nil {
					return err
				}
				if err := charges.addRows(rows); err != nil {
					return err
				}
				continue
			}
			res, err := stmt.ExecContext(ctx, args...)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n != int64(size) {
				return errStoredBefore
			}
			for _, r := range chunk {
				charges.add(r.LeaseID, int64(r.Charge.Charged))
			}
		}
		return db.settleCharges(ctx, tx, charges)
	})
}

// repeated boxes the arguments that repeat from row to row of a batch (the
// markup, the price basis, the settlement, the lease) once, rather than
// once per row: a value put in an interface is a heap allocation.
type repeated struct {
	markupOf ownkey.PPM
	markupV  any
	basisOf  ownkey.PriceBasis
	basisV   any
	leaseOf  int64
	leaseV   any
}

var (
	settledArg   any = string(ownkey.SettlementSettled)
	recoveredArg any = string(ownkey.SettlementRecovered)
)

func (r *repeated) markup(p ownkey.PPM) any {
	if r.markupV == nil || p != r.markupOf {
		r.markupOf, r.markupV = p, int64(p)
	}
	return r.markupV
}

func (r *repeated) basis(b ownkey.PriceBasis) any {
	if r.basisV == nil || b != r.basisOf {
		r.basisOf, r.basisV = b, string(b)
	}
	return r.basisV
}

func (r *repeated) settlement(s ownkey.Settlement) any {
	if s == ownkey.SettlementRecovered {
		return recoveredArg
	}
	return settledArg // "" is settled
}

// lease is the lease id, NULL for none.
func (r *repeated) lease(id int64) any {
	if id == 0 {
		return nil
	}
	if r.leaseV == nil || id != r.leaseOf {
		r.leaseOf, r.leaseV = id, id
	}
	return r.leaseV
}

func validateUsage(i int, r *ownkey.UsageRecord) error {
	if r == nil {
		return ownkey.Errorf(ownkey.EINVALID, "usage record %d is missing", i)
	}
	if r.RequestID == "" {
		return ownkey.FieldError("request_id", "usage record %d has no request id", i)
	}
	if r.AccountID <= 0 {
		return ownkey.FieldError("account_id", "usage record %d has no account", i)
	}
	switch r.Usage.Source {
	case ownkey.UsageFromProvider, ownkey.UsageEstimated, ownkey.UsageNone:
	default:
		return ownkey.FieldError("usage_source", "usage record %d has usage source %q; want provider, estimate or none", i, r.Usage.Source)
	}
	u := r.Usage
	if u.PromptTokens < 0 || u.CompletionTokens < 0 || u.CachedTokens < 0 || u.CacheWriteTokens < 0 || u.ReasoningTokens < 0 {
		return ownkey.FieldError("usage", "usage record %d has a negative token count", i)
	}
	if c := r.Charge; c.AtCost < 0 || c.Charged < 0 || c.Markup < 0 || r.Reserved < 0 || r.LeaseID < 0 {
		return ownkey.FieldError("charge", "usage record %d has a negative amount", i)
	}
	switch r.Settlement {
	case "", ownkey.SettlementSettled, ownkey.SettlementRecovered:
	default:
		return ownkey.FieldError("settlement", "usage record %d has settlement %q; want settled or recovered", i, r.Settlement)
	}
	return nil
}

// insertUsageQuery is a multi-row INSERT of n records; with returning, it
// names the rows it stores (not those already stored) by their lease and
// charge.
func insertUsageQuery(n int, returning bool) string {
	const row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	var b strings.Builder
	b.Grow(len(usageColumns) + 80 + n*(len(row)+2))
	b.WriteString("INSERT INTO usage_records (")
	b.WriteString(usageColumns)
	b.WriteString(") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(" ON CONFLICT (request_id) DO NOTHING")
	if returning {
		b.WriteString(" RETURNING lease_id, charged_nano")
	}
	return b.String()
}

// UsageRecords returns up to limit of the account's records, newest first
// (ties in CreatedAt: last inserted first). limit must be positive.
func (db *DB) UsageRecords(ctx context.Context, accountID int64, limit int) ([]*ownkey.UsageRecord, error) {
	if limit <= 0 {
		return nil, ownkey.FieldError("limit", "limit must be positive")
	}
	rows, err := db.read.QueryContext(ctx, db.q(`
		SELECT `+usageColumns+` FROM usage_records
		WHERE account_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`), accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: usage records: %w", err)
	}
	defer rows.Close()
	recs := []*ownkey.UsageRecord{}
	for rows.Next() {
		var r ownkey.UsageRecord
		var source, basis, settlement string
		var latencyUS, ttfbUS, atCost, charged, markup, reserved int64
		var lease sql.NullInt64
		u, c := &r.Usage, &r.Charge
		err := rows.Scan(&r.RequestID, &r.AccountID, &r.APIKeyID, &r.Provider, &r.ModelRequested, &r.ModelServed,
			&u.PromptTokens, &u.CompletionTokens, &u.CachedTokens, &u.CacheWriteTokens, &u.ReasoningTokens, &source,
			&r.Stream, &r.Status, &r.ErrorCode, &latencyUS, &ttfbUS, &r.ClientDisconnected, timeColumn{&r.CreatedAt},
			&atCost, &charged, &markup, &basis, &c.BYOK, &reserved, &settlement, &lease)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: usage records: %w", err)
		}
		u.Source = ownkey.UsageSource(source)
		c.AtCost, c.Charged, c.Markup, c.Basis = ownkey.NanoUSD(atCost), ownkey.NanoUSD(charged), ownkey.PPM(markup), ownkey.PriceBasis(basis)
		c.Estimated = u.Source == ownkey.UsageEstimated
		r.Reserved, r.LeaseID, r.Settlement = ownkey.NanoUSD(reserved), lease.Int64, ownkey.Settlement(settlement)
		r.UpstreamLatency = time.Duration(latencyUS) * time.Microsecond
		r.TTFB = time.Duration(ttfbUS) * time.Microsecond
		recs = append(recs, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: usage records: %w", err)
	}
	return recs, nil
}
