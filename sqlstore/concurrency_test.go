package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

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
		dbs := openHandles(t, dsn, 2, true)
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

// TestCreateFirstAccountOnce: replicas starting together on one empty
// database (here, two handles and eight callers) create one first account
// between them.
func TestCreateFirstAccountOnce(t *testing.T) {
	t.Parallel()
	sqltest.EachDSN(t, func(t *testing.T, dsn string) {
		dbs := openHandles(t, dsn, 2, true)
		const callers = 8
		var wg sync.WaitGroup
		results := make(chan error, callers)
		var mu sync.Mutex
		created := 0
		for i := range callers {
			wg.Go(func() {
				_, key, err := ownkey.GenerateAPIKey(0, "bootstrap")
				if err != nil {
					results <- err
					return
				}
				ok, err := dbs[i%2].CreateFirstAccount(ctx, &ownkey.Account{Name: "admin", Role: ownkey.RoleAdmin}, key)
				if ok {
					mu.Lock()
					created++
					mu.Unlock()
				}
				results <- err
			})
		}
		wg.Wait()
		close(results)
		for err := range results {
			if err != nil {
				t.Fatal(err)
			}
		}
		n, err := dbs[0].CountAccounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if created != 1 || n != 1 {
			t.Fatalf("%d callers reported creating the first account and %d accounts exist; want 1 and 1", created, n)
		}
	})
}

// openHandles opens n handles on one database, standing for replicas (or
// the CLI and the server), migrated first if migrate is set.
func openHandles(t *testing.T, dsn string, n int, migrate bool) []*sqlstore.DB {
	t.Helper()
	var dbs []*sqlstore.DB
	for range n {
		db, err := sqlstore.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if migrate {
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		dbs = append(dbs, db)
	}
	return dbs
}

// TestMasterKeyChecksFirstRecordWins: replicas starting on one empty
// database with different keys all try to record their check value at once;
// exactly one succeeds and the others get a conflict.
func TestMasterKeyChecksFirstRecordWins(t *testing.T) {
	t.Parallel()
	const replicas = 6
	sqltest.EachDSN(t, func(t *testing.T, dsn string) {
		dbs := openHandles(t, dsn, replicas, true)
		var wg sync.WaitGroup
		errs := make([]error, replicas)
		for i, db := range dbs {
			wg.Go(func() {
				errs[i] = db.PutMasterKeyChecks(ctx, map[uint32][]byte{1: fmt.Appendf(nil, "check-%d", i)})
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won >= 0:
				t.Fatalf("replicas %d and %d both recorded their check value", won, i)
			case err == nil:
				won = i
			default:
				wantCode(t, err, ownkey.ECONFLICT)
			}
		}
		checks, err := dbs[0].MasterKeyChecks(ctx)
		if err != nil || won < 0 {
			t.Fatalf("no replica won (%v)", err)
		}
		wantEqual(t, "recorded check", string(checks[1].Check), fmt.Sprintf("check-%d", won))
	})
}

// TestLockMasterKeysExcludesOtherHandles: the master key lock is held across
// handles (processes) until released.
func TestLockMasterKeysExcludesOtherHandles(t *testing.T) {
	t.Parallel()
	sqltest.EachDSN(t, func(t *testing.T, dsn string) {
		dbs := openHandles(t, dsn, 2, true)
		unlock, err := dbs[0].LockMasterKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		if _, err := dbs[1].LockMasterKeys(short); err == nil {
			t.Fatal("a second handle took the master key lock while the first held it")
		}
		unlock()
		unlock2, err := dbs[1].LockMasterKeys(ctx)
		if err != nil {
			t.Fatalf("taking the lock after release: %v", err)
		}
		unlock2()
	})
}

// TestRetireWaitsForPutCredential: once RetireMasterKey returns, every
// PutCredential under that version has either committed (and is visible)
// or is refused. Otherwise prune could see no row under the version, remove
// it, and a row stored a moment later would be sealed by a lost key.
func TestRetireWaitsForPutCredential(t *testing.T) {
	t.Parallel()
	sqltest.EachDSN(t, func(t *testing.T, dsn string) {
		dbs := openHandles(t, dsn, 2, true)
		a := createAccount(t, dbs[0], "a")
		if err := dbs[0].PutMasterKeyChecks(ctx, map[uint32][]byte{1: []byte("c1")}); err != nil {
			t.Fatal(err)
		}
		const writers, writes = 4, 40
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range writes {
					p := fmt.Sprintf("p%d-%d", w, i)
					err := dbs[1].PutCredential(ctx, &ownkey.CredentialRecord{AccountID: a.ID, Provider: p, KeyVersion: 1, Sealed: []byte(p), Suffix: "abcd"})
					if err != nil && !errors.Is(err, ownkey.ErrKeyVersionRetired) {
						t.Error(err)
						return
					}
				}
			})
		}
		time.Sleep(20 * time.Millisecond)
		if err := dbs[0].RetireMasterKey(ctx, 1); err != nil {
			t.Fatal(err)
		}
		before, err := dbs[0].Credentials(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		after, err := dbs[0].Credentials(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before) {
			t.Fatalf("%d rows under the retired version were stored after RetireMasterKey returned", len(after)-len(before))
		}
	})
}
