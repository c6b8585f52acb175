package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"regexp"
	"slices"
	"strconv"

	"github.com/ownkey/ownkey"
)

// migrationFiles holds one directory per dialect. Adding a migration is
// adding NNNN_name.sql to each; versions must match across dialects (a test
// checks it). Migrate wraps each file in a transaction, so files hold no
// BEGIN or COMMIT.
//
//go:embed migrations
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

var migrationNameRE = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// migrations returns the dialect's migrations in version order.
func migrations(dialect string) ([]migration, error) {
	dir := "migrations/" + dialect
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: no migrations for %s: %w", dialect, err)
	}
	var ms []migration
	for _, e := range entries {
		m := migrationNameRE.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("sqlstore: %s/%s is not named NNNN_name.sql", dir, e.Name())
		}
		version, _ := strconv.Atoi(m[1])
		if n := len(ms); n > 0 && ms[n-1].version == version {
			return nil, fmt.Errorf("sqlstore: %s has two migrations numbered %d", dir, version)
		}
		body, err := fs.ReadFile(migrationFiles, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: version, name: e.Name(), sql: string(body)})
	}
	// ReadDir sorts by name and names start with the zero-padded version.
	return ms, nil
}

// Migrate applies the pending migrations, each in its own transaction. It is
// safe to call from several processes at once: on PostgreSQL each
// transaction first takes an advisory lock, on SQLite the write lock, and
// then checks again whether its migration is still pending.
func (db *DB) Migrate(ctx context.Context) error {
	return db.migrateTo(ctx, math.MaxInt)
}

// migrateTo is Migrate up to and including version last (tests set up a
// database as an older version left it).
func (db *DB) migrateTo(ctx context.Context, last int) error {
	ms, err := migrations(db.Dialect())
	if err != nil {
		return err
	}
	// CREATE TABLE IF NOT EXISTS is not safe against a concurrent create on
	// PostgreSQL, hence the lock here too.
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.dialect.advisoryLock(ctx, tx, migrationLockID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, db.dialect.createMigrationsTable())
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create schema_migrations: %w", err)
	}
	for _, m := range ms {
		if m.version > last {
			break
		}
		if err := db.inTx(ctx, func(tx *sql.Tx) error { return db.applyMigration(ctx, tx, m) }); err != nil {
			return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, tx *sql.Tx, m migration) error {
	if err := db.dialect.advisoryLock(ctx, tx, migrationLockID); err != nil {
		return err
	}
	var applied int
	err := tx.QueryRowContext(ctx, db.q(`SELECT count(*) FROM schema_migrations WHERE version = ?`), m.version).Scan(&applied)
	if err != nil || applied > 0 {
		return err
	}
	step := migrationSteps[m.version]
	if step.before != nil {
		if err := step.before(ctx, db, tx); err != nil {
			return err
		}
	}
	// Without arguments both drivers run every statement of the script.
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if step.after != nil {
		if err := step.after(ctx, db, tx); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, db.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`),
		m.version, db.at(ownkey.Now()))
	return err
}

// PendingMigrations lists, in order, the versions Migrate would apply.
func (db *DB) PendingMigrations(ctx context.Context) ([]int, error) {
	ms, err := migrations(db.Dialect())
	if err != nil {
		return nil, err
	}
	exists, err := db.dialect.migrationsTableExists(ctx, db.read)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: pending migrations: %w", err)
	}
	var applied []int
	if exists {
		rows, err := db.read.QueryContext(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: pending migrations: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				return nil, fmt.Errorf("sqlstore: pending migrations: %w", err)
			}
			applied = append(applied, v)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: pending migrations: %w", err)
		}
	}
	pending := []int{}
	for _, m := range ms {
		if !slices.Contains(applied, m.version) {
			pending = append(pending, m.version)
		}
	}
	return pending, nil
}
