package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ownkey/ownkey"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

func openTestSQLite(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Pragmas are per connection: every connection of both pools must have them,
// not only the first.
func TestSQLitePragmasOnEveryConnection(t *testing.T) {
	ctx := context.Background()
	db := openTestSQLite(t, filepath.Join(t.TempDir(), "ownkey.db"))
	want := map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000", "synchronous": "1"}
	check := func(pool string, c *sql.Conn, queryOnly string) {
		t.Helper()
		for pragma, value := range want {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != value {
				t.Errorf("%s pool: PRAGMA %s = %s; want %s", pool, pragma, got, value)
			}
		}
		var got string
		if err := c.QueryRowContext(ctx, "PRAGMA query_only").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != queryOnly {
			t.Errorf("%s pool: PRAGMA query_only = %s; want %s", pool, got, queryOnly)
		}
	}
	// Holding the connections forces the pool to open new ones.
	var readers []*sql.Conn
	for range 3 {
		c, err := db.read.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		readers = append(readers, c)
	}
	for _, c := range readers {
		check("read", c, "1")
	}
	w, err := db.write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	check("write", w, "0")
	if db.read == db.write {
		t.Fatal("a file database has no separate read pool")
	}
}

// A write transaction must hold the write lock from BEGIN on: one that
// reads first and writes later cannot wait for the lock, and SQLite fails it
// with SQLITE_BUSY when another connection wrote in between.
func TestSQLiteWriteTransactionsBeginImmediate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ownkey.db")
	db := openTestSQLite(t, path)
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()

	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.ExecContext(ctx, "BEGIN IMMEDIATE")
	var e *sqlite.Error
	if !errors.As(err, &e) || e.Code()&0xff != sqlite3.SQLITE_BUSY {
		t.Fatalf("BEGIN IMMEDIATE on another connection while a write transaction is open = %v; want SQLITE_BUSY", err)
	}
}

func TestSQLiteFileIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	path := filepath.Join(dir, "ownkey.db")
	db := openTestSQLite(t, path)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The -wal and -shm files exist while the database is open.
	files := map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600}
	for p, want := range files {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		// A umask can only remove bits.
		if fi.Mode()&^want != 0 {
			t.Errorf("%s has mode %v; want at most %v", p, fi.Mode(), want)
		}
	}
}

// Characters that mean something in a URI must not cut the path short.
func TestSQLitePathWithURICharacters(t *testing.T) {
	dir := t.TempDir()
	name := "odd?name#50%.db"
	db := openTestSQLite(t, filepath.Join(dir, name))
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != name && e.Name() != name+"-wal" && e.Name() != name+"-shm" {
			t.Errorf("SQLite created %q; want only %q and its -wal and -shm", e.Name(), name)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() == 0 {
		t.Fatalf("%s is empty; want the migrated database there", name)
	}
}

func TestSQLiteInMemory(t *testing.T) {
	for _, dsn := range []string{":memory:", "file::memory:", "file:x?mode=memory"} {
		t.Run(dsn, func(t *testing.T) {
			ctx := context.Background()
			db := openTestSQLite(t, dsn)
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			a := &ownkey.Account{Name: "a"}
			if err := db.CreateAccount(ctx, a, nil); err != nil {
				t.Fatal(err)
			}
			// Reads must see the one in-memory database the writes went to.
			if _, err := db.Account(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSplitSQLiteDSN(t *testing.T) {
	for _, tt := range []struct {
		dsn, base, query, path string
		memory                 bool
	}{
		{"./ownkey-data/ownkey.db", "file:./ownkey-data/ownkey.db", "", "./ownkey-data/ownkey.db", false},
		{"/var/lib/a?b#c%d.db", "file:/var/lib/a%3fb%23c%25d.db", "", "/var/lib/a?b#c%d.db", false},
		{"file:/tmp/x.db?cache=private&_pragma=cache_size(-2000)", "file:/tmp/x.db", "cache=private&_pragma=cache_size(-2000)", "", false},
		{":memory:", "file::memory:", "", "", true},
		{"file:db?mode=memory&cache=shared", "file:db", "mode=memory&cache=shared", "", true},
	} {
		base, query, path, memory, err := splitSQLiteDSN(tt.dsn)
		if err != nil || base != tt.base || query != tt.query || path != tt.path || memory != tt.memory {
			t.Errorf("splitSQLiteDSN(%q) = %q, %q, %q, %v, %v; want %q, %q, %q, %v",
				tt.dsn, base, query, path, memory, err, tt.base, tt.query, tt.path, tt.memory)
		}
	}
	if _, _, _, _, err := splitSQLiteDSN(""); err == nil {
		t.Error("an empty DSN was accepted")
	}
}

func TestPostgresRebind(t *testing.T) {
	got := postgresDialect{}.rebind(`SELECT a FROM t WHERE b = ? AND c = '?' AND d IN (?, ?)`)
	want := `SELECT a FROM t WHERE b = $1 AND c = '?' AND d IN ($2, $3)`
	if got != want {
		t.Fatalf("rebind = %s; want %s", got, want)
	}
}

// Both dialects must have the same migrations, numbered from 1 without gaps,
// so that a later migration is one file in each directory.
func TestMigrationsMatchAcrossDialects(t *testing.T) {
	versions := func(dialect string) []int {
		ms, err := migrations(dialect)
		if err != nil {
			t.Fatal(err)
		}
		var vs []int
		want := 1
		for _, m := range ms {
			if m.version != want {
				t.Errorf("%s migration %s: version %d; want %d", dialect, m.name, m.version, want)
			}
			want = m.version + 1
			vs = append(vs, m.version)
		}
		return vs
	}
	if s, p := versions("sqlite"), versions("postgres"); !slices.Equal(s, p) || len(s) == 0 {
		t.Fatalf("sqlite migrations %v, postgres migrations %v; want the same, non-empty", s, p)
	}
}
