package vault

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ownkey/ownkey"
)

// The platform's keys (ownkey.PlatformKeyService) live beside the accounts'
// keys and go through the same code: validation, sealing (bound to the
// owner ownkey.PlatformOwner and the provider), the decrypted-credential
// cache and its single flight, invalidation across processes, the
// last-used flush and rotation. Two things keep them apart from any
// account's: the store keeps them in a table of their own, reached by
// methods of their own (picked below by owner), and every method that
// takes an account id refuses PlatformOwner (notPlatform), so only the
// Platform methods here reach them.

var _ ownkey.PlatformKeyService = (*Service)(nil)

// PutPlatform validates raw as the platform's credential for providerID,
// as Put does a user's, and stores it sealed for ownkey.PlatformOwner.
func (s *Service) PutPlatform(ctx context.Context, providerID string, raw json.RawMessage) (*ownkey.KeyStatus, error) {
	return s.put(ctx, ownkey.PlatformOwner, providerID, raw, ownkey.SpendCapsUpdate{})
}

// DeletePlatform removes the platform's key for providerID; ENOTFOUND if
// there is none.
func (s *Service) DeletePlatform(ctx context.Context, providerID string) error {
	return s.delete(ctx, ownkey.PlatformOwner, providerID)
}

// ListPlatform returns one status per catalog provider: the platform's
// key's suffix and times, never the key.
func (s *Service) ListPlatform(ctx context.Context) ([]ownkey.KeyStatus, error) {
	return s.list(ctx, ownkey.PlatformOwner)
}

// PlatformCredential opens the platform's key for providerID (cached like
// an account's): ENOTFOUND when there is none, EUNAVAILABLE when the
// operator disabled the provider. The result is shared and must not be
// changed.
func (s *Service) PlatformCredential(ctx context.Context, providerID string) (*ownkey.Credential, error) {
	return s.credential(ctx, credentialKey{ownkey.PlatformOwner, providerID})
}

// PlatformConfigured returns the set of provider ids the platform holds a
// key for, disabled providers excluded (cached; shared, not to be changed).
func (s *Service) PlatformConfigured(ctx context.Context) (map[string]bool, error) {
	return s.configuredSet(ctx, ownkey.PlatformOwner)
}

// MarkPlatformUsed records that the platform's key for providerID was
// just used (flushed with the accounts' last-used times).
func (s *Service) MarkPlatformUsed(providerID string) {
	s.markUsed(credentialKey{ownkey.PlatformOwner, providerID})
}

// notPlatform refuses the platform's owner id where an account's is
// expected: no account has it, so only a bug could pass it, and it must
// not reach the platform's keys through an account's methods.
func notPlatform(accountID int64) error {
	if accountID == ownkey.PlatformOwner {
		return ownkey.Errorf(ownkey.EFORBIDDEN, "not an account")
	}
	return nil
}

// The store methods for an owner's keys: the platform's have their own.

func (s *Service) putRecord(ctx context.Context, r *ownkey.CredentialRecord) error {
	if r.AccountID == ownkey.PlatformOwner {
		return s.store.PutPlatformCredential(ctx, r)
	}
	return s.store.PutCredential(ctx, r)
}

func (s *Service) storedCredential(ctx context.Context, owner int64, provider string) (*ownkey.CredentialRecord, error) {
	if owner == ownkey.PlatformOwner {
		return s.store.PlatformCredential(ctx, provider)
	}
	return s.store.Credential(ctx, owner, provider)
}

func (s *Service) storedCredentials(ctx context.Context, owner int64) ([]*ownkey.CredentialRecord, error) {
	if owner == ownkey.PlatformOwner {
		return s.store.PlatformCredentials(ctx)
	}
	return s.store.Credentials(ctx, owner)
}

func (s *Service) deleteRecord(ctx context.Context, owner int64, provider string) error {
	if owner == ownkey.PlatformOwner {
		return s.store.DeletePlatformCredential(ctx, provider)
	}
	return s.store.DeleteCredential(ctx, owner, provider)
}

func (s *Service) touchRecord(ctx context.Context, owner int64, provider string, at time.Time) error {
	if owner == ownkey.PlatformOwner {
		return s.store.TouchPlatformCredential(ctx, provider, at)
	}
	return s.store.TouchCredential(ctx, owner, provider, at)
}
