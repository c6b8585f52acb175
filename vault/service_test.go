package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
)

// testClock is a settable clock shared by a service and its test.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	store *fakeStore
	kr    *Keyring
	svc   *Service
	clock *testClock
	logs  *bytes.Buffer
}

// newFixture builds a service on a fresh fake store. The flush loop is
// effectively off (an hour) unless a test asks for another interval.
func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	f := &fixture{store: newFakeStore(), kr: GenerateKeyring(), clock: newTestClock(), logs: &bytes.Buffer{}}
	f.svc = f.service(t, f.kr, opts)
	// As a server does at start: records v1, which then seals.
	if err := f.svc.VerifyKeyring(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

// service starts another service on the fixture's store, e.g. another
// replica, or a process holding a different keyring.
func (f *fixture) service(t *testing.T, kr *Keyring, opts Options) *Service {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(&lockedWriter{w: f.logs}, nil))
	}
	s := newService(f.store, kr, opts, f.clock.Now, time.Hour)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func rawString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

const (
	openaiKeyA = "sk-proj-AccountA-0000000000000000000000001111"
	openaiKeyB = "sk-proj-AccountB-0000000000000000000000002222"
	awsSecret  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYCANARYKEY"
)

var awsRaw = json.RawMessage(`{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"` + awsSecret + `","region":"eu-west-1"}`)

func mustPut(t *testing.T, s *Service, accountID int64, provider string, raw json.RawMessage) *ownkey.KeyStatus {
	t.Helper()
	st, err := s.Put(context.Background(), accountID, provider, raw)
	if err != nil {
		t.Fatalf("Put(%d, %s): %v", accountID, provider, err)
	}
	return st
}

func mustCredential(t *testing.T, s *Service, accountID int64, provider string) *ownkey.Credential {
	t.Helper()
	c, err := s.Credential(context.Background(), accountID, provider)
	if err != nil {
		t.Fatalf("Credential(%d, %s): %v", accountID, provider, err)
	}
	return c
}

func wantCode(t *testing.T, err error, code, param string) {
	t.Helper()
	var e *ownkey.Error
	if !errors.As(err, &e) || e.Code != code || e.Param != param {
		t.Fatalf("error %v, want code %q param %q", err, code, param)
	}
}

func TestPutAndCredentialRoundTrip(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()

	st := mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	if st.Status != ownkey.StatusConfigured || st.Suffix != "1111" || st.Provider.ID != "openai" || st.CreatedAt == nil || !st.CreatedAt.Equal(f.clock.Now()) {
		t.Fatalf("status %+v", st)
	}
	rec := f.store.record(1, "openai")
	if rec.KeyVersion != 1 || rec.Suffix != "1111" || bytes.Contains(rec.Sealed, []byte(openaiKeyA)) {
		t.Fatalf("stored record: version %d suffix %q, plaintext visible: %v", rec.KeyVersion, rec.Suffix, bytes.Contains(rec.Sealed, []byte(openaiKeyA)))
	}
	if pt, err := f.kr.Open(1, "openai", rec.KeyVersion, rec.Sealed); err != nil || string(pt) != openaiKeyA {
		t.Fatalf("stored blob opens to %q, %v", pt, err)
	}
	if c := mustCredential(t, f.svc, 1, "openai"); c.Provider != "openai" || c.APIKey.Reveal() != openaiKeyA {
		t.Fatalf("credential %q for %s", c.APIKey.Reveal(), c.Provider)
	}

	mustPut(t, f.svc, 1, "aws", awsRaw)
	c := mustCredential(t, f.svc, 1, "aws")
	if c.AccessKeyID.Reveal() != "AKIAIOSFODNN7EXAMPLE" || c.SecretAccessKey.Reveal() != awsSecret || c.Region != "eu-west-1" || c.Suffix() != "YKEY" {
		t.Fatalf("aws credential: %s %s", c.AccessKeyID.Reveal(), c.Region)
	}

	// Replacing keeps the creation time and moves the update time.
	created := f.store.record(1, "openai").CreatedAt
	f.clock.Advance(time.Hour)
	st = mustPut(t, f.svc, 1, "openai", rawString(openaiKeyB))
	if !st.CreatedAt.Equal(created) || !st.UpdatedAt.Equal(f.clock.Now()) || st.Suffix != "2222" {
		t.Fatalf("replace: created %v updated %v suffix %s", st.CreatedAt, st.UpdatedAt, st.Suffix)
	}
	if c := mustCredential(t, f.svc, 1, "openai"); c.APIKey.Reveal() != openaiKeyB {
		t.Fatal("credential not replaced")
	}
	if err := f.svc.Delete(ctx, 1, "openai"); err != nil {
		t.Fatal(err)
	}
	if f.store.record(1, "openai") != nil {
		t.Fatal("Delete left the record")
	}
	wantCode(t, f.svc.Delete(ctx, 1, "openai"), ownkey.ENOTFOUND, "")
}

func TestPutRejectsAndStoresNothing(t *testing.T) {
	f := newFixture(t, Options{Disabled: map[string]bool{"groq": true}})
	pastedKey := "sk-PastedIntoTheProviderField_0123456789"
	tests := []struct {
		name, provider string
		raw            json.RawMessage
		param, msg     string
	}{
		{"unknown provider", "nope", rawString(openaiKeyA), "provider", `unknown provider "nope"`},
		{"key pasted as provider", pastedKey, rawString(openaiKeyA), "provider", "unknown provider"},
		{"empty provider", "", rawString(openaiKeyA), "provider", "provider is required"},
		{"disabled provider", "groq", rawString("gsk_0123456789abcdef"), "provider", "provider groq is disabled by the operator"},
		{"missing key", "openai", nil, "key", "required"},
		{"too short", "openai", rawString("sk-1"), "key", "too short"},
		{"inner space", "openai", rawString("sk-abc def-0123456789"), "key", "spaces"},
		{"number", "openai", json.RawMessage(`12345678901`), "key", "string"},
		{"aws missing field", "aws", json.RawMessage(`{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","region":"us-east-1"}`), "key.secretAccessKey", "missing"},
		{"aws unknown field", "aws", json.RawMessage(`{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"` + awsSecret + `","region":"us-east-1","extra":"` + awsSecret + `"}`), "key.extra", "unknown field"},
		{"azure private endpoint", "azure", json.RawMessage(`{"endpoint":"http://10.0.0.5","apiKey":"` + awsSecret + `","deploymentName":"gpt","apiVersion":"2024-10-21"}`), "key.endpoint", "private"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := f.svc.Put(context.Background(), 1, tt.provider, tt.raw)
			if st != nil {
				t.Fatalf("returned a status: %+v", st)
			}
			wantCode(t, err, ownkey.EINVALID, tt.param)
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q does not say %q", err, tt.msg)
			}
			for _, secret := range []string{pastedKey, openaiKeyA, awsSecret, "sk-abc def"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error echoes %q: %v", secret, err)
				}
			}
			if n := f.store.count(); n != 0 {
				t.Fatalf("%d credentials stored after a rejected Put", n)
			}
		})
	}

	// A rejected replacement leaves the existing key alone.
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	if _, err := f.svc.Put(context.Background(), 1, "openai", rawString("short")); err == nil {
		t.Fatal("accepted a short key")
	}
	if c := mustCredential(t, f.svc, 1, "openai"); c.APIKey.Reveal() != openaiKeyA {
		t.Fatal("a rejected Put changed the stored key")
	}
}

func TestAccountsAreIsolated(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	mustPut(t, f.svc, 1, "anthropic", rawString("sk-ant-only-account-one"))
	mustPut(t, f.svc, 2, "openai", rawString(openaiKeyB))

	if c := mustCredential(t, f.svc, 2, "openai"); c.APIKey.Reveal() != openaiKeyB {
		t.Fatal("account 2 got someone else's openai key")
	}
	_, err := f.svc.Credential(ctx, 2, "anthropic")
	wantCode(t, err, ownkey.ENOTFOUND, "")
	list, err := f.svc.List(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range list {
		want := ownkey.StatusNotConfigured
		if st.Provider.ID == "openai" {
			want = ownkey.StatusConfigured
		}
		if st.Status != want {
			t.Fatalf("account 2 sees %s as %s", st.Provider.ID, st.Status)
		}
		if st.Provider.ID == "openai" && st.Suffix != "2222" {
			t.Fatalf("account 2 sees suffix %s", st.Suffix)
		}
	}
	wantCode(t, f.svc.Delete(ctx, 2, "anthropic"), ownkey.ENOTFOUND, "")
	if err := f.svc.Delete(ctx, 2, "openai"); err != nil {
		t.Fatal(err)
	}
	if c := mustCredential(t, f.svc, 1, "openai"); c.APIKey.Reveal() != openaiKeyA {
		t.Fatal("account 2's delete touched account 1")
	}
	mustCredential(t, f.svc, 1, "anthropic")

	// A sealed blob copied into another account's row does not open.
	f.store.mu.Lock()
	stolen := copyRecord(f.store.creds[credentialKey{1, "openai"}])
	stolen.AccountID = 2
	f.store.creds[credentialKey{2, "openai"}] = stolen
	stolenForProvider := copyRecord(f.store.creds[credentialKey{1, "openai"}])
	stolenForProvider.Provider = "together"
	f.store.creds[credentialKey{1, "together"}] = stolenForProvider
	f.store.mu.Unlock()
	if c, err := f.svc.Credential(ctx, 2, "openai"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("copied row: %v, %v", c, err)
	}
	if c, err := f.svc.Credential(ctx, 1, "together"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("row copied to another provider: %v, %v", c, err)
	}
}

func TestListStatuses(t *testing.T) {
	f := newFixture(t, Options{Disabled: map[string]bool{"anthropic": true, "kagi": true}})
	other := f.service(t, f.kr, Options{})
	mustPut(t, f.svc, 5, "openai", rawString(openaiKeyA))
	// Put through a replica that has not disabled anthropic.
	mustPut(t, other, 5, "anthropic", rawString("sk-ant-api03-xyzw"))

	list, err := f.svc.List(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(ownkey.Catalog) {
		t.Fatalf("%d entries, want %d", len(list), len(ownkey.Catalog))
	}
	for i, st := range list {
		p := &ownkey.Catalog[i]
		if st.Provider != p {
			t.Fatalf("entry %d is %v, want catalog order (%s)", i, st.Provider, p.ID)
		}
		want := map[string]string{"openai": ownkey.StatusConfigured, "anthropic": ownkey.StatusDisabled, "kagi": ownkey.StatusDisabled}[p.ID]
		if want == "" {
			want = ownkey.StatusNotConfigured
		}
		if st.Status != want {
			t.Fatalf("%s is %s, want %s", p.ID, st.Status, want)
		}
	}
	if list[0].Suffix != "1111" || list[0].CreatedAt == nil || list[0].UpdatedAt == nil || list[0].LastUsedAt != nil {
		t.Fatalf("openai entry %+v", list[0])
	}
	if list[2].Provider.ID != "anthropic" || list[2].Suffix != "xyzw" {
		t.Fatalf("a disabled provider should still show its key: %+v", list[2])
	}
	if list[1].Suffix != "" || list[1].CreatedAt != nil {
		t.Fatalf("an unconfigured provider shows details: %+v", list[1])
	}
	if !f.svc.Disabled("kagi") || f.svc.Disabled("openai") {
		t.Fatal("Disabled disagrees with the options")
	}
	// Disabled: not handed out, cannot be set, can be deleted.
	_, err = f.svc.Credential(context.Background(), 5, "anthropic")
	wantCode(t, err, ownkey.EUNAVAILABLE, "")
	if err := f.svc.Delete(context.Background(), 5, "anthropic"); err != nil {
		t.Fatalf("deleting a disabled provider's key: %v", err)
	}
	_, err = f.svc.Credential(context.Background(), 5, "nope")
	wantCode(t, err, ownkey.EINVALID, "provider")
	wantCode(t, f.svc.Delete(context.Background(), 5, "nope"), ownkey.EINVALID, "provider")
}

func TestCredentialCache(t *testing.T) {
	f := newFixture(t, Options{CacheTTL: time.Minute})
	ctx := context.Background()
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))

	reads := f.store.reads()
	first := mustCredential(t, f.svc, 1, "openai")
	second := mustCredential(t, f.svc, 1, "openai")
	if first != second || f.store.reads() != reads+1 {
		t.Fatalf("warm lookup read the store again (%d reads)", f.store.reads()-reads)
	}

	// Another replica replaces the key: this one serves the cached key until
	// the TTL runs out.
	replica := f.service(t, f.kr, Options{})
	mustPut(t, replica, 1, "openai", rawString(openaiKeyB))
	if c := mustCredential(t, f.svc, 1, "openai"); c.APIKey.Reveal() != openaiKeyA {
		t.Fatal("cache not used within the TTL")
	}
	f.clock.Advance(time.Minute)
	if c := mustCredential(t, f.svc, 1, "openai"); c.APIKey.Reveal() != openaiKeyB {
		t.Fatal("expired entry still served")
	}
	mustPut(t, replica, 1, "openai", rawString(openaiKeyA))
	f.svc.Forget(1, "openai")
	if c := mustCredential(t, f.svc, 1, "openai"); c.APIKey.Reveal() != openaiKeyA {
		t.Fatal("Forget did not drop the cached entry")
	}

	// Local writes invalidate at once.
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	if c := mustCredential(t, f.svc, 1, "openai"); c.APIKey.Reveal() != openaiKeyA {
		t.Fatal("Put did not invalidate the cache")
	}
	if err := f.svc.Delete(ctx, 1, "openai"); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Credential(ctx, 1, "openai")
	wantCode(t, err, ownkey.ENOTFOUND, "")

	// The sweep drops expired entries.
	mustPut(t, f.svc, 1, "anthropic", rawString("sk-ant-cached-key"))
	mustCredential(t, f.svc, 1, "anthropic")
	f.clock.Advance(2 * time.Minute)
	f.svc.sweepCache()
	f.svc.cacheMu.RLock()
	n := len(f.svc.cache)
	f.svc.cacheMu.RUnlock()
	if n != 0 {
		t.Fatalf("%d cache entries after the sweep", n)
	}
}

func TestCredentialNoCache(t *testing.T) {
	f := newFixture(t, Options{CacheTTL: -1})
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	reads := f.store.reads()
	for range 3 {
		mustCredential(t, f.svc, 1, "openai")
	}
	if got := f.store.reads() - reads; got != 3 {
		t.Fatalf("%d store reads for 3 lookups with the cache off", got)
	}
}

// TestCacheDoesNotKeepALoadRacingAWrite replays the interleaving where a
// lookup reads the old row, a local Put lands, and the lookup then fills the
// cache: the stale value must not be cached.
func TestCacheDoesNotKeepALoadRacingAWrite(t *testing.T) {
	f := newFixture(t, Options{CacheTTL: time.Hour})
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	var armed atomic.Bool
	f.store.afterCredentialRead = func() {
		if armed.CompareAndSwap(true, false) {
			mustPut(t, f.svc, 1, "openai", rawString(openaiKeyB))
		}
	}
	armed.Store(true)
	if c := mustCredential(t, f.svc, 1, "openai"); c.APIKey.Reveal() != openaiKeyA {
		t.Fatal("the racing lookup should return what it read")
	}
	if c := mustCredential(t, f.svc, 1, "openai"); c.APIKey.Reveal() != openaiKeyB {
		t.Fatal("the value read before the Put was cached and served after it")
	}
}

func TestMarkUsedIsFlushed(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	mustPut(t, f.svc, 1, "aws", awsRaw)

	f.clock.Advance(time.Minute)
	used := f.clock.Now()
	for range 100 {
		f.svc.MarkUsed(1, "openai")
	}
	f.svc.MarkUsed(1, "groq") // no such credential: dropped quietly on flush
	if len(f.store.touches) != 0 {
		t.Fatal("MarkUsed wrote to the store synchronously")
	}
	list, _ := f.svc.List(ctx, 1)
	if list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(used) {
		t.Fatalf("List does not show the pending use: %v", list[0].LastUsedAt)
	}

	// A failed flush keeps the time for the next one.
	f.store.mu.Lock()
	f.store.touchErr = errors.New("database is locked")
	f.store.mu.Unlock()
	if err := f.svc.flush(ctx); err == nil {
		t.Fatal("flush hid the store error")
	}
	f.store.mu.Lock()
	f.store.touchErr = nil
	f.store.mu.Unlock()

	if err := f.svc.Close(); err != nil {
		t.Fatal(err)
	}
	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	if at, ok := f.store.touches[credentialKey{1, "openai"}]; !ok || !at.Equal(used) || len(f.store.touches) != 1 {
		t.Fatalf("touches after Close: %v", f.store.touches)
	}
	if r := f.store.creds[credentialKey{1, "openai"}]; r.LastUsedAt == nil || !r.LastUsedAt.Equal(used) {
		t.Fatal("last-used time not stored")
	}
}

func TestFlushLoopRuns(t *testing.T) {
	f := newFixture(t, Options{})
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	s := newService(f.store, f.kr, Options{Logger: slog.New(slog.DiscardHandler)}, f.clock.Now, 5*time.Millisecond)
	defer s.Close()
	s.MarkUsed(1, "openai")
	// Wait for the loop, not for a deadline: the test fails only if the
	// loop never flushes.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		f.store.mu.Lock()
		_, done := f.store.touches[credentialKey{1, "openai"}]
		f.store.mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the flush loop never wrote the last-used time")
		}
	}
}

// seedCredentials stores n credentials spread over accounts and providers,
// returning their plaintexts by key.
func seedCredentials(t *testing.T, s *Service, n int) map[credentialKey]string {
	t.Helper()
	providers := []string{"openai", "anthropic", "groq", "together", "tavily"}
	want := map[credentialKey]string{}
	for i := range n {
		account := int64(i/len(providers) + 1)
		p := providers[i%len(providers)]
		key := fmt.Sprintf("sk-seeded-%04d-%s-abcdefgh", i, p)
		mustPut(t, s, account, p, rawString(key))
		want[credentialKey{account, p}] = key
	}
	return want
}

func assertAllReadable(t *testing.T, f *fixture, kr *Keyring, want map[credentialKey]string) {
	t.Helper()
	s := f.service(t, kr, Options{CacheTTL: -1})
	for k, key := range want {
		c, err := s.Credential(context.Background(), k.accountID, k.provider)
		if err != nil || c.APIKey.Reveal() != key {
			t.Fatalf("credential %v unreadable: %v", k, err)
		}
	}
}

func versionCounts(f *fixture) map[uint32]int {
	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	m := map[uint32]int{}
	for _, r := range f.store.creds {
		m[r.KeyVersion]++
	}
	return m
}

func TestRotate(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	if err := f.svc.VerifyKeyring(ctx); err != nil {
		t.Fatal(err)
	}
	want := seedCredentials(t, f.svc, 250)
	before := map[credentialKey][]byte{}
	for k := range want {
		before[k] = f.store.record(k.accountID, k.provider).Sealed
	}
	if _, err := f.kr.AddVersion(); err != nil {
		t.Fatal(err)
	}
	var lastDone, lastTotal, calls int
	n, err := f.svc.Rotate(ctx, func(done, total int) { lastDone, lastTotal, calls = done, total, calls+1 })
	if err != nil || n != 250 {
		t.Fatalf("Rotate = %d, %v", n, err)
	}
	if lastDone != 250 || lastTotal != 250 || calls != 250 {
		t.Fatalf("progress ended at %d/%d after %d calls", lastDone, lastTotal, calls)
	}
	if c := versionCounts(f); c[2] != 250 || len(c) != 1 {
		t.Fatalf("versions after rotation: %v", c)
	}
	for k, old := range before {
		if got := f.store.record(k.accountID, k.provider).Sealed; !bytes.Equal(got[65:], old[65:]) {
			t.Fatalf("%v: data ciphertext changed by rotation", k)
		}
	}
	// The new version's check value is recorded, so the next start can verify it.
	if _, ok := f.store.checks[2]; !ok {
		t.Fatal("rotation did not record the check value of v2")
	}
	// v1 can go now.
	only2 := mustParse(t, f.kr.Encode())
	only2.Remove(1)
	assertAllReadable(t, f, only2, want)
	if n, err := f.svc.Rotate(ctx, nil); n != 0 || err != nil {
		t.Fatalf("second Rotate = %d, %v", n, err)
	}
}

func TestRotateInterruptedByStoreFailure(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	want := seedCredentials(t, f.svc, 250)
	if _, err := f.kr.AddVersion(); err != nil {
		t.Fatal(err)
	}
	f.store.failRewrapAfter = 70
	n, err := f.svc.Rotate(ctx, nil)
	if err == nil || n != 70 || !strings.Contains(err.Error(), "connection lost") {
		t.Fatalf("interrupted Rotate = %d, %v", n, err)
	}
	if c := versionCounts(f); c[1] != 180 || c[2] != 70 {
		t.Fatalf("versions after interruption: %v", c)
	}
	assertAllReadable(t, f, f.kr, want)
	// A process that started before the rotation still reads everything.
	f.store.failRewrapAfter = 0
	n, err = f.svc.Rotate(ctx, nil)
	if err != nil || n != 180 {
		t.Fatalf("resumed Rotate = %d, %v", n, err)
	}
	if c := versionCounts(f); c[2] != 250 {
		t.Fatalf("versions after resuming: %v", c)
	}
	assertAllReadable(t, f, f.kr, want)
}

func TestRotateInterruptedByCancel(t *testing.T) {
	f := newFixture(t, Options{})
	want := seedCredentials(t, f.svc, 120)
	if _, err := f.kr.AddVersion(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err := f.svc.Rotate(ctx, func(done, _ int) {
		if done == 30 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || n != 30 {
		t.Fatalf("cancelled Rotate = %d, %v", n, err)
	}
	assertAllReadable(t, f, f.kr, want)
	if n, err := f.svc.Rotate(context.Background(), nil); err != nil || n != 90 {
		t.Fatalf("resumed Rotate = %d, %v", n, err)
	}
	assertAllReadable(t, f, f.kr, want)
}

func TestRotateRacingUserWrites(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	want := seedCredentials(t, f.svc, 10)
	// A replica that started with only v1 serves users during rotation; it
	// re-reads its keyring when it meets v2 in the database.
	old := f.service(t, mustParse(t, f.kr.Encode()), Options{
		Reload: func() (*Keyring, error) { return mustParse(t, f.kr.Encode()), nil },
	})
	if _, err := f.kr.AddVersion(); err != nil {
		t.Fatal(err)
	}
	replaced, deleted := credentialKey{1, "anthropic"}, credentialKey{1, "groq"}
	const newKey = "sk-ant-replaced-during-rotation"
	var once sync.Once
	f.store.beforeRewrap = func(r *ownkey.CredentialRecord) {
		once.Do(func() {
			mustPut(t, old, replaced.accountID, replaced.provider, rawString(newKey))
			if err := old.Delete(ctx, deleted.accountID, deleted.provider); err != nil {
				t.Error(err)
			}
		})
	}
	n, err := f.svc.Rotate(ctx, nil)
	if err != nil || n != 8 {
		t.Fatalf("Rotate = %d, %v (want 8: one deleted under it, one replaced under v2)", n, err)
	}
	rec := f.store.record(replaced.accountID, replaced.provider)
	if rec.KeyVersion != 2 {
		t.Fatalf("replaced row left at v%d", rec.KeyVersion)
	}
	delete(want, deleted)
	want[replaced] = newKey
	assertAllReadable(t, f, f.kr, want)
	if f.store.record(deleted.accountID, deleted.provider) != nil {
		t.Fatal("rotation resurrected a deleted credential")
	}
}

func TestVerifyKeyring(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	if err := f.svc.VerifyKeyring(ctx); err != nil {
		t.Fatal(err)
	}
	want, _ := f.kr.Check(1)
	if !bytes.Equal(f.store.checks[1], want) {
		t.Fatal("first start did not record v1's check value")
	}
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	if err := f.svc.VerifyKeyring(ctx); err != nil {
		t.Fatalf("the right key: %v", err)
	}

	wrongKey := []byte("ownkey-canary-WRONG-master-key!!")
	wrong := f.service(t, mustParse(t, "v1:"+b64(wrongKey)), Options{})
	err := wrong.VerifyKeyring(ctx)
	if err == nil || !strings.Contains(err.Error(), "master key version 1 does not match the key that sealed the stored credentials") {
		t.Fatalf("wrong key: %v", err)
	}
	assertNoKey(t, "verify error", err.Error(), wrongKey)

	// v1 missing: the credentials sealed by it would be lost.
	next := mustParse(t, "v2:"+b64(canaryKey))
	err = f.service(t, next, Options{}).VerifyKeyring(ctx)
	if err == nil || !strings.Contains(err.Error(), "v1") || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing version: %v", err)
	}
	assertNoKey(t, "verify error", err.Error(), canaryKey)
	if _, ok := f.store.checks[2]; ok {
		t.Fatal("a failed verification recorded a check value")
	}

	// Both versions: passes and records v2.
	both := mustParse(t, f.kr.Encode()+",v2:"+b64(canaryKey))
	if err := f.service(t, both, Options{}).VerifyKeyring(ctx); err != nil {
		t.Fatal(err)
	}
	if want, _ := both.Check(2); !bytes.Equal(f.store.checks[2], want) {
		t.Fatal("v2's check value not recorded")
	}
	// And a different v2 is now caught.
	err = f.service(t, mustParse(t, f.kr.Encode()+",v2:"+b64(wrongKey)), Options{}).VerifyKeyring(ctx)
	if err == nil || !strings.Contains(err.Error(), "version 2 does not match") {
		t.Fatalf("wrong v2: %v", err)
	}
	// Rotation refuses to start on a keyring that does not verify.
	if _, err := wrong.Rotate(ctx, nil); err == nil {
		t.Fatal("Rotate ran with a wrong key")
	}
}

func TestReloadFindsNewVersion(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	oldRing := mustParse(t, f.kr.Encode())
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	// rotate-master-key runs in another process, then this one needs v2.
	if _, err := f.kr.AddVersion(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Rotate(ctx, nil); err != nil {
		t.Fatal(err)
	}

	stale := f.service(t, oldRing, Options{CacheTTL: -1})
	if _, err := stale.Credential(ctx, 1, "openai"); !errors.Is(err, ErrUnknownKeyVersion) {
		t.Fatalf("without Reload: %v", err)
	}

	reloads := 0
	newRing := mustParse(t, f.kr.Encode())
	reloading := f.service(t, mustParse(t, oldRing.Encode()), Options{
		CacheTTL: -1,
		Reload:   func() (*Keyring, error) { reloads++; return newRing, nil },
	})
	if c := mustCredential(t, reloading, 1, "openai"); c.APIKey.Reveal() != openaiKeyA {
		t.Fatal("wrong key after reload")
	}
	mustCredential(t, reloading, 1, "openai")
	if reloads != 1 || reloading.Keyring() != newRing || reloading.Keyring().Active() != 2 {
		t.Fatalf("reloads %d, keyring %v", reloads, reloading.Keyring())
	}
	// New keys are sealed by the reloaded active version.
	mustPut(t, reloading, 1, "groq", rawString("gsk_after_reload_123"))
	if v := f.store.record(1, "groq").KeyVersion; v != 2 {
		t.Fatalf("sealed by v%d after reload", v)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	kr := mustParse(t, "v1:"+b64(canaryKey))
	f.store.checks = map[uint32][]byte{} // this test's keyring replaces the fixture's
	svc := f.service(t, kr, Options{})
	if err := svc.VerifyKeyring(ctx); err != nil {
		t.Fatal(err)
	}
	const canary = "sk-CANARY-provider-secret-0123456789"
	mustPut(t, svc, 1, "openai", rawString(canary))
	mustPut(t, svc, 1, "azure", json.RawMessage(`{"endpoint":"https://example.openai.azure.com","apiKey":"`+canary+`","deploymentName":"gpt","apiVersion":"2024-10-21"}`))
	cred := mustCredential(t, svc, 1, "openai")
	azure := mustCredential(t, svc, 1, "azure")
	list, _ := svc.List(ctx, 1)

	var out bytes.Buffer
	fmt.Fprintf(&out, "%v %+v %#v %v %+v %#v %s %v %+v %#v", cred, cred, cred, *azure, azure, *azure, kr, kr, kr, list)
	logger := slog.New(slog.NewJSONHandler(&out, nil))
	logger.Info("credential", "cred", cred, "azure", azure, "keyring", kr, "statuses", list)
	js, _ := json.Marshal(map[string]any{"cred": cred, "azure": azure, "list": list, "kr": kr})
	out.Write(js)
	// The service's own logs, and the errors it returns on a bad blob.
	f.store.mu.Lock()
	f.store.creds[credentialKey{1, "openai"}].Sealed[70] ^= 1
	f.store.mu.Unlock()
	_, err := f.service(t, kr, Options{}).Credential(ctx, 1, "openai")
	if err == nil {
		t.Fatal("tampered blob opened")
	}
	out.WriteString(err.Error())
	out.WriteString(f.logs.String())

	s := out.String()
	if strings.Contains(s, canary) || strings.Contains(s, canary[len(canary)-12:]) {
		t.Fatalf("provider key leaked:\n%s", s)
	}
	assertNoKey(t, "output", s, canaryKey)
	if !strings.Contains(s, ownkey.Redacted) || !strings.Contains(s, "keyring[v1 active=v1]") {
		t.Fatalf("expected redacted markers in:\n%s", s)
	}
}

func TestWarmCredentialDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	f := newFixture(t, Options{})
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	mustCredential(t, f.svc, 1, "openai")
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := f.svc.Credential(ctx, 1, "openai"); err != nil {
			t.Fatal(err)
		}
		f.svc.MarkUsed(1, "openai")
	})
	if allocs != 0 {
		t.Fatalf("warm Credential+MarkUsed allocates %.1f times per call", allocs)
	}
}

func BenchmarkCredentialWarm(b *testing.B) {
	store := newFakeStore()
	s := NewService(store, GenerateKeyring(), Options{Logger: slog.New(slog.DiscardHandler)})
	defer s.Close()
	if _, err := s.Put(context.Background(), 1, "openai", rawString(openaiKeyA)); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Credential(ctx, 1, "openai"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestConfiguredSet(t *testing.T) {
	f := newFixture(t, Options{CacheTTL: time.Minute, Disabled: map[string]bool{"together": true}})
	ctx := context.Background()
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	mustPut(t, f.svc, 2, "groq", rawString(openaiKeyB))
	set, err := f.svc.Configured(ctx, 1)
	if err != nil || len(set) != 1 || !set["openai"] {
		t.Fatalf("account 1: %v %v", set, err)
	}
	// A local put or delete shows at once; the set of account 2 is its own.
	mustPut(t, f.svc, 1, "anthropic", rawString("sk-ant-0123456789"))
	if set, _ := f.svc.Configured(ctx, 1); !set["anthropic"] || set["groq"] {
		t.Fatalf("after put: %v", set)
	}
	reads := f.store.reads()
	f.svc.Configured(ctx, 1)
	if f.store.reads() != reads {
		t.Fatal("warm Configured read the store")
	}
	if err := f.svc.Delete(ctx, 1, "openai"); err != nil {
		t.Fatal(err)
	}
	if set, _ := f.svc.Configured(ctx, 1); set["openai"] || !set["anthropic"] {
		t.Fatalf("after delete: %v", set)
	}
	// A key stored before the operator disabled its provider is not offered.
	f.store.PutCredential(ctx, &ownkey.CredentialRecord{AccountID: 1, Provider: "together", Sealed: []byte{1}, KeyVersion: 1})
	f.svc.Forget(1, "together")
	if set, _ := f.svc.Configured(ctx, 1); set["together"] {
		t.Fatal("disabled provider offered")
	}
}

// TestPutSealsWithNewestVerifiedVersion: a server whose keyring is older
// than the database seals with the database's newest verified version (after
// reloading), never its stale active one; when it cannot get that version it
// refuses to store rather than seal under a version that may be pruned.
func TestPutSealsWithNewestVerifiedVersion(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	stale := mustParse(t, f.kr.Encode())
	if _, err := f.kr.AddVersion(); err != nil {
		t.Fatal(err)
	}
	// A keyring with v2 that the database has not verified does not seal v2.
	mustPut(t, f.svc, 1, "openai", rawString(openaiKeyA))
	if v := f.store.record(1, "openai").KeyVersion; v != 1 {
		t.Fatalf("sealed by unverified v%d", v)
	}
	if err := f.svc.VerifyKeyring(ctx); err != nil { // records v2
		t.Fatal(err)
	}
	noReload := f.service(t, stale, Options{})
	_, err := noReload.Put(ctx, 1, "groq", rawString("gsk_stale_server_123"))
	if ownkey.ErrorCode(err) != ownkey.EUNAVAILABLE || !strings.Contains(err.Error(), "master key version 2") {
		t.Fatalf("Put without v2 = %v, want EUNAVAILABLE naming version 2", err)
	}
	if f.store.record(1, "groq") != nil {
		t.Fatal("a refused Put stored a row")
	}
	reloading := f.service(t, mustParse(t, stale.Encode()), Options{
		Reload: func() (*Keyring, error) { return mustParse(t, f.kr.Encode()), nil },
	})
	mustPut(t, reloading, 1, "groq", rawString("gsk_stale_server_123"))
	if v := f.store.record(1, "groq").KeyVersion; v != 2 {
		t.Fatalf("reloading server sealed with v%d, want v2", v)
	}
	// A retired version never seals, even if it is the keyring's newest.
	f.store.retired[2] = true
	mustPut(t, reloading, 1, "groq", rawString("gsk_after_retire_1234"))
	if v := f.store.record(1, "groq").KeyVersion; v != 1 {
		t.Fatalf("sealed with retired v%d", v)
	}
}
