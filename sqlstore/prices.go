package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/ownkey/ownkey"
)

var _ ownkey.PriceStore = (*DB)(nil)

const priceColumns = `provider, model, source, canonical, input_nano, cached_input_nano, cache_write_nano, output_nano, reasoning_nano, updated_at`

// priceRowsPerInsert bounds one multi-row INSERT of an import: 10
// parameters a row stays far below both back ends' parameter limits.
const priceRowsPerInsert = 200

// ModelPrices returns every stored price, in no particular order.
func (db *DB) ModelPrices(ctx context.Context) ([]ownkey.ModelPrice, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+priceColumns+` FROM model_prices`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: model prices: %w", err)
	}
	defer rows.Close()
	var out []ownkey.ModelPrice
	for rows.Next() {
		var p ownkey.ModelPrice
		var kinds [5]sql.NullInt64
		if err := rows.Scan(&p.Provider, &p.Model, &p.Source, &p.Canonical,
			&kinds[0], &kinds[1], &kinds[2], &kinds[3], &kinds[4], timeColumn{&p.UpdatedAt}); err != nil {
			return nil, fmt.Errorf("sqlstore: model prices: %w", err)
		}
		for i, dst := range p.Prices.Kinds() {
			if kinds[i].Valid {
				*dst = ownkey.PriceOf(ownkey.NanoUSD(kinds[i].Int64))
			}
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: model prices: %w", err)
	}
	return out, nil
}

// ReplaceModelPrices deletes source's prices and inserts rows, in one
// transaction: the servers read either the old import or the new one.
func (db *DB) ReplaceModelPrices(ctx context.Context, source ownkey.PriceSource, rows []ownkey.ModelPrice) error {
	if !source.Valid() {
		return ownkey.Errorf(ownkey.EINVALID, "unknown price source %q", source)
	}
	for i := range rows {
		if rows[i].Source != source {
			return ownkey.Errorf(ownkey.EINVALID, "price of %s/%s is from %q, not %q", rows[i].Provider, rows[i].Model, rows[i].Source, source)
		}
	}
	now := storedTime(ownkey.Now())
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM model_prices WHERE source = ?`), string(source)); err != nil {
			return err
		}
		for start := 0; start < len(rows); start += priceRowsPerInsert {
			batch := rows[start:min(start+priceRowsPerInsert, len(rows))]
			args := make([]any, 0, len(batch)*10)
			for _, p := range batch {
				args = db.appendPriceArgs(args, p, now)
			}
			query := `INSERT INTO model_prices (` + priceColumns + `) VALUES ` +
				strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?), `, len(batch)), ", ")
			if _, err := tx.ExecContext(ctx, db.q(query), args...); err != nil {
				return err
			}
		}
		return nil
	})
	return db.priceError("replace model prices", err)
}

// PutModelPrice inserts or replaces one price.
func (db *DB) PutModelPrice(ctx context.Context, p ownkey.ModelPrice) error {
	if !p.Source.Valid() {
		return ownkey.Errorf(ownkey.EINVALID, "unknown price source %q", p.Source)
	}
	_, err := db.write.ExecContext(ctx, db.q(`
		INSERT INTO model_prices (`+priceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (provider, model, source) DO UPDATE SET
			canonical         = excluded.canonical,
			input_nano        = excluded.input_nano,
			cached_input_nano = excluded.cached_input_nano,
			cache_write_nano  = excluded.cache_write_nano,
			output_nano       = excluded.output_nano,
			reasoning_nano    = excluded.reasoning_nano,
			updated_at        = excluded.updated_at`),
		db.appendPriceArgs(nil, p, storedTime(ownkey.Now()))...)
	return db.priceError("put model price", err)
}

// DeleteModelPrice removes one price; ENOTFOUND if there was none.
func (db *DB) DeleteModelPrice(ctx context.Context, provider, model string, source ownkey.PriceSource) error {
	res, err := db.write.ExecContext(ctx, db.q(`DELETE FROM model_prices WHERE provider = ? AND model = ? AND source = ?`),
		provider, model, string(source))
	if err != nil {
		return fmt.Errorf("sqlstore: delete model price: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: delete model price: %w", err)
	} else if n == 0 {
		return errNotFound("price")
	}
	return nil
}

// appendPriceArgs appends p's columns in priceColumns order; an unknown
// price is NULL. A zero UpdatedAt is now.
func (db *DB) appendPriceArgs(args []any, p ownkey.ModelPrice, now time.Time) []any {
	args = append(args, p.Provider, p.Model, string(p.Source), p.Canonical)
	for _, k := range p.Prices.Kinds() {
		if k.Known {
			args = append(args, int64(k.PerMTok))
		} else {
			args = append(args, nil)
		}
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = now
	}
	return append(args, db.at(p.UpdatedAt))
}

func (db *DB) priceError(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case db.dialect.classify(err) == violationCheck:
		return ownkey.Errorf(ownkey.EINVALID, "a model price is invalid (a negative price or an empty model id)")
	case db.dialect.classify(err) == violationUnique:
		return ownkey.Errorf(ownkey.ECONFLICT, "a model is priced twice by one source")
	}
	return fmt.Errorf("sqlstore: %s: %w", what, err)
}
