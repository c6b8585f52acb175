package sqlstore_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

// TestConcurrentWriters hammers one database from two handles (the server and
// the CLI, say) at once. On SQLite no writer may fail with SQLITE_BUSY.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	const writers, writes = 8, 50
	sqltest.EachDSN(t, func(t *testing.T, dsn string) {
		var dbs []*sqlstore.DB
		for range 2 {
			db, err := sqlstore.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			dbs = append(dbs, db)
		}
		a := createAccount(t, dbs[0], "a")

		var wg sync.WaitGroup
		errs := make(chan error, writers*writes*3)
		for w := range writers {
			db := dbs[w%2]
			wg.Go(func() {
				for i := range writes {
					provider := fmt.Sprintf("p%d-%d", w, i)
					r := &ownkey.CredentialRecord{AccountID: a.ID, Provider: provider, KeyVersion: 1,
						Sealed: []byte(provider), Suffix: "abcd"}
					errs <- db.PutCredential(ctx, r)
					// Multi-statement transactions and reads in between.
					if i%10 == 0 {
						_, k, err := ownkey.GenerateAPIKey(0, provider)
						if err == nil {
							err = db.CreateAccount(ctx, &ownkey.Account{Name: provider}, k)
						}
						errs <- err
					}
					_, err := db.Credential(ctx, a.ID, provider)
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent write: %v", err)
			}
		}
		got, err := dbs[1].Credentials(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != writers*writes {
			t.Fatalf("%d credentials stored; want %d", len(got), writers*writes)
		}
		if n, err := dbs[0].CountAccounts(ctx); err != nil || n != 1+writers*writes/10 {
			t.Fatalf("CountAccounts = %d, %v; want %d", n, err, 1+writers*writes/10)
		}
	})
}
