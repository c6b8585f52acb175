package sqlstore

import (
	"context"
	"fmt"

	"github.com/ownkey/ownkey"
)

// MasterKeyChecks returns the check value recorded for each master key
// version.
func (db *DB) MasterKeyChecks(ctx context.Context) (map[uint32][]byte, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT version, check_value FROM master_key_checks`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: master key checks: %w", err)
	}
	defer rows.Close()
	checks := map[uint32][]byte{}
	for rows.Next() {
		var version int64
		var check []byte
		if err := rows.Scan(&version, &check); err != nil {
			return nil, fmt.Errorf("sqlstore: master key checks: %w", err)
		}
		checks[uint32(version)] = check
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: master key checks: %w", err)
	}
	return checks, nil
}

// PutMasterKeyCheck records check for version unless the version has one:
// the first value stays, so a wrong key presented later cannot replace the
// proof of the right one.
func (db *DB) PutMasterKeyCheck(ctx context.Context, version uint32, check []byte) error {
	if len(check) == 0 {
		return ownkey.FieldError("check", "check value is required")
	}
	_, err := db.write.ExecContext(ctx, db.q(`
		INSERT INTO master_key_checks (version, check_value, created_at) VALUES (?, ?, ?)
		ON CONFLICT (version) DO NOTHING`),
		int64(version), check, db.at(ownkey.Now()))
	if err != nil {
		return fmt.Errorf("sqlstore: put master key check: %w", err)
	}
	return nil
}
