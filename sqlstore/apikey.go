package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ownkey/ownkey"
)

const apiKeyColumns = `k.id, k.account_id, k.name, k.hash, k.last4, k.created_at, k.last_used_at, k.revoked_at,
	k.usd_day_limit_nano, k.requests_day_limit`

// apiKeyReturning is apiKeyColumns unqualified: SQLite's RETURNING takes
// no table names.
var apiKeyReturning = strings.ReplaceAll(apiKeyColumns, "k.", "")

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func checkAPIKey(k *ownkey.APIKey) error {
	if len(k.Hash) == 0 {
		return ownkey.FieldError("hash", "API key hash is required")
	}
	return checkLimits(k.Limits)
}

// CreateAPIKey inserts k for k.AccountID, ENOTFOUND if there is no such
// account and ECONFLICT if a key with the same hash exists.
func (db *DB) CreateAPIKey(ctx context.Context, k *ownkey.APIKey) error {
	if err := checkAPIKey(k); err != nil {
		return err
	}
	id, createdAt, err := db.insertAPIKey(ctx, db.write, k.AccountID, k)
	if err != nil {
		return err
	}
	k.ID = id
	setStoredKeyTimes(k, createdAt)
	return nil
}

func (db *DB) insertAPIKey(ctx context.Context, q querier, accountID int64, k *ownkey.APIKey) (int64, time.Time, error) {
	createdAt := nowIfZero(k.CreatedAt)
	var id int64
	err := q.QueryRowContext(ctx, db.q(`
		INSERT INTO api_keys (account_id, name, hash, last4, created_at, last_used_at, revoked_at,
			usd_day_limit_nano, requests_day_limit)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		accountID, k.Name, k.Hash, k.Last4, db.at(createdAt), db.atOrNull(k.LastUsedAt), db.atOrNull(k.RevokedAt),
		orNull(k.Limits.USDPerDay), orNull(k.Limits.RequestsPerDay),
	).Scan(&id)
	switch db.dialect.classify(err) {
	case violationUnique:
		return 0, time.Time{}, ownkey.Errorf(ownkey.ECONFLICT, "an API key with the same hash already exists")
	case violationForeignKey:
		return 0, time.Time{}, errNotFound("account")
	case violationCheck:
		return 0, time.Time{}, ownkey.Errorf(ownkey.EINVALID, "API key has an invalid field")
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("sqlstore: create API key: %w", err)
	}
	return id, createdAt, nil
}

// setStoredKeyTimes makes k's times what the database holds.
func setStoredKeyTimes(k *ownkey.APIKey, createdAt time.Time) {
	k.CreatedAt = createdAt
	k.LastUsedAt = storedTimePtr(k.LastUsedAt)
	k.RevokedAt = storedTimePtr(k.RevokedAt)
}

// APIKeys lists the account's keys, revoked ones included, oldest first.
func (db *DB) APIKeys(ctx context.Context, accountID int64) ([]*ownkey.APIKey, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`
		SELECT `+apiKeyColumns+` FROM api_keys k
		WHERE k.account_id = ? ORDER BY k.created_at, k.id`), accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: API keys: %w", err)
	}
	defer rows.Close()
	keys := []*ownkey.APIKey{}
	for rows.Next() {
		var k ownkey.APIKey
		if err := rows.Scan(apiKeyDest(&k)...); err != nil {
			return nil, fmt.Errorf("sqlstore: API keys: %w", err)
		}
		keys = append(keys, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: API keys: %w", err)
	}
	return keys, nil
}

func apiKeyDest(k *ownkey.APIKey) []any {
	return []any{&k.ID, &k.AccountID, &k.Name, &k.Hash, &k.Last4,
		timeColumn{&k.CreatedAt}, nullTimeColumn{&k.LastUsedAt}, nullTimeColumn{&k.RevokedAt},
		nullInt64Column[ownkey.NanoUSD]{&k.Limits.USDPerDay}, nullInt64Column[int64]{&k.Limits.RequestsPerDay}}
}

// APIKeyByHash finds a key, revoked or not, and its account.
func (db *DB) APIKeyByHash(ctx context.Context, hash []byte) (*ownkey.APIKey, *ownkey.Account, error) {
	if len(hash) == 0 {
		return nil, nil, errNotFound("API key")
	}
	var k ownkey.APIKey
	var a ownkey.Account
	var role string
	var balance int64
	dest := append(apiKeyDest(&k), &a.ID, &a.Name, &role, &balance, &a.Metered, timeColumn{&a.CreatedAt})
	err := db.read.QueryRowContext(ctx, db.q(`
		SELECT `+apiKeyColumns+`, accounts.id, accounts.name, accounts.role, `+availableBalance+`, accounts.metered, accounts.created_at
		FROM api_keys k JOIN accounts ON accounts.id = k.account_id
		WHERE k.hash = ?`), hash).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, errNotFound("API key")
	} else if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: API key by hash: %w", err)
	}
	a.Role, a.Balance = ownkey.Role(role), ownkey.NanoUSD(balance)
	return &k, &a, nil
}

// RevokeAPIKey marks the key revoked, keeping the time of the first
// revocation. A key of another account is ENOTFOUND, as a missing one is.
func (db *DB) RevokeAPIKey(ctx context.Context, accountID, keyID int64) error {
	res, err := db.write.ExecContext(ctx, db.q(`
		UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?)
		WHERE id = ? AND account_id = ?`),
		db.at(ownkey.Now()), keyID, accountID)
	return updatedOne(res, err, "revoke API key", "API key")
}

// TouchAPIKey records that the key was used at (zero means now). Use times
// only move forward, so batches flushed out of order cannot set an older
// time.
func (db *DB) TouchAPIKey(ctx context.Context, keyID int64, at time.Time) error {
	t := db.at(nowIfZero(at))
	res, err := db.write.ExecContext(ctx, db.q(`
		UPDATE api_keys SET last_used_at =
			CASE WHEN last_used_at IS NULL OR last_used_at < ? THEN ? ELSE last_used_at END
		WHERE id = ?`),
		t, t, keyID)
	return updatedOne(res, err, "touch API key", "API key")
}

// updatedOne turns the result of an UPDATE or DELETE of one row into the
// method's error: ENOTFOUND when no row matched.
func updatedOne(res sql.Result, err error, op, what string) error {
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if n == 0 {
		return errNotFound(what)
	}
	return nil
}

// SetAPIKeyLimits changes the key's daily limits as u says and returns the
// key as stored; ENOTFOUND unless the key belongs to accountID. A revoked
// key's limits can still be changed: they no longer matter.
func (db *DB) SetAPIKeyLimits(ctx context.Context, accountID, keyID int64, u ownkey.APIKeyLimitsUpdate) (*ownkey.APIKey, error) {
	if err := checkLimits(u.Apply(ownkey.APIKeyLimits{})); err != nil {
		return nil, err
	}
	var k ownkey.APIKey
	err := db.write.QueryRowContext(ctx, db.q(`
		UPDATE api_keys SET
			usd_day_limit_nano = CASE WHEN ? THEN ? ELSE usd_day_limit_nano END,
			requests_day_limit = CASE WHEN ? THEN ? ELSE requests_day_limit END
		WHERE id = ? AND account_id = ?
		RETURNING `+apiKeyReturning),
		u.USDPerDay.Set, orNull(u.USDPerDay.To), u.RequestsPerDay.Set, orNull(u.RequestsPerDay.To),
		keyID, accountID).Scan(apiKeyDest(&k)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound("API key")
	} else if db.dialect.classify(err) == violationCheck {
		return nil, ownkey.Errorf(ownkey.EINVALID, "API key limits must not be negative")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: set API key limits: %w", err)
	}
	return &k, nil
}

// checkLimits refuses negative limits before the database does.
func checkLimits(l ownkey.APIKeyLimits) error {
	if l.USDPerDay != nil && *l.USDPerDay < 0 {
		return ownkey.FieldError("limits.usd_per_day", "limits.usd_per_day must not be negative")
	}
	if l.RequestsPerDay != nil && *l.RequestsPerDay < 0 {
		return ownkey.FieldError("limits.requests_per_day", "limits.requests_per_day must not be negative")
	}
	return nil
}

// orNull is an optional amount as a query argument.
func orNull[T ~int64](n *T) any {
	if n == nil {
		return nil
	}
	return int64(*n)
}

// nullInt64Column scans a nullable amount.
type nullInt64Column[T ~int64] struct{ dst **T }

func (c nullInt64Column[T]) Scan(src any) error {
	var n sql.NullInt64
	if err := n.Scan(src); err != nil {
		return err
	}
	*c.dst = nil
	if n.Valid {
		v := T(n.Int64)
		*c.dst = &v
	}
	return nil
}
