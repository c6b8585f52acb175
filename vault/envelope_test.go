package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestSealOpenRoundTrip(t *testing.T) {
	kr := GenerateKeyring()
	for _, pt := range []string{"", "sk-short1", `{"accessKeyId":"AKIA1234567890ABCDEF","secretAccessKey":"s","region":"us-east-1"}`, strings.Repeat("x", 5000)} {
		v, sealed, err := kr.Seal(7, "openai", []byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		if v != 1 {
			t.Fatalf("sealed under v%d, want v1", v)
		}
		if len(pt) >= 8 && bytes.Contains(sealed, []byte(pt)) {
			t.Fatal("plaintext visible in the sealed blob")
		}
		got, err := kr.Open(7, "openai", v, sealed)
		if err != nil || string(got) != pt {
			t.Fatalf("Open = %q, %v; want %q", got, err, pt)
		}
	}
	// The same plaintext seals differently each time (fresh data key and nonces).
	_, a, _ := kr.Seal(7, "openai", []byte("sk-same-value"))
	_, b, _ := kr.Seal(7, "openai", []byte("sk-same-value"))
	if bytes.Equal(a[5:], b[5:]) || bytes.Equal(a[65:], b[65:]) {
		t.Fatal("two seals of one plaintext share ciphertext")
	}
}

func TestOpenBindsAccountProviderVersionAndBytes(t *testing.T) {
	kr := GenerateKeyring()
	if _, err := kr.AddVersion(); err != nil {
		t.Fatal(err)
	}
	v, sealed, err := kr.Seal(1, "openai", []byte("sk-account-one-key"))
	if err != nil || v != 2 {
		t.Fatalf("Seal: v%d %v", v, err)
	}

	fails := func(name string, accountID int64, provider string, version uint32, blob []byte, want error) {
		t.Helper()
		pt, err := kr.Open(accountID, provider, version, blob)
		if err == nil {
			t.Fatalf("%s: opened to %q", name, pt)
		}
		if !errors.Is(err, want) {
			t.Fatalf("%s: error %v, want %v", name, err, want)
		}
		if strings.Contains(err.Error(), "sk-account-one-key") {
			t.Fatalf("%s: error echoes plaintext", name)
		}
	}
	fails("another account", 2, "openai", v, sealed, ErrCorrupt)
	fails("another provider", 1, "openai-responses", v, sealed, ErrCorrupt)
	fails("row version differs from blob", 1, "openai", 1, sealed, ErrCorrupt)
	fails("truncated", 1, "openai", v, sealed[:len(sealed)-1], ErrCorrupt)
	fails("too short", 1, "openai", v, sealed[:40], ErrCorrupt)
	fails("empty", 1, "openai", v, nil, ErrCorrupt)

	// The header names v1 and the row agrees, but v1's KEK did not wrap it.
	relabeled := bytes.Clone(sealed)
	binary.BigEndian.PutUint32(relabeled[1:5], 1)
	fails("relabeled to another version", 1, "openai", 1, relabeled, ErrCorrupt)

	unknown := bytes.Clone(sealed)
	binary.BigEndian.PutUint32(unknown[1:5], 9)
	fails("unknown version", 1, "openai", 9, unknown, ErrUnknownKeyVersion)

	// Any single flipped bit anywhere fails.
	for i := range sealed {
		tampered := bytes.Clone(sealed)
		tampered[i] ^= 0x01
		if pt, err := kr.Open(1, "openai", v, tampered); err == nil {
			t.Fatalf("byte %d tampered, still opened to %q", i, pt)
		}
	}
	// A different key under the same version number fails too.
	other := GenerateKeyring()
	_, _ = other.AddVersion()
	if _, err := other.Open(1, "openai", v, sealed); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a different v2 key: %v", err)
	}

	// Untouched, it still opens.
	if pt, err := kr.Open(1, "openai", v, sealed); err != nil || string(pt) != "sk-account-one-key" {
		t.Fatalf("original: %q %v", pt, err)
	}
}

func TestRewrap(t *testing.T) {
	kr := GenerateKeyring()
	v1, sealed, err := kr.Seal(3, "groq", []byte("gsk_rewrap_me_please"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.AddVersion(); err != nil {
		t.Fatal(err)
	}
	v2, rewrapped, err := kr.Rewrap(3, "groq", v1, sealed)
	if err != nil {
		t.Fatal(err)
	}
	if v1 != 1 || v2 != 2 || binary.BigEndian.Uint32(rewrapped[1:5]) != 2 {
		t.Fatalf("rewrap v%d -> v%d, header % x", v1, v2, rewrapped[:5])
	}
	if !bytes.Equal(rewrapped[65:], sealed[65:]) {
		t.Fatal("rewrap changed the credential ciphertext")
	}
	if bytes.Equal(rewrapped[5:65], sealed[5:65]) {
		t.Fatal("rewrap did not change the wrapped data key")
	}
	if pt, err := kr.Open(3, "groq", v2, rewrapped); err != nil || string(pt) != "gsk_rewrap_me_please" {
		t.Fatalf("open after rewrap: %q %v", pt, err)
	}
	if _, err := kr.Open(3, "groq", v1, rewrapped); err == nil {
		t.Fatal("rewrapped blob opened under its old version")
	}
	// Once v1 is gone the new blob still opens; the old one cannot.
	kr.Remove(1)
	if _, err := kr.Open(3, "groq", v2, rewrapped); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Open(3, "groq", v1, sealed); !errors.Is(err, ErrUnknownKeyVersion) {
		t.Fatalf("old blob without v1: %v", err)
	}
	// Rewrap is as bound to the row as Open.
	if _, _, err := kr.Rewrap(4, "groq", v2, rewrapped); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("rewrap for another account: %v", err)
	}
}
