// Package accounts manages accounts and ownkey API keys, and authenticates
// requests. Authentication is on every request's path, so it is served from a
// small in-memory cache keyed by the key's hash.
package accounts

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ownkey/ownkey"
)

// Service is the account and API-key service.
type Service struct {
	store  ownkey.Store
	ttl    time.Duration
	logger *slog.Logger

	mu    sync.RWMutex
	cache map[[32]byte]cacheEntry

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
	Logger     *slog.Logger
}

// New returns a service over store and starts its background flusher; Close
// stops it.
func New(store ownkey.Store, opts Options) *Service {
	if opts.CacheTTL == 0 {
		opts.CacheTTL = 30 * time.Second
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Service{
		store: store, ttl: opts.CacheTTL, logger: opts.Logger,
		cache: map[[32]byte]cacheEntry{}, used: map[int64]time.Time{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go s.flushLoop(opts.FlushEvery)
	return s
}

// CreateAccount creates an account and its first API key in one transaction,
// returning the key's plaintext, which is never available again.
func (s *Service) CreateAccount(ctx context.Context, a *ownkey.Account, keyName string) (ownkey.Secret, *ownkey.APIKey, error) {
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

// CreateAPIKey adds a key to an existing account.
func (s *Service) CreateAPIKey(ctx context.Context, accountID int64, name string) (ownkey.Secret, *ownkey.APIKey, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "default"
	} else if len(name) > 200 {
		return ownkey.Secret{}, nil, ownkey.FieldError("name", "name must be at most 200 characters")
	}
	if _, err := s.store.Account(ctx, accountID); err != nil {
		return ownkey.Secret{}, nil, err
	}
	plain, key, err := ownkey.GenerateAPIKey(accountID, name)
	if err != nil {
		return ownkey.Secret{}, nil, err
	}
	if err := s.store.CreateAPIKey(ctx, key); err != nil {
		return ownkey.Secret{}, nil, err
	}
	return plain, key, nil
}

// RevokeAPIKey revokes one of the account's keys; it stops authenticating in
// this process at once.
func (s *Service) RevokeAPIKey(ctx context.Context, accountID, keyID int64) error {
	if err := s.store.RevokeAPIKey(ctx, accountID, keyID); err != nil {
		return err
	}
	s.mu.Lock()
	for h, e := range s.cache {
		if e.principal != nil && e.principal.APIKey.ID == keyID {
			delete(s.cache, h)
		}
	}
	s.mu.Unlock()
	return nil
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
	s.mu.RUnlock()
	if !ok || now.After(e.expires) {
		key, acct, err := s.store.APIKeyByHash(ctx, h[:])
		switch {
		case ownkey.ErrorCode(err) == ownkey.ENOTFOUND:
			e = cacheEntry{expires: now.Add(min(s.ttl, 5*time.Second))}
		case err != nil:
			return nil, err
		case key.Revoked() || subtle.ConstantTimeCompare(key.Hash, h[:]) != 1:
			e = cacheEntry{expires: now.Add(s.ttl)}
		default:
			e = cacheEntry{principal: &ownkey.Principal{Account: acct, APIKey: key}, expires: now.Add(s.ttl)}
		}
		s.mu.Lock()
		if len(s.cache) > 100_000 { // bound memory against floods of bogus keys
			clear(s.cache)
		}
		s.cache[h] = e
		s.mu.Unlock()
	}
	if e.principal == nil {
		return nil, invalidKey()
	}
	s.usedMu.Lock()
	s.used[e.principal.APIKey.ID] = now
	s.usedMu.Unlock()
	return e.principal, nil
}

func invalidKey() error {
	return &ownkey.Error{Code: ownkey.EUNAUTHORIZED, Reason: "invalid_api_key",
		Message: "Incorrect API key provided: the key is malformed, unknown or revoked."}
}

// Forget drops cached authentications of an account, e.g. after its role
// changed.
func (s *Service) Forget(accountID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, e := range s.cache {
		if e.principal != nil && e.principal.Account.ID == accountID {
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
