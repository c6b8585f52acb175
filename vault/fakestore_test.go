package vault

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ownkey/ownkey"
)

// fakeStore is the credential half of ownkey.Store, in memory. The embedded
// nil interface makes any other method panic, so a test that strays is loud.
type fakeStore struct {
	ownkey.Store

	mu    sync.Mutex
	creds map[credentialKey]*ownkey.CredentialRecord
	// platform holds the platform's keys apart, as the real store does.
	platform map[string]*ownkey.CredentialRecord
	checks   map[uint32][]byte
	retired  map[uint32]bool
	keyLock  sync.Mutex

	credentialReads int
	touches         map[credentialKey]time.Time
	rewraps         int
	// failRewrapAfter > 0 makes every RewrapCredential after that many
	// successful ones fail, like a database going away mid-rotation.
	failRewrapAfter int
	// beforeRewrap runs (without the lock) before each compare-and-swap.
	beforeRewrap func(r *ownkey.CredentialRecord)
	touchErr     error
	// failureWrites counts SetCredentialFailure calls.
	failureWrites int
	// afterCredentialRead runs (without the lock) after Credential read
	// its row and before it returns it.
	afterCredentialRead func()
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		creds:    map[credentialKey]*ownkey.CredentialRecord{},
		platform: map[string]*ownkey.CredentialRecord{},
		checks:   map[uint32][]byte{},
		retired:  map[uint32]bool{},
		touches:  map[credentialKey]time.Time{},
	}
}

func copyRecord(r *ownkey.CredentialRecord) *ownkey.CredentialRecord {
	c := *r
	c.Sealed = bytes.Clone(r.Sealed)
	if r.LastUsedAt != nil {
		t := *r.LastUsedAt
		c.LastUsedAt = &t
	}
	return &c
}

func notFound() error { return ownkey.Errorf(ownkey.ENOTFOUND, "credential not found") }

func (f *fakeStore) PutCredential(_ context.Context, r *ownkey.CredentialRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.retired[r.KeyVersion] {
		return ownkey.ErrKeyVersionRetired
	}
	k := credentialKey{r.AccountID, r.Provider}
	c := copyRecord(r)
	if old, ok := f.creds[k]; ok {
		c.CreatedAt = old.CreatedAt
		c.LastUsedAt = old.LastUsedAt
	}
	c.Failure = nil
	f.creds[k] = c
	return nil
}

func (f *fakeStore) SetCredentialFailure(_ context.Context, owner int64, provider, suffix string, kf *ownkey.KeyFailure) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failureWrites++
	r, ok := f.creds[credentialKey{owner, provider}]
	if owner == ownkey.PlatformOwner {
		r, ok = f.platform[provider]
	}
	if !ok || r.Suffix != suffix || kf != nil && r.UpdatedAt.After(kf.At) {
		return notFound()
	}
	r.Failure = kf
	return nil
}

func (f *fakeStore) Credential(_ context.Context, accountID int64, provider string) (*ownkey.CredentialRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.credentialReads++
	r, ok := f.creds[credentialKey{accountID, provider}]
	var out *ownkey.CredentialRecord
	if ok {
		out = copyRecord(r)
	}
	hook := f.afterCredentialRead
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	f.mu.Lock()
	if !ok {
		return nil, notFound()
	}
	return out, nil
}

func (f *fakeStore) Credentials(_ context.Context, accountID int64) ([]*ownkey.CredentialRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*ownkey.CredentialRecord
	for k, r := range f.creds {
		if k.accountID == accountID {
			out = append(out, copyRecord(r))
		}
	}
	return out, nil
}

func (f *fakeStore) DeleteCredential(_ context.Context, accountID int64, provider string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := credentialKey{accountID, provider}
	if _, ok := f.creds[k]; !ok {
		return notFound()
	}
	delete(f.creds, k)
	return nil
}

func (f *fakeStore) TouchCredential(_ context.Context, accountID int64, provider string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.touchErr != nil {
		return f.touchErr
	}
	k := credentialKey{accountID, provider}
	r, ok := f.creds[k]
	if !ok {
		return notFound()
	}
	f.touches[k] = at
	r.LastUsedAt = &at
	return nil
}

func (f *fakeStore) CredentialsNotAtVersion(_ context.Context, version uint32, limit int) ([]*ownkey.CredentialRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := slices.SortedFunc(maps.Keys(f.creds), func(a, b credentialKey) int {
		return cmp.Or(cmp.Compare(a.accountID, b.accountID), cmp.Compare(a.provider, b.provider))
	})
	var out []*ownkey.CredentialRecord
	for _, p := range slices.Sorted(maps.Keys(f.platform)) {
		if r := f.platform[p]; r.KeyVersion != version && len(out) < limit {
			out = append(out, copyRecord(r))
		}
	}
	for _, k := range keys {
		if r := f.creds[k]; r.KeyVersion != version && len(out) < limit {
			out = append(out, copyRecord(r))
		}
	}
	return out, nil
}

func (f *fakeStore) RewrapCredential(_ context.Context, r *ownkey.CredentialRecord, oldVersion uint32, oldSealed []byte) (bool, error) {
	if f.beforeRewrap != nil {
		f.beforeRewrap(r)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failRewrapAfter > 0 && f.rewraps >= f.failRewrapAfter {
		return false, errors.New("fake store: connection lost")
	}
	cur, ok := f.creds[credentialKey{r.AccountID, r.Provider}]
	if r.AccountID == ownkey.PlatformOwner {
		cur, ok = f.platform[r.Provider]
	}
	if !ok || cur.KeyVersion != oldVersion || !bytes.Equal(cur.Sealed, oldSealed) {
		return false, nil
	}
	cur.KeyVersion = r.KeyVersion
	cur.Sealed = bytes.Clone(r.Sealed)
	f.rewraps++
	return true, nil
}

func (f *fakeStore) CredentialKeyVersions(context.Context) ([]uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[uint32]bool{}
	for _, r := range f.creds {
		seen[r.KeyVersion] = true
	}
	for _, r := range f.platform {
		seen[r.KeyVersion] = true
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

func (f *fakeStore) PutPlatformCredential(_ context.Context, r *ownkey.CredentialRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.AccountID != ownkey.PlatformOwner {
		return ownkey.Errorf(ownkey.EINVALID, "not the platform's")
	}
	if f.retired[r.KeyVersion] {
		return ownkey.ErrKeyVersionRetired
	}
	c := copyRecord(r)
	if old, ok := f.platform[r.Provider]; ok {
		c.CreatedAt = old.CreatedAt
		c.LastUsedAt = old.LastUsedAt
	}
	c.Failure = nil
	f.platform[r.Provider] = c
	return nil
}

func (f *fakeStore) PlatformCredential(_ context.Context, provider string) (*ownkey.CredentialRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.credentialReads++
	r, ok := f.platform[provider]
	if !ok {
		return nil, notFound()
	}
	return copyRecord(r), nil
}

func (f *fakeStore) PlatformCredentials(context.Context) ([]*ownkey.CredentialRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*ownkey.CredentialRecord
	for _, p := range slices.Sorted(maps.Keys(f.platform)) {
		out = append(out, copyRecord(f.platform[p]))
	}
	return out, nil
}

func (f *fakeStore) DeletePlatformCredential(_ context.Context, provider string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.platform[provider]; !ok {
		return notFound()
	}
	delete(f.platform, provider)
	return nil
}

func (f *fakeStore) TouchPlatformCredential(_ context.Context, provider string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.platform[provider]
	if !ok {
		return notFound()
	}
	f.touches[credentialKey{ownkey.PlatformOwner, provider}] = at
	r.LastUsedAt = &at
	return nil
}

func (f *fakeStore) MasterKeyChecks(context.Context) (map[uint32]ownkey.MasterKeyCheck, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[uint32]ownkey.MasterKeyCheck{}
	for v, c := range f.checks {
		out[v] = ownkey.MasterKeyCheck{Check: bytes.Clone(c), Retired: f.retired[v]}
	}
	return out, nil
}

func (f *fakeStore) PutMasterKeyChecks(_ context.Context, checks map[uint32][]byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for v, c := range checks {
		if old, ok := f.checks[v]; ok && !bytes.Equal(old, c) {
			return ownkey.Errorf(ownkey.ECONFLICT, "master key version %d is not the key whose check value the database recorded", v)
		}
	}
	for v, c := range checks {
		if _, ok := f.checks[v]; !ok {
			f.checks[v] = bytes.Clone(c)
		}
	}
	return nil
}

func (f *fakeStore) RetireMasterKey(_ context.Context, version uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.checks[version]; !ok {
		return ownkey.Errorf(ownkey.ENOTFOUND, "master key version not found")
	}
	f.retired[version] = true
	return nil
}

func (f *fakeStore) LockMasterKeys(context.Context) (func(), error) {
	f.keyLock.Lock()
	return f.keyLock.Unlock, nil
}

func (f *fakeStore) record(accountID int64, provider string) *ownkey.CredentialRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.creds[credentialKey{accountID, provider}]; ok {
		return copyRecord(r)
	}
	return nil
}

func (f *fakeStore) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.creds)
}

func (f *fakeStore) reads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.credentialReads
}
