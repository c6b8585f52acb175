package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// sqlitePragmas are applied by the driver to every new connection, so a
// pooled connection opened later gets them too. busy_timeout makes a writer
// in another process (the CLI while the server runs) wait for the lock
// instead of failing; WAL lets readers run while one writer writes.
const sqlitePragmas = "_pragma=busy_timeout(5000)" +
	"&_pragma=foreign_keys(1)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(NORMAL)"

func openSQLite(ctx context.Context, dsn string) (*DB, error) {
	base, userQuery, path, memory, err := splitSQLiteDSN(dsn)
	if err != nil {
		return nil, err
	}
	if path != "" {
		if err := createPrivateFile(path); err != nil {
			return nil, fmt.Errorf("sqlstore: %w", err)
		}
	}
	withParams := func(params string) string {
		if userQuery != "" {
			params += "&" + userQuery
		}
		return base + "?" + params
	}
	// BEGIN IMMEDIATE takes the write lock when a transaction starts: a
	// deferred transaction that reads and then writes cannot wait for the
	// lock (SQLite would deadlock) and fails with SQLITE_BUSY instead.
	write, err := sql.Open("sqlite", withParams(sqlitePragmas+"&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open SQLite: %w", err)
	}
	// SQLite has one write lock per file; a single writing connection
	// queues writers in Go rather than in busy-wait loops.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	db := &DB{dialect: sqliteDialect{}, write: write, read: write, memLock: make(chan struct{}, 1)}
	if !memory {
		db.lockFile = sqliteFilePath(base, path) + ".keys.lock"
	}
	// The first connection switches the file to WAL before any reader
	// opens it.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlstore: open SQLite: %w", err)
	}
	if memory {
		// Each connection to :memory: is a database of its own, so the
		// single writing connection must serve reads too.
		return db, nil
	}
	read, err := sql.Open("sqlite", withParams(sqlitePragmas+"&_pragma=query_only(1)"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlstore: open SQLite: %w", err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	db.read = read
	return db, nil
}

// sqliteFilePath is the database file's path: path for a plain path, else
// the path part of the file: URI base.
func sqliteFilePath(base, path string) string {
	if path != "" {
		return path
	}
	p := strings.TrimPrefix(base, "file:")
	if u, err := url.PathUnescape(p); err == nil {
		p = u
	}
	return filepath.FromSlash(p)
}

// splitSQLiteDSN separates a SQLite path or file: URI into the URI without
// its query, the caller's own query parameters, and the file's path when it
// is a plain path (which Open creates).
func splitSQLiteDSN(dsn string) (base, query, path string, memory bool, err error) {
	if dsn == "" {
		return "", "", "", false, fmt.Errorf("sqlstore: empty database path")
	}
	if strings.HasPrefix(dsn, "file:") {
		base, query, _ = strings.Cut(dsn, "?")
		q, err := url.ParseQuery(query)
		if err != nil {
			return "", "", "", false, fmt.Errorf("sqlstore: SQLite URI has a malformed query: %w", err)
		}
		memory = base == "file::memory:" || q.Get("mode") == "memory"
		return base, query, "", memory, nil
	}
	if dsn == ":memory:" {
		return "file::memory:", "", "", true, nil
	}
	// A plain path becomes a file: URI so that the driver passes the
	// parameters on; the characters a URI gives meaning to are escaped.
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(dsn))
	return "file:" + escaped, "", dsn, false, nil
}

// createPrivateFile creates the database file, and its directory, readable
// by the owner only: it holds sealed provider keys and API key hashes. SQLite
// gives the -wal and -shm files the database file's permissions.
func createPrivateFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// Connection lifetimes of a PostgreSQL pool. Idle connections are closed
// after a while so that a quiet replica gives its share back to the server;
// every connection is replaced after a while so that the pool spreads again
// over a failed-over or rebalanced server (a pooler, a replica set).
const (
	pgConnMaxIdleTime = 5 * time.Minute
	pgConnMaxLifetime = 30 * time.Minute
)

func openPostgres(ctx context.Context, dsn string, opts Options) (*DB, error) {
	pool, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open PostgreSQL: %w", err)
	}
	// Without a cap, a burst of cache misses opened a connection each and
	// PostgreSQL answered "too many clients" (its max_connections is 100
	// by default, shared by every replica). Idle connections are kept up
	// to the cap: database/sql keeps only 2 by default, which makes a busy
	// gateway reconnect all the time.
	pool.SetMaxOpenConns(opts.MaxConns)
	pool.SetMaxIdleConns(opts.MaxConns)
	pool.SetConnMaxIdleTime(pgConnMaxIdleTime)
	pool.SetConnMaxLifetime(pgConnMaxLifetime)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("sqlstore: connect to PostgreSQL: %w", err)
	}
	return &DB{dialect: postgresDialect{}, write: pool, read: pool}, nil
}
