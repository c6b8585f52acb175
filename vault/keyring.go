// Package vault keeps provider credentials encrypted at rest. Its crypto core
// follows HashiCorp Vault's AES-GCM barrier: a keyring of numbered master
// keys, envelope encryption with a fresh data key per credential, and every
// ciphertext bound to the row it belongs to, so a ciphertext copied to
// another account or provider does not open.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// MasterKeySize is the length of every master key: AES-256.
const MasterKeySize = 32

// HKDF info strings. Each purpose gets its own sub-key so that a weakness in
// one use (say, the check value being public to anyone with the database)
// says nothing about the key that wraps data keys.
const (
	kekInfo    = "ownkey/master-key/kek/v1"
	checkInfo  = "ownkey/master-key/check/v1"
	checkLabel = "ownkey/master-key-check/v1"
)

// ErrUnknownKeyVersion is wrapped by errors about a master key version that
// the keyring does not hold.
var ErrUnknownKeyVersion = errors.New("master key version not in keyring")

// Keyring holds the numbered master keys. The highest version seals new
// credentials; older versions stay to open what they sealed until a rotation
// has re-wrapped it. A Keyring is safe for concurrent use.
//
// Every way of printing a Keyring (fmt verbs, slog) shows only its versions;
// Encode is the one method that reveals key material.
type Keyring struct {
	mu     sync.RWMutex
	terms  map[uint32]*keyTerm
	active uint32
}

// keyTerm is one master key version and the sub-keys derived from it.
type keyTerm struct {
	master []byte
	kek    cipher.AEAD // wraps data keys
	check  []byte      // HMAC-SHA256(check key, checkLabel)
}

func newKeyTerm(master []byte) (*keyTerm, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("vault: master key must be %d bytes", MasterKeySize)
	}
	kek, err := hkdf.Key(sha256.New, master, nil, kekInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("vault: deriving key-encryption key: %w", err)
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	checkKey, err := hkdf.Key(sha256.New, master, nil, checkInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("vault: deriving check key: %w", err)
	}
	mac := hmac.New(sha256.New, checkKey)
	mac.Write([]byte(checkLabel))
	clear(kek)
	clear(checkKey)
	return &keyTerm{master: slices.Clone(master), kek: aead, check: mac.Sum(nil)}, nil
}

// GenerateKeyring returns a keyring holding one random key, version 1.
func GenerateKeyring() *Keyring {
	kr := &Keyring{terms: map[uint32]*keyTerm{}}
	if _, err := kr.add(1, randomKey()); err != nil {
		// Only reachable if the stdlib's AES or HKDF refused a 32-byte key.
		panic(err)
	}
	return kr
}

func randomKey() []byte {
	k := make([]byte, MasterKeySize)
	// crypto/rand.Read never fails (Go 1.24+); it aborts the program instead.
	_, _ = rand.Read(k)
	return k
}

func (kr *Keyring) add(version uint32, master []byte) (uint32, error) {
	t, err := newKeyTerm(master)
	clear(master)
	if err != nil {
		return 0, err
	}
	kr.terms[version] = t
	kr.active = max(kr.active, version)
	return version, nil
}

// AddVersion adds a new random master key one above the highest version and
// makes it the active one.
func (kr *Keyring) AddVersion() (uint32, error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if kr.terms == nil {
		kr.terms = map[uint32]*keyTerm{}
	}
	if kr.active == math.MaxUint32 {
		return 0, errors.New("vault: master key versions exhausted")
	}
	return kr.add(kr.active+1, randomKey())
}

// withNewVersion returns a copy of kr with a new random key at version,
// which must be above every version kr holds. kr is not changed.
func (kr *Keyring) withNewVersion(version uint32) (*Keyring, error) {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	if version <= kr.active {
		return nil, fmt.Errorf("vault: new master key version %d is not above v%d", version, kr.active)
	}
	c := &Keyring{terms: maps.Clone(kr.terms), active: kr.active}
	if _, err := c.add(version, randomKey()); err != nil {
		return nil, err
	}
	return c, nil
}

// without returns a copy of kr without versions. kr is not changed.
func (kr *Keyring) without(versions []uint32) *Keyring {
	kr.mu.RLock()
	c := &Keyring{terms: maps.Clone(kr.terms)}
	kr.mu.RUnlock()
	for _, v := range versions {
		delete(c.terms, v)
	}
	for v := range c.terms {
		c.active = max(c.active, v)
	}
	return c
}

// sameKeys reports whether kr and other hold the same versions with the
// same keys (compared by check value).
func (kr *Keyring) sameKeys(other *Keyring) bool {
	vs := kr.Versions()
	if !slices.Equal(vs, other.Versions()) {
		return false
	}
	for _, v := range vs {
		a, errA := kr.Check(v)
		b, errB := other.Check(v)
		if errA != nil || errB != nil || !hmac.Equal(a, b) {
			return false
		}
	}
	return true
}

// Remove drops a version, typically after a rotation has moved every
// credential off it. Removing the active version makes the next highest
// active.
func (kr *Keyring) Remove(version uint32) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	delete(kr.terms, version)
	kr.active = 0
	for v := range kr.terms {
		kr.active = max(kr.active, v)
	}
}

// Versions lists the versions held, ascending.
func (kr *Keyring) Versions() []uint32 {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return slices.Sorted(maps.Keys(kr.terms))
}

// Active is the version that seals new credentials (0 for an empty keyring).
func (kr *Keyring) Active() uint32 {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.active
}

// Has reports whether the keyring holds version.
func (kr *Keyring) Has(version uint32) bool {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	_, ok := kr.terms[version]
	return ok
}

// term returns a version's keys.
func (kr *Keyring) term(version uint32) (*keyTerm, error) {
	kr.mu.RLock()
	t, ok := kr.terms[version]
	kr.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("vault: credential is sealed by master key version %d, which is not in %s: %w", version, kr, ErrUnknownKeyVersion)
	}
	return t, nil
}

// activeTerm returns the active version and its keys.
func (kr *Keyring) activeTerm() (uint32, *keyTerm, error) {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	t, ok := kr.terms[kr.active]
	if !ok {
		return 0, nil, errors.New("vault: the keyring is empty")
	}
	return kr.active, t, nil
}

// Check returns a value that identifies a version's key without revealing
// it: stored next to the credentials, it lets a later start prove that the
// key it was given is the one that sealed them.
func (kr *Keyring) Check(version uint32) ([]byte, error) {
	t, err := kr.term(version)
	if err != nil {
		return nil, err
	}
	return slices.Clone(t.check), nil
}

// SubKey derives a 32-byte key for purpose from a version's master key
// (HKDF-SHA256 with purpose as its info), for a use of the master key
// outside the vault, such as the dashboard's session tokens: each purpose
// gets a key of its own that says nothing about the key-encryption key or
// any other purpose's. The vault's own purposes are refused.
func (kr *Keyring) SubKey(version uint32, purpose string) ([]byte, error) {
	if purpose == "" || purpose == kekInfo || purpose == checkInfo {
		return nil, fmt.Errorf("vault: %q is not a purpose a sub-key may be derived for", purpose)
	}
	t, err := kr.term(version)
	if err != nil {
		return nil, err
	}
	return hkdf.Key(sha256.New, t.master, nil, purpose, 32)
}

// String describes the keyring by its versions only, e.g.
// "keyring[v1,v2 active=v2]".
func (kr *Keyring) String() string {
	if kr == nil {
		return "keyring[nil]"
	}
	vs := kr.Versions()
	if len(vs) == 0 {
		return "keyring[empty]"
	}
	var b strings.Builder
	b.WriteString("keyring[")
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('v')
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	}
	fmt.Fprintf(&b, " active=v%d]", kr.Active())
	return b.String()
}

// GoString keeps %#v from dumping the fields.
func (kr *Keyring) GoString() string { return kr.String() }

// Format makes every verb print String: without it, verbs such as %d or %x
// would format the struct's fields, key bytes included.
func (kr *Keyring) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(kr.String())) }

// LogValue keeps slog from reflecting over the fields.
func (kr *Keyring) LogValue() slog.Value { return slog.StringValue(kr.String()) }

// MarshalText is what encoders that honour TextMarshaler (JSON included) see.
func (kr *Keyring) MarshalText() ([]byte, error) { return []byte(kr.String()), nil }

// Encode returns the keyring in the format ParseKeyring reads and
// OWNKEY_MASTER_KEY holds: "v1:<base64>,v2:<base64>". It is the only method
// that reveals key material; use it to write the key file and nowhere else.
func (kr *Keyring) Encode() string {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	parts := make([]string, 0, len(kr.terms))
	for _, v := range slices.Sorted(maps.Keys(kr.terms)) {
		parts = append(parts, "v"+strconv.FormatUint(uint64(v), 10)+":"+base64.StdEncoding.EncodeToString(kr.terms[v].master))
	}
	return strings.Join(parts, ",")
}

// ParseKeyring reads a keyring: entries "v<N>:<key>" separated by newlines or
// commas, where key is 32 bytes in standard base64 or 64 hex characters.
// Blank lines and lines starting with '#' are ignored. A single bare key is
// version 1. Errors say which entry is wrong and why, never what it holds.
func ParseKeyring(s string) (*Keyring, error) {
	var entries []string
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for e := range strings.SplitSeq(line, ",") {
			if e = strings.TrimSpace(e); e != "" {
				entries = append(entries, e)
			}
		}
	}
	if len(entries) == 0 {
		return nil, errors.New("vault: no master key given")
	}
	kr := &Keyring{terms: map[uint32]*keyTerm{}}
	if len(entries) == 1 && !strings.Contains(entries[0], ":") {
		key, err := decodeMasterKey(entries[0])
		if err != nil {
			return nil, fmt.Errorf("vault: master key: %w", err)
		}
		if _, err := kr.add(1, key); err != nil {
			return nil, err
		}
		return kr, nil
	}
	for i, e := range entries {
		n := i + 1
		label, encoded, ok := strings.Cut(e, ":")
		label = strings.TrimSpace(label)
		if !ok {
			return nil, fmt.Errorf("vault: master key entry %d has no version; with several keys each must be v<N>:<key>", n)
		}
		if len(label) < 2 || label[0] != 'v' {
			return nil, fmt.Errorf("vault: master key entry %d must start with v<N>: (a version number)", n)
		}
		v, err := strconv.ParseUint(label[1:], 10, 32)
		if err != nil || v == 0 {
			return nil, fmt.Errorf("vault: master key entry %d: version must be a whole number from 1 to %d", n, uint32(math.MaxUint32))
		}
		if _, dup := kr.terms[uint32(v)]; dup {
			return nil, fmt.Errorf("vault: master key entry %d repeats version %d", n, v)
		}
		key, err := decodeMasterKey(strings.TrimSpace(encoded))
		if err != nil {
			return nil, fmt.Errorf("vault: master key entry %d (version %d): %w", n, v, err)
		}
		if _, err := kr.add(uint32(v), key); err != nil {
			return nil, err
		}
	}
	return kr, nil
}

// decodeMasterKey decodes one key. Its errors describe the shape only: the
// input may be a real key with a typo.
func decodeMasterKey(s string) ([]byte, error) {
	var key []byte
	if len(s) == 2*MasterKeySize {
		if k, err := hex.DecodeString(s); err == nil {
			key = k
		}
	}
	if key == nil {
		k, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			// Tolerate keys pasted without their '=' padding.
			if k, err = base64.RawStdEncoding.DecodeString(s); err != nil {
				return nil, fmt.Errorf("key is not valid standard base64 or 64 hex characters")
			}
		}
		key = k
	}
	if len(key) != MasterKeySize {
		n := len(key)
		clear(key)
		return nil, fmt.Errorf("key is %d bytes, want %d (generate one with: openssl rand -base64 32)", n, MasterKeySize)
	}
	if !slices.ContainsFunc(key, func(b byte) bool { return b != 0 }) {
		return nil, fmt.Errorf("key is all zero bytes")
	}
	return key, nil
}
