package sqlstore_test

import (
	"sync"
	"testing"

	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		for range 2 {
			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("Migrate on a migrated database: %v", err)
			}
		}
		pending, err := db.PendingMigrations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "pending", pending, []int{})
		wantEqual(t, "schema_migrations", appliedVersions(t, db), []int{1, 2, 3, 4, 5, 6, 7, 8, 9})
	})
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	sqltest.EachDSN(t, func(t *testing.T, dsn string) {
		dbs := openHandles(t, dsn, 2, false)
		pending, err := dbs[0].PendingMigrations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "pending before Migrate", pending, []int{1, 2, 3, 4, 5, 6, 7, 8, 9})

		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for i := range 4 {
			wg.Go(func() { errs <- dbs[i%2].Migrate(ctx) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent Migrate: %v", err)
			}
		}
		for _, db := range dbs {
			pending, err := db.PendingMigrations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "pending after Migrate", pending, []int{})
		}
		wantEqual(t, "schema_migrations", appliedVersions(t, dbs[1]), []int{1, 2, 3, 4, 5, 6, 7, 8, 9})
		createAccount(t, dbs[1], "works")
	})
}

func appliedVersions(t *testing.T, db *sqlstore.DB) []int {
	t.Helper()
	rows, err := db.SQL().QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var versions []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return versions
}
