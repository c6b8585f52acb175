// Package sqlstore implements ownkey.Store on SQLite (modernc.org/sqlite, no
// cgo) and PostgreSQL (pgx). The queries are written once, with ? placeholders
// and portable SQL; a small dialect layer rebinds placeholders, converts times
// and classifies driver errors, so both back ends run the same code.
//
// Times are stored in UTC truncated to the microsecond (PostgreSQL timestamptz
// precision) on both back ends, so that a value reads back identical
// whichever database holds it. SQLite keeps them as INTEGER unix nanoseconds.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ownkey/ownkey"
)

// DB is an open store. It is safe for concurrent use.
type DB struct {
	dialect dialect
	// write runs every statement that changes data. On SQLite it holds a
	// single connection whose transactions begin IMMEDIATE, so writers in
	// this process queue in Go instead of failing with SQLITE_BUSY, and
	// writers in other processes wait on busy_timeout. On PostgreSQL write
	// and read are the same pool.
	write *sql.DB
	read  *sql.DB
	// dsn is what Open was given: the change feed's listener opens a
	// connection of its own with it.
	dsn string

	// lockFile is the file LockMasterKeys flocks on SQLite (next to the
	// database); memLock stands in for it for an in-memory database.
	lockFile string
	memLock  chan struct{}

	// usageStmts are InsertUsage's prepared statements, by log2 of rows;
	// usageReturningStmts those that name the rows they store.
	usageMu             sync.Mutex
	usageStmts          [usageInsertSizes]*sql.Stmt
	usageReturningStmts [usageInsertSizes]*sql.Stmt
}

var _ ownkey.Store = (*DB)(nil)

// Open connects to dsn: a postgres:// or postgresql:// URL selects
// PostgreSQL, anything else is a SQLite file path or file: URI. The parent
// directory of a plain SQLite path is created. Open checks the connection
// but does not migrate: call Migrate.
func Open(ctx context.Context, dsn string) (*DB, error) {
	return OpenWith(ctx, dsn, Options{})
}

// DefaultMaxConns is the default cap on a PostgreSQL pool's connections.
const DefaultMaxConns = 20

// Options tune the connection pool. Zero values take the defaults.
type Options struct {
	// MaxConns caps the PostgreSQL connections this process opens
	// (default DefaultMaxConns); queries beyond it wait for a free
	// connection rather than make PostgreSQL refuse new clients. SQLite
	// ignores it: it has one writing connection and a few readers.
	MaxConns int
}

// OpenWith is Open with pool options.
func OpenWith(ctx context.Context, dsn string, opts Options) (*DB, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	dialect, dsn, err := ResolveDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	var db *DB
	if dialect == "postgres" {
		db, err = openPostgres(ctx, dsn, opts)
	} else {
		db, err = openSQLite(ctx, dsn)
	}
	if err != nil {
		return nil, err
	}
	db.dsn = dsn // the change feed's listener opens its own connection
	return db, nil
}

// Dialect is "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect.name() }

// SQL returns the pool that writes. On SQLite it has one connection, so hold
// it only briefly and never while waiting on another query of this DB.
func (db *DB) SQL() *sql.DB { return db.write }

// Ping checks that the database answers. It uses the read pool so that a
// readiness probe does not queue behind SQLite's writer.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping: %w", err)
	}
	return nil
}

// Close closes every pool.
func (db *DB) Close() error {
	var err error
	db.usageMu.Lock()
	for _, stmts := range []*[usageInsertSizes]*sql.Stmt{&db.usageStmts, &db.usageReturningStmts} {
		for i, stmt := range stmts {
			if stmt != nil {
				err = errors.Join(err, stmt.Close())
				stmts[i] = nil
			}
		}
	}
	db.usageMu.Unlock()
	err = errors.Join(err, db.write.Close())
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// inTx runs fn in a write transaction and commits it if fn succeeds.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	return nil
}

// q adapts a query written with ? placeholders to the dialect.
func (db *DB) q(query string) string { return db.dialect.rebind(query) }

// at converts a time to the value the dialect stores.
func (db *DB) at(t time.Time) any { return db.dialect.timeValue(storedTime(t)) }

// atOrNull is at for optional times.
func (db *DB) atOrNull(t *time.Time) any {
	if t == nil {
		return nil
	}
	return db.at(*t)
}

// storedTime is t as the database gives it back: UTC, whole microseconds.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func storedTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	s := storedTime(*t)
	return &s
}

// nowIfZero defaults an unset time to the domain clock.
func nowIfZero(t time.Time) time.Time {
	if t.IsZero() {
		return storedTime(ownkey.Now())
	}
	return storedTime(t)
}

// timeColumn scans a NOT NULL time column of either dialect.
type timeColumn struct{ dst *time.Time }

func (c timeColumn) Scan(src any) error {
	t, err := scanTime(src)
	if err != nil {
		return err
	}
	if t == nil {
		return errors.New("sqlstore: NULL in a NOT NULL time column")
	}
	*c.dst = *t
	return nil
}

// nullTimeColumn scans a nullable time column of either dialect.
type nullTimeColumn struct{ dst **time.Time }

func (c nullTimeColumn) Scan(src any) error {
	t, err := scanTime(src)
	*c.dst = t
	return err
}

func scanTime(src any) (*time.Time, error) {
	var t time.Time
	switch v := src.(type) {
	case nil:
		return nil, nil
	case int64: // SQLite: unix nanoseconds
		t = time.Unix(0, v).UTC()
	case time.Time: // PostgreSQL timestamptz, in the session's zone
		t = v.UTC()
	default:
		return nil, fmt.Errorf("sqlstore: cannot scan %T as a time", src)
	}
	return &t, nil
}

// errNotFound is the ENOTFOUND error for a missing kind of row.
func errNotFound(what string) error {
	return ownkey.Errorf(ownkey.ENOTFOUND, "%s not found", what)
}
