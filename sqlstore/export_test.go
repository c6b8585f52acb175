package sqlstore

import "context"

// MigrateTo lets the external tests set up a database as an older version
// left it.
func MigrateTo(ctx context.Context, db *DB, last int) error { return db.migrateTo(ctx, last) }
