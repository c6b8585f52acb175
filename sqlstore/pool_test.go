package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

// TestPostgresPoolIsCapped runs many slow queries at once and checks that
// the pool never opens more connections than MaxConns: without a cap, a
// burst opened one connection per query until PostgreSQL refused clients.
func TestPostgresPoolIsCapped(t *testing.T) {
	t.Parallel()
	dsn := sqltest.NewPostgresDSN(t)
	const maxConns, queries = 3, 12
	db, err := sqlstore.OpenWith(ctx, dsn, sqlstore.Options{MaxConns: maxConns})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.SQL().Stats().MaxOpenConnections; got != maxConns {
		t.Fatalf("MaxOpenConnections = %d; want %d", got, maxConns)
	}
	// The count comes from a connection of its own, outside the pool.
	watcher, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()

	var wg sync.WaitGroup
	queryCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for range queries {
		wg.Go(func() {
			if _, err := db.SQL().ExecContext(queryCtx, "SELECT pg_sleep(0.3), 'pool-cap-test'"); err != nil {
				t.Error(err)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	most := 0
	for {
		var n int
		err := watcher.SQL().QueryRowContext(ctx,
			"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pool-cap-test%' AND query NOT LIKE '%pg_stat_activity%'").Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		most = max(most, n)
		select {
		case <-done:
			if most > maxConns {
				t.Fatalf("up to %d connections ran the queries at once; want at most %d", most, maxConns)
			}
			if most == 0 {
				t.Fatal("never saw a query running: the count query is wrong")
			}
			if s := db.SQL().Stats(); s.WaitCount == 0 {
				t.Errorf("no query waited for a connection; %d queries on %d connections should have", queries, maxConns)
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// The default cap is within what one PostgreSQL server (100 connections by
// default) can give a few replicas.
func TestDefaultMaxConns(t *testing.T) {
	t.Parallel()
	if sqlstore.DefaultMaxConns <= 0 || sqlstore.DefaultMaxConns > 25 {
		t.Fatalf("DefaultMaxConns = %d; want 1..25", sqlstore.DefaultMaxConns)
	}
	dsn := sqltest.NewPostgresDSN(t)
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.SQL().Stats().MaxOpenConnections; got != sqlstore.DefaultMaxConns {
		t.Fatalf("MaxOpenConnections = %d; want the default %d", got, sqlstore.DefaultMaxConns)
	}
}
