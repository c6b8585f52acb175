package vault

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/changetest"
)

// holdingStore counts the credential reads that reach the store and lets a
// test hold one after it has read and before it returns.
type holdingStore struct {
	*fakeStore
	credReads, setReads atomic.Int32
	// holdCred and holdSet, when set, are called after each read.
	holdCred, holdSet func()
}

func (h *holdingStore) Credential(ctx context.Context, accountID int64, provider string) (*ownkey.CredentialRecord, error) {
	r, err := h.fakeStore.Credential(ctx, accountID, provider)
	h.credReads.Add(1)
	if hold := h.holdCred; hold != nil {
		hold()
	}
	return r, err
}

func (h *holdingStore) Credentials(ctx context.Context, accountID int64) ([]*ownkey.CredentialRecord, error) {
	rs, err := h.fakeStore.Credentials(ctx, accountID)
	h.setReads.Add(1)
	if hold := h.holdSet; hold != nil {
		hold()
	}
	return rs, err
}

func newHoldingService(t *testing.T, opts Options) (*Service, *holdingStore) {
	t.Helper()
	st := &holdingStore{fakeStore: newFakeStore()}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = time.Hour
	}
	s := newService(st, GenerateKeyring(), opts, newTestClock().Now, time.Hour)
	t.Cleanup(func() { _ = s.Close() })
	// The vault seals only with a version whose check value is recorded.
	if err := s.VerifyKeyring(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, st
}

// heldLoad runs load on a goroutine of its own with the store read it
// makes held after reading (setHold installs the hold), waits until the
// read happened, and returns a function that lets the read return and waits
// for load to finish.
func heldLoad(setHold func(func()), load func()) (finish func()) {
	var armed atomic.Bool
	held, release := make(chan struct{}), make(chan struct{})
	setHold(func() {
		if armed.CompareAndSwap(true, false) {
			close(held)
			<-release
		}
	})
	armed.Store(true)
	done := make(chan struct{})
	go func() { defer close(done); load() }()
	<-held
	return func() { close(release); <-done }
}

// waitForSecond waits until reads shows a second store read, or long
// enough that goroutines without coalescing would have made one.
func waitForSecond(reads *atomic.Int32) {
	deadline := time.Now().Add(300 * time.Millisecond)
	for reads.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConcurrentMissesShareOneLoad(t *testing.T) {
	s, st := newHoldingService(t, Options{})
	mustPut(t, s, 1, "openai", rawString(openaiKeyA))
	st.credReads.Store(0)
	release := make(chan struct{})
	st.holdCred = func() { <-release }
	st.holdSet = func() { <-release }
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for range n {
		wg.Go(func() {
			c, err := s.Credential(context.Background(), 1, "openai")
			if err == nil && c.APIKey.Reveal() != openaiKeyA {
				t.Errorf("got another key")
			}
			errs <- err
		})
		wg.Go(func() {
			set, err := s.Configured(context.Background(), 1)
			if err == nil && !set["openai"] {
				t.Errorf("Configured = %v", set)
			}
			errs <- err
		})
	}
	waitForSecond(&st.credReads)
	waitForSecond(&st.setReads)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if c, k := st.credReads.Load(), st.setReads.Load(); c != 1 || k != 1 {
		t.Fatalf("%d concurrent misses made %d credential and %d credential-set reads, want 1 and 1", n, c, k)
	}
}

// TestRequestAfterWriteDoesNotJoinOlderLoad: a load that read the old key
// is still running when the key is replaced; a request arriving after the
// replacement gets the new key without waiting for the older load, and the
// older load's value is not cached.
func TestRequestAfterWriteDoesNotJoinOlderLoad(t *testing.T) {
	s, st := newHoldingService(t, Options{})
	ctx := context.Background()
	mustPut(t, s, 1, "openai", rawString(openaiKeyA))
	var old *ownkey.Credential
	finish := heldLoad(func(h func()) { st.holdCred = h }, func() { old, _ = s.Credential(ctx, 1, "openai") })
	mustPut(t, s, 1, "openai", rawString(openaiKeyB))
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := s.Credential(wctx, 1, "openai")
	if err != nil || c.APIKey.Reveal() != openaiKeyB {
		t.Fatalf("request after the replacement: %v (err %v), want the new key without waiting for the older load", c, err)
	}
	finish()
	if old == nil || old.APIKey.Reveal() != openaiKeyA {
		t.Fatal("the older load should return what it read")
	}
	if c := mustCredential(t, s, 1, "openai"); c.APIKey.Reveal() != openaiKeyB {
		t.Fatal("the older load's value was cached")
	}
}

// TestConfiguredAfterDeleteDoesNotJoinOlderLoad is the same for the set of
// configured providers.
func TestConfiguredAfterDeleteDoesNotJoinOlderLoad(t *testing.T) {
	s, st := newHoldingService(t, Options{})
	ctx := context.Background()
	mustPut(t, s, 1, "openai", rawString(openaiKeyA))
	finish := heldLoad(func(h func()) { st.holdSet = h }, func() { _, _ = s.Configured(ctx, 1) })
	if err := s.Delete(ctx, 1, "openai"); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	set, err := s.Configured(wctx, 1)
	if err != nil || set["openai"] {
		t.Fatalf("Configured after the delete = %v (err %v), want no openai without waiting for the older load", set, err)
	}
	finish()
	if set, _ := s.Configured(ctx, 1); set["openai"] {
		t.Fatal("the older load's set was cached")
	}
}

// TestCredentialChangesArePublishedAndApplied: local writes are announced
// (ids and provider only), and changes heard from other processes drop the
// cached copies.
func TestCredentialChangesArePublishedAndApplied(t *testing.T) {
	pub := &changetest.Recorder{}
	s, st := newHoldingService(t, Options{Changes: pub})
	ctx := context.Background()
	mustPut(t, s, 1, "openai", rawString(openaiKeyA))
	if err := s.Delete(ctx, 1, "openai"); err != nil {
		t.Fatal(err)
	}
	want := ownkey.Change{Kind: ownkey.ChangeCredential, AccountID: 1, Provider: "openai"}
	if got := pub.Changes(); len(got) != 2 || got[0] != want || got[1] != want {
		t.Fatalf("published %+v, want Put and Delete each to announce %+v", got, want)
	}

	// Another process replaces the key behind this one's cache.
	other := newService(st, s.Keyring(), Options{CacheTTL: -1}, newTestClock().Now, time.Hour)
	defer other.Close()
	mustPut(t, s, 1, "openai", rawString(openaiKeyA))
	mustCredential(t, s, 1, "openai")
	mustPut(t, other, 1, "openai", rawString(openaiKeyB))
	if c := mustCredential(t, s, 1, "openai"); c.APIKey.Reveal() != openaiKeyA {
		t.Fatal("cache not used before any change was heard")
	}
	s.Changed(ownkey.Change{Kind: ownkey.ChangeCredential, AccountID: 1, Provider: "anthropic"})
	if c := mustCredential(t, s, 1, "openai"); c.APIKey.Reveal() != openaiKeyA {
		t.Fatal("a change to another provider dropped this one")
	}
	s.Changed(ownkey.Change{Kind: ownkey.ChangeCredential, AccountID: 1, Provider: "openai"})
	if c := mustCredential(t, s, 1, "openai"); c.APIKey.Reveal() != openaiKeyB {
		t.Fatal("the change heard did not drop the cached credential")
	}

	// ChangeAll drops credentials and configured sets.
	if set, _ := s.Configured(ctx, 1); !set["openai"] {
		t.Fatal("openai not configured")
	}
	if err := other.Delete(ctx, 1, "openai"); err != nil {
		t.Fatal(err)
	}
	s.Changed(ownkey.Change{Kind: ownkey.ChangeAll})
	if _, err := s.Credential(ctx, 1, "openai"); ownkey.ErrorCode(err) != ownkey.ENOTFOUND {
		t.Fatalf("after ChangeAll: %v, want ENOTFOUND", err)
	}
	if set, _ := s.Configured(ctx, 1); set["openai"] {
		t.Fatal("after ChangeAll the configured set still lists the deleted key")
	}
}
