// Package accounts manages accounts and ownkey API keys, and authenticates
// requests. Authentication is on every request's path, so it is served from a
// small in-memory cache keyed by the key's hash.
package accounts

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/flight"
)

const (
	defaultCacheTTL = 30 * time.Second
	// negativeTTL bounds how long an unknown key stays refused after it is
	// created elsewhere (keys are created before they are handed out, so
	// this only matters for floods of bogus keys, which it absorbs).
	negativeTTL = 5 * time.Second
	// maxCacheEntries bounds memory against floods of bogus keys.
	maxCacheEntries = 100_000
)

// Service is the account and API-key service.
type Service struct {
	store          ownkey.Store
	ttl            time.Duration
	logger         *slog.Logger
	startingCredit ownkey.NanoUSD

	mu    sync.RWMutex
	cache map[[32]byte]cacheEntry
	// epoch changes (under mu) at every invalidation. A lookup caches what
	// it read only if the epoch it started in is still current, and the
	// epoch is part of the single-flight key, so a request that arrives
	// after an invalidation never shares a lookup that started before it.
	epoch uint64
	// lookups coalesces concurrent misses for one key into one store query.
	lookups flight.Group[cacheEntry]
	changes ownkey.ChangePublisher

	usedMu sync.Mutex
	used   map[int64]time.Time // key id → last use, flushed in the background

	stop chan struct{}
	done chan struct{}
}

type cacheEntry struct {
	principal *ownkey.Principal // nil: known not to authenticate
	expires   time.Time
}

// Options tune the service.
type Options struct {
	// CacheTTL bounds how long a revocation made on another replica can go
	// unnoticed here. Revocations through this process apply at once.
	CacheTTL time.Duration
	// FlushEvery is how often last-used times are written.
	FlushEvery time.Duration
	// LookupTimeout bounds a store lookup of a key, which is shared by the
	// requests waiting for it (flight.DefaultTimeout when 0).
	LookupTimeout time.Duration
	// Changes, if set, is told of every revocation once it is stored, so
	// that other processes drop their cached copy (see ownkey.ChangeFeed).
	Changes ownkey.ChangePublisher
	Logger  *slog.Logger
	// StartingCredit is the balance every account CreateAccount makes
	// starts with (OWNKEY_STARTING_CREDIT_USD; recorded as an adjustment).
	// The first account, the bootstrap admin, starts with none.
	StartingCredit ownkey.NanoUSD
}

// New returns a service over store and starts its background flusher; Close
// stops it.
func New(store ownkey.Store, opts Options) *Service {
	if opts.CacheTTL == 0 {
		opts.CacheTTL = defaultCacheTTL
	}
	if opts.Changes == nil {
		opts.Changes = ownkey.NoChanges{}
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Service{
		store: store, ttl: opts.CacheTTL, logger: opts.Logger, startingCredit: max(opts.StartingCredit, 0),
		changes: opts.Changes,
		cache:   map[[32]byte]cacheEntry{}, used: map[int64]time.Time{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	s.lookups.Timeout = opts.LookupTimeout
	go s.flushLoop(opts.FlushEvery)
	return s
}

var _ ownkey.AccountService = (*Service)(nil)

// Account, Accounts and APIKeys read the store: the admin API lists what
// is there, so they are not cached.
func (s *Service) Account(ctx context.Context, id int64) (*ownkey.Account, error) {
	return s.store.Account(ctx, id)
}

func (s *Service) Accounts(ctx context.Context) ([]*ownkey.Account, error) {
	return s.store.Accounts(ctx)
}

func (s *Service) APIKeys(ctx context.Context, accountID int64) ([]*ownkey.APIKey, error) {
	return s.store.APIKeys(ctx, accountID)
}

// CreateAccount creates an account and its first API key in one transaction,
// returning the key's plaintext, which is never available again. The
// account starts with the starting credit; a.Metered says whether it pays
// for its requests.
func (s *Service) CreateAccount(ctx context.Context, a *ownkey.Account, keyName string) (ownkey.Secret, *ownkey.APIKey, error) {
	a.Balance = s.startingCredit
	plain, key, _, err := s.createAccount(ctx, a, keyName, false)
	return plain, key, err
}

// CreateFirstAccount is CreateAccount when no account exists yet, and
// nothing (created false) otherwise: the bootstrap of a new deployment,
// safe when several replicas start at once on one empty database.
func (s *Service) CreateFirstAccount(ctx context.Context, a *ownkey.Account, keyName string) (plain ownkey.Secret, key *ownkey.APIKey, created bool, err error) {
	return s.createAccount(ctx, a, keyName, true)
}

func (s *Service) createAccount(ctx context.Context, a *ownkey.Account, keyName string, onlyFirst bool) (ownkey.Secret, *ownkey.APIKey, bool, error) {
	if err := a.Validate(); err != nil {
		return ownkey.Secret{}, nil, false, err
	}
	keyName, err := ownkey.ValidateName("key_name", keyName)
	if err != nil {
		return ownkey.Secret{}, nil, false, err
	}
	if keyName == "" {
		keyName = "default"
	}
	a.CreatedAt = ownkey.Now()
	plain, key, err := ownkey.GenerateAPIKey(0, keyName)
	if err != nil {
		return ownkey.Secret{}, nil, false, err
	}
	created := true
	if onlyFirst {
		created, err = s.store.CreateFirstAccount(ctx, a, key)
	} else {
		err = s.store.CreateAccount(ctx, a, key)
	}
	if err != nil || !created {
		return ownkey.Secret{}, nil, false, err
	}
	return plain, key, true, nil
}

// RenameAccount gives an account a new name, unique ignoring case. The
// principals cached here are dropped so that /api/user/me shows it at once;
// other processes show the old name until their cache entries expire (the
// name plays no part in authentication).
func (s *Service) RenameAccount(ctx context.Context, id int64, name string) (*ownkey.Account, error) {
	a, err := s.store.RenameAccount(ctx, id, name)
	if err != nil {
		return nil, err
	}
	s.drop(func(p *ownkey.Principal) bool { return p.Account.ID == id })
	return a, nil
}

// CreateAPIKey adds a key, with its daily limits, to an existing account.
func (s *Service) CreateAPIKey(ctx context.Context, accountID int64, name string, limits ownkey.APIKeyLimits) (ownkey.Secret, *ownkey.APIKey, error) {
	name, err := ownkey.ValidateName("name", name)
	if err != nil {
		return ownkey.Secret{}, nil, err
	}
	if name == "" {
		name = "default"
	}
	if _, err := s.store.Account(ctx, accountID); err != nil {
		return ownkey.Secret{}, nil, err
	}
	plain, key, err := ownkey.GenerateAPIKey(accountID, name)
	if err != nil {
		return ownkey.Secret{}, nil, err
	}
	key.Limits = limits
	if err := s.store.CreateAPIKey(ctx, key); err != nil {
		return ownkey.Secret{}, nil, err
	}
	return plain, key, nil
}

// RevokeAPIKey revokes one of the account's keys; it stops authenticating in
// this process at once, and in the others that share the store as soon as
// they hear of it through the change feed (the cache TTL at worst).
func (s *Service) RevokeAPIKey(ctx context.Context, accountID, keyID int64) error {
	if err := s.store.RevokeAPIKey(ctx, accountID, keyID); err != nil {
		return err
	}
	s.drop(func(p *ownkey.Principal) bool { return p.APIKey.ID == keyID })
	if err := ownkey.Announce(ctx, s.changes, ownkey.Change{Kind: ownkey.ChangeAPIKey, AccountID: accountID, KeyID: keyID}); err != nil {
		s.logger.Warn("announcing an API key revocation to other replicas failed; they notice within the cache TTL",
			"api_key_id", keyID, "ttl", s.ttl.String(), "err", err.Error())
	}
	return nil
}

// SetAPIKeyLimits changes one of the account's keys' daily limits. They
// apply at once in this process (its cached principal for the key is
// dropped) and in the others when they hear of the change (the cache TTL at
// worst), as a revocation does.
func (s *Service) SetAPIKeyLimits(ctx context.Context, accountID, keyID int64, u ownkey.APIKeyLimitsUpdate) (*ownkey.APIKey, error) {
	k, err := s.store.SetAPIKeyLimits(ctx, accountID, keyID, u)
	if err != nil {
		return nil, err
	}
	s.drop(func(p *ownkey.Principal) bool { return p.APIKey.ID == keyID })
	if err := ownkey.Announce(ctx, s.changes, ownkey.Change{Kind: ownkey.ChangeAPIKey, AccountID: accountID, KeyID: keyID}); err != nil {
		s.logger.Warn("announcing an API key's new limits to other replicas failed; they notice within the cache TTL",
			"api_key_id", keyID, "ttl", s.ttl.String(), "err", err.Error())
	}
	return k, nil
}

// Authenticate resolves a presented API key. A missing, malformed, unknown or
// revoked key is EUNAUTHORIZED; the message never repeats the key.
func (s *Service) Authenticate(ctx context.Context, presented string) (*ownkey.Principal, error) {
	if presented == "" {
		return nil, &ownkey.Error{Code: ownkey.EUNAUTHORIZED, Reason: "missing_api_key",
			Message: "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'."}
	}
	if !ownkey.WellFormedAPIKey(presented) {
		return nil, invalidKey()
	}
	var h [32]byte
	copy(h[:], ownkey.HashAPIKey(presented))
	now := time.Now()

	s.mu.RLock()
	e, ok := s.cache[h]
	epoch := s.epoch
	s.mu.RUnlock()
	if !ok || now.After(e.expires) {
		var err error
		if e, err = s.lookup(ctx, h, epoch); err != nil {
			return nil, err
		}
	}
	if e.principal == nil {
		return nil, invalidKey()
	}
	s.usedMu.Lock()
	s.used[e.principal.APIKey.ID] = now
	s.usedMu.Unlock()
	return e.principal, nil
}

// lookup reads a key from the store, once for all the requests that miss
// it at the same time in the same epoch, and caches the answer unless an
// invalidation happened meanwhile.
func (s *Service) lookup(ctx context.Context, h [32]byte, epoch uint64) (cacheEntry, error) {
	var key [40]byte
	copy(key[:], h[:])
	binary.BigEndian.PutUint64(key[32:], epoch)
	return s.lookups.Do(ctx, string(key[:]), func(ctx context.Context) (cacheEntry, error) {
		// A request that missed just before the previous lookup filled the
		// cache finds the entry here instead of querying again. Whatever
		// the cache holds is current: invalidations delete entries.
		s.mu.RLock()
		e, ok := s.cache[h]
		s.mu.RUnlock()
		if ok && time.Now().Before(e.expires) {
			return e, nil
		}
		e, err := s.load(ctx, h)
		if err != nil {
			return cacheEntry{}, err
		}
		s.mu.Lock()
		if s.epoch == epoch {
			if len(s.cache) >= maxCacheEntries {
				clear(s.cache)
			}
			s.cache[h] = e
		}
		s.mu.Unlock()
		return e, nil
	})
}

// load turns the store's answer for a key hash into a cache entry.
func (s *Service) load(ctx context.Context, h [32]byte) (cacheEntry, error) {
	key, acct, err := s.store.APIKeyByHash(ctx, h[:])
	now := time.Now()
	switch {
	case ownkey.ErrorCode(err) == ownkey.ENOTFOUND:
		return cacheEntry{expires: now.Add(min(s.ttl, negativeTTL))}, nil
	case err != nil:
		return cacheEntry{}, err
	case key.Revoked() || subtle.ConstantTimeCompare(key.Hash, h[:]) != 1:
		return cacheEntry{expires: now.Add(s.ttl)}, nil
	}
	return cacheEntry{principal: &ownkey.Principal{Account: acct, APIKey: key}, expires: now.Add(s.ttl)}, nil
}

func invalidKey() error {
	return &ownkey.Error{Code: ownkey.EUNAUTHORIZED, Reason: "invalid_api_key",
		Message: "Incorrect API key provided: the key is malformed, unknown or revoked."}
}

// Changed applies a change made by another process (see ownkey.ChangeFeed):
// a revoked key stops authenticating here at once.
func (s *Service) Changed(c ownkey.Change) {
	switch c.Kind {
	case ownkey.ChangeAPIKey:
		s.drop(func(p *ownkey.Principal) bool { return p.APIKey.ID == c.KeyID })
	case ownkey.ChangeAll:
		s.drop(nil)
	}
}

// drop removes the cached authentications whose principal matches (all
// entries when match is nil) and starts a new epoch, so that no lookup
// already under way caches what it read before.
func (s *Service) drop(match func(*ownkey.Principal) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
	if match == nil {
		clear(s.cache)
		return
	}
	for h, e := range s.cache {
		if e.principal != nil && match(e.principal) {
			delete(s.cache, h)
		}
	}
}

func (s *Service) flushLoop(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.flush()
		case <-s.stop:
			s.flush()
			return
		}
	}
}

func (s *Service) flush() {
	s.usedMu.Lock()
	used := s.used
	s.used = make(map[int64]time.Time, len(used))
	s.usedMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for id, at := range used {
		if err := s.store.TouchAPIKey(ctx, id, at.UTC()); err != nil && !errors.Is(err, context.Canceled) {
			s.logger.Warn("recording API key use failed", "api_key_id", id, "err", ownkey.ErrorMessage(err))
		}
	}
}

// Close flushes pending last-used times and stops the flusher.
func (s *Service) Close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	return nil
}
