package ownkey

import (
	"fmt"
	"log/slog"
)

// Redacted is what a Secret prints as, everywhere.
const Redacted = "[REDACTED]"

// Secret holds a decrypted credential or key. Every way of printing,
// formatting, logging or marshalling it redacts, so that leaking one takes a
// deliberate call to Reveal rather than a careless %v.
type Secret struct{ s string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{s} }

// Reveal returns the plaintext. Call it only where the value leaves for its
// provider (a request header, a signer), never into a log or a response.
func (s Secret) Reveal() string { return s.s }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.s == "" }

// Last4 returns the last four characters, the only part ever displayed.
func (s Secret) Last4() string { return Last4(s.s) }

func (s Secret) String() string               { return Redacted }
func (s Secret) GoString() string             { return Redacted }
func (s Secret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(Redacted)) }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(Redacted) }
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// Last4 returns the last four runes of s (all of s if shorter).
func Last4(s string) string {
	r := []rune(s)
	if len(r) <= 4 {
		return string(r)
	}
	return string(r[len(r)-4:])
}
