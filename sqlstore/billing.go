package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ownkey/ownkey"
)

// The ledger's tables (migration 0004): balance leases and adjustments.
// InsertUsage settles charges into leases (settleCharges).

var _ ownkey.LedgerStore = (*DB)(nil)

// leaseCharges sums, per lease, the charges of the records an INSERT
// stored. A batch holds the records of a few accounts, so a short list
// searched in order does better than a map.
type leaseCharges []leaseCharge

type leaseCharge struct{ lease, amount int64 }

// add adds a stored record's charge to its lease's (none: 0).
func (c *leaseCharges) add(lease, amount int64) {
	if lease == 0 || amount == 0 {
		return
	}
	for i := range *c {
		if (*c)[i].lease == lease {
			(*c)[i].amount += amount
			return
		}
	}
	*c = append(*c, leaseCharge{lease: lease, amount: amount})
}

// addRows reads an INSERT's RETURNING lease_id, charged_nano rows, and
// closes them.
func (c *leaseCharges) addRows(rows *sql.Rows) error {
	defer rows.Close()
	for rows.Next() {
		var lease sql.NullInt64
		var amount int64
		if err := rows.Scan(&lease, &amount); err != nil {
			return err
		}
		c.add(lease.Int64, amount)
	}
	return rows.Err()
}

// settleCharges adds each lease's charges to its spent amount, in the
// transaction that stored the records. A lease already returned gives the
// charge to its account's balance instead. Leases are updated in id order
// and only then accounts, in id order: the order ReturnLease locks them in,
// so that two transactions never wait on each other in a circle.
func (db *DB) settleCharges(ctx context.Context, tx *sql.Tx, charges leaseCharges) error {
	if len(charges) == 0 {
		return nil
	}
	slices.SortFunc(charges, func(a, b leaseCharge) int { return cmp.Compare(a.lease, b.lease) })
	var late []leaseCharge // by account
	for _, c := range charges {
		res, err := tx.ExecContext(ctx, db.q(`
			UPDATE balance_leases SET spent_nano = spent_nano + ? WHERE id = ? AND returned_at IS NULL`), c.amount, c.lease)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			continue
		}
		var account int64
		err = tx.QueryRowContext(ctx, db.q(`SELECT account_id FROM balance_leases WHERE id = ?`), c.lease).Scan(&account)
		if errors.Is(err, sql.ErrNoRows) {
			continue // the lease went with its account; so does the record (foreign key)
		} else if err != nil {
			return err
		}
		late = append(late, leaseCharge{lease: account, amount: c.amount})
	}
	slices.SortFunc(late, func(a, b leaseCharge) int { return cmp.Compare(a.lease, b.lease) })
	for _, c := range late {
		if _, err := tx.ExecContext(ctx, db.q(`
			UPDATE accounts SET balance_nano_usd = balance_nano_usd - ? WHERE id = ?`), c.amount, c.lease); err != nil {
			return err
		}
	}
	return nil
}

// errBalanceMoved: another replica changed the balance between the read
// and the update of TakeLease; it reads again.
var errBalanceMoved = errors.New("balance changed meanwhile")

// TakeLease moves money from the account's balance into a new lease (see
// ownkey.LedgerStore). The amount is decided from the balance read in the
// transaction and taken by an UPDATE that holds only while the balance still
// covers it, so that replicas racing for one balance never take it below
// zero; the one that loses reads again.
func (db *DB) TakeLease(ctx context.Context, accountID int64, replica string, need, want ownkey.NanoUSD, share int64) (*ownkey.Lease, ownkey.NanoUSD, error) {
	if need < 0 || want < 0 {
		return nil, 0, ownkey.Errorf(ownkey.EINVALID, "a lease cannot be negative")
	}
	share = max(share, 1)
	for attempt := 0; ; attempt++ {
		var lease *ownkey.Lease
		var balance int64
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			err := tx.QueryRowContext(ctx, db.q(`SELECT balance_nano_usd FROM accounts WHERE id = ?`), accountID).Scan(&balance)
			if errors.Is(err, sql.ErrNoRows) {
				return errNotFound("account")
			} else if err != nil {
				return err
			}
			if balance < int64(need) {
				return nil
			}
			amount := max(min(int64(want), balance/share), int64(need))
			res, err := tx.ExecContext(ctx, db.q(`
				UPDATE accounts SET balance_nano_usd = balance_nano_usd - ? WHERE id = ? AND balance_nano_usd >= ?`),
				amount, accountID, amount)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n != 1 {
				return errBalanceMoved
			}
			created := storedTime(ownkey.Now())
			lease = &ownkey.Lease{AccountID: accountID, Replica: replica, Amount: ownkey.NanoUSD(amount), CreatedAt: created}
			return tx.QueryRowContext(ctx, db.q(`
				INSERT INTO balance_leases (account_id, replica, amount_nano, spent_nano, created_at)
				VALUES (?, ?, ?, 0, ?) RETURNING id`), accountID, replica, amount, db.at(created)).Scan(&lease.ID)
		})
		switch {
		case errors.Is(err, errBalanceMoved) && attempt < 100 && ctx.Err() == nil:
			continue
		case err != nil && ownkey.ErrorCode(err) == ownkey.EINTERNAL:
			return nil, 0, fmt.Errorf("sqlstore: take lease: %w", err)
		case err != nil:
			return nil, 0, err
		}
		return lease, ownkey.NanoUSD(balance), nil
	}
}

// ReturnLease gives a lease's unspent amount back to its account's balance
// (see ownkey.LedgerStore). The lease row is updated first, then the
// account: the order settleCharges takes them in.
func (db *DB) ReturnLease(ctx context.Context, leaseID int64) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var account, unspent int64
		err := tx.QueryRowContext(ctx, db.q(`
			UPDATE balance_leases SET returned_at = ? WHERE id = ? AND returned_at IS NULL
			RETURNING account_id, amount_nano - spent_nano`), db.at(ownkey.Now()), leaseID).Scan(&account, &unspent)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // returned already, or gone with its account
		} else if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE accounts SET balance_nano_usd = balance_nano_usd + ? WHERE id = ?`), unspent, account)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: return lease: %w", err)
	}
	return nil
}

const leaseColumns = `id, account_id, replica, amount_nano, spent_nano, created_at, returned_at`

func scanLease(s scanner) (*ownkey.Lease, error) {
	var l ownkey.Lease
	var amount, spent int64
	if err := s.Scan(&l.ID, &l.AccountID, &l.Replica, &amount, &spent, timeColumn{&l.CreatedAt}, nullTimeColumn{&l.ReturnedAt}); err != nil {
		return nil, err
	}
	l.Amount, l.Spent = ownkey.NanoUSD(amount), ownkey.NanoUSD(spent)
	return &l, nil
}

// OpenLeases lists the replica's leases not returned yet, oldest first.
func (db *DB) OpenLeases(ctx context.Context, replica string) ([]*ownkey.Lease, error) {
	return db.leases(ctx, `replica = ? AND returned_at IS NULL`, replica)
}

// Leases lists an account's leases, returned or not, oldest first (for
// tests and operators).
func (db *DB) Leases(ctx context.Context, accountID int64) ([]*ownkey.Lease, error) {
	return db.leases(ctx, `account_id = ?`, accountID)
}

func (db *DB) leases(ctx context.Context, where string, arg any) ([]*ownkey.Lease, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+leaseColumns+` FROM balance_leases WHERE `+where+` ORDER BY id`), arg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: leases: %w", err)
	}
	defer rows.Close()
	out := []*ownkey.Lease{}
	for rows.Next() {
		l, err := scanLease(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: leases: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: leases: %w", err)
	}
	return out, nil
}

// ReturnStaleLeases returns every open lease taken before createdBefore,
// whichever replica took it, each in a transaction of its own.
func (db *DB) ReturnStaleLeases(ctx context.Context, createdBefore time.Time) (int, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`
		SELECT id FROM balance_leases WHERE returned_at IS NULL AND created_at < ? ORDER BY id`), db.at(createdBefore))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: stale leases: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlstore: stale leases: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sqlstore: stale leases: %w", err)
	}
	for i, id := range ids {
		if err := db.ReturnLease(ctx, id); err != nil {
			return i, err
		}
	}
	return len(ids), nil
}

// Balance is what the account can spend: its balance and the unspent part
// of its open leases.
func (db *DB) Balance(ctx context.Context, accountID int64) (ownkey.NanoUSD, error) {
	var b int64
	err := db.read.QueryRowContext(ctx, db.q(`SELECT `+availableBalance+` FROM accounts WHERE id = ?`), accountID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errNotFound("account")
	} else if err != nil {
		return 0, fmt.Errorf("sqlstore: balance: %w", err)
	}
	return ownkey.NanoUSD(b), nil
}

// AdjustBalance credits (adj.Amount > 0) or debits (< 0) the account and
// stores adj, in one transaction, and returns what the account can spend
// after it. A debit may take the balance below zero: it is the
// administrator's correction, and the account's requests are refused until
// it is paid back.
func (db *DB) AdjustBalance(ctx context.Context, adj *ownkey.BalanceAdjustment) (ownkey.NanoUSD, error) {
	if adj.Amount == 0 {
		return 0, ownkey.FieldError("amount", "the amount must not be zero")
	}
	reason, err := ownkey.ValidateName("reason", adj.Reason)
	if err != nil {
		return 0, err
	} else if reason == "" {
		return 0, ownkey.FieldError("reason", "a reason is required")
	}
	actor, err := ownkey.ValidateName("actor", adj.Actor)
	if err != nil {
		return 0, err
	}
	created := nowIfZero(adj.CreatedAt)
	var id, after int64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.q(`UPDATE accounts SET balance_nano_usd = balance_nano_usd + ? WHERE id = ?`), int64(adj.Amount), adj.AccountID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errNotFound("account")
		}
		if err := tx.QueryRowContext(ctx, db.q(`
			INSERT INTO balance_adjustments (account_id, amount_nano, reason, actor, created_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`), adj.AccountID, int64(adj.Amount), reason, actor, db.at(created)).Scan(&id); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, db.q(`SELECT `+availableBalance+` FROM accounts WHERE id = ?`), adj.AccountID).Scan(&after)
	})
	if err != nil {
		if ownkey.ErrorCode(err) != ownkey.EINTERNAL {
			return 0, err
		}
		return 0, fmt.Errorf("sqlstore: adjust balance: %w", err)
	}
	adj.ID, adj.Reason, adj.Actor, adj.CreatedAt = id, reason, actor, created
	return ownkey.NanoUSD(after), nil
}

// BalanceAdjustments lists up to limit of the account's adjustments,
// newest first.
func (db *DB) BalanceAdjustments(ctx context.Context, accountID int64, limit int) ([]*ownkey.BalanceAdjustment, error) {
	if limit <= 0 {
		return nil, ownkey.FieldError("limit", "limit must be positive")
	}
	rows, err := db.read.QueryContext(ctx, db.q(`
		SELECT id, account_id, amount_nano, reason, actor, created_at FROM balance_adjustments
		WHERE account_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`), accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: balance adjustments: %w", err)
	}
	defer rows.Close()
	out := []*ownkey.BalanceAdjustment{}
	for rows.Next() {
		var a ownkey.BalanceAdjustment
		var amount int64
		if err := rows.Scan(&a.ID, &a.AccountID, &amount, &a.Reason, &a.Actor, timeColumn{&a.CreatedAt}); err != nil {
			return nil, fmt.Errorf("sqlstore: balance adjustments: %w", err)
		}
		a.Amount = ownkey.NanoUSD(amount)
		out = append(out, &a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: balance adjustments: %w", err)
	}
	return out, nil
}
