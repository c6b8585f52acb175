package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

// The contract suite: every test runs against SQLite and, when
// OWNKEY_TEST_POSTGRES_URL is set, PostgreSQL.

var ctx = context.Background()

// t0 has nanoseconds and a zone on purpose: the store must give it back in
// UTC, truncated to the microsecond.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))

func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := ownkey.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func createAccount(t *testing.T, db *sqlstore.DB, name string) *ownkey.Account {
	t.Helper()
	a := &ownkey.Account{Name: name}
	if err := db.CreateAccount(ctx, a, nil); err != nil {
		t.Fatalf("CreateAccount(%s): %v", name, err)
	}
	return a
}

func newKey(t *testing.T, name string) *ownkey.APIKey {
	t.Helper()
	_, k, err := ownkey.GenerateAPIKey(0, name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func createKey(t *testing.T, db *sqlstore.DB, accountID int64, name string) *ownkey.APIKey {
	t.Helper()
	k := newKey(t, name)
	k.AccountID = accountID
	if err := db.CreateAPIKey(ctx, k); err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	return k
}

func putCredential(t *testing.T, db *sqlstore.DB, accountID int64, provider string, version uint32, sealed string) *ownkey.CredentialRecord {
	t.Helper()
	r := &ownkey.CredentialRecord{AccountID: accountID, Provider: provider, KeyVersion: version, Sealed: []byte(sealed), Suffix: "wxyz"}
	if err := db.PutCredential(ctx, r); err != nil {
		t.Fatalf("PutCredential(%s): %v", provider, err)
	}
	return r
}

func TestAccounts(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		if n, err := db.CountAccounts(ctx); err != nil || n != 0 {
			t.Fatalf("CountAccounts on an empty store = %d, %v", n, err)
		}
		if as, err := db.Accounts(ctx); err != nil || as == nil || len(as) != 0 {
			t.Fatalf("Accounts on an empty store = %#v, %v; want an empty non-nil slice", as, err)
		}

		admin := &ownkey.Account{Name: "  Ada  ", Role: ownkey.RoleAdmin, Balance: 1_500_000_000, CreatedAt: t0}
		if err := db.CreateAccount(ctx, admin, nil); err != nil {
			t.Fatal(err)
		}
		if admin.ID == 0 || admin.Name != "Ada" || !admin.CreatedAt.Equal(stored(t0)) {
			t.Fatalf("CreateAccount left %+v; want an ID, the trimmed name and the stored time", admin)
		}
		user := &ownkey.Account{Name: "Bob"}
		if err := db.CreateAccount(ctx, user, nil); err != nil {
			t.Fatal(err)
		}
		if user.Role != ownkey.RoleUser || user.CreatedAt.IsZero() || user.ID == admin.ID {
			t.Fatalf("CreateAccount left %+v; want role user, a creation time and a new ID", user)
		}

		got, err := db.Account(ctx, admin.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "Account", got, admin)
		all, err := db.Accounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "Accounts", all, []*ownkey.Account{admin, user})
		if n, err := db.CountAccounts(ctx); err != nil || n != 2 {
			t.Fatalf("CountAccounts = %d, %v; want 2", n, err)
		}

		_, err = db.Account(ctx, user.ID+1000)
		wantCode(t, err, ownkey.ENOTFOUND)
	})
}

func TestCreateAccountRejectsInvalidInput(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		err := db.CreateAccount(ctx, &ownkey.Account{Name: " "}, nil)
		wantCode(t, err, ownkey.EINVALID)
		err = db.CreateAccount(ctx, &ownkey.Account{Name: "x", Role: "root"}, nil)
		wantCode(t, err, ownkey.EINVALID)
		err = db.CreateAccount(ctx, &ownkey.Account{Name: "x"}, &ownkey.APIKey{Name: "no hash"})
		wantCode(t, err, ownkey.EINVALID)
		if n, err := db.CountAccounts(ctx); err != nil || n != 0 {
			t.Fatalf("CountAccounts after refused creations = %d, %v; want 0", n, err)
		}
	})
}

func TestCreateAccountWithKey(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := &ownkey.Account{Name: "Ada", Role: ownkey.RoleAdmin}
		k := newKey(t, "first")
		if err := db.CreateAccount(ctx, a, k); err != nil {
			t.Fatal(err)
		}
		if k.ID == 0 || k.AccountID != a.ID {
			t.Fatalf("key = %+v; want an ID and AccountID %d", k, a.ID)
		}
		gotKey, gotAccount, err := db.APIKeyByHash(ctx, k.Hash)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "key by hash", gotKey, k)
		wantEqual(t, "account by hash", gotAccount, a)
	})
}

func TestCreateAccountIsAtomic(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		first := createAccount(t, db, "first")
		existing := createKey(t, db, first.ID, "existing")

		a := &ownkey.Account{Name: "second"}
		colliding := &ownkey.APIKey{Name: "dup", Hash: bytes.Clone(existing.Hash), Last4: "dupe"}
		err := db.CreateAccount(ctx, a, colliding)
		wantCode(t, err, ownkey.ECONFLICT)
		if msg := ownkey.ErrorMessage(err); msg != "an API key with the same hash already exists" {
			t.Fatalf("conflict message = %q; it must be ours, not the database's", msg)
		}
		if a.ID != 0 || colliding.ID != 0 || colliding.AccountID != 0 {
			t.Fatalf("failed CreateAccount set IDs: account %d, key %d/%d", a.ID, colliding.ID, colliding.AccountID)
		}
		all, err := db.Accounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "accounts after the failed creation", all, []*ownkey.Account{first})

		// The rolled-back transaction left the store usable.
		createAccount(t, db, "third")
	})
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		b := createAccount(t, db, "b")

		// Inserted newest first: the list must still be oldest first.
		newer := newKey(t, "newer")
		newer.AccountID, newer.CreatedAt = a.ID, t0.Add(time.Hour)
		older := newKey(t, "older")
		older.AccountID, older.CreatedAt = a.ID, t0
		for _, k := range []*ownkey.APIKey{newer, older} {
			if err := db.CreateAPIKey(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		if !older.CreatedAt.Equal(stored(t0)) || older.CreatedAt.Location() != time.UTC {
			t.Fatalf("CreatedAt after CreateAPIKey = %v; want %v", older.CreatedAt, stored(t0))
		}
		other := createKey(t, db, b.ID, "b's")
		if err := db.RevokeAPIKey(ctx, a.ID, newer.ID); err != nil {
			t.Fatal(err)
		}

		keys, err := db.APIKeys(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 2 || keys[0].ID != older.ID || keys[1].ID != newer.ID {
			t.Fatalf("APIKeys(a) = %+v; want [older newer]", keys)
		}
		wantEqual(t, "older key", keys[0], older)
		if !keys[1].Revoked() {
			t.Fatal("APIKeys dropped the revocation of the newer key")
		}
		bKeys, err := db.APIKeys(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "APIKeys(b)", bKeys, []*ownkey.APIKey{other})
		none, err := db.APIKeys(ctx, b.ID+1000)
		if err != nil || none == nil || len(none) != 0 {
			t.Fatalf("APIKeys of a missing account = %#v, %v; want an empty non-nil slice", none, err)
		}
	})
}

func TestCreateAPIKeyErrors(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		k := createKey(t, db, a.ID, "k")

		dup := &ownkey.APIKey{AccountID: a.ID, Name: "dup", Hash: bytes.Clone(k.Hash), Last4: "abcd"}
		err := db.CreateAPIKey(ctx, dup)
		wantCode(t, err, ownkey.ECONFLICT)
		if dup.ID != 0 {
			t.Fatalf("failed CreateAPIKey set ID %d", dup.ID)
		}

		orphan := newKey(t, "orphan")
		orphan.AccountID = a.ID + 1000
		err = db.CreateAPIKey(ctx, orphan)
		wantCode(t, err, ownkey.ENOTFOUND)
		if msg := ownkey.ErrorMessage(err); msg != "account not found" {
			t.Fatalf("foreign key message = %q; want %q", msg, "account not found")
		}

		err = db.CreateAPIKey(ctx, &ownkey.APIKey{AccountID: a.ID, Name: "no hash"})
		wantCode(t, err, ownkey.EINVALID)

		keys, err := db.APIKeys(ctx, a.ID)
		if err != nil || len(keys) != 1 {
			t.Fatalf("APIKeys after refused creations = %d keys, %v; want 1", len(keys), err)
		}
	})
}

func TestAPIKeyByHash(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := &ownkey.Account{Name: "a", Balance: 42}
		if err := db.CreateAccount(ctx, a, nil); err != nil {
			t.Fatal(err)
		}
		k := createKey(t, db, a.ID, "k")
		if err := db.RevokeAPIKey(ctx, a.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		gotKey, gotAccount, err := db.APIKeyByHash(ctx, k.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if gotKey.ID != k.ID || !gotKey.Revoked() || !bytes.Equal(gotKey.Hash, k.Hash) || gotKey.Last4 != k.Last4 {
			t.Fatalf("APIKeyByHash key = %+v; want the revoked key %d", gotKey, k.ID)
		}
		wantEqual(t, "account", gotAccount, a)

		_, _, err = db.APIKeyByHash(ctx, ownkey.HashAPIKey("sk-ownkey-unknown"))
		wantCode(t, err, ownkey.ENOTFOUND)
		_, _, err = db.APIKeyByHash(ctx, nil)
		wantCode(t, err, ownkey.ENOTFOUND)
	})
}

func TestRevokeAPIKey(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		b := createAccount(t, db, "b")
		k := createKey(t, db, a.ID, "k")

		// Another account cannot revoke it, and learns nothing from trying.
		err := db.RevokeAPIKey(ctx, b.ID, k.ID)
		wantCode(t, err, ownkey.ENOTFOUND)
		got, _, err := db.APIKeyByHash(ctx, k.Hash)
		if err != nil || got.Revoked() {
			t.Fatalf("after B's attempt the key is %+v, %v; want it unrevoked", got, err)
		}

		if err := db.RevokeAPIKey(ctx, a.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		first, _, err := db.APIKeyByHash(ctx, k.Hash)
		if err != nil || !first.Revoked() {
			t.Fatalf("after revoking the key is %+v, %v; want it revoked", first, err)
		}
		// Revoking again succeeds and keeps the first revocation time.
		if err := db.RevokeAPIKey(ctx, a.ID, k.ID); err != nil {
			t.Fatalf("second revoke: %v", err)
		}
		second, _, err := db.APIKeyByHash(ctx, k.Hash)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "revoked_at after the second revoke", second.RevokedAt, first.RevokedAt)

		wantCode(t, db.RevokeAPIKey(ctx, a.ID, k.ID+1000), ownkey.ENOTFOUND)
	})
}

func TestTouchAPIKey(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		k := createKey(t, db, a.ID, "k")
		lastUsed := func() *time.Time {
			t.Helper()
			got, _, err := db.APIKeyByHash(ctx, k.Hash)
			if err != nil {
				t.Fatal(err)
			}
			return got.LastUsedAt
		}
		if lastUsed() != nil {
			t.Fatal("a new key has a last-used time")
		}
		later := t0.Add(time.Minute)
		if err := db.TouchAPIKey(ctx, k.ID, later); err != nil {
			t.Fatal(err)
		}
		want := stored(later)
		wantEqual(t, "last used", lastUsed(), &want)
		// A batch flushed late must not move the time back.
		if err := db.TouchAPIKey(ctx, k.ID, t0); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "last used after an older touch", lastUsed(), &want)

		wantCode(t, db.TouchAPIKey(ctx, k.ID+1000, t0), ownkey.ENOTFOUND)
	})
}

func TestPutCredential(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		r := &ownkey.CredentialRecord{AccountID: a.ID, Provider: "openai", KeyVersion: 1,
			Sealed: []byte("sealed-1"), Suffix: "abcd", CreatedAt: t0, UpdatedAt: t0}
		if err := db.PutCredential(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := db.Credential(ctx, a.ID, "openai")
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "inserted credential", got, &ownkey.CredentialRecord{AccountID: a.ID, Provider: "openai",
			KeyVersion: 1, Sealed: []byte("sealed-1"), Suffix: "abcd", CreatedAt: stored(t0), UpdatedAt: stored(t0)})
		wantEqual(t, "record after insert", r, got)
		if err := db.TouchCredential(ctx, a.ID, "openai", t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}

		// Replacing keeps CreatedAt, whatever the caller passes, and sets
		// the rest; the new key has not been used yet.
		replaced := t0.Add(24 * time.Hour)
		r2 := &ownkey.CredentialRecord{AccountID: a.ID, Provider: "openai", KeyVersion: 2,
			Sealed: []byte("sealed-2"), Suffix: "efgh", CreatedAt: replaced, UpdatedAt: replaced}
		if err := db.PutCredential(ctx, r2); err != nil {
			t.Fatal(err)
		}
		want := &ownkey.CredentialRecord{AccountID: a.ID, Provider: "openai", KeyVersion: 2,
			Sealed: []byte("sealed-2"), Suffix: "efgh", CreatedAt: stored(t0), UpdatedAt: stored(replaced)}
		wantEqual(t, "record after replace", r2, want)
		got, err = db.Credential(ctx, a.ID, "openai")
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "replaced credential", got, want)

		// Zero times mean now.
		r3 := &ownkey.CredentialRecord{AccountID: a.ID, Provider: "anthropic", Sealed: []byte("s"), Suffix: "wxyz"}
		if err := db.PutCredential(ctx, r3); err != nil {
			t.Fatal(err)
		}
		if r3.CreatedAt.IsZero() || !r3.UpdatedAt.Equal(r3.CreatedAt) {
			t.Fatalf("new record times = %v / %v; want both now", r3.CreatedAt, r3.UpdatedAt)
		}

		missing := &ownkey.CredentialRecord{AccountID: a.ID + 1000, Provider: "openai", Sealed: []byte("s")}
		wantCode(t, db.PutCredential(ctx, missing), ownkey.ENOTFOUND)
		wantCode(t, db.PutCredential(ctx, &ownkey.CredentialRecord{AccountID: a.ID, Sealed: []byte("s")}), ownkey.EINVALID)
		wantCode(t, db.PutCredential(ctx, &ownkey.CredentialRecord{AccountID: a.ID, Provider: "groq"}), ownkey.EINVALID)
		_, err = db.Credential(ctx, a.ID, "groq")
		wantCode(t, err, ownkey.ENOTFOUND)
	})
}

func TestCredentialsBelongToTheirAccount(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		b := createAccount(t, db, "b")
		aGroq := putCredential(t, db, a.ID, "groq", 1, "a-groq")
		aAnthropic := putCredential(t, db, a.ID, "anthropic", 1, "a-anthropic")
		putCredential(t, db, b.ID, "groq", 1, "b-groq")

		got, err := db.Credentials(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "Credentials(a), by provider", got, []*ownkey.CredentialRecord{aAnthropic, aGroq})

		_, err = db.Credential(ctx, b.ID, "anthropic")
		wantCode(t, err, ownkey.ENOTFOUND)
		wantCode(t, db.DeleteCredential(ctx, b.ID, "anthropic"), ownkey.ENOTFOUND)
		wantCode(t, db.TouchCredential(ctx, b.ID, "anthropic", t0), ownkey.ENOTFOUND)

		// B's delete of its own groq key leaves A's alone.
		if err := db.DeleteCredential(ctx, b.ID, "groq"); err != nil {
			t.Fatal(err)
		}
		_, err = db.Credential(ctx, b.ID, "groq")
		wantCode(t, err, ownkey.ENOTFOUND)
		wantCode(t, db.DeleteCredential(ctx, b.ID, "groq"), ownkey.ENOTFOUND)
		got, err = db.Credentials(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "Credentials(a) after B's delete", got, []*ownkey.CredentialRecord{aAnthropic, aGroq})

		empty, err := db.Credentials(ctx, b.ID)
		if err != nil || empty == nil || len(empty) != 0 {
			t.Fatalf("Credentials(b) = %#v, %v; want an empty non-nil slice", empty, err)
		}
	})
}

func TestTouchCredential(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		putCredential(t, db, a.ID, "groq", 1, "s")
		later := t0.Add(time.Hour)
		if err := db.TouchCredential(ctx, a.ID, "groq", later); err != nil {
			t.Fatal(err)
		}
		if err := db.TouchCredential(ctx, a.ID, "groq", t0); err != nil {
			t.Fatal(err)
		}
		got, err := db.Credential(ctx, a.ID, "groq")
		if err != nil {
			t.Fatal(err)
		}
		want := stored(later)
		wantEqual(t, "last used", got.LastUsedAt, &want)
		wantCode(t, db.TouchCredential(ctx, a.ID, "openai", t0), ownkey.ENOTFOUND)
	})
}

// TestCredentialFailure: a failing key is marked with when, the provider's
// status and message, only if it is the key that failed (its suffix, stored
// no later than the failure); storing a key clears the mark, and so does
// SetCredentialFailure with nil; the platform's keys likewise.
func TestCredentialFailure(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		r := &ownkey.CredentialRecord{AccountID: a.ID, Provider: "openai", KeyVersion: 1, Sealed: []byte("s1"), Suffix: "abcd", CreatedAt: t0, UpdatedAt: t0}
		if err := db.PutCredential(ctx, r); err != nil {
			t.Fatal(err)
		}
		long := strings.Repeat("é", ownkey.MaxKeyFailureMessage) // 2 bytes each: cut on a character boundary
		f := &ownkey.KeyFailure{At: t0.Add(time.Hour), Status: 401, Message: "Incorrect API key provided: sk-…abcd. " + long}
		wantCode(t, db.SetCredentialFailure(ctx, a.ID, "openai", "zzzz", f), ownkey.ENOTFOUND) // another key
		early := &ownkey.KeyFailure{At: t0.Add(-time.Second), Status: 401, Message: "x"}
		wantCode(t, db.SetCredentialFailure(ctx, a.ID, "openai", "abcd", early), ownkey.ENOTFOUND) // before the key was stored
		if err := db.SetCredentialFailure(ctx, a.ID, "openai", "abcd", f); err != nil {
			t.Fatal(err)
		}
		got, err := db.Credential(ctx, a.ID, "openai")
		if err != nil {
			t.Fatal(err)
		}
		if got.Failure == nil || !got.Failure.At.Equal(stored(f.At)) || got.Failure.Status != 401 ||
			len(got.Failure.Message) > ownkey.MaxKeyFailureMessage || !utf8.ValidString(got.Failure.Message) ||
			!strings.HasPrefix(got.Failure.Message, "Incorrect API key provided: sk-…abcd. é") {
			t.Fatalf("failure as stored: %+v", got.Failure)
		}
		list, err := db.Credentials(ctx, a.ID)
		if err != nil || len(list) != 1 || list[0].Failure == nil {
			t.Fatalf("Credentials: %+v, %v", list, err)
		}
		// Works again.
		if err := db.SetCredentialFailure(ctx, a.ID, "openai", "abcd", nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Credential(ctx, a.ID, "openai"); got.Failure != nil {
			t.Fatalf("cleared failure: %+v", got.Failure)
		}
		// Replacing the key clears a failure.
		if err := db.SetCredentialFailure(ctx, a.ID, "openai", "abcd", f); err != nil {
			t.Fatal(err)
		}
		r2 := &ownkey.CredentialRecord{AccountID: a.ID, Provider: "openai", KeyVersion: 1, Sealed: []byte("s2"), Suffix: "efgh", UpdatedAt: t0.Add(2 * time.Hour)}
		if err := db.PutCredential(ctx, r2); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Credential(ctx, a.ID, "openai"); got.Failure != nil {
			t.Fatalf("a replaced key keeps its predecessor's failure: %+v", got.Failure)
		}
		// The old key's failure, reported late, does not mark the new one
		// even with the same suffix.
		r3 := &ownkey.CredentialRecord{AccountID: a.ID, Provider: "openai", KeyVersion: 1, Sealed: []byte("s3"), Suffix: "abcd", UpdatedAt: t0.Add(3 * time.Hour)}
		if err := db.PutCredential(ctx, r3); err != nil {
			t.Fatal(err)
		}
		wantCode(t, db.SetCredentialFailure(ctx, a.ID, "openai", "abcd", f), ownkey.ENOTFOUND)

		// The platform's keys.
		p := &ownkey.CredentialRecord{AccountID: ownkey.PlatformOwner, Provider: "groq", KeyVersion: 1, Sealed: []byte("p"), Suffix: "wxyz", CreatedAt: t0, UpdatedAt: t0}
		if err := db.PutPlatformCredential(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := db.SetCredentialFailure(ctx, ownkey.PlatformOwner, "groq", "wxyz", f); err != nil {
			t.Fatal(err)
		}
		pg, err := db.PlatformCredential(ctx, "groq")
		if err != nil || pg.Failure == nil || pg.Failure.Status != 401 {
			t.Fatalf("platform failure: %+v, %v", pg, err)
		}
		if got, _ := db.Credential(ctx, a.ID, "openai"); got.Failure != nil {
			t.Fatal("the platform's failure reached an account's key")
		}
	})
}

func TestRewrapCredential(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		orig := putCredential(t, db, a.ID, "groq", 1, "sealed-v1")

		rewrap := func(version uint32, sealed string, oldVersion uint32, oldSealed string) bool {
			t.Helper()
			r := &ownkey.CredentialRecord{AccountID: a.ID, Provider: "groq", KeyVersion: version, Sealed: []byte(sealed)}
			ok, err := db.RewrapCredential(ctx, r, oldVersion, []byte(oldSealed))
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		current := func() *ownkey.CredentialRecord {
			t.Helper()
			r, err := db.Credential(ctx, a.ID, "groq")
			if err != nil {
				t.Fatal(err)
			}
			return r
		}

		if rewrap(2, "sealed-v2", 1, "something else") {
			t.Fatal("rewrap with stale sealed bytes succeeded")
		}
		if rewrap(2, "sealed-v2", 3, "sealed-v1") {
			t.Fatal("rewrap with a stale version succeeded")
		}
		wantEqual(t, "row after refused rewraps", current(), orig)

		if !rewrap(2, "sealed-v2", 1, "sealed-v1") {
			t.Fatal("rewrap of the current row failed")
		}
		want := *orig
		want.KeyVersion, want.Sealed = 2, []byte("sealed-v2")
		wantEqual(t, "row after rewrap", current(), &want)

		// A rotation that read the row before the rewrap, or before the
		// user replaced the key, must not overwrite it.
		if rewrap(3, "sealed-v3", 1, "sealed-v1") {
			t.Fatal("second rewrap from the same old value succeeded")
		}
		putCredential(t, db, a.ID, "groq", 2, "user-replaced")
		if rewrap(3, "sealed-v3", 2, "sealed-v2") {
			t.Fatal("rewrap overwrote a key the user replaced")
		}
		if got := current(); string(got.Sealed) != "user-replaced" {
			t.Fatalf("sealed = %q; want the user's replacement", got.Sealed)
		}

		other := &ownkey.CredentialRecord{AccountID: a.ID, Provider: "openai", KeyVersion: 2, Sealed: []byte("x")}
		if ok, err := db.RewrapCredential(ctx, other, 1, []byte("y")); ok || err != nil {
			t.Fatalf("rewrap of a missing row = %v, %v; want false, nil", ok, err)
		}
	})
}

func TestCredentialsNotAtVersion(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		versions, err := db.CredentialKeyVersions(ctx)
		if err != nil || versions == nil || len(versions) != 0 {
			t.Fatalf("CredentialKeyVersions on an empty store = %#v, %v", versions, err)
		}
		a := createAccount(t, db, "a")
		b := createAccount(t, db, "b")
		a1 := putCredential(t, db, a.ID, "groq", 1, "a-groq")
		putCredential(t, db, a.ID, "openai", 3, "a-openai")
		b1 := putCredential(t, db, b.ID, "anthropic", 1, "b-anthropic")
		b2 := putCredential(t, db, b.ID, "groq", 2, "b-groq")
		bMax := putCredential(t, db, b.ID, "zai", 4294967295, "b-zai")

		got, err := db.CredentialsNotAtVersion(ctx, 3, 10)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "not at 3", got, []*ownkey.CredentialRecord{a1, b1, b2, bMax})
		got, err = db.CredentialsNotAtVersion(ctx, 3, 2)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "not at 3, limit 2", got, []*ownkey.CredentialRecord{a1, b1})

		_, err = db.CredentialsNotAtVersion(ctx, 3, 0)
		wantCode(t, err, ownkey.EINVALID)

		versions, err = db.CredentialKeyVersions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "key versions", versions, []uint32{1, 2, 3, 4294967295})
	})
}

func TestMasterKeyChecks(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		checks, err := db.MasterKeyChecks(ctx)
		if err != nil || checks == nil || len(checks) != 0 {
			t.Fatalf("MasterKeyChecks on an empty store = %#v, %v", checks, err)
		}
		if err := db.PutMasterKeyChecks(ctx, map[uint32][]byte{1: []byte("check-1"), 4294967295: []byte("check-max")}); err != nil {
			t.Fatal(err)
		}
		// Recording the same value again is fine.
		if err := db.PutMasterKeyChecks(ctx, map[uint32][]byte{1: []byte("check-1")}); err != nil {
			t.Fatal(err)
		}
		// A different value for a recorded version is a conflict, and the
		// call records nothing, not even its other, new versions.
		err = db.PutMasterKeyChecks(ctx, map[uint32][]byte{1: []byte("another"), 2: []byte("check-2")})
		wantCode(t, err, ownkey.ECONFLICT)
		if !strings.Contains(err.Error(), "version 1") {
			t.Errorf("conflict error %q does not name the version", err)
		}
		wantCode(t, db.PutMasterKeyChecks(ctx, map[uint32][]byte{2: nil}), ownkey.EINVALID)
		checks, err = db.MasterKeyChecks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "checks", checks, map[uint32]ownkey.MasterKeyCheck{
			1: {Check: []byte("check-1")}, 4294967295: {Check: []byte("check-max")}})
	})
}

func TestRetireMasterKey(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		if err := db.PutMasterKeyChecks(ctx, map[uint32][]byte{1: []byte("c1"), 2: []byte("c2")}); err != nil {
			t.Fatal(err)
		}
		putCredential(t, db, a.ID, "openai", 1, "sealed-1")
		if err := db.RetireMasterKey(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if err := db.RetireMasterKey(ctx, 1); err != nil {
			t.Fatalf("retiring twice: %v", err)
		}
		wantCode(t, db.RetireMasterKey(ctx, 3), ownkey.ENOTFOUND)
		r := &ownkey.CredentialRecord{AccountID: a.ID, Provider: "groq", KeyVersion: 1, Sealed: []byte("x"), Suffix: "abcd"}
		if err := db.PutCredential(ctx, r); !errors.Is(err, ownkey.ErrKeyVersionRetired) {
			t.Fatalf("PutCredential under a retired version = %v, want ErrKeyVersionRetired", err)
		}
		if _, err := db.Credential(ctx, a.ID, "groq"); ownkey.ErrorCode(err) != ownkey.ENOTFOUND {
			t.Fatalf("a refused PutCredential stored a row: %v", err)
		}
		putCredential(t, db, a.ID, "groq", 2, "sealed-2")
		checks, err := db.MasterKeyChecks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "checks", checks, map[uint32]ownkey.MasterKeyCheck{
			1: {Check: []byte("c1"), Retired: true}, 2: {Check: []byte("c2")}})
	})
}

func TestTimesRoundTrip(t *testing.T) {
	t.Parallel()
	times := []time.Time{
		t0,
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2262, 1, 1, 0, 0, 0, 1000, time.FixedZone("", -8*3600)),
		time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC).Add(123456 * time.Microsecond),
	}
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		for i, at := range times {
			a := &ownkey.Account{Name: fmt.Sprint("a", i), CreatedAt: at}
			k := newKey(t, "k")
			k.CreatedAt, k.LastUsedAt, k.RevokedAt = at, &at, &at
			if err := db.CreateAccount(ctx, a, k); err != nil {
				t.Fatal(err)
			}
			r := &ownkey.CredentialRecord{AccountID: a.ID, Provider: "groq", Sealed: []byte("s"),
				CreatedAt: at, UpdatedAt: at, LastUsedAt: &at}
			if err := db.PutCredential(ctx, r); err != nil {
				t.Fatal(err)
			}

			want := stored(at)
			gotKey, gotAccount, err := db.APIKeyByHash(ctx, k.Hash)
			if err != nil {
				t.Fatal(err)
			}
			gotCred, err := db.Credential(ctx, a.ID, "groq")
			if err != nil {
				t.Fatal(err)
			}
			for name, got := range map[string]time.Time{
				"account created": gotAccount.CreatedAt, "key created": gotKey.CreatedAt,
				"key used": *gotKey.LastUsedAt, "key revoked": *gotKey.RevokedAt,
				"credential created": gotCred.CreatedAt, "credential updated": gotCred.UpdatedAt,
				"credential used": *gotCred.LastUsedAt,
				// What the methods wrote back must be what reads return.
				"account struct": a.CreatedAt, "key struct": k.CreatedAt, "credential struct": r.UpdatedAt,
			} {
				if got != want {
					t.Errorf("%s: %v went in, %v (%s) came out; want %v", name, at, got, got.Location(), want)
				}
			}
		}
	})
}

func TestDeletingAccountCascades(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		b := createAccount(t, db, "b")
		k := createKey(t, db, a.ID, "k")
		putCredential(t, db, a.ID, "groq", 1, "a")
		bCred := putCredential(t, db, b.ID, "groq", 1, "b")

		// There is no DeleteAccount yet; the schema must still cascade.
		if _, err := db.SQL().ExecContext(ctx, fmt.Sprintf(`DELETE FROM accounts WHERE id = %d`, a.ID)); err != nil {
			t.Fatal(err)
		}
		_, _, err := db.APIKeyByHash(ctx, k.Hash)
		wantCode(t, err, ownkey.ENOTFOUND)
		_, err = db.Credential(ctx, a.ID, "groq")
		wantCode(t, err, ownkey.ENOTFOUND)
		got, err := db.Credential(ctx, b.ID, "groq")
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "b's credential", got, bCred)
	})
}

func TestPing(t *testing.T) {
	t.Parallel()
	sqltest.EachDSN(t, func(t *testing.T, dsn string) {
		db, err := sqlstore.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if err := db.Ping(ctx); err == nil {
			t.Fatal("Ping after Close succeeded")
		}
	})
}
