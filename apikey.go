package ownkey

import (
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"strings"
	"time"
)

// APIKeyPrefix makes an ownkey key recognisable to people and to secret
// scanners.
const APIKeyPrefix = "sk-ownkey-"

const apiKeyAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// apiKeyBodyLen base62 characters carry ~238 bits of entropy.
const apiKeyBodyLen = 40

// APIKey is an ownkey API key as stored: only its SHA-256 hash and its last
// four characters. The plaintext exists once, in the response that creates it.
type APIKey struct {
	ID         int64      `json:"id"`
	AccountID  int64      `json:"account_id"`
	Name       string     `json:"name"`
	Hash       []byte     `json:"-"`
	Last4      string     `json:"last4"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	// Limits are the key's daily limits (429 once one is reached).
	Limits APIKeyLimits `json:"limits"`
}

// Revoked reports whether the key can no longer authenticate.
func (k *APIKey) Revoked() bool { return k.RevokedAt != nil }

// GenerateAPIKey returns a new random key and its stored form. The hash is a
// plain SHA-256: the key has far too much entropy for a slow hash to add
// anything, and a fast hash keeps authentication cheap on the hot path.
func GenerateAPIKey(accountID int64, name string) (Secret, *APIKey, error) {
	var b strings.Builder
	b.WriteString(APIKeyPrefix)
	max := big.NewInt(int64(len(apiKeyAlphabet)))
	for range apiKeyBodyLen {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return Secret{}, nil, err
		}
		b.WriteByte(apiKeyAlphabet[n.Int64()])
	}
	plain := b.String()
	return NewSecret(plain), &APIKey{
		AccountID: accountID,
		Name:      name,
		Hash:      HashAPIKey(plain),
		Last4:     Last4(plain),
		CreatedAt: Now(),
	}, nil
}

// HashAPIKey is the stored form of a presented key.
func HashAPIKey(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

// WellFormedAPIKey reports whether s looks like an ownkey key, so that
// malformed input is refused before any lookup.
func WellFormedAPIKey(s string) bool {
	if len(s) != len(APIKeyPrefix)+apiKeyBodyLen || !strings.HasPrefix(s, APIKeyPrefix) {
		return false
	}
	for i := len(APIKeyPrefix); i < len(s); i++ {
		if strings.IndexByte(apiKeyAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}
