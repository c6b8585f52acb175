package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// A sealed credential is an envelope:
//
//	offset  size  field
//	0       1     format (formatV1)
//	1       4     master key version, big-endian
//	5       12    nonce of the wrapped data key
//	17      48    data key (32) sealed by the version's KEK, + GCM tag (16)
//	65      12    nonce of the credential
//	77      n+16  credential sealed by the data key, + GCM tag
//
// Each credential has its own random data key (DEK); the master key only
// ever encrypts DEKs, through a key-encryption key (KEK) derived from it with
// HKDF. Rotation therefore re-wraps 48 bytes per credential and leaves the
// credential's ciphertext untouched.
//
// Both seals carry associated data naming the account and provider, so a
// blob copied into another row fails its tag check instead of decrypting
// as someone else's key. The header is covered implicitly: a changed format
// byte is refused, and a changed version selects a KEK that fails the tag.
const (
	formatV1    = 1
	headerSize  = 1 + 4
	nonceSize   = 12
	tagSize     = 16
	dekSize     = 32
	wrappedSize = nonceSize + dekSize + tagSize
	dataOffset  = headerSize + wrappedSize
	minSealed   = dataOffset + nonceSize + tagSize
)

// ErrCorrupt is wrapped by errors about a blob that does not open: tampered,
// truncated, sealed for another row, or sealed by a different key.
var ErrCorrupt = errors.New("sealed credential does not authenticate")

func aad(kind string, accountID int64, provider string) []byte {
	b := make([]byte, 0, len(kind)+len(provider)+24)
	b = append(b, kind...)
	b = append(b, '|')
	b = strconv.AppendInt(b, accountID, 10)
	b = append(b, '|')
	return append(b, provider...)
}

func dekAAD(accountID int64, provider string) []byte {
	return aad("ownkey/dek/v1", accountID, provider)
}

func credentialAAD(accountID int64, provider string) []byte {
	return aad("ownkey/credential/v1", accountID, provider)
}

// Seal encrypts plaintext, a credential of accountID for provider, under the
// active master key version, which it returns with the envelope.
func (kr *Keyring) Seal(accountID int64, provider string, plaintext []byte) (version uint32, sealed []byte, err error) {
	version, _, err = kr.activeTerm()
	if err != nil {
		return 0, nil, err
	}
	sealed, err = kr.SealWith(version, accountID, provider, plaintext)
	return version, sealed, err
}

// SealWith is Seal under a chosen version: the service seals with the
// newest version the database has verified, which a keyring that was just
// extended may not have as its active one yet.
func (kr *Keyring) SealWith(version uint32, accountID int64, provider string, plaintext []byte) ([]byte, error) {
	term, err := kr.term(version)
	if err != nil {
		return nil, err
	}
	dek := make([]byte, dekSize)
	_, _ = rand.Read(dek)
	defer clear(dek)
	data, err := newGCM(dek)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, minSealed+len(plaintext))
	out = appendWrappedDEK(out, version, term, dek, accountID, provider)
	out = out[:dataOffset+nonceSize]
	nonce := out[dataOffset:]
	_, _ = rand.Read(nonce)
	out = data.Seal(out, nonce, plaintext, credentialAAD(accountID, provider))
	return out, nil
}

// appendWrappedDEK appends the header and the wrapped data key to dst.
func appendWrappedDEK(dst []byte, version uint32, term *keyTerm, dek []byte, accountID int64, provider string) []byte {
	dst = append(dst, formatV1)
	dst = binary.BigEndian.AppendUint32(dst, version)
	nonce := make([]byte, nonceSize)
	_, _ = rand.Read(nonce)
	dst = append(dst, nonce...)
	return term.kek.Seal(dst, nonce, dek, dekAAD(accountID, provider))
}

// Open decrypts what Seal returned for the same account and provider.
// version is the one stored with the row, and must match the blob's own. It
// fails, without saying anything about keys, when the version is unknown or
// any tag check fails.
func (kr *Keyring) Open(accountID int64, provider string, version uint32, sealed []byte) ([]byte, error) {
	dek, err := kr.unwrapDEK(accountID, provider, version, sealed)
	if err != nil {
		return nil, err
	}
	defer clear(dek)
	data, err := newGCM(dek)
	if err != nil {
		return nil, err
	}
	ct := sealed[dataOffset:]
	plaintext, err := data.Open(nil, ct[:nonceSize], ct[nonceSize:], credentialAAD(accountID, provider))
	if err != nil {
		return nil, fmt.Errorf("vault: %s credential of account %d: %w", provider, accountID, ErrCorrupt)
	}
	return plaintext, nil
}

// Rewrap moves a sealed credential to the active master key version by
// re-wrapping its data key. The credential's ciphertext is copied unchanged.
func (kr *Keyring) Rewrap(accountID int64, provider string, version uint32, sealed []byte) (newVersion uint32, newSealed []byte, err error) {
	newVersion, _, err = kr.activeTerm()
	if err != nil {
		return 0, nil, err
	}
	newSealed, err = kr.RewrapTo(newVersion, accountID, provider, version, sealed)
	return newVersion, newSealed, err
}

// RewrapTo is Rewrap to a chosen version.
func (kr *Keyring) RewrapTo(target uint32, accountID int64, provider string, version uint32, sealed []byte) ([]byte, error) {
	term, err := kr.term(target)
	if err != nil {
		return nil, err
	}
	dek, err := kr.unwrapDEK(accountID, provider, version, sealed)
	if err != nil {
		return nil, err
	}
	defer clear(dek)
	out := make([]byte, 0, len(sealed))
	out = appendWrappedDEK(out, target, term, dek, accountID, provider)
	return append(out, sealed[dataOffset:]...), nil
}

func (kr *Keyring) unwrapDEK(accountID int64, provider string, version uint32, sealed []byte) ([]byte, error) {
	if len(sealed) < minSealed || sealed[0] != formatV1 {
		return nil, fmt.Errorf("vault: %s credential of account %d is not a sealed credential (bad length or format): %w", provider, accountID, ErrCorrupt)
	}
	if v := binary.BigEndian.Uint32(sealed[1:headerSize]); v != version {
		return nil, fmt.Errorf("vault: %s credential of account %d: row says master key version %d but the envelope says %d: %w", provider, accountID, version, v, ErrCorrupt)
	}
	term, err := kr.term(version)
	if err != nil {
		return nil, err
	}
	wrapped := sealed[headerSize:dataOffset]
	dek, err := term.kek.Open(nil, wrapped[:nonceSize], wrapped[nonceSize:], dekAAD(accountID, provider))
	if err != nil {
		return nil, fmt.Errorf("vault: %s credential of account %d: data key does not open with master key version %d: %w", provider, accountID, version, ErrCorrupt)
	}
	return dek, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return cipher.NewGCM(block)
}
