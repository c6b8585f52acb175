package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/ownkey/ownkey"
)

const credentialColumns = `account_id, provider, key_version, sealed, suffix, created_at, updated_at, last_used_at`

// credentialReadColumns are credentialColumns, the spend caps and the
// key's failure (migration 0008).
const credentialReadColumns = credentialColumns + `, cap_day_nano, cap_month_nano, failed_at, failure_status, failure_message`

// The two credential tables have the same columns (see migration 0007): the
// accounts' keys, and the platform's, whose account_id is always
// ownkey.PlatformOwner. Every query below takes the table, so the two are
// read and written by the same code, and no query over one reaches the
// other.
const (
	accountCredentials  = "provider_credentials"
	platformCredentials = "platform_credentials"
)

// credentialTable is the table that holds the credentials of owner.
func credentialTable(owner int64) string {
	if owner == ownkey.PlatformOwner {
		return platformCredentials
	}
	return accountCredentials
}

// PutCredential inserts or replaces the account's credential for
// r.Provider; ENOTFOUND if the account does not exist. Zero CreatedAt and
// UpdatedAt mean now. A replace keeps the stored CreatedAt, and takes
// LastUsedAt from r (normally nil: the new key has not been used yet). On
// success r holds the times as stored.
func (db *DB) PutCredential(ctx context.Context, r *ownkey.CredentialRecord) error {
	if r.AccountID == ownkey.PlatformOwner {
		return ownkey.FieldError("account_id", "a platform key is stored with PutPlatformCredential")
	}
	return db.putCredential(ctx, accountCredentials, r)
}

// PutPlatformCredential is PutCredential for the platform's key for
// r.Provider (r.AccountID must be ownkey.PlatformOwner).
func (db *DB) PutPlatformCredential(ctx context.Context, r *ownkey.CredentialRecord) error {
	if r.AccountID != ownkey.PlatformOwner {
		return ownkey.FieldError("account_id", "a platform key belongs to ownkey.PlatformOwner")
	}
	return db.putCredential(ctx, platformCredentials, r)
}

func (db *DB) putCredential(ctx context.Context, table string, r *ownkey.CredentialRecord) error {
	if r.Provider == "" {
		return ownkey.FieldError("provider", "provider is required")
	}
	if len(r.Sealed) == 0 {
		return ownkey.FieldError("sealed", "sealed credential is required")
	}
	if err := checkCaps(r.CapsUpdate.Apply(ownkey.SpendCaps{})); err != nil {
		return err
	}
	now := storedTime(ownkey.Now())
	createdAt, updatedAt := now, now
	if !r.CreatedAt.IsZero() {
		createdAt = storedTime(r.CreatedAt)
	}
	if !r.UpdatedAt.IsZero() {
		updatedAt = storedTime(r.UpdatedAt)
	}
	var storedCreatedAt time.Time
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// In the same transaction as the write, so that a concurrent
		// RetireMasterKey either waits for this row or is seen by it.
		retired, err := db.keyVersionRetired(ctx, tx, r.KeyVersion)
		if err != nil {
			return err
		}
		if retired {
			return ownkey.ErrKeyVersionRetired
		}
		// A new key starts with the caps the update sets; a replaced
		// one keeps those it does not set.
		u := r.CapsUpdate
		fresh := u.Apply(ownkey.SpendCaps{})
		return tx.QueryRowContext(ctx, db.q(`
			INSERT INTO `+table+` (`+credentialColumns+`, cap_day_nano, cap_month_nano)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id, provider) DO UPDATE SET
				key_version    = excluded.key_version,
				sealed         = excluded.sealed,
				suffix         = excluded.suffix,
				updated_at     = excluded.updated_at,
				last_used_at   = excluded.last_used_at,
				failed_at       = NULL,
				failure_status  = NULL,
				failure_message = NULL,
				cap_day_nano   = CASE WHEN ? THEN excluded.cap_day_nano ELSE `+table+`.cap_day_nano END,
				cap_month_nano = CASE WHEN ? THEN excluded.cap_month_nano ELSE `+table+`.cap_month_nano END
			RETURNING created_at, cap_day_nano, cap_month_nano`),
			r.AccountID, r.Provider, int64(r.KeyVersion), r.Sealed, r.Suffix,
			db.at(createdAt), db.at(updatedAt), db.atOrNull(r.LastUsedAt),
			orNull(fresh.PerDay), orNull(fresh.PerMonth), u.PerDay.Set, u.PerMonth.Set,
		).Scan(timeColumn{&storedCreatedAt}, nullInt64Column[ownkey.NanoUSD]{&r.Caps.PerDay}, nullInt64Column[ownkey.NanoUSD]{&r.Caps.PerMonth})
	})
	if errors.Is(err, ownkey.ErrKeyVersionRetired) {
		return fmt.Errorf("sqlstore: put credential: master key version %d: %w", r.KeyVersion, err)
	}
	switch db.dialect.classify(err) {
	case violationForeignKey:
		return errNotFound("account")
	case violationCheck:
		return ownkey.Errorf(ownkey.EINVALID, "credential has an invalid field")
	}
	if err != nil {
		return fmt.Errorf("sqlstore: put credential: %w", err)
	}
	r.CreatedAt, r.UpdatedAt, r.LastUsedAt = storedCreatedAt, updatedAt, storedTimePtr(r.LastUsedAt)
	r.Failure = nil // a new key has not failed yet
	return nil
}

// Credential returns the account's credential for provider.
func (db *DB) Credential(ctx context.Context, accountID int64, provider string) (*ownkey.CredentialRecord, error) {
	return db.credential(ctx, accountCredentials, accountID, provider)
}

// PlatformCredential returns the platform's credential for provider.
func (db *DB) PlatformCredential(ctx context.Context, provider string) (*ownkey.CredentialRecord, error) {
	return db.credential(ctx, platformCredentials, ownkey.PlatformOwner, provider)
}

func (db *DB) credential(ctx context.Context, table string, owner int64, provider string) (*ownkey.CredentialRecord, error) {
	row := db.read.QueryRowContext(ctx, db.q(`
		SELECT `+credentialReadColumns+` FROM `+table+`
		WHERE account_id = ? AND provider = ?`), owner, provider)
	r, err := scanCredential(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound("credential")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: credential: %w", err)
	}
	return r, nil
}

// Credentials returns the account's credentials ordered by provider.
func (db *DB) Credentials(ctx context.Context, accountID int64) ([]*ownkey.CredentialRecord, error) {
	return db.credentials(ctx, accountCredentials, accountID)
}

// PlatformCredentials returns the platform's credentials ordered by
// provider.
func (db *DB) PlatformCredentials(ctx context.Context) ([]*ownkey.CredentialRecord, error) {
	return db.credentials(ctx, platformCredentials, ownkey.PlatformOwner)
}

func (db *DB) credentials(ctx context.Context, table string, owner int64) ([]*ownkey.CredentialRecord, error) {
	return db.queryCredentials(ctx, "credentials", `
		SELECT `+credentialReadColumns+` FROM `+table+`
		WHERE account_id = ? ORDER BY provider`, owner)
}

// DeleteCredential removes the account's credential for provider.
func (db *DB) DeleteCredential(ctx context.Context, accountID int64, provider string) error {
	return db.deleteCredential(ctx, accountCredentials, accountID, provider)
}

// DeletePlatformCredential removes the platform's credential for provider.
func (db *DB) DeletePlatformCredential(ctx context.Context, provider string) error {
	return db.deleteCredential(ctx, platformCredentials, ownkey.PlatformOwner, provider)
}

func (db *DB) deleteCredential(ctx context.Context, table string, owner int64, provider string) error {
	res, err := db.write.ExecContext(ctx, db.q(`
		DELETE FROM `+table+` WHERE account_id = ? AND provider = ?`),
		owner, provider)
	return updatedOne(res, err, "delete credential", "credential")
}

// TouchCredential records that the credential was used at (zero means
// now); like TouchAPIKey, the time only moves forward.
func (db *DB) TouchCredential(ctx context.Context, accountID int64, provider string, at time.Time) error {
	return db.touchCredential(ctx, accountCredentials, accountID, provider, at)
}

// TouchPlatformCredential is TouchCredential for the platform's key.
func (db *DB) TouchPlatformCredential(ctx context.Context, provider string, at time.Time) error {
	return db.touchCredential(ctx, platformCredentials, ownkey.PlatformOwner, provider, at)
}

func (db *DB) touchCredential(ctx context.Context, table string, owner int64, provider string, at time.Time) error {
	t := db.at(nowIfZero(at))
	res, err := db.write.ExecContext(ctx, db.q(`
		UPDATE `+table+` SET last_used_at =
			CASE WHEN last_used_at IS NULL OR last_used_at < ? THEN ? ELSE last_used_at END
		WHERE account_id = ? AND provider = ?`),
		t, t, owner, provider)
	return updatedOne(res, err, "touch credential", "credential")
}

// CredentialsNotAtVersion returns up to limit credentials sealed under
// another master key version, the platform's (account id
// ownkey.PlatformOwner, so first) and the accounts', in a stable order.
// limit must be positive: an empty answer means rotation is done.
func (db *DB) CredentialsNotAtVersion(ctx context.Context, version uint32, limit int) ([]*ownkey.CredentialRecord, error) {
	if limit <= 0 {
		return nil, ownkey.FieldError("limit", "limit must be positive")
	}
	return db.queryCredentials(ctx, "credentials not at version", `
		SELECT `+credentialReadColumns+` FROM `+platformCredentials+` WHERE key_version <> ?
		UNION ALL
		SELECT `+credentialReadColumns+` FROM `+accountCredentials+` WHERE key_version <> ?
		ORDER BY account_id, provider LIMIT ?`, int64(version), int64(version), limit)
}

// RewrapCredential stores r.KeyVersion and r.Sealed if the row still holds
// oldVersion and oldSealed. UpdatedAt is left alone: it tells the owner when
// they last changed the key, and a rewrap does not change it.
func (db *DB) RewrapCredential(ctx context.Context, r *ownkey.CredentialRecord, oldVersion uint32, oldSealed []byte) (bool, error) {
	if len(r.Sealed) == 0 {
		return false, ownkey.FieldError("sealed", "sealed credential is required")
	}
	res, err := db.write.ExecContext(ctx, db.q(`
		UPDATE `+credentialTable(r.AccountID)+` SET key_version = ?, sealed = ?
		WHERE account_id = ? AND provider = ? AND key_version = ? AND sealed = ?`),
		int64(r.KeyVersion), r.Sealed, r.AccountID, r.Provider, int64(oldVersion), oldSealed)
	if err != nil {
		return false, fmt.Errorf("sqlstore: rewrap credential: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: rewrap credential: %w", err)
	}
	return n == 1, nil
}

// CredentialKeyVersions lists, ascending, the master key versions that seal
// at least one credential, an account's or the platform's.
func (db *DB) CredentialKeyVersions(ctx context.Context) ([]uint32, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT key_version FROM `+accountCredentials+`
		UNION
		SELECT key_version FROM `+platformCredentials+`
		ORDER BY key_version`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: credential key versions: %w", err)
	}
	defer rows.Close()
	versions := []uint32{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("sqlstore: credential key versions: %w", err)
		}
		versions = append(versions, uint32(v))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: credential key versions: %w", err)
	}
	return versions, nil
}

func (db *DB) queryCredentials(ctx context.Context, op, query string, args ...any) ([]*ownkey.CredentialRecord, error) {
	rows, err := db.read.QueryContext(ctx, db.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	defer rows.Close()
	records := []*ownkey.CredentialRecord{}
	for rows.Next() {
		r, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		records = append(records, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return records, nil
}

func scanCredential(s scanner) (*ownkey.CredentialRecord, error) {
	var r ownkey.CredentialRecord
	var version int64
	var failedAt *time.Time
	var failureStatus sql.NullInt64
	var failureMessage sql.NullString
	err := s.Scan(&r.AccountID, &r.Provider, &version, &r.Sealed, &r.Suffix,
		timeColumn{&r.CreatedAt}, timeColumn{&r.UpdatedAt}, nullTimeColumn{&r.LastUsedAt},
		nullInt64Column[ownkey.NanoUSD]{&r.Caps.PerDay}, nullInt64Column[ownkey.NanoUSD]{&r.Caps.PerMonth},
		nullTimeColumn{&failedAt}, &failureStatus, &failureMessage)
	if err != nil {
		return nil, err
	}
	r.KeyVersion = uint32(version)
	if failedAt != nil {
		r.Failure = &ownkey.KeyFailure{At: *failedAt, Status: int(failureStatus.Int64), Message: failureMessage.String}
	}
	return &r, nil
}

// SetCredentialFailure records that owner's key for provider is failing
// (f), or works again (f nil); see ownkey.Store. A failure marks only the
// key with this suffix stored no later than f.At: a key replaced since the
// request that failed is not the one that failed.
func (db *DB) SetCredentialFailure(ctx context.Context, owner int64, provider, suffix string, f *ownkey.KeyFailure) error {
	table := credentialTable(owner)
	var res sql.Result
	var err error
	if f == nil {
		res, err = db.write.ExecContext(ctx, db.q(`
			UPDATE `+table+` SET failed_at = NULL, failure_status = NULL, failure_message = NULL
			WHERE account_id = ? AND provider = ? AND suffix = ?`),
			owner, provider, suffix)
	} else {
		at := db.at(f.At)
		res, err = db.write.ExecContext(ctx, db.q(`
			UPDATE `+table+` SET failed_at = ?, failure_status = ?, failure_message = ?
			WHERE account_id = ? AND provider = ? AND suffix = ? AND updated_at <= ?`),
			at, f.Status, truncateUTF8(f.Message, ownkey.MaxKeyFailureMessage), owner, provider, suffix, at)
	}
	return updatedOne(res, err, "set credential failure", "credential")
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// SetCredentialCaps changes the spend caps of the account's key for
// provider as u says, without touching the key, and returns the record as
// stored; ENOTFOUND when no key is stored.
func (db *DB) SetCredentialCaps(ctx context.Context, accountID int64, provider string, u ownkey.SpendCapsUpdate) (*ownkey.CredentialRecord, error) {
	if err := checkCaps(u.Apply(ownkey.SpendCaps{})); err != nil {
		return nil, err
	}
	row := db.write.QueryRowContext(ctx, db.q(`
		UPDATE provider_credentials SET
			cap_day_nano   = CASE WHEN ? THEN ? ELSE cap_day_nano END,
			cap_month_nano = CASE WHEN ? THEN ? ELSE cap_month_nano END
		WHERE account_id = ? AND provider = ?
		RETURNING `+credentialReadColumns),
		u.PerDay.Set, orNull(u.PerDay.To), u.PerMonth.Set, orNull(u.PerMonth.To), accountID, provider)
	r, err := scanCredential(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound("credential")
	} else if db.dialect.classify(err) == violationCheck {
		return nil, ownkey.Errorf(ownkey.EINVALID, "spend caps must not be negative")
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: set credential caps: %w", err)
	}
	return r, nil
}

// checkCaps refuses negative caps before the database does.
func checkCaps(c ownkey.SpendCaps) error {
	if c.PerDay != nil && *c.PerDay < 0 {
		return ownkey.FieldError("spend_cap.usd_per_day", "spend_cap.usd_per_day must not be negative")
	}
	if c.PerMonth != nil && *c.PerMonth < 0 {
		return ownkey.FieldError("spend_cap.usd_per_month", "spend_cap.usd_per_month must not be negative")
	}
	return nil
}
