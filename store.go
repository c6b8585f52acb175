package ownkey

import (
	"context"
	"errors"
	"time"
)

// ErrKeyVersionRetired is returned by PutCredential for a row sealed under a
// retired master key version: the sealer must seal again under the newest.
var ErrKeyVersionRetired = errors.New("master key version is retired")

// MasterKeyCheck is what the store records about one master key version.
type MasterKeyCheck struct {
	// Check identifies the key without revealing it (see vault.Keyring.Check).
	Check []byte
	// Retired versions seal no new credential; see Store.RetireMasterKey.
	Retired bool
}

// Store is the durable state of the gateway. Two implementations (SQLite and
// PostgreSQL, package sqlstore) pass one contract test suite. Every method is
// a single transaction: it succeeds whole or changes nothing.
//
// Lookups that find nothing return an ENOTFOUND *Error.
type Store interface {
	// CreateAccount inserts a and, when key is non-nil, key for it, in one
	// transaction; it sets a.ID, key.ID and key.AccountID.
	CreateAccount(ctx context.Context, a *Account, key *APIKey) error
	// CreateFirstAccount is CreateAccount on an empty store only, atomic
	// across processes sharing the store; it reports whether it created a.
	CreateFirstAccount(ctx context.Context, a *Account, key *APIKey) (bool, error)
	Account(ctx context.Context, id int64) (*Account, error)
	Accounts(ctx context.Context) ([]*Account, error)
	CountAccounts(ctx context.Context) (int, error)
	// RenameAccount renames the account; names are unique ignoring case
	// (NameKey), so a name another account has is ECONFLICT.
	RenameAccount(ctx context.Context, id int64, name string) (*Account, error)

	// CreateAPIKey inserts k (k.AccountID must exist) and sets k.ID.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeys lists an account's keys, revoked ones included, oldest first.
	APIKeys(ctx context.Context, accountID int64) ([]*APIKey, error)
	// APIKeyByHash finds a key, revoked or not, and its account.
	APIKeyByHash(ctx context.Context, hash []byte) (*APIKey, *Account, error)
	// RevokeAPIKey marks the key revoked. ENOTFOUND unless the key belongs
	// to accountID; revoking twice is not an error.
	RevokeAPIKey(ctx context.Context, accountID, keyID int64) error
	// TouchAPIKey records use; best effort, callers batch it.
	TouchAPIKey(ctx context.Context, keyID int64, at time.Time) error
	// SetAPIKeyLimits changes the key's daily limits and returns the key;
	// ENOTFOUND unless it belongs to accountID.
	SetAPIKeyLimits(ctx context.Context, accountID, keyID int64, u APIKeyLimitsUpdate) (*APIKey, error)

	// PutCredential inserts or replaces the account's credential for
	// r.Provider. On replace, CreatedAt is kept and UpdatedAt set. It fails
	// with ErrKeyVersionRetired, storing nothing, when r.KeyVersion is
	// retired.
	PutCredential(ctx context.Context, r *CredentialRecord) error
	Credential(ctx context.Context, accountID int64, provider string) (*CredentialRecord, error)
	Credentials(ctx context.Context, accountID int64) ([]*CredentialRecord, error)
	// DeleteCredential is ENOTFOUND when there was nothing to delete.
	DeleteCredential(ctx context.Context, accountID int64, provider string) error
	TouchCredential(ctx context.Context, accountID int64, provider string, at time.Time) error
	// SetCredentialFailure records that owner's key for provider (an
	// account's, or the platform's for PlatformOwner) is failing (f), or
	// works again (f nil). It changes only the key whose suffix is
	// suffix and, for a failure, that was stored no later than f.At, so
	// that a key replaced meanwhile is never marked by its predecessor's
	// failure; ENOTFOUND when no such key is stored.
	SetCredentialFailure(ctx context.Context, owner int64, provider, suffix string, f *KeyFailure) error
	// SetCredentialCaps changes the spend caps of a stored key without
	// touching the key (ENOTFOUND if none is stored).
	SetCredentialCaps(ctx context.Context, accountID int64, provider string, u SpendCapsUpdate) (*CredentialRecord, error)

	// The platform's keys, in a table of their own (PlatformCredentialStore).
	PlatformCredentialStore

	// CredentialsNotAtVersion returns up to limit credentials wrapped by a
	// master key version other than version, for rotation: the accounts'
	// and the platform's (AccountID PlatformOwner).
	CredentialsNotAtVersion(ctx context.Context, version uint32, limit int) ([]*CredentialRecord, error)
	// RewrapCredential stores r's new KeyVersion and Sealed only if the row
	// still has oldVersion and the same Sealed bytes it was read with
	// (compare-and-swap), so a rotation racing a user's replace never
	// overwrites the newer key. It reports whether the row was updated. A
	// record of PlatformOwner is the platform's row for r.Provider.
	RewrapCredential(ctx context.Context, r *CredentialRecord, oldVersion uint32, oldSealed []byte) (bool, error)
	// CredentialKeyVersions lists the distinct master key versions in use
	// (the accounts' and the platform's credentials).
	CredentialKeyVersions(ctx context.Context) ([]uint32, error)

	// MasterKeyChecks returns, per master key version, the check value that
	// proves a key presented at start is the one that sealed the data, and
	// whether the version is retired.
	MasterKeyChecks(ctx context.Context) (map[uint32]MasterKeyCheck, error)
	// PutMasterKeyChecks records the check value of each version that has
	// none, in one transaction serialised across processes. When a version
	// already has a different value it records nothing and returns an
	// ECONFLICT error naming the version: of two replicas starting with
	// different keys, the first to record wins and the other learns it.
	PutMasterKeyChecks(ctx context.Context, checks map[uint32][]byte) error
	// RetireMasterKey marks a recorded version retired (ENOTFOUND if it has
	// no check value). Once it returns, PutCredential refuses that version,
	// and every PutCredential that was storing it has committed.
	RetireMasterKey(ctx context.Context, version uint32) error
	// LockMasterKeys takes the lock that makes master key rotation and
	// pruning exclusive across processes, waiting until it is free or ctx
	// ends. The lock dies with the process that holds it.
	LockMasterKeys(ctx context.Context) (unlock func(), err error)

	// Ping checks the database is reachable (readiness).
	Ping(ctx context.Context) error
	Close() error
}
