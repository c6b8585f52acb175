// Package sqltest gives tests a fresh, migrated sqlstore.DB on each back end:
// SQLite always, PostgreSQL when OWNKEY_TEST_POSTGRES_URL names a server on
// which the test may create and drop databases.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownkey/ownkey/sqlstore"
)

// PostgresURLEnv names the variable that turns the PostgreSQL tests on.
const PostgresURLEnv = "OWNKEY_TEST_POSTGRES_URL"

// Each runs fn in one subtest per back end, "sqlite" and "postgres", each
// with a fresh migrated database. The postgres subtest skips unless
// PostgresURLEnv is set.
func Each(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, NewSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, NewPostgres(t)) })
}

// EachDSN is Each for tests that open the database themselves: fn gets the
// DSN of a fresh, empty (not migrated) database.
func EachDSN(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, NewSQLiteDSN(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, NewPostgresDSN(t)) })
}

// NewSQLite returns a migrated SQLite database in a temporary directory,
// closed when the test ends.
func NewSQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	return openMigrated(t, NewSQLiteDSN(t))
}

// NewSQLiteDSN returns the path of a SQLite database, not yet created, in a
// temporary directory removed when the test ends.
func NewSQLiteDSN(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "ownkey.db")
}

// NewPostgres returns a migrated PostgreSQL database of its own, dropped when
// the test ends. It skips the test unless PostgresURLEnv is set.
func NewPostgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	return openMigrated(t, NewPostgresDSN(t))
}

// NewPostgresDSN creates an empty PostgreSQL database, dropped when the test
// ends, and returns its URL. It skips the test unless PostgresURLEnv is set.
func NewPostgresDSN(t testing.TB) string {
	t.Helper()
	serverURL := os.Getenv(PostgresURLEnv)
	if serverURL == "" {
		t.Skip("PostgreSQL tests are off: set " + PostgresURLEnv + "=postgres://... to run them")
	}
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// The URL may hold a password: do not print it.
		t.Fatalf("%s must be a postgres:// URL", PostgresURLEnv)
	}
	var suffix [8]byte
	_, _ = rand.Read(suffix[:])
	name := "ownkey_test_" + hex.EncodeToString(suffix[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sqlstore.Open(ctx, serverURL)
	if err != nil {
		t.Fatalf("connecting to %s: %v", PostgresURLEnv, redact(err, serverURL))
	}
	defer admin.Close()
	// The name is ours and made of [a-z0-9_], so quoting it is enough.
	if _, err := admin.SQL().ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := sqlstore.Open(ctx, serverURL)
		if err != nil {
			t.Errorf("dropping test database %s: %v", name, redact(err, serverURL))
			return
		}
		defer admin.Close()
		if _, err := admin.SQL().ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

func openMigrated(t testing.TB, dsn string) *sqlstore.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("opening test database: %v", redact(err, dsn))
	}
	// Registered before Migrate can fail, so that a failed test still
	// closes the database before its cleanup drops it.
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("closing test database: %v", err)
		}
	})
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrating test database: %v", err)
	}
	return db
}

// redact keeps a password in dsn out of test output.
func redact(err error, dsn string) string {
	msg := err.Error()
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return msg
}

// LockUsageTable makes the usage table of the database at dsn unwritable,
// as a migration, a VACUUM FULL or a long transaction would, from a
// connection of its own, until release is called (or the test ends).
// PostgreSQL: LOCK TABLE usage_records IN ACCESS EXCLUSIVE MODE in an open
// transaction. SQLite, which locks whole files: a write transaction (BEGIN
// IMMEDIATE), so that reads still work.
func LockUsageTable(t testing.TB, dsn string) (release func()) {
	t.Helper()
	driver, stmts := "sqlite", []string{"BEGIN IMMEDIATE"}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		driver, stmts = "pgx", []string{"BEGIN", "LOCK TABLE usage_records IN ACCESS EXCLUSIVE MODE"}
	}
	ctx := context.Background()
	other, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatalf("locking the usage table: %v", err)
		}
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
				t.Errorf("unlocking the usage table: %v", err)
			}
			conn.Close()
			other.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// UsageOutage is how long usage-outage tests hold the usage table locked:
// OWNKEY_TEST_USAGE_OUTAGE (a duration: 60s for the figures of issue 8), 3s
// by default.
func UsageOutage(t testing.TB) time.Duration {
	t.Helper()
	v := os.Getenv("OWNKEY_TEST_USAGE_OUTAGE")
	if v == "" {
		return 3 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("OWNKEY_TEST_USAGE_OUTAGE=%q is not a positive duration", v)
	}
	return d
}
