package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ownkey/ownkey"
)

const accountColumns = `id, name, role, ` + availableBalance + `, metered, created_at`

// availableBalance is what an account of the accounts table can spend: its
// balance and what its open leases hold unspent (LedgerStore.Balance).
const availableBalance = `CAST(balance_nano_usd + COALESCE((SELECT SUM(l.amount_nano - l.spent_nano)
	FROM balance_leases l WHERE l.account_id = accounts.id AND l.returned_at IS NULL), 0) AS BIGINT)`

// startingCreditReason is the adjustment row that records a new account's
// starting balance.
const startingCreditReason = "starting credit"

// CreateAccount validates a and inserts it with key, if any, in one
// transaction. A zero CreatedAt means now. The IDs, and the times as
// stored, are set only once the transaction has committed.
func (db *DB) CreateAccount(ctx context.Context, a *ownkey.Account, key *ownkey.APIKey) error {
	return db.createAccount(ctx, a, key, false)
}

// CreateFirstAccount is CreateAccount on an empty database only: when any
// account exists it stores nothing and returns false. Replicas that start
// together on one empty database create one first account between them.
func (db *DB) CreateFirstAccount(ctx context.Context, a *ownkey.Account, key *ownkey.APIKey) (bool, error) {
	err := db.createAccount(ctx, a, key, true)
	if errors.Is(err, errNotFirst) {
		return false, nil
	}
	return err == nil, err
}

var errNotFirst = errors.New("an account exists")

func (db *DB) createAccount(ctx context.Context, a *ownkey.Account, key *ownkey.APIKey, onlyFirst bool) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if key != nil {
		if err := checkAPIKey(key); err != nil {
			return err
		}
	}
	createdAt := nowIfZero(a.CreatedAt)
	var accountID, keyID int64
	var keyCreatedAt time.Time
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if onlyFirst {
			if err := db.dialect.advisoryLock(ctx, tx, firstAccountLockID); err != nil {
				return err
			}
			var exists bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM accounts)`).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return errNotFirst
			}
		}
		err := tx.QueryRowContext(ctx, db.q(`
			INSERT INTO accounts (name, name_key, role, balance_nano_usd, metered, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			a.Name, ownkey.NameKey(a.Name), string(a.Role), int64(a.Balance), a.Metered, db.at(createdAt)).Scan(&accountID)
		if err != nil {
			return db.accountError(err, a.Name)
		}
		if a.Balance != 0 {
			// Every balance change is a ledger row, the first one too.
			if _, err := tx.ExecContext(ctx, db.q(`
				INSERT INTO balance_adjustments (account_id, amount_nano, reason, actor, created_at)
				VALUES (?, ?, ?, ?, ?)`), accountID, int64(a.Balance), startingCreditReason, "ownkey", db.at(createdAt)); err != nil {
				return err
			}
		}
		if key == nil {
			return nil
		}
		keyID, keyCreatedAt, err = db.insertAPIKey(ctx, tx, accountID, key)
		return err
	})
	if err != nil {
		return err
	}
	a.ID, a.CreatedAt = accountID, createdAt
	if key != nil {
		key.ID, key.AccountID = keyID, accountID
		setStoredKeyTimes(key, keyCreatedAt)
	}
	return nil
}

func (db *DB) accountError(err error, name string) error {
	switch db.dialect.classify(err) {
	case violationCheck:
		return ownkey.Errorf(ownkey.EINVALID, "account has an invalid field")
	case violationUnique:
		return errNameTaken(name)
	}
	return fmt.Errorf("sqlstore: write account: %w", err)
}

// errNameTaken is the ECONFLICT of a name another account has.
func errNameTaken(name string) error {
	return &ownkey.Error{Code: ownkey.ECONFLICT, Param: "name", Reason: "account_name_taken",
		Message: fmt.Sprintf("an account named %q already exists (names are unique ignoring case)", ownkey.EscapeHidden(name))}
}

// RenameAccount gives the account a new name, unique ignoring case
// (ECONFLICT when another account has it). It also works on a database
// that migration 0006 refused to upgrade because names collide (before
// name_key exists), which is how those collisions are resolved: the
// uniqueness is then checked here, in the same transaction.
func (db *DB) RenameAccount(ctx context.Context, id int64, name string) (*ownkey.Account, error) {
	probe := &ownkey.Account{Name: name, Role: ownkey.RoleUser}
	if err := probe.Validate(); err != nil {
		return nil, err
	}
	name = probe.Name
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var upgraded int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = 6`).Scan(&upgraded); err != nil {
			return err
		}
		if upgraded == 0 {
			as, err := accountNames(ctx, tx)
			if err != nil {
				return err
			}
			for _, a := range as {
				if a.ID != id && ownkey.NameKey(a.Name) == ownkey.NameKey(name) {
					return errNameTaken(name)
				}
			}
			res, err := tx.ExecContext(ctx, db.q(`UPDATE accounts SET name = ? WHERE id = ?`), name, id)
			return updatedOne(res, err, "rename account", "account")
		}
		res, err := tx.ExecContext(ctx, db.q(`UPDATE accounts SET name = ?, name_key = ? WHERE id = ?`), name, ownkey.NameKey(name), id)
		if err != nil {
			return db.accountError(err, name)
		}
		return updatedOne(res, nil, "rename account", "account")
	})
	if err != nil {
		return nil, err
	}
	return db.Account(ctx, id)
}

// Account returns the account with id.
func (db *DB) Account(ctx context.Context, id int64) (*ownkey.Account, error) {
	row := db.read.QueryRowContext(ctx, db.q(`SELECT `+accountColumns+` FROM accounts WHERE id = ?`), id)
	a, err := scanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound("account")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: account: %w", err)
	}
	return a, nil
}

// Accounts returns every account in ID order.
func (db *DB) Accounts(ctx context.Context) ([]*ownkey.Account, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: accounts: %w", err)
	}
	defer rows.Close()
	accounts := []*ownkey.Account{}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: accounts: %w", err)
		}
		accounts = append(accounts, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: accounts: %w", err)
	}
	return accounts, nil
}

// CountAccounts returns how many accounts exist.
func (db *DB) CountAccounts(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM accounts`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count accounts: %w", err)
	}
	return n, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanAccount(s scanner) (*ownkey.Account, error) {
	var a ownkey.Account
	var role string
	var balance int64
	if err := s.Scan(&a.ID, &a.Name, &role, &balance, &a.Metered, timeColumn{&a.CreatedAt}); err != nil {
		return nil, err
	}
	a.Role, a.Balance = ownkey.Role(role), ownkey.NanoUSD(balance)
	return &a, nil
}
