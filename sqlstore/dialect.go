package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is everything the two back ends disagree on. The queries
// themselves are shared.
type dialect interface {
	name() string
	// rebind turns ? placeholders into the dialect's.
	rebind(query string) string
	// timeValue is how a UTC, microsecond time is stored.
	timeValue(t time.Time) any
	// classify says which constraint, if any, err violated.
	classify(err error) violation
	// advisoryLock serialises, across processes, the transactions that
	// take the same lock id, until tx ends. SQLite needs no lock: its
	// write transactions begin IMMEDIATE and so are serialised already.
	advisoryLock(ctx context.Context, tx *sql.Tx, id int64) error
	// forShare is appended to a SELECT in a write transaction to lock the
	// rows it reads against concurrent updates until the transaction ends.
	// SQLite needs nothing: its write transactions are serialised whole.
	forShare() string
	// createMigrationsTable is the DDL of schema_migrations.
	createMigrationsTable() string
	// migrationsTableExists reports whether schema_migrations exists.
	migrationsTableExists(ctx context.Context, db *sql.DB) (bool, error)
	// dayNumber is an SQL expression of the UTC day (days since
	// 1970-01-01) of a time column.
	dayNumber(column string) string
}

// violation is the kind of constraint a failed statement broke.
type violation int

const (
	violationNone violation = iota
	violationUnique
	violationForeignKey
	violationCheck // CHECK or NOT NULL
)

type sqliteDialect struct{}

func (sqliteDialect) name() string               { return "sqlite" }
func (sqliteDialect) rebind(query string) string { return query }

func (sqliteDialect) timeValue(t time.Time) any { return t.UnixNano() }

func (sqliteDialect) classify(err error) violation {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return violationNone
	}
	// The driver turns on extended result codes, which tell the
	// constraints apart.
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return violationUnique
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return violationForeignKey
	case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_DATATYPE:
		return violationCheck
	}
	return violationNone
}

// advisoryLock has nothing to do: write transactions begin IMMEDIATE,
// which already holds the database's single write lock.
func (sqliteDialect) advisoryLock(context.Context, *sql.Tx, int64) error { return nil }

func (sqliteDialect) forShare() string { return "" }

func (sqliteDialect) createMigrationsTable() string {
	return `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	applied_at INTEGER NOT NULL
) STRICT`
}

func (sqliteDialect) migrationsTableExists(ctx context.Context, db *sql.DB) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	return n > 0, err
}

// dayNumber: times are unix nanoseconds, never before 1970 here, so
// integer division is the floor.
func (sqliteDialect) dayNumber(column string) string { return "(" + column + " / 86400000000000)" }

type postgresDialect struct{}

func (postgresDialect) name() string { return "postgres" }

// rebind numbers the placeholders: ? becomes $1, $2, ... Question marks in
// string literals are left alone; the queries of this package have none in
// identifiers or comments.
func (postgresDialect) rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 8)
	n, quoted := 0, false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func (postgresDialect) timeValue(t time.Time) any { return t }

func (postgresDialect) classify(err error) violation {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return violationNone
	}
	switch e.Code {
	case "23505": // unique_violation
		return violationUnique
	case "23503": // foreign_key_violation
		return violationForeignKey
	case "23514", "23502": // check_violation, not_null_violation
		return violationCheck
	}
	return violationNone
}

// Advisory lock ids that serialise work across replicas of one database.
const (
	// migrationLockID: "ownkey" in ASCII.
	migrationLockID = 0x6f776e6b6579
	// firstAccountLockID: "ownkey1".
	firstAccountLockID = 0x6f776e6b657931
	// masterKeyCheckLockID: "ownkeyc", recording master key check values.
	masterKeyCheckLockID = 0x6f776e6b657963
	// masterKeyLockID: "ownkeyr", rotating or pruning master keys; a session
	// lock, held across many transactions.
	masterKeyLockID = 0x6f776e6b657972
)

func (postgresDialect) advisoryLock(ctx context.Context, tx *sql.Tx, id int64) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+strconv.FormatInt(id, 10)+`)`)
	return err
}

func (postgresDialect) forShare() string { return " FOR SHARE" }

func (postgresDialect) createMigrationsTable() string {
	return `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    BIGINT PRIMARY KEY,
	applied_at TIMESTAMPTZ NOT NULL
)`
}

func (postgresDialect) migrationsTableExists(ctx context.Context, db *sql.DB) (bool, error) {
	var exists bool
	err := db.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists)
	return exists, err
}

func (postgresDialect) dayNumber(column string) string {
	return "CAST(floor(extract(epoch FROM " + column + ") / 86400) AS BIGINT)"
}
