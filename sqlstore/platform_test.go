package sqlstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

func putPlatformCredential(t *testing.T, db *sqlstore.DB, provider string, version uint32, sealed string) *ownkey.CredentialRecord {
	t.Helper()
	r := &ownkey.CredentialRecord{AccountID: ownkey.PlatformOwner, Provider: provider, KeyVersion: version, Sealed: []byte(sealed), Suffix: "pl4t"}
	if err := db.PutPlatformCredential(ctx, r); err != nil {
		t.Fatalf("PutPlatformCredential(%s): %v", provider, err)
	}
	return r
}

// TestPlatformCredentials: the platform's keys are stored, replaced,
// listed, touched and deleted like an account's, under PlatformOwner.
func TestPlatformCredentials(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		empty, err := db.PlatformCredentials(ctx)
		if err != nil || empty == nil || len(empty) != 0 {
			t.Fatalf("PlatformCredentials on an empty store = %#v, %v", empty, err)
		}
		r := &ownkey.CredentialRecord{AccountID: ownkey.PlatformOwner, Provider: "openai", KeyVersion: 1,
			Sealed: []byte("sealed-1"), Suffix: "abcd", CreatedAt: t0, UpdatedAt: t0}
		if err := db.PutPlatformCredential(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := db.PlatformCredential(ctx, "openai")
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "stored", got, &ownkey.CredentialRecord{AccountID: ownkey.PlatformOwner, Provider: "openai", KeyVersion: 1,
			Sealed: []byte("sealed-1"), Suffix: "abcd", CreatedAt: stored(t0), UpdatedAt: stored(t0)})

		// Replace keeps CreatedAt; touch only moves forward.
		later := t0.Add(time.Hour)
		r2 := &ownkey.CredentialRecord{AccountID: ownkey.PlatformOwner, Provider: "openai", KeyVersion: 2,
			Sealed: []byte("sealed-2"), Suffix: "efgh", UpdatedAt: later}
		if err := db.PutPlatformCredential(ctx, r2); err != nil {
			t.Fatal(err)
		}
		if err := db.TouchPlatformCredential(ctx, "openai", later); err != nil {
			t.Fatal(err)
		}
		if err := db.TouchPlatformCredential(ctx, "openai", t0); err != nil {
			t.Fatal(err)
		}
		got, err = db.PlatformCredential(ctx, "openai")
		if err != nil {
			t.Fatal(err)
		}
		at := stored(later)
		wantEqual(t, "replaced and touched", got, &ownkey.CredentialRecord{AccountID: ownkey.PlatformOwner, Provider: "openai", KeyVersion: 2,
			Sealed: []byte("sealed-2"), Suffix: "efgh", CreatedAt: stored(t0), UpdatedAt: at, LastUsedAt: &at})

		groq := putPlatformCredential(t, db, "groq", 2, "g")
		list, err := db.PlatformCredentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "list, by provider", list, []*ownkey.CredentialRecord{groq, got})

		if err := db.DeletePlatformCredential(ctx, "openai"); err != nil {
			t.Fatal(err)
		}
		_, err = db.PlatformCredential(ctx, "openai")
		wantCode(t, err, ownkey.ENOTFOUND)
		wantCode(t, db.DeletePlatformCredential(ctx, "openai"), ownkey.ENOTFOUND)
		wantCode(t, db.TouchPlatformCredential(ctx, "openai", t0), ownkey.ENOTFOUND)

		// Each method takes only its own owner's records.
		wantCode(t, db.PutPlatformCredential(ctx, &ownkey.CredentialRecord{AccountID: 1, Provider: "openai", Sealed: []byte("s")}), ownkey.EINVALID)
		wantCode(t, db.PutCredential(ctx, &ownkey.CredentialRecord{AccountID: ownkey.PlatformOwner, Provider: "openai", Sealed: []byte("s")}), ownkey.EINVALID)
		wantCode(t, db.PutPlatformCredential(ctx, &ownkey.CredentialRecord{AccountID: ownkey.PlatformOwner, Provider: "groq"}), ownkey.EINVALID)
	})
}

// TestPlatformCredentialsAreNoAccountsKeys: no method that takes an account
// id reads, lists, touches or deletes a platform key, the owner id
// included, and the platform's methods never see an account's key.
func TestPlatformCredentialsAreNoAccountsKeys(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		own := putCredential(t, db, a.ID, "groq", 1, "account-groq")
		platform := putPlatformCredential(t, db, "openai", 1, "platform-openai")
		for _, id := range []int64{a.ID, ownkey.PlatformOwner, 0} {
			recs, err := db.Credentials(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if string(r.Sealed) == "platform-openai" {
					t.Fatalf("Credentials(%d) lists the platform's key", id)
				}
			}
			_, err = db.Credential(ctx, id, "openai")
			wantCode(t, err, ownkey.ENOTFOUND)
			wantCode(t, db.TouchCredential(ctx, id, "openai", t0), ownkey.ENOTFOUND)
			wantCode(t, db.DeleteCredential(ctx, id, "openai"), ownkey.ENOTFOUND)
		}
		_, err := db.PlatformCredential(ctx, "groq")
		wantCode(t, err, ownkey.ENOTFOUND)
		list, err := db.PlatformCredentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "platform list", list, []*ownkey.CredentialRecord{platform})
		mine, err := db.Credentials(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "account's list", mine, []*ownkey.CredentialRecord{own})
	})
}

// TestRotationCoversPlatformCredentials: master key rotation sees the
// platform's keys (first, under PlatformOwner), re-wraps them in their own
// table, and counts their versions as in use; a retired version seals no
// platform key either.
func TestRotationCoversPlatformCredentials(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := createAccount(t, db, "a")
		acc := putCredential(t, db, a.ID, "openai", 1, "account-v1")
		pl := putPlatformCredential(t, db, "openai", 5, "platform-v5")
		got, err := db.CredentialsNotAtVersion(ctx, 9, 10)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "not at 9", got, []*ownkey.CredentialRecord{pl, acc})
		versions, err := db.CredentialKeyVersions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "versions", versions, []uint32{1, 5})

		next := *pl
		next.KeyVersion, next.Sealed = 9, []byte("platform-v9")
		if ok, err := db.RewrapCredential(ctx, &next, 5, []byte("platform-v5")); !ok || err != nil {
			t.Fatalf("rewrap the platform's key: %v, %v", ok, err)
		}
		now, err := db.PlatformCredential(ctx, "openai")
		if err != nil || now.KeyVersion != 9 || string(now.Sealed) != "platform-v9" {
			t.Fatalf("platform key after rewrap: %+v, %v", now, err)
		}
		if mine, _ := db.Credential(ctx, a.ID, "openai"); string(mine.Sealed) != "account-v1" {
			t.Fatalf("the account's key changed: %q", mine.Sealed)
		}
		got, err = db.CredentialsNotAtVersion(ctx, 9, 10)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "not at 9 after", got, []*ownkey.CredentialRecord{acc})

		if err := db.PutMasterKeyChecks(ctx, map[uint32][]byte{3: []byte("c3")}); err != nil {
			t.Fatal(err)
		}
		if err := db.RetireMasterKey(ctx, 3); err != nil {
			t.Fatal(err)
		}
		err = db.PutPlatformCredential(ctx, &ownkey.CredentialRecord{AccountID: ownkey.PlatformOwner, Provider: "groq", KeyVersion: 3, Sealed: []byte("s")})
		if !errors.Is(err, ownkey.ErrKeyVersionRetired) {
			t.Fatalf("platform key under a retired version: %v", err)
		}
	})
}
