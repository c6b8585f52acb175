package accounts_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/accounts"
	"github.com/ownkey/ownkey/changetest"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

// gatedStore lets a test hold APIKeyByHash after it has read the store and
// before it returns, which is where a lookup races a revocation.
type gatedStore struct {
	ownkey.Store
	lookups atomic.Int32
	// hold, if set, is called after the read; it blocks as long as it likes.
	hold func(n int32)
}

func (g *gatedStore) APIKeyByHash(ctx context.Context, hash []byte) (*ownkey.APIKey, *ownkey.Account, error) {
	k, a, err := g.Store.APIKeyByHash(ctx, hash)
	n := g.lookups.Add(1)
	if g.hold != nil {
		g.hold(n)
	}
	return k, a, err
}

func newService(t *testing.T, opts accounts.Options) (*accounts.Service, *gatedStore, int64, *ownkey.APIKey, string) {
	t.Helper()
	st := &gatedStore{Store: sqltest.NewSQLite(t)}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = time.Hour // nothing expires during a test
	}
	svc := accounts.New(st, opts)
	t.Cleanup(func() { svc.Close() })
	a := &ownkey.Account{Name: "tenant"}
	plain, key, err := svc.CreateAccount(context.Background(), a, "k")
	if err != nil {
		t.Fatal(err)
	}
	return svc, st, a.ID, key, plain.Reveal()
}

func wantRefused(t *testing.T, svc *accounts.Service, key, when string) {
	t.Helper()
	if _, err := svc.Authenticate(context.Background(), key); ownkey.ErrorCode(err) != ownkey.EUNAUTHORIZED {
		t.Fatalf("%s: Authenticate = %v, want EUNAUTHORIZED", when, err)
	}
}

// revokeDuringLookup starts authenticating plain with the store lookup held
// after it read the key (still valid), revokes the key through svc, and
// returns a function that lets the lookup return and gives that racing
// request's error.
func revokeDuringLookup(t *testing.T, svc *accounts.Service, st *gatedStore, acct, keyID int64, plain string) (finish func() error) {
	t.Helper()
	read, release := make(chan struct{}), make(chan struct{})
	st.hold = func(n int32) {
		if n == 1 {
			close(read)
			<-release
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := svc.Authenticate(context.Background(), plain)
		done <- err
	}()
	<-read
	if err := svc.RevokeAPIKey(context.Background(), acct, keyID); err != nil {
		t.Fatal(err)
	}
	return func() error { close(release); return <-done }
}

// TestRevocationRacingALookupIsNotCached replays finding 9's interleaving:
// a lookup reads the key (still valid), the key is revoked through this
// service, then the lookup fills the cache. The revoked key must not keep
// authenticating from that cache entry.
func TestRevocationRacingALookupIsNotCached(t *testing.T) {
	svc, st, acct, key, plain := newService(t, accounts.Options{})
	finish := revokeDuringLookup(t, svc, st, acct, key.ID, plain)
	// The racing request itself may pass: it began before the revocation.
	if err := finish(); err != nil {
		t.Fatalf("racing Authenticate: %v", err)
	}
	wantRefused(t, svc, plain, "after the revocation")
}

// TestConcurrentMissesShareOneLookup: many requests missing the cache for
// one key at once cost the store one query.
func TestConcurrentMissesShareOneLookup(t *testing.T) {
	svc, st, _, _, plain := newService(t, accounts.Options{})
	release := make(chan struct{})
	st.hold = func(int32) { <-release }
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := svc.Authenticate(context.Background(), plain)
			errs <- err
		})
	}
	// Without coalescing a second lookup shows up at once; give the
	// goroutines ample time to pile up on the first one.
	deadline := time.Now().Add(300 * time.Millisecond)
	for st.lookups.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := st.lookups.Load(); got != 1 {
		t.Fatalf("%d concurrent authentications of one uncached key made %d store lookups, want 1", n, got)
	}
}

// TestRequestAfterRevocationDoesNotJoinOlderLookup: a lookup that started
// before a revocation is still running; a request arriving after the
// revocation must not wait for it and take its (valid) answer, but look the
// key up again and be refused.
func TestRequestAfterRevocationDoesNotJoinOlderLookup(t *testing.T) {
	svc, st, acct, key, plain := newService(t, accounts.Options{})
	finish := revokeDuringLookup(t, svc, st, acct, key.ID, plain)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := svc.Authenticate(ctx, plain); ownkey.ErrorCode(err) != ownkey.EUNAUTHORIZED {
		t.Fatalf("request after the revocation: %v, want EUNAUTHORIZED without waiting for the older lookup", err)
	}
	_ = finish()
	wantRefused(t, svc, plain, "after the older lookup finished")
}

// TestRevocationIsPublishedAndChangesApply: a revocation is announced to
// other processes, and a change heard from another process drops the
// cached key here at once.
func TestRevocationIsPublishedAndChangesApply(t *testing.T) {
	pub := &changetest.Recorder{}
	svc, st, acct, key, plain := newService(t, accounts.Options{Changes: pub})
	ctx := context.Background()
	if _, err := svc.Authenticate(ctx, plain); err != nil {
		t.Fatal(err)
	}
	// Another process revokes: this one keeps the cached entry until told.
	if err := st.Store.RevokeAPIKey(ctx, acct, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, plain); err != nil {
		t.Fatalf("cached key refused before any change was heard: %v", err)
	}
	svc.Changed(ownkey.Change{Kind: ownkey.ChangeAPIKey, AccountID: acct, KeyID: key.ID + 1000})
	if _, err := svc.Authenticate(ctx, plain); err != nil {
		t.Fatalf("a change to another key dropped this one: %v", err)
	}
	svc.Changed(ownkey.Change{Kind: ownkey.ChangeAPIKey, AccountID: acct, KeyID: key.ID})
	wantRefused(t, svc, plain, "after the change was heard")

	// ChangeAll drops everything.
	plain2, key2, err := svc.CreateAPIKey(ctx, acct, "second", ownkey.APIKeyLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, plain2.Reveal()); err != nil {
		t.Fatal(err)
	}
	if err := st.Store.RevokeAPIKey(ctx, acct, key2.ID); err != nil {
		t.Fatal(err)
	}
	svc.Changed(ownkey.Change{Kind: ownkey.ChangeAll})
	wantRefused(t, svc, plain2.Reveal(), "after ChangeAll")

	// Revoking through the service publishes the key's id, never the key.
	if err := svc.RevokeAPIKey(ctx, acct, key.ID); err != nil {
		t.Fatal(err)
	}
	want := ownkey.Change{Kind: ownkey.ChangeAPIKey, AccountID: acct, KeyID: key.ID}
	if got := pub.Changes(); len(got) != 1 || got[0] != want {
		t.Fatalf("published %+v, want [%+v]", got, want)
	}
}
