package vault

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
)

const platformOpenAI = "sk-proj-Platform-000000000000000000000000p1at"

// TestPlatformKeyRoundTrip: a platform key is validated as a user's is,
// sealed for the platform's owner, opened, listed by suffix only, marked
// used and deleted, through the Platform methods.
func TestPlatformKeyRoundTrip(t *testing.T) {
	f := newFixture(t, Options{Disabled: map[string]bool{"kagi": true}})
	ctx := context.Background()
	// The same checks as Put.
	for _, bad := range []struct{ provider, raw string }{
		{"openai", `" sk-padded "`}, {"openai", `"short"`}, {"nope", `"sk-whatever-long-enough"`},
		{"kagi", `"kagi-key-long-enough"`}, {"aws", `{"accessKeyId":"AKIAIOSFODNN7EXAMPLE"}`},
	} {
		if _, err := f.svc.PutPlatform(ctx, bad.provider, []byte(bad.raw)); ownkey.ErrorCode(err) != ownkey.EINVALID {
			t.Fatalf("PutPlatform(%s, %s) = %v, want EINVALID", bad.provider, bad.raw, err)
		}
	}
	if len(f.store.platform) != 0 {
		t.Fatal("a refused platform key was stored")
	}
	st, err := f.svc.PutPlatform(ctx, "openai", rawString(platformOpenAI))
	if err != nil || st.Status != ownkey.StatusConfigured || st.Suffix != "p1at" {
		t.Fatalf("PutPlatform: %+v, %v", st, err)
	}
	if _, err := f.svc.PutPlatform(ctx, "aws", awsRaw); err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.PlatformCredential(ctx, "openai")
	if err != nil || c.APIKey.Reveal() != platformOpenAI {
		t.Fatalf("PlatformCredential: %v", err)
	}
	set, err := f.svc.PlatformConfigured(ctx)
	if err != nil || !set["openai"] || !set["aws"] || len(set) != 2 {
		t.Fatalf("PlatformConfigured = %v, %v", set, err)
	}
	list, err := f.svc.ListPlatform(ctx)
	if err != nil || len(list) != len(ownkey.Catalog) {
		t.Fatalf("ListPlatform: %d, %v", len(list), err)
	}
	for _, st := range list {
		switch st.Provider.ID {
		case "openai":
			if st.Status != ownkey.StatusConfigured || st.Suffix != "p1at" {
				t.Fatalf("openai: %+v", st)
			}
		case "aws":
			if st.Suffix != awsSecret[len(awsSecret)-4:] {
				t.Fatalf("aws: %+v", st)
			}
		case "kagi":
			if st.Status != ownkey.StatusDisabled {
				t.Fatalf("kagi: %+v", st)
			}
		default:
			if st.Status != ownkey.StatusNotConfigured {
				t.Fatalf("%s: %+v", st.Provider.ID, st)
			}
		}
	}
	f.clock.Advance(time.Minute)
	f.svc.MarkPlatformUsed("openai")
	if err := f.svc.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if at := f.store.touches[credentialKey{ownkey.PlatformOwner, "openai"}]; !at.Equal(f.clock.Now()) {
		t.Fatalf("platform key's last use not flushed: %v", f.store.touches)
	}
	if err := f.svc.DeletePlatform(ctx, "openai"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.svc.DeletePlatform(ctx, "openai"), ownkey.ENOTFOUND, "")
	_, err = f.svc.PlatformCredential(ctx, "openai")
	wantCode(t, err, ownkey.ENOTFOUND, "")
	if set, _ := f.svc.PlatformConfigured(ctx); set["openai"] {
		t.Fatal("deleted platform key still configured (cache not invalidated)")
	}
}

// TestPlatformKeysAreNeverAnAccountsKeys: an account's methods never list,
// return or use the platform's key, whatever id they are given; the
// platform's methods never an account's; and a sealed blob moved between
// the two does not open.
func TestPlatformKeysAreNeverAnAccountsKeys(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	if _, err := f.svc.PutPlatform(ctx, "openai", rawString(platformOpenAI)); err != nil {
		t.Fatal(err)
	}
	mustPut(t, f.svc, 1, "groq", rawString("gsk_account_one_groq_key_0001"))

	for _, id := range []int64{1, 2, 0, ownkey.PlatformOwner} {
		if _, err := f.svc.Credential(ctx, id, "openai"); err == nil {
			t.Fatalf("Credential(%d, openai) returned the platform's key", id)
		}
		set, _ := f.svc.Configured(ctx, id)
		list, _ := f.svc.List(ctx, id)
		if set["openai"] {
			t.Fatalf("Configured(%d) holds the platform's openai", id)
		}
		for _, st := range list {
			if st.Provider.ID == "openai" && st.Status != ownkey.StatusNotConfigured {
				t.Fatalf("List(%d) shows the platform's key: %+v", id, st)
			}
		}
		if err := f.svc.Delete(ctx, id, "openai"); err == nil {
			t.Fatalf("Delete(%d, openai) deleted the platform's key", id)
		}
	}
	// The owner id is refused outright by every account method.
	if _, err := f.svc.Put(ctx, ownkey.PlatformOwner, "groq", rawString("gsk_would_be_platform_0000")); ownkey.ErrorCode(err) != ownkey.EFORBIDDEN {
		t.Fatalf("Put as the platform's owner: %v", err)
	}
	f.svc.MarkUsed(ownkey.PlatformOwner, "openai")
	if len(f.svc.used) != 0 {
		t.Fatal("MarkUsed took the platform's owner id")
	}
	if _, err := f.svc.PlatformCredential(ctx, "groq"); ownkey.ErrorCode(err) != ownkey.ENOTFOUND {
		t.Fatalf("PlatformCredential(groq) found the account's key: %v", err)
	}
	if set, _ := f.svc.PlatformConfigured(ctx); set["groq"] {
		t.Fatal("PlatformConfigured holds the account's groq key")
	}
	if c, err := f.svc.PlatformCredential(ctx, "openai"); err != nil || c.APIKey.Reveal() != platformOpenAI {
		t.Fatalf("the platform's key after all that: %v", err)
	}

	// Sealed blobs copied between the two do not open: the encryption is
	// bound to the owner.
	f.store.mu.Lock()
	toAccount := copyRecord(f.store.platform["openai"])
	toAccount.AccountID = 1
	f.store.creds[credentialKey{1, "openai"}] = toAccount
	toPlatform := copyRecord(f.store.creds[credentialKey{1, "groq"}])
	toPlatform.AccountID = ownkey.PlatformOwner
	f.store.platform["groq"] = toPlatform
	f.store.mu.Unlock()
	if c, err := f.svc.Credential(ctx, 1, "openai"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("platform blob in an account's row: %v, %v", c, err)
	}
	if c, err := f.svc.PlatformCredential(ctx, "groq"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("account blob in the platform's row: %v, %v", c, err)
	}
}

// TestPlatformKeyChangeReachesOtherReplica: a platform key stored or
// deleted by one process (the CLI) is announced, and another drops its
// cached copy.
func TestPlatformKeyChangeReachesOtherReplica(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	var seen []ownkey.Change
	cli := f.service(t, f.kr, Options{Changes: changeFunc(func(c ownkey.Change) { seen = append(seen, c) })})
	if _, err := cli.PutPlatform(ctx, "openai", rawString(platformOpenAI)); err != nil {
		t.Fatal(err)
	}
	if c, err := f.svc.PlatformCredential(ctx, "openai"); err != nil || c.APIKey.Reveal() != platformOpenAI {
		t.Fatalf("server: %v", err)
	}
	if err := cli.DeletePlatform(ctx, "openai"); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[1] != (ownkey.Change{Kind: ownkey.ChangeCredential, AccountID: ownkey.PlatformOwner, Provider: "openai"}) {
		t.Fatalf("announced %+v", seen)
	}
	// Cached on the server until it hears of the change.
	if _, err := f.svc.PlatformCredential(ctx, "openai"); err != nil {
		t.Fatal("the server's cache should still hold the key")
	}
	f.svc.Changed(seen[1])
	if _, err := f.svc.PlatformCredential(ctx, "openai"); ownkey.ErrorCode(err) != ownkey.ENOTFOUND {
		t.Fatalf("after the change: %v", err)
	}
	if set, _ := f.svc.PlatformConfigured(ctx); set["openai"] {
		t.Fatal("the configured set kept the deleted platform key")
	}
}

// TestRotateCoversPlatformKeys: rotation re-wraps the platform's keys with
// the accounts', and they open under the new version alone.
func TestRotateCoversPlatformKeys(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	if _, err := f.svc.PutPlatform(ctx, "openai", rawString(platformOpenAI)); err != nil {
		t.Fatal(err)
	}
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	if _, err := f.kr.AddVersion(); err != nil {
		t.Fatal(err)
	}
	if n, err := f.svc.Rotate(ctx, nil); err != nil || n != 2 {
		t.Fatalf("Rotate = %d, %v", n, err)
	}
	only2 := mustParse(t, f.kr.Encode())
	only2.Remove(1)
	fresh := f.service(t, only2, Options{})
	if c, err := fresh.PlatformCredential(ctx, "openai"); err != nil || c.APIKey.Reveal() != platformOpenAI {
		t.Fatalf("platform key under v2 only: %v", err)
	}
	if c := mustCredential(t, fresh, 1, "openai"); c.APIKey.Reveal() != openaiKeyA {
		t.Fatal("account key under v2 only")
	}
}

type changeFunc func(ownkey.Change)

func (f changeFunc) Publish(_ context.Context, c ownkey.Change) error { f(c); return nil }
