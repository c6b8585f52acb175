package sqlstore_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

// insertOldAccount writes an account as a version before migration 0006
// did: without name_key, so names may collide.
func insertOldAccount(t *testing.T, db *sqlstore.DB, name string) int64 {
	t.Helper()
	var at any = time.Now().UnixNano()
	query := `INSERT INTO accounts (name, role, balance_nano_usd, created_at) VALUES (?, 'user', 0, ?) RETURNING id`
	if db.Dialect() == "postgres" {
		at = time.Now()
		query = `INSERT INTO accounts (name, role, balance_nano_usd, created_at) VALUES ($1, 'user', 0, $2) RETURNING id`
	}
	var id int64
	if err := db.SQL().QueryRowContext(ctx, query, name, at).Scan(&id); err != nil {
		t.Fatalf("inserting account %q: %v", name, err)
	}
	return id
}

func TestMigrationRefusesDuplicateAccountNames(t *testing.T) {
	t.Parallel()
	sqltest.EachDSN(t, func(t *testing.T, dsn string) {
		db := openHandles(t, dsn, 1, false)[0]
		if err := sqlstore.MigrateTo(ctx, db, 3); err != nil {
			t.Fatal(err)
		}
		bob := insertOldAccount(t, db, "bob")
		alice := insertOldAccount(t, db, "Alice")
		carol := insertOldAccount(t, db, "carol")
		bob2 := insertOldAccount(t, db, "bob")
		alice2 := insertOldAccount(t, db, "alice")
		_ = carol

		err := db.Migrate(ctx)
		var dup *sqlstore.DuplicateAccountNamesError
		if !errors.As(err, &dup) {
			t.Fatalf("Migrate with duplicate names: %v; want a DuplicateAccountNamesError", err)
		}
		wantEqual(t, "groups", dup.Groups, [][]sqlstore.NamedAccount{
			{{ID: bob, Name: "bob"}, {ID: bob2, Name: "bob"}},
			{{ID: alice, Name: "Alice"}, {ID: alice2, Name: "alice"}},
		})
		want := `sqlstore: migration 0006_accounts.sql: account names must now be unique (ignoring case), and some are not: ` +
			`accounts named "bob" twice (ids ` + itoa(bob) + `, ` + itoa(bob2) + `); ` +
			`accounts named "Alice" (id ` + itoa(alice) + `) and "alice" (id ` + itoa(alice2) + `). ` +
			`Rename all but one of each with "ownkey accounts rename ID NEW_NAME" (e.g. ownkey accounts rename ` + itoa(bob2) +
			` NEW_NAME), which finishes the upgrade once no name is shared; nothing was changed`
		if err.Error() != want {
			t.Fatalf("error:\n got %s\nwant %s", err, want)
		}
		// Nothing changed: 0006 is still pending, and so a retry refuses
		// again.
		pending, err := db.PendingMigrations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "pending", pending, []int{6, 7, 8, 9})
		if err := db.Migrate(ctx); !errors.As(err, &dup) {
			t.Fatalf("second Migrate: %v", err)
		}

		// Renaming works on the old schema and keeps names apart.
		if _, err := db.RenameAccount(ctx, alice2, "ALICE"); ownkey.ErrorCode(err) != ownkey.ECONFLICT {
			t.Fatalf("rename onto a name that differs in case only: %v; want ECONFLICT", err)
		}
		if _, err := db.RenameAccount(ctx, bob2, "bobby"); err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx); !errors.As(err, &dup) || len(dup.Groups) != 1 {
			t.Fatalf("Migrate with one name still shared: %v", err)
		}
		a, err := db.RenameAccount(ctx, alice2, "alice two")
		if err != nil || a.Name != "alice two" || a.ID != alice2 {
			t.Fatalf("rename: %+v, %v", a, err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("Migrate once names are unique: %v", err)
		}
		// From now on the database keeps names unique, ignoring case,
		// for the accounts that existed and for new ones.
		for _, name := range []string{"BOB", "Bobby", "carol", "ALICE TWO"} {
			err := db.CreateAccount(ctx, &ownkey.Account{Name: name}, nil)
			wantCode(t, err, ownkey.ECONFLICT)
		}
		if _, err := db.RenameAccount(ctx, carol, "Bob"); ownkey.ErrorCode(err) != ownkey.ECONFLICT {
			t.Fatalf("rename onto a taken name: %v", err)
		}
		if a, err := db.RenameAccount(ctx, carol, "Carol"); err != nil || a.Name != "Carol" {
			t.Fatalf("rename changing case only: %+v, %v", a, err)
		}
		createAccount(t, db, "dave")
	})
}

func TestRenameAccount(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "erin")
		createAccount(t, db, "frank")
		got, err := db.RenameAccount(ctx, a.ID, "  Erin B.  ")
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Erin B." {
			t.Fatalf("name = %q", got.Name)
		}
		_, err = db.RenameAccount(ctx, a.ID, "FRANK")
		wantCode(t, err, ownkey.ECONFLICT)
		_, err = db.RenameAccount(ctx, a.ID, "")
		wantCode(t, err, ownkey.EINVALID)
		_, err = db.RenameAccount(ctx, 999, "nobody")
		wantCode(t, err, ownkey.ENOTFOUND)
		// The old name is free again.
		createAccount(t, db, "erin")
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func nano(n ownkey.NanoUSD) *ownkey.NanoUSD { return &n }
func count(n int64) *int64                  { return &n }

func TestAPIKeyLimits(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		b := createAccount(t, db, "b")
		k := newKey(t, "limited")
		k.AccountID = a.ID
		k.Limits = ownkey.APIKeyLimits{USDPerDay: nano(5_000_000_000), RequestsPerDay: count(100)}
		if err := db.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		free := createKey(t, db, a.ID, "free")
		keys, err := db.APIKeys(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "stored limits", keys[0].Limits, k.Limits)
		wantEqual(t, "no limits", keys[1].Limits, ownkey.APIKeyLimits{})
		got, _, err := db.APIKeyByHash(ctx, k.Hash)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "limits by hash", got.Limits, k.Limits)

		// Only what the update sets changes; nil removes a limit.
		got, err = db.SetAPIKeyLimits(ctx, a.ID, k.ID, ownkey.APIKeyLimitsUpdate{
			RequestsPerDay: ownkey.Update[int64]{Set: true},
		})
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "requests limit removed", got.Limits, ownkey.APIKeyLimits{USDPerDay: nano(5_000_000_000)})
		got, err = db.SetAPIKeyLimits(ctx, a.ID, free.ID, ownkey.APIKeyLimitsUpdate{
			USDPerDay: ownkey.Update[ownkey.NanoUSD]{Set: true, To: nano(1)},
		})
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "limit added", got.Limits, ownkey.APIKeyLimits{USDPerDay: nano(1)})
		if got.ID != free.ID || got.Name != "free" || !got.CreatedAt.Equal(free.CreatedAt) {
			t.Fatalf("key returned: %+v", got)
		}
		// Another account's key is not found, and negative limits are
		// refused.
		_, err = db.SetAPIKeyLimits(ctx, b.ID, k.ID, ownkey.APIKeyLimitsUpdate{})
		wantCode(t, err, ownkey.ENOTFOUND)
		_, err = db.SetAPIKeyLimits(ctx, a.ID, k.ID, ownkey.APIKeyLimitsUpdate{RequestsPerDay: ownkey.Update[int64]{Set: true, To: count(-1)}})
		wantCode(t, err, ownkey.EINVALID)
		neg := newKey(t, "negative")
		neg.AccountID = a.ID
		neg.Limits.USDPerDay = nano(-1)
		wantCode(t, db.CreateAPIKey(ctx, neg), ownkey.EINVALID)
	})
}

func TestCredentialCaps(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		// A new key with caps.
		r := &ownkey.CredentialRecord{AccountID: a.ID, Provider: "openai", KeyVersion: 1, Sealed: []byte("s1"), Suffix: "abcd",
			CapsUpdate: ownkey.SpendCapsUpdate{PerDay: ownkey.Update[ownkey.NanoUSD]{Set: true, To: nano(2_000_000_000)}}}
		if err := db.PutCredential(ctx, r); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "caps after put", r.Caps, ownkey.SpendCaps{PerDay: nano(2_000_000_000)})
		got, err := db.Credential(ctx, a.ID, "openai")
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "caps read back", got.Caps, ownkey.SpendCaps{PerDay: nano(2_000_000_000)})

		// Replacing the key keeps the caps the update leaves alone.
		r2 := &ownkey.CredentialRecord{AccountID: a.ID, Provider: "openai", KeyVersion: 1, Sealed: []byte("s2"), Suffix: "efgh",
			CapsUpdate: ownkey.SpendCapsUpdate{PerMonth: ownkey.Update[ownkey.NanoUSD]{Set: true, To: nano(30_000_000_000)}}}
		if err := db.PutCredential(ctx, r2); err != nil {
			t.Fatal(err)
		}
		want := ownkey.SpendCaps{PerDay: nano(2_000_000_000), PerMonth: nano(30_000_000_000)}
		wantEqual(t, "caps after replace", r2.Caps, want)
		putCredential(t, db, a.ID, "openai", 1, "s3")
		got, _ = db.Credential(ctx, a.ID, "openai")
		wantEqual(t, "caps after replace without caps", got.Caps, want)
		if string(got.Sealed) != "s3" {
			t.Fatalf("sealed = %q", got.Sealed)
		}

		// Caps change without the key.
		rec, err := db.SetCredentialCaps(ctx, a.ID, "openai", ownkey.SpendCapsUpdate{PerDay: ownkey.Update[ownkey.NanoUSD]{Set: true}})
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "day cap removed", rec.Caps, ownkey.SpendCaps{PerMonth: nano(30_000_000_000)})
		if string(rec.Sealed) != "s3" || rec.Suffix != "wxyz" {
			t.Fatalf("record returned: %+v", rec)
		}
		creds, _ := db.Credentials(ctx, a.ID)
		wantEqual(t, "caps listed", creds[0].Caps, ownkey.SpendCaps{PerMonth: nano(30_000_000_000)})

		_, err = db.SetCredentialCaps(ctx, a.ID, "groq", ownkey.SpendCapsUpdate{})
		wantCode(t, err, ownkey.ENOTFOUND)
		_, err = db.SetCredentialCaps(ctx, a.ID, "openai", ownkey.SpendCapsUpdate{PerMonth: ownkey.Update[ownkey.NanoUSD]{Set: true, To: nano(-5)}})
		wantCode(t, err, ownkey.EINVALID)
		// A new key without caps has none.
		fresh := putCredential(t, db, a.ID, "groq", 1, "g")
		wantEqual(t, "new key's caps", fresh.Caps, ownkey.SpendCaps{})
	})
}
