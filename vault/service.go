package vault

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/flight"
)

const (
	defaultCacheTTL = 30 * time.Second
	// defaultFlushInterval bounds how stale a shown last-used time can be,
	// and how much of it a crash loses.
	defaultFlushInterval = 5 * time.Second
	flushTimeout         = 10 * time.Second
	rotateBatchSize      = 100
	// rewrapAttempts bounds how often rotation retries a row that users keep
	// replacing under it.
	rewrapAttempts = 5
	// sealAttempts bounds how often Put seals again after the version it
	// chose was retired under it (each retry reads the check table anew).
	sealAttempts = 3
	// minReloadInterval keeps a row naming a version that truly is missing
	// from re-reading the keyring on every request.
	minReloadInterval = time.Second
)

// Options configure a Service.
type Options struct {
	// AllowPrivate lets credential endpoints point at private addresses
	// (tests with local fakes); see ownkey.CheckEndpoint.
	AllowPrivate bool
	// Disabled holds provider ids the operator has turned off.
	Disabled map[string]bool
	// CacheTTL is how long a decrypted credential is reused: 0 means 30s,
	// negative disables the cache. Another replica's change shows up here
	// within this time.
	CacheTTL time.Duration
	// Reload, if set, re-reads the keyring when a row names a version this
	// one lacks, as happens when rotate-master-key runs while we serve.
	Reload func() (*Keyring, error)
	// Changes, if set, is told of every credential stored or deleted, so
	// that other processes drop their cached copy (see ownkey.ChangeFeed).
	Changes ownkey.ChangePublisher
	// LookupTimeout bounds a store load shared by the requests waiting for
	// it (flight.DefaultTimeout when 0).
	LookupTimeout time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Service stores, lists and hands out the provider credentials of accounts,
// encrypted at rest under the keyring.
type Service struct {
	store        ownkey.Store
	keyring      atomic.Pointer[Keyring]
	allowPrivate bool
	disabled     map[string]bool
	cacheTTL     time.Duration
	reload       func() (*Keyring, error)
	log          *slog.Logger
	now          func() time.Time

	cacheMu sync.RWMutex
	cache   map[credentialKey]cachedCredential
	// configured caches, per account, which providers have a key: routing
	// asks it on every auto-mapped request.
	configured map[int64]cachedSet
	// cacheEpoch changes (under cacheMu) on every invalidation, so that a
	// load that read the store before it does not cache what it read. It is
	// part of the single-flight keys, so that a request arriving after an
	// invalidation never shares a load that started before it.
	cacheEpoch atomic.Uint64
	// credentialLoads and configuredLoads coalesce concurrent misses.
	credentialLoads flight.Group[*ownkey.Credential]
	configuredLoads flight.Group[map[string]bool]
	changes         ownkey.ChangePublisher

	reloadMu   sync.Mutex
	lastReload time.Time

	usedMu sync.Mutex
	used   map[credentialKey]time.Time

	// health holds the keys known to be failing, and the changes of state
	// not written yet (health.go); healthy is true while it is empty.
	healthMu sync.Mutex
	health   map[credentialKey]*keyHealth
	healthy  atomic.Bool

	flushInterval time.Duration
	stop          chan struct{}
	done          chan struct{}
	closeOnce     sync.Once
	closeErr      error
}

type cachedSet struct {
	set     map[string]bool
	expires time.Time
}

type credentialKey struct {
	accountID int64
	provider  string
}

// cachedCredential is shared by every request that hits it: cred is never
// modified after it is cached.
type cachedCredential struct {
	cred    *ownkey.Credential
	expires time.Time
}

// NewService returns a Service and starts its last-used flush loop; Close
// stops it. kr must not be nil.
func NewService(store ownkey.Store, kr *Keyring, opts Options) *Service {
	return newService(store, kr, opts, func() time.Time { return ownkey.Now() }, defaultFlushInterval)
}

// newService lets tests choose the clock and the flush interval.
func newService(store ownkey.Store, kr *Keyring, opts Options, now func() time.Time, flushInterval time.Duration) *Service {
	s := &Service{
		store:         store,
		allowPrivate:  opts.AllowPrivate,
		disabled:      maps.Clone(opts.Disabled),
		cacheTTL:      opts.CacheTTL,
		reload:        opts.Reload,
		changes:       opts.Changes,
		log:           opts.Logger,
		now:           now,
		cache:         map[credentialKey]cachedCredential{},
		configured:    map[int64]cachedSet{},
		used:          map[credentialKey]time.Time{},
		health:        map[credentialKey]*keyHealth{},
		flushInterval: flushInterval,
		stop:          make(chan struct{}),
		done:          make(chan struct{}),
	}
	if s.cacheTTL == 0 {
		s.cacheTTL = defaultCacheTTL
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.changes == nil {
		s.changes = ownkey.NoChanges{}
	}
	s.credentialLoads.Timeout = opts.LookupTimeout
	s.configuredLoads.Timeout = opts.LookupTimeout
	s.keyring.Store(kr)
	s.healthy.Store(true)
	go s.flushLoop()
	return s
}

// Keyring returns the keyring in use, which Reload may have replaced.
func (s *Service) Keyring() *Keyring { return s.keyring.Load() }

var _ ownkey.CredentialService = (*Service)(nil)

// Disabled reports whether the operator has turned providerID off.
func (s *Service) Disabled(providerID string) bool { return s.disabled[providerID] }

// provider looks up a catalog entry, as the client may spell its id (any
// case); see ownkey.FindProvider.
func provider(id string) (*ownkey.Provider, error) {
	return ownkey.FindProvider("provider", id)
}

// Put validates raw as accountID's credential for providerID, encrypts it and
// stores it, replacing any previous one (whose spend caps it keeps).
// Nothing is stored on error.
func (s *Service) Put(ctx context.Context, accountID int64, providerID string, raw json.RawMessage) (*ownkey.KeyStatus, error) {
	return s.PutWithCaps(ctx, accountID, providerID, raw, ownkey.SpendCapsUpdate{})
}

// PutWithCaps is Put that also changes the key's spend caps as caps says,
// in the same transaction.
func (s *Service) PutWithCaps(ctx context.Context, accountID int64, providerID string, raw json.RawMessage, caps ownkey.SpendCapsUpdate) (*ownkey.KeyStatus, error) {
	if err := notPlatform(accountID); err != nil {
		return nil, err
	}
	return s.put(ctx, accountID, providerID, raw, caps)
}

// put is Put for an owner: an account, or ownkey.PlatformOwner (whose keys
// have no spend caps).
func (s *Service) put(ctx context.Context, accountID int64, providerID string, raw json.RawMessage, caps ownkey.SpendCapsUpdate) (*ownkey.KeyStatus, error) {
	p, err := provider(providerID)
	if err != nil {
		return nil, err
	}
	if s.disabled[p.ID] {
		return nil, ownkey.FieldError("provider", "provider %s is disabled by the operator", p.ID)
	}
	cred, err := ownkey.ParseCredential(p, raw, s.allowPrivate)
	if err != nil {
		return nil, err
	}
	plaintext := cred.Plaintext()
	defer clear(plaintext)
	now := s.now()
	rec := &ownkey.CredentialRecord{
		AccountID:  accountID,
		Provider:   p.ID,
		Suffix:     cred.Suffix(),
		CreatedAt:  now,
		UpdatedAt:  now,
		CapsUpdate: caps,
	}
	for attempt := 1; ; attempt++ {
		version, kr, err := s.sealingVersion(ctx)
		if err != nil {
			return nil, err
		}
		rec.KeyVersion = version
		if rec.Sealed, err = kr.SealWith(version, accountID, p.ID, plaintext); err != nil {
			return nil, err
		}
		err = s.putRecord(ctx, rec)
		if err == nil {
			break
		}
		// rotate-master-key --prune retired the version between our look
		// at the check table and the write: seal again under the newest.
		if !errors.Is(err, ownkey.ErrKeyVersionRetired) || attempt == sealAttempts {
			return nil, err
		}
	}
	s.forgetHealth(credentialKey{accountID, p.ID})
	s.invalidate(credentialKey{accountID, p.ID})
	// Read back: on replace the store keeps the original CreatedAt.
	if stored, err := s.storedCredential(ctx, accountID, p.ID); err == nil {
		rec = stored
	}
	st := s.status(p, rec, time.Time{})
	st.Warning = ownkey.KeyShapeWarning(p, cred)
	return &st, nil
}

// SetCaps changes the spend caps of accountID's key for providerID without
// the key being sent again; ENOTFOUND if none is stored. The new caps apply
// to the next request here at once, and on other replicas when they hear of
// the change (the cache TTL at worst), as a replaced key does.
func (s *Service) SetCaps(ctx context.Context, accountID int64, providerID string, caps ownkey.SpendCapsUpdate) (*ownkey.KeyStatus, error) {
	p, err := provider(providerID)
	if err != nil {
		return nil, err
	}
	rec, err := s.store.SetCredentialCaps(ctx, accountID, p.ID, caps)
	if ownkey.ErrorCode(err) == ownkey.ENOTFOUND {
		return nil, ownkey.Errorf(ownkey.ENOTFOUND, "no %s key is configured; store one with POST /api/user/provider-keys first", p.ID)
	} else if err != nil {
		return nil, err
	}
	s.invalidate(credentialKey{accountID, p.ID})
	st := s.status(p, rec, time.Time{})
	return &st, nil
}

// Delete removes accountID's credential for providerID; ENOTFOUND if there
// is none. Disabled providers' keys can still be deleted.
func (s *Service) Delete(ctx context.Context, accountID int64, providerID string) error {
	if err := notPlatform(accountID); err != nil {
		return err
	}
	return s.delete(ctx, accountID, providerID)
}

// delete is Delete for an owner.
func (s *Service) delete(ctx context.Context, owner int64, providerID string) error {
	p, err := provider(providerID)
	if err != nil {
		return err
	}
	k := credentialKey{owner, p.ID}
	err = s.deleteRecord(ctx, owner, p.ID)
	s.forgetHealth(k)
	s.invalidate(k)
	s.usedMu.Lock()
	delete(s.used, k)
	s.usedMu.Unlock()
	if ownkey.ErrorCode(err) == ownkey.ENOTFOUND {
		return ownkey.Errorf(ownkey.ENOTFOUND, "no %s key is configured", p.ID)
	}
	return err
}

// List returns one status per catalog provider, in catalog order.
func (s *Service) List(ctx context.Context, accountID int64) ([]ownkey.KeyStatus, error) {
	if err := notPlatform(accountID); err != nil {
		return nil, err
	}
	return s.list(ctx, accountID)
}

// list is List for an owner.
func (s *Service) list(ctx context.Context, accountID int64) ([]ownkey.KeyStatus, error) {
	recs, err := s.storedCredentials(ctx, accountID)
	if err != nil {
		return nil, err
	}
	byProvider := make(map[string]*ownkey.CredentialRecord, len(recs))
	for _, r := range recs {
		if r.AccountID == accountID {
			byProvider[r.Provider] = r
		}
	}
	out := make([]ownkey.KeyStatus, len(ownkey.Catalog))
	s.usedMu.Lock()
	pending := make([]time.Time, len(ownkey.Catalog))
	for i := range ownkey.Catalog {
		pending[i] = s.used[credentialKey{accountID, ownkey.Catalog[i].ID}]
	}
	s.usedMu.Unlock()
	for i := range ownkey.Catalog {
		p := &ownkey.Catalog[i]
		rec := byProvider[p.ID]
		if rec != nil {
			// A change of state not written yet is shown as it is.
			if f, ok := s.pendingFailure(credentialKey{accountID, p.ID}, rec.Suffix); ok {
				r := *rec
				r.Failure = f
				rec = &r
			}
		}
		out[i] = s.status(p, rec, pending[i])
	}
	return out, nil
}

// status describes rec (nil when there is none); pendingUse is a use not yet
// flushed to the store.
func (s *Service) status(p *ownkey.Provider, rec *ownkey.CredentialRecord, pendingUse time.Time) ownkey.KeyStatus {
	st := ownkey.KeyStatus{Provider: p, Status: ownkey.StatusNotConfigured}
	if rec != nil {
		st.Status = ownkey.StatusConfigured
		st.Suffix = rec.Suffix
		st.Caps = rec.Caps
		st.Failure = rec.Failure
		st.CreatedAt = timePtr(rec.CreatedAt)
		st.UpdatedAt = timePtr(rec.UpdatedAt)
		if rec.LastUsedAt != nil {
			st.LastUsedAt = timePtr(*rec.LastUsedAt)
		}
		if !pendingUse.IsZero() && (st.LastUsedAt == nil || pendingUse.After(*st.LastUsedAt)) {
			st.LastUsedAt = timePtr(pendingUse)
		}
	}
	if s.disabled[p.ID] {
		st.Status = ownkey.StatusDisabled
	}
	return st
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Credential returns accountID's decrypted credential for providerID:
// ENOTFOUND when there is none, EUNAVAILABLE when the operator disabled the
// provider. The result is shared with other callers and must not be changed.
func (s *Service) Credential(ctx context.Context, accountID int64, providerID string) (*ownkey.Credential, error) {
	if err := notPlatform(accountID); err != nil {
		return nil, err
	}
	return s.credential(ctx, credentialKey{accountID, providerID})
}

// credential is Credential for an owner's key.
func (s *Service) credential(ctx context.Context, k credentialKey) (*ownkey.Credential, error) {
	providerID := k.provider
	if s.disabled[providerID] {
		return nil, ownkey.Errorf(ownkey.EUNAVAILABLE, "provider %s is disabled by the operator", providerID)
	}
	if c, ok := s.fromCache(k); ok {
		return c, nil
	}
	epoch := s.cacheEpoch.Load()
	flightKey := strconv.AppendInt(nil, k.accountID, 10)
	flightKey = append(flightKey, '/')
	flightKey = append(flightKey, k.provider...)
	flightKey = append(flightKey, '/')
	flightKey = strconv.AppendUint(flightKey, epoch, 10)
	return s.credentialLoads.Do(ctx, string(flightKey), func(ctx context.Context) (*ownkey.Credential, error) {
		// A caller that missed just before the previous load filled
		// the cache finds it here instead of querying again.
		if c, ok := s.fromCache(k); ok {
			return c, nil
		}
		return s.loadCredential(ctx, k, epoch)
	})
}

// fromCache returns the cached credential for k unless it expired. Whatever
// the cache holds is current: invalidations delete entries, and a load
// caches nothing once one happened while it ran.
func (s *Service) fromCache(k credentialKey) (*ownkey.Credential, bool) {
	if s.cacheTTL <= 0 {
		return nil, false
	}
	s.cacheMu.RLock()
	c, ok := s.cache[k]
	s.cacheMu.RUnlock()
	if ok && s.now().Before(c.expires) {
		return c.cred, true
	}
	return nil, false
}

// loadCredential reads and opens a credential, and caches it unless the
// cache was invalidated since epoch.
func (s *Service) loadCredential(ctx context.Context, k credentialKey, epoch uint64) (*ownkey.Credential, error) {
	p, err := provider(k.provider)
	if err != nil {
		return nil, err
	}
	rec, err := s.storedCredential(ctx, k.accountID, p.ID)
	if ownkey.ErrorCode(err) == ownkey.ENOTFOUND && k.accountID == ownkey.PlatformOwner {
		return nil, ownkey.Errorf(ownkey.ENOTFOUND, "the platform holds no %s key; add one with: ownkey platform-keys set %s", p.ID, p.ID)
	} else if ownkey.ErrorCode(err) == ownkey.ENOTFOUND {
		return nil, ownkey.Errorf(ownkey.ENOTFOUND, "no %s key is configured for this account; add one on the BYOK page", p.ID)
	} else if err != nil {
		return nil, err
	}
	// The AAD comes from the request, not the row: a row that somehow
	// belongs to someone else fails to open rather than being used.
	plaintext, err := s.open(k.accountID, p.ID, rec.KeyVersion, rec.Sealed)
	if err != nil {
		return nil, err
	}
	cred, err := ownkey.ParseStoredCredential(p.ID, plaintext)
	clear(plaintext)
	if err != nil {
		return nil, err
	}
	cred.Caps = rec.Caps
	s.learnHealth(k, rec)
	if s.cacheTTL > 0 {
		s.cacheMu.Lock()
		if s.cacheEpoch.Load() == epoch {
			s.cache[k] = cachedCredential{cred: cred, expires: s.now().Add(s.cacheTTL)}
		}
		s.cacheMu.Unlock()
	}
	return cred, nil
}

func (s *Service) open(accountID int64, providerID string, version uint32, sealed []byte) ([]byte, error) {
	plaintext, err := s.Keyring().Open(accountID, providerID, version, sealed)
	if errors.Is(err, ErrUnknownKeyVersion) && s.reloadFor(version, false) {
		plaintext, err = s.Keyring().Open(accountID, providerID, version, sealed)
	}
	return plaintext, err
}

// sealingVersion returns the version that seals new credentials, and a
// keyring holding it: the newest version whose check value the database
// recorded and that is not retired. Asking the database rather than the
// keyring this process started with is what lets a long-running server
// follow rotations done by another process (it re-reads the key file when
// the database knows a newer version) instead of sealing with a version
// that --prune may remove. When this process cannot get that key it fails:
// sealing under an older version could lose the credential.
func (s *Service) sealingVersion(ctx context.Context) (uint32, *Keyring, error) {
	checks, err := s.store.MasterKeyChecks(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("vault: reading master key checks: %w", err)
	}
	var newest uint32
	for v, c := range checks {
		if !c.Retired {
			newest = max(newest, v)
		}
	}
	if newest == 0 {
		s.log.Error("vault: cannot seal: no usable master key version is recorded in the database (the server records its keyring at start)")
		return 0, nil, ownkey.Errorf(ownkey.EUNAVAILABLE, "the key vault cannot store keys: no master key version is recorded in the database; see the server log")
	}
	kr := s.Keyring()
	if !kr.Has(newest) && s.reloadFor(newest, true) {
		kr = s.Keyring()
	}
	check, err := kr.Check(newest)
	if err != nil {
		s.log.Error("vault: cannot seal: the database's newest master key version is missing from this process's keyring; give it the key file or OWNKEY_MASTER_KEY that holds it (rotate-master-key ran elsewhere?)",
			"key_version", newest, "keyring", kr)
		return 0, nil, ownkey.Errorf(ownkey.EUNAVAILABLE, "the key vault cannot store keys: this server lacks master key version %d; see the server log", newest)
	}
	if !hmac.Equal(check, checks[newest].Check) {
		s.log.Error("vault: cannot seal: master key version in this process's keyring does not match the check value recorded in the database",
			"key_version", newest, "keyring", kr)
		return 0, nil, ownkey.Errorf(ownkey.EUNAVAILABLE, "the key vault cannot store keys: master key version %d does not match the database; see the server log", newest)
	}
	return newest, kr, nil
}

// reloadFor re-reads the keyring to find version, and reports whether the
// keyring now has it. Unless force is set (Put, which is rare and must not
// seal stale), it re-reads at most once per minReloadInterval.
func (s *Service) reloadFor(version uint32, force bool) bool {
	if s.reload == nil {
		return false
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if s.Keyring().Has(version) {
		return true // another request reloaded while we waited
	}
	now := s.now()
	if !force && !s.lastReload.IsZero() && now.Sub(s.lastReload) < minReloadInterval {
		return false
	}
	s.lastReload = now
	kr, err := s.reload()
	if err != nil {
		s.log.Error("vault: reloading the keyring failed", "error", err)
		return false
	}
	if kr == nil || !kr.Has(version) {
		s.log.Error("vault: the reloaded keyring does not hold a master key version that the database names",
			"key_version", version, "keyring", kr)
		return false
	}
	s.log.Info("vault: reloaded the keyring", "keyring", kr)
	s.keyring.Store(kr)
	return true
}

// Forget drops this process's cached copy of a credential, so that the next
// Credential reads the store. Put and Delete do it themselves (and announce
// the change to other processes); Forget is for changes made elsewhere.
func (s *Service) Forget(accountID int64, providerID string) {
	s.drop(credentialKey{accountID, providerID})
}

// Changed applies a change made by another process (see ownkey.ChangeFeed):
// a replaced or deleted credential is not used here any more.
func (s *Service) Changed(c ownkey.Change) {
	switch c.Kind {
	case ownkey.ChangeCredential:
		s.drop(credentialKey{c.AccountID, c.Provider})
	case ownkey.ChangeAll:
		s.cacheMu.Lock()
		s.cacheEpoch.Add(1)
		clear(s.cache)
		clear(s.configured)
		s.cacheMu.Unlock()
	}
}

// invalidate follows a change this process stored: it drops the cached
// copy and tells the other processes sharing the store.
func (s *Service) invalidate(k credentialKey) {
	s.drop(k)
	if err := ownkey.Announce(context.Background(), s.changes, ownkey.Change{Kind: ownkey.ChangeCredential, AccountID: k.accountID, Provider: k.provider}); err != nil {
		s.log.Warn("vault: announcing a credential change to other replicas failed; they notice within the cache TTL",
			"account_id", k.accountID, "provider", k.provider, "ttl", s.cacheTTL.String(), "error", err.Error())
	}
}

func (s *Service) drop(k credentialKey) {
	s.cacheMu.Lock()
	s.cacheEpoch.Add(1)
	delete(s.cache, k)
	delete(s.configured, k.accountID)
	s.cacheMu.Unlock()
}

// Configured returns the set of provider ids for which the account has a
// key, disabled providers excluded. It is cached like credentials; the map is
// shared and must not be changed.
func (s *Service) Configured(ctx context.Context, accountID int64) (map[string]bool, error) {
	if err := notPlatform(accountID); err != nil {
		return nil, err
	}
	return s.configuredSet(ctx, accountID)
}

// configuredSet is Configured for an owner.
func (s *Service) configuredSet(ctx context.Context, accountID int64) (map[string]bool, error) {
	if set, ok := s.setFromCache(accountID); ok {
		return set, nil
	}
	epoch := s.cacheEpoch.Load()
	flightKey := strconv.AppendInt(nil, accountID, 10)
	flightKey = append(flightKey, '/')
	flightKey = strconv.AppendUint(flightKey, epoch, 10)
	return s.configuredLoads.Do(ctx, string(flightKey), func(ctx context.Context) (map[string]bool, error) {
		if set, ok := s.setFromCache(accountID); ok {
			return set, nil
		}
		return s.loadConfigured(ctx, accountID, epoch)
	})
}

// setFromCache is fromCache for Configured's sets.
func (s *Service) setFromCache(accountID int64) (map[string]bool, bool) {
	if s.cacheTTL <= 0 {
		return nil, false
	}
	s.cacheMu.RLock()
	c, ok := s.configured[accountID]
	s.cacheMu.RUnlock()
	if ok && s.now().Before(c.expires) {
		return c.set, true
	}
	return nil, false
}

// loadConfigured reads the set Configured returns, and caches it unless the
// cache was invalidated since epoch.
func (s *Service) loadConfigured(ctx context.Context, accountID int64, epoch uint64) (map[string]bool, error) {
	recs, err := s.storedCredentials(ctx, accountID)
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(recs))
	for _, r := range recs {
		if !s.disabled[r.Provider] {
			set[r.Provider] = true
		}
	}
	if s.cacheTTL > 0 {
		s.cacheMu.Lock()
		if s.cacheEpoch.Load() == epoch {
			s.configured[accountID] = cachedSet{set: set, expires: s.now().Add(s.cacheTTL)}
		}
		s.cacheMu.Unlock()
	}
	return set, nil
}

// sweepCache drops expired entries, which lookups only replace.
func (s *Service) sweepCache() {
	now := s.now()
	s.cacheMu.Lock()
	maps.DeleteFunc(s.cache, func(_ credentialKey, c cachedCredential) bool { return !now.Before(c.expires) })
	maps.DeleteFunc(s.configured, func(_ int64, c cachedSet) bool { return !now.Before(c.expires) })
	s.cacheMu.Unlock()
}

// MarkUsed records that a credential was just used. It only touches memory;
// the flush loop writes the latest time per credential to the store.
func (s *Service) MarkUsed(accountID int64, providerID string) {
	if notPlatform(accountID) != nil {
		return
	}
	s.markUsed(credentialKey{accountID, providerID})
}

// markUsed is MarkUsed for an owner's key.
func (s *Service) markUsed(k credentialKey) {
	now := s.now()
	s.usedMu.Lock()
	s.used[k] = now
	s.usedMu.Unlock()
}

func (s *Service) flushLoop() {
	defer close(s.done)
	t := time.NewTicker(s.flushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
			if err := s.flush(ctx); err != nil {
				s.log.Warn("vault: recording credential last-used times failed; will retry", "error", err)
			}
			cancel()
			s.sweepCache()
		}
	}
}

// flush writes pending last-used times and key health changes. Those that
// fail are kept for the next flush unless a newer one replaced them
// meanwhile.
func (s *Service) flush(ctx context.Context) error {
	healthErr := s.flushHealth(ctx)
	s.usedMu.Lock()
	pending := s.used
	if len(pending) == 0 {
		s.usedMu.Unlock()
		return healthErr
	}
	s.used = make(map[credentialKey]time.Time, len(pending))
	s.usedMu.Unlock()
	var firstErr error
	for k, at := range pending {
		err := s.touchRecord(ctx, k.accountID, k.provider, at)
		if err == nil || ownkey.ErrorCode(err) == ownkey.ENOTFOUND {
			continue
		}
		if firstErr == nil {
			firstErr = err
		}
		s.usedMu.Lock()
		if _, newer := s.used[k]; !newer {
			s.used[k] = at
		}
		s.usedMu.Unlock()
	}
	if firstErr == nil {
		firstErr = healthErr
	}
	return firstErr
}

// Flush writes the pending last-used times and key health changes now,
// instead of at the flush loop's next turn.
func (s *Service) Flush(ctx context.Context) error { return s.flush(ctx) }

// Close stops the flush loop and writes pending last-used times. It does not
// close the store.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		defer cancel()
		s.closeErr = s.flush(ctx)
	})
	return s.closeErr
}

// VerifyKeyring proves, before anything is decrypted or sealed, that the
// keyring fits the store: each version's key must be the one whose check
// value the store recorded, and every version the stored credentials use
// must be present. Versions the store has never seen get their check value
// recorded, but only when everything else matched, and atomically: of two
// processes recording different keys for one version (two replicas starting
// on an empty database with their own key files), one wins and the other
// gets an error here.
func (s *Service) VerifyKeyring(ctx context.Context) error {
	kr := s.Keyring()
	checks, err := s.store.MasterKeyChecks(ctx)
	if err != nil {
		return fmt.Errorf("vault: reading master key checks: %w", err)
	}
	fresh := map[uint32][]byte{}
	for _, v := range kr.Versions() {
		check, err := kr.Check(v)
		if err != nil {
			return err
		}
		stored, ok := checks[v]
		if !ok {
			fresh[v] = check
		} else if !hmac.Equal(stored.Check, check) {
			return fmt.Errorf("vault: master key version %d does not match the key that sealed the stored credentials: %w", v, ErrKeyMismatch)
		}
	}
	used, err := s.store.CredentialKeyVersions(ctx)
	if err != nil {
		return fmt.Errorf("vault: reading master key versions in use: %w", err)
	}
	var missing []string
	for _, v := range used {
		if !kr.Has(v) {
			missing = append(missing, fmt.Sprintf("v%d", v))
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("vault: stored credentials are sealed by master key version(s) %s, missing from %s; add them back to OWNKEY_MASTER_KEY or the key file",
			strings.Join(missing, ", "), kr)
	}
	if len(fresh) == 0 {
		return nil
	}
	if err := s.store.PutMasterKeyChecks(ctx, fresh); err != nil {
		if ownkey.ErrorCode(err) == ownkey.ECONFLICT {
			return fmt.Errorf("vault: %s (another process recorded a different key first): %w", ownkey.ErrorMessage(err), ErrKeyMismatch)
		}
		return fmt.Errorf("vault: recording master key check values: %w", err)
	}
	return nil
}

// ErrKeyMismatch is wrapped by VerifyKeyring's errors about a key that is
// not the one the database recorded for its version.
var ErrKeyMismatch = errors.New("master key does not match the database")

// Rotate re-wraps every credential not sealed by the newest verified master
// key version (see sealingVersion), batch by batch, and returns how many it
// re-wrapped. It first takes the store's master key lock, so that no other
// rotation or prune runs meanwhile, and verifies the keyring (recording a
// version the store has not seen). Each row is updated on its own with a
// compare-and-swap, so it can be interrupted at any point (every row stays
// readable while the keyring holds both versions) and run again to finish.
//
// progress, if set, is called after each row with the rows handled so far
// and the total known so far: the store cannot count ahead, so total grows
// batch by batch until it equals done at the end.
func (s *Service) Rotate(ctx context.Context, progress func(done, total int)) (rewrapped int, err error) {
	unlock, err := s.store.LockMasterKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("vault: rotation: %w", err)
	}
	defer unlock()
	if err := s.VerifyKeyring(ctx); err != nil {
		return 0, err
	}
	return s.rewrapAll(ctx, progress)
}

// RotateKeyFile is Rotate for a keyring kept in the key file at path: it
// adds a new version to the file and then re-wraps every credential under
// it. Under the store's master key lock and the key file's lock, it
//
//  1. re-reads the file (what this process loaded before may be stale) and
//     verifies it against the store;
//  2. writes the file with a new version, above every version the file or
//     the store knows, durably (temp file, fsync, rename, directory fsync)
//     and reads it back;
//  3. records the new version's check value and reads it back;
//
// and only then re-wraps rows, so no row is ever sealed under a version that
// is not both in the file and verified in the store. A crash at any point
// leaves every row readable; running it again finishes (with one more
// version). It returns the new version and the rows re-wrapped.
func (s *Service) RotateKeyFile(ctx context.Context, path string, progress func(done, total int)) (version uint32, rewrapped int, err error) {
	unlock, err := s.lockKeyFile(ctx, path)
	if err != nil {
		return 0, 0, err
	}
	defer unlock()
	checks, err := s.store.MasterKeyChecks(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("vault: reading master key checks: %w", err)
	}
	version = s.Keyring().Active()
	for v := range checks {
		version = max(version, v)
	}
	if version == math.MaxUint32 {
		return 0, 0, errors.New("vault: master key versions exhausted")
	}
	version++
	next, err := s.Keyring().withNewVersion(version)
	if err != nil {
		return 0, 0, err
	}
	if err := WriteKeyFile(path, next); err != nil {
		return 0, 0, err
	}
	s.keyring.Store(next)
	check, err := next.Check(version)
	if err != nil {
		return 0, 0, err
	}
	if err := s.store.PutMasterKeyChecks(ctx, map[uint32][]byte{version: check}); err != nil {
		return 0, 0, fmt.Errorf("vault: recording the check value of master key version %d: %w", version, err)
	}
	if checks, err = s.store.MasterKeyChecks(ctx); err != nil {
		return 0, 0, fmt.Errorf("vault: reading back master key checks: %w", err)
	}
	if c, ok := checks[version]; !ok || !hmac.Equal(c.Check, check) {
		return 0, 0, fmt.Errorf("vault: the database does not hold the check value just recorded for master key version %d", version)
	}
	rewrapped, err = s.rewrapAll(ctx, progress)
	return version, rewrapped, err
}

// Prune removes from the key file at path the versions that no credential
// uses and that are older than the newest verified one. Each is first
// retired in the store, which from then on refuses to store a row under it
// (a server that chose it just before re-seals under the newest); only after
// that does Prune look for rows still using it, so a row stored by a server
// at the same moment is either seen (and the version kept) or never stored.
// It returns the versions removed and those kept because rows use them.
func (s *Service) Prune(ctx context.Context, path string) (removed, inUse []uint32, err error) {
	unlock, err := s.lockKeyFile(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	kr := s.Keyring()
	newest, _, err := s.sealingVersion(ctx)
	if err != nil {
		return nil, nil, err
	}
	used, err := s.store.CredentialKeyVersions(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("vault: reading master key versions in use: %w", err)
	}
	var candidates []uint32
	for _, v := range kr.Versions() {
		switch {
		case v >= newest:
		case slices.Contains(used, v):
			inUse = append(inUse, v)
		default:
			candidates = append(candidates, v)
		}
	}
	if len(candidates) == 0 {
		return nil, inUse, nil
	}
	for _, v := range candidates {
		if err := s.store.RetireMasterKey(ctx, v); err != nil {
			return nil, inUse, fmt.Errorf("vault: retiring master key version %d: %w", v, err)
		}
	}
	// Look again now that no new row can use them.
	if used, err = s.store.CredentialKeyVersions(ctx); err != nil {
		return nil, inUse, fmt.Errorf("vault: reading master key versions in use: %w", err)
	}
	for _, v := range candidates {
		if slices.Contains(used, v) {
			inUse = append(inUse, v)
		} else {
			removed = append(removed, v)
		}
	}
	slices.Sort(inUse)
	if len(removed) == 0 {
		return nil, inUse, nil
	}
	next := kr.without(removed)
	if err := WriteKeyFile(path, next); err != nil {
		return nil, inUse, err
	}
	s.keyring.Store(next)
	return removed, inUse, nil
}

// lockKeyFile takes the store's master key lock, then the key file's lock,
// then loads the key file afresh into the service and verifies it: the
// start of every change to the key file.
func (s *Service) lockKeyFile(ctx context.Context, path string) (unlock func(), err error) {
	unlockStore, err := s.store.LockMasterKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	unlockFile, err := LockKeyFile(ctx, path)
	if err != nil {
		unlockStore()
		return nil, fmt.Errorf("vault: %w", err)
	}
	unlock = func() { unlockFile(); unlockStore() }
	kr, err := loadKeyFile(path)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("vault: key file %s: %w", path, err)
	}
	s.keyring.Store(kr)
	if err := s.VerifyKeyring(ctx); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// rewrapAll moves every row to the sealing version. The caller holds the
// master key lock.
func (s *Service) rewrapAll(ctx context.Context, progress func(done, total int)) (rewrapped int, err error) {
	target, kr, err := s.sealingVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("vault: rotation: %w", err)
	}
	handled := 0
	for {
		if err := ctx.Err(); err != nil {
			return rewrapped, err
		}
		batch, err := s.store.CredentialsNotAtVersion(ctx, target, rotateBatchSize)
		if err != nil {
			return rewrapped, fmt.Errorf("vault: rotation: listing credentials to re-wrap: %w", err)
		}
		if len(batch) == 0 {
			return rewrapped, nil
		}
		total := handled + len(batch)
		for _, rec := range batch {
			if err := ctx.Err(); err != nil {
				return rewrapped, err
			}
			moved, err := s.rewrap(ctx, kr, target, rec)
			if err != nil {
				return rewrapped, err
			}
			if moved {
				rewrapped++
			}
			handled++
			if progress != nil {
				progress(handled, total)
			}
		}
	}
}

// rewrap moves one row to the target version. A row that changed since it
// was read (a user replaced the key) is read again rather than overwritten.
func (s *Service) rewrap(ctx context.Context, kr *Keyring, target uint32, rec *ownkey.CredentialRecord) (bool, error) {
	for attempt := 1; ; attempt++ {
		if rec.KeyVersion == target {
			return false, nil
		}
		sealed, err := kr.RewrapTo(target, rec.AccountID, rec.Provider, rec.KeyVersion, rec.Sealed)
		if err != nil {
			return false, fmt.Errorf("vault: rotation: %w", err)
		}
		next := *rec
		next.KeyVersion, next.Sealed = target, sealed
		ok, err := s.store.RewrapCredential(ctx, &next, rec.KeyVersion, rec.Sealed)
		if err != nil {
			return false, fmt.Errorf("vault: rotation: storing the %s credential of account %d: %w", rec.Provider, rec.AccountID, err)
		}
		if ok {
			return true, nil
		}
		if attempt == rewrapAttempts {
			return false, fmt.Errorf("vault: rotation: the %s credential of account %d changed %d times while being re-wrapped; run the rotation again", rec.Provider, rec.AccountID, attempt)
		}
		accountID, providerID := rec.AccountID, rec.Provider
		rec, err = s.storedCredential(ctx, accountID, providerID)
		if ownkey.ErrorCode(err) == ownkey.ENOTFOUND {
			return false, nil // deleted meanwhile: nothing left to move
		} else if err != nil {
			return false, fmt.Errorf("vault: rotation: re-reading the %s credential of account %d: %w", providerID, accountID, err)
		}
	}
}
