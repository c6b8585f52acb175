package ownkey

import (
	"context"
	"encoding/json"
)

// The services the HTTP layer calls. httpapi depends on these interfaces,
// not on the packages that implement them (accounts, vault, chat), so that
// it only decodes, authenticates and encodes, and each service can be
// replaced in tests or grown (billing) without touching it.

// AccountService manages accounts and API keys and authenticates callers
// (accounts.Service).
type AccountService interface {
	// Authenticate resolves a presented ownkey API key to its principal.
	Authenticate(ctx context.Context, presented string) (*Principal, error)
	CreateAccount(ctx context.Context, a *Account, keyName string) (Secret, *APIKey, error)
	Account(ctx context.Context, id int64) (*Account, error)
	Accounts(ctx context.Context) ([]*Account, error)
	// RenameAccount renames an account (names are unique ignoring case).
	RenameAccount(ctx context.Context, id int64, name string) (*Account, error)
	CreateAPIKey(ctx context.Context, accountID int64, name string, limits APIKeyLimits) (Secret, *APIKey, error)
	APIKeys(ctx context.Context, accountID int64) ([]*APIKey, error)
	RevokeAPIKey(ctx context.Context, accountID, keyID int64) error
	// SetAPIKeyLimits changes one of the account's keys' daily limits.
	SetAPIKeyLimits(ctx context.Context, accountID, keyID int64, u APIKeyLimitsUpdate) (*APIKey, error)
}

// CredentialService is the key vault as its callers see it: an account's
// provider keys stored, listed, deleted and opened (vault.Service).
type CredentialService interface {
	Put(ctx context.Context, accountID int64, providerID string, raw json.RawMessage) (*KeyStatus, error)
	// PutWithCaps is Put that also changes the key's spend caps.
	PutWithCaps(ctx context.Context, accountID int64, providerID string, raw json.RawMessage, caps SpendCapsUpdate) (*KeyStatus, error)
	// SetCaps changes the spend caps of a stored key without the key
	// (ENOTFOUND if none is stored).
	SetCaps(ctx context.Context, accountID int64, providerID string, caps SpendCapsUpdate) (*KeyStatus, error)
	Delete(ctx context.Context, accountID int64, providerID string) error
	List(ctx context.Context, accountID int64) ([]KeyStatus, error)
	// Credential opens the account's key for the provider (ENOTFOUND if
	// none is stored).
	Credential(ctx context.Context, accountID int64, providerID string) (*Credential, error)
	// Configured is the set of provider ids the account holds a usable
	// key for: what routing chooses from.
	Configured(ctx context.Context, accountID int64) (map[string]bool, error)
	// Disabled reports whether the operator turned the provider off.
	Disabled(providerID string) bool
	// MarkUsed notes that the account's key for the provider was used now.
	MarkUsed(accountID int64, providerID string)
}

// KeyHealth learns how stored keys fare with their providers (vault.Service),
// so that the key list shows a key its provider refuses as failing, with
// when and why, until the key is replaced or works again. owner is the
// account id, or PlatformOwner for the platform's keys. Both calls are made
// on the chat path and only touch memory; a change of state is written to
// the store in the background, and a key that keeps working costs no write.
type KeyHealth interface {
	// KeyRejected notes that the provider refused c (401/403) with
	// status and message (the provider's words, secrets scrubbed).
	KeyRejected(owner int64, providerID string, c *Credential, status int, message string)
	// KeyWorked notes that the provider accepted c.
	KeyWorked(owner int64, providerID string, c *Credential)
}
