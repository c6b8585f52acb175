package ownkey

import (
	"context"
	"encoding/json"
	"time"
)

// Platform keys are the operator's own provider keys. A request that uses
// one is served without the user holding a key: ownkey pays the provider
// and bills the account the at-cost price plus the platform margin. They
// sit in the same vault as the users' keys, sealed for an owner no account
// can be, behind their own store methods and their own service, so that
// nothing that lists, returns or uses an account's keys can reach them,
// and no account's key is ever taken for the platform's.

// PlatformOwner is the owner id platform keys are sealed for (the vault
// binds every key's encryption to its owner and provider). No account has
// it: account ids start at 1 on both databases.
const PlatformOwner int64 = -1

// KeyChoice is the client's BYOK switch: whose provider key may serve a
// chat request.
type KeyChoice uint8

const (
	// KeyAuto (the client said nothing): the account's own key when it
	// holds one that serves the request, else the platform's.
	KeyAuto KeyChoice = iota
	// KeyOwn (x-use-byok: true, body byok.enabled: true): the account's
	// own key only; never the platform's.
	KeyOwn
	// KeyPlatform (x-use-byok: false, body byok.enabled: false): the
	// platform's key only.
	KeyPlatform
)

func (k KeyChoice) String() string {
	switch k {
	case KeyOwn:
		return "own"
	case KeyPlatform:
		return "platform"
	}
	return "auto"
}

// PlatformKeyService is the operator's provider keys (vault.Service):
// stored, listed and deleted by admins, opened by the chat path for a
// request that uses the platform's key. It is apart from
// CredentialService so that no handler serving an account's keys holds
// anything that reaches these.
type PlatformKeyService interface {
	// PutPlatform validates raw as the platform's credential for the
	// provider, exactly as CredentialService.Put validates a user's, and
	// stores it, replacing any previous one.
	PutPlatform(ctx context.Context, providerID string, raw json.RawMessage) (*KeyStatus, error)
	// DeletePlatform is ENOTFOUND when there was nothing to delete.
	DeletePlatform(ctx context.Context, providerID string) error
	// ListPlatform is one status per catalog provider (the key's last four
	// characters at most, never the key).
	ListPlatform(ctx context.Context) ([]KeyStatus, error)
	// PlatformCredential opens the platform's key for the provider
	// (ENOTFOUND if none is stored).
	PlatformCredential(ctx context.Context, providerID string) (*Credential, error)
	// PlatformConfigured is the set of provider ids the platform holds a
	// usable key for.
	PlatformConfigured(ctx context.Context) (map[string]bool, error)
	// MarkPlatformUsed notes that the platform's key for the provider was
	// used now.
	MarkPlatformUsed(providerID string)
}

// PlatformCredentialStore keeps the platform's keys (part of Store). They
// are CredentialRecords of AccountID PlatformOwner, one per provider, in a
// table of their own: no method that takes an account id reads or writes
// them, so no account can see or use one (and no account's key is ever
// the platform's). Rotation covers them (Store.CredentialsNotAtVersion).
type PlatformCredentialStore interface {
	// PutPlatformCredential is PutCredential for the platform's key for
	// r.Provider; r.AccountID must be PlatformOwner.
	PutPlatformCredential(ctx context.Context, r *CredentialRecord) error
	// PlatformCredential is ENOTFOUND when the platform holds no key for
	// the provider.
	PlatformCredential(ctx context.Context, provider string) (*CredentialRecord, error)
	// PlatformCredentials lists the platform's keys, ordered by provider.
	PlatformCredentials(ctx context.Context) ([]*CredentialRecord, error)
	// DeletePlatformCredential is ENOTFOUND when there was nothing to
	// delete.
	DeletePlatformCredential(ctx context.Context, provider string) error
	// TouchPlatformCredential records that the key was used at (zero
	// means now); the time only moves forward.
	TouchPlatformCredential(ctx context.Context, provider string, at time.Time) error
}

// Markups are the operator's rates on top of a request's at-cost price.
type Markups struct {
	// BYOK is taken on requests served with the account's own key, which
	// the provider bills the user for (OWNKEY_BYOK_MARKUP,
	// DefaultBYOKMarkup).
	BYOK PPM
	// Platform is the margin on requests served with the platform's key,
	// which the operator pays the provider for (OWNKEY_PLATFORM_MARGIN,
	// default 0: at cost).
	Platform PPM
}

// For is the rate for a request served with the account's own key (byok)
// or the platform's.
func (m Markups) For(byok bool) PPM {
	if byok {
		return m.BYOK
	}
	return m.Platform
}

// ChargeFor prices a request's usage by whose key served it. With the
// account's own key (byok) the provider bills the user, and ownkey charges
// markup × the markup base (Charge). With the platform's key ownkey pays
// the provider, so it charges the at-cost price plus markup (the platform
// margin) × the markup base: at cost when the margin is 0. Each part is
// rounded up once, as in Charge.
func (q Quote) ChargeFor(u Usage, byok bool, markup PPM) Charge {
	c := q.Charge(u, markup)
	c.BYOK = byok
	if !byok {
		c.Charged = addSaturating(c.AtCost, c.Charged)
	}
	return c
}

// addSaturating is a+b for amounts that are never negative, held at the
// largest NanoUSD rather than wrapping, as ceilDiv saturates.
func addSaturating(a, b NanoUSD) NanoUSD {
	if s := a + b; s >= a {
		return s
	}
	return 1<<63 - 1
}
