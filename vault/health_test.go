package vault

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
)

// TestKeyHealth: a refused key is listed as failing at once, written once
// however often it fails, cleared by a later success (written once) or by
// replacing the key; successes of a working key write nothing.
func TestKeyHealth(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	c := mustCredential(t, f.svc, 1, "openai")
	writes := func() int {
		f.store.mu.Lock()
		defer f.store.mu.Unlock()
		return f.store.failureWrites
	}
	failureOf := func(s *Service) *ownkey.KeyFailure {
		t.Helper()
		list, err := s.List(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		return list[0].Failure // openai is the catalog's first
	}
	flush := func() {
		t.Helper()
		if err := f.svc.flush(ctx); err != nil {
			t.Fatal(err)
		}
	}

	for range 100 {
		f.svc.KeyWorked(1, "openai", c)
	}
	flush()
	if writes() != 0 || failureOf(f.svc) != nil {
		t.Fatalf("a working key: %d writes, failure %+v", writes(), failureOf(f.svc))
	}

	f.clock.Advance(time.Minute)
	at := f.clock.Now()
	f.svc.KeyRejected(1, "openai", c, 401, "Incorrect API key provided. "+strings.Repeat("x", 2000))
	if got := failureOf(f.svc); got == nil || !got.At.Equal(at) || got.Status != 401 || len(got.Message) != ownkey.MaxKeyFailureMessage {
		t.Fatalf("pending failure listed as %+v", got)
	}
	if writes() != 0 {
		t.Fatal("KeyRejected wrote synchronously")
	}
	for range 10 {
		f.svc.KeyRejected(1, "openai", c, 403, "again")
	}
	flush()
	flush()
	if writes() != 1 {
		t.Fatalf("%d writes for one failure", writes())
	}
	// Another replica (a fresh service) sees it in the store.
	other := f.service(t, f.kr, Options{})
	if got := failureOf(other); got == nil || got.Status != 401 || !got.At.Equal(at) {
		t.Fatalf("stored failure: %+v", got)
	}

	// A later success clears it, with one write.
	f.svc.KeyWorked(1, "openai", c)
	if failureOf(f.svc) != nil {
		t.Fatal("a key that worked is still listed as failing")
	}
	flush()
	f.svc.KeyWorked(1, "openai", c)
	flush()
	if writes() != 2 || failureOf(other) != nil {
		t.Fatalf("after recovery: %d writes, stored failure %+v", writes(), failureOf(other))
	}

	// The other replica learns of a failure when it loads the key, and
	// clears it on its own success.
	f.svc.KeyRejected(1, "openai", c, 401, "revoked")
	flush()
	oc, err := other.Credential(ctx, 1, "openai")
	if err != nil {
		t.Fatal(err)
	}
	other.KeyWorked(1, "openai", oc)
	if err := other.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if writes() != 4 || failureOf(f.svc) != nil {
		t.Fatalf("cleared by the other replica: %d writes, failure %+v", writes(), failureOf(f.svc))
	}

	// Replacing the key clears its failure, and the old key's late
	// failure does not mark the new one.
	f.svc.KeyRejected(1, "openai", c, 401, "revoked")
	flush()
	f.clock.Advance(time.Minute)
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyB))
	if failureOf(f.svc) != nil {
		t.Fatal("a replaced key is listed as failing")
	}
	f.svc.KeyRejected(1, "openai", c, 401, "the old key, late") // c is the old key
	flush()
	if got := failureOf(f.svc); got != nil {
		t.Fatalf("the new key shows the old key's failure: %+v", got)
	}
}

// TestKeyHealthPlatform: the platform's keys are tracked apart from the
// accounts'.
func TestKeyHealthPlatform(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	if _, err := f.svc.PutPlatform(ctx, "openai", rawString(openaiKeyA)); err != nil {
		t.Fatal(err)
	}
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	c, err := f.svc.PlatformCredential(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	f.svc.KeyRejected(ownkey.PlatformOwner, "openai", c, 401, "bad")
	if err := f.svc.flush(ctx); err != nil {
		t.Fatal(err)
	}
	plat, _ := f.svc.ListPlatform(ctx)
	own, _ := f.svc.List(ctx, 1)
	if plat[0].Failure == nil || own[0].Failure != nil {
		t.Fatalf("platform %+v, account %+v", plat[0].Failure, own[0].Failure)
	}
}

func TestKeyWorkedDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	f := newFixture(t, Options{})
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	c := mustCredential(t, f.svc, 1, "openai")
	if allocs := testing.AllocsPerRun(100, func() { f.svc.KeyWorked(1, "openai", c) }); allocs != 0 {
		t.Fatalf("KeyWorked allocates %.1f times", allocs)
	}
}
