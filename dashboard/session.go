package dashboard

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"time"

	"github.com/ownkey/ownkey"
)

// Sessions are the dashboard's sign-ins: an encrypted token in a cookie.
//
// A token holds the ownkey API key the user signed in with, when it was
// issued, when it expires and the session's CSRF token, sealed with
// AES-256-GCM under a key derived from the master key (Keys.SubKey with
// sessionPurpose, per master key version). So a session works on every
// replica that holds the master key, with nothing stored in the database;
// the API key is in the cookie only encrypted; and every request
// authenticates that key again (accounts.Service, cached), so revoking the
// key ends its sessions on every replica as it ends the key's API access.
//
// Signing out deletes the cookie; a copy of the cookie taken before stays
// valid until it expires, like any bearer token (revoke the API key to end
// it at once). Lifetime bounds that.
type Sessions struct {
	keys     func() Keys
	lifetime time.Duration
	secure   bool
	now      func() time.Time
}

// Keys is the master keyring as sessions use it (*vault.Keyring): the
// version that seals new tokens and a sub-key of any version held.
type Keys interface {
	Active() uint32
	SubKey(version uint32, purpose string) ([]byte, error)
}

// SessionOptions configure Sessions.
type SessionOptions struct {
	// Lifetime is how long a session lasts after sign-in, whatever is
	// done with it (OWNKEY_SESSION_LIFETIME); zero: DefaultSessionLifetime.
	Lifetime time.Duration
	// Secure marks the cookie Secure on every response, for a server
	// behind a proxy that terminates TLS (OWNKEY_SECURE_COOKIES). A
	// request that came over TLS gets a Secure cookie anyway.
	Secure bool
	// Now is the clock (tests); nil: ownkey.Now.
	Now func() time.Time
}

const (
	// DefaultSessionLifetime is a working day: long enough not to sign a
	// person out mid-task, short enough that a cookie left behind expires.
	DefaultSessionLifetime = 12 * time.Hour
	// CookieName is the session cookie's name.
	CookieName = "ownkey_session"
	// CSRFHeader carries the session's CSRF token on the dashboard's
	// calls of the JSON API that change something.
	CSRFHeader = "X-CSRF-Token"

	sessionPurpose = "ownkey/dashboard-session/v1"
	sessionAAD     = "ownkey/dashboard-session/v1"
	// maxTokenBytes bounds the cookie value read: a token of the longest
	// well-formed API key is about 200 bytes.
	maxTokenBytes = 1024
	csrfBytes     = 16
	// plainHeader is issued (8) | expires (8) | CSRF token (16), before
	// the API key.
	plainHeader = 8 + 8 + csrfBytes
)

// NewSessions returns sessions sealed under keys() (read at each use, so a
// reloaded keyring applies).
func NewSessions(keys func() Keys, opts SessionOptions) *Sessions {
	if opts.Lifetime <= 0 {
		opts.Lifetime = DefaultSessionLifetime
	}
	if opts.Now == nil {
		opts.Now = ownkey.Now
	}
	return &Sessions{keys: keys, lifetime: opts.Lifetime, secure: opts.Secure, now: opts.Now}
}

// Lifetime is how long a session lasts.
func (s *Sessions) Lifetime() time.Duration { return s.lifetime }

// Session is an open session.
type Session struct {
	// Key is the ownkey API key the user signed in with.
	Key ownkey.Secret
	// CSRF is the token every state change of this session carries: the
	// CSRFHeader of an API call, the csrf field of a dashboard form.
	CSRF    string
	Issued  time.Time
	Expires time.Time
}

// CheckCSRF reports whether got is the session's CSRF token.
func (s *Session) CheckCSRF(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) == 1
}

var errBadToken = errors.New("dashboard: not a session token")

func (s *Sessions) aead(version uint32) (cipher.AEAD, error) {
	key, err := s.keys().SubKey(version, sessionPurpose)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal makes the token of a new session for key.
func (s *Sessions) seal(key ownkey.Secret) (string, *Session, error) {
	now := s.now()
	sess := &Session{Key: key, Issued: now, Expires: now.Add(s.lifetime)}
	csrf := make([]byte, csrfBytes)
	_, _ = rand.Read(csrf)
	sess.CSRF = base64.RawURLEncoding.EncodeToString(csrf)
	version := s.keys().Active()
	aead, err := s.aead(version)
	if err != nil {
		return "", nil, err
	}
	plain := make([]byte, 0, plainHeader+len(key.Reveal()))
	plain = binary.BigEndian.AppendUint64(plain, uint64(sess.Issued.Unix()))
	plain = binary.BigEndian.AppendUint64(plain, uint64(sess.Expires.Unix()))
	plain = append(plain, csrf...)
	plain = append(plain, key.Reveal()...)
	out := binary.BigEndian.AppendUint32(make([]byte, 0, 4+aead.NonceSize()+len(plain)+aead.Overhead()), version)
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	out = append(out, nonce...)
	out = aead.Seal(out, nonce, plain, []byte(sessionAAD))
	clear(plain)
	return base64.RawURLEncoding.EncodeToString(out), sess, nil
}

// open reads a token: errBadToken for anything not sealed by this
// keyring, or expired.
func (s *Sessions) open(token string) (*Session, error) {
	if len(token) > maxTokenBytes {
		return nil, errBadToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 4 {
		return nil, errBadToken
	}
	aead, err := s.aead(binary.BigEndian.Uint32(raw))
	if err != nil {
		return nil, errBadToken // a version this keyring lacks
	}
	raw = raw[4:]
	if len(raw) < aead.NonceSize() {
		return nil, errBadToken
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(sessionAAD))
	if err != nil || len(plain) <= plainHeader {
		return nil, errBadToken
	}
	sess := &Session{
		Issued:  time.Unix(int64(binary.BigEndian.Uint64(plain)), 0).UTC(),
		Expires: time.Unix(int64(binary.BigEndian.Uint64(plain[8:])), 0).UTC(),
		CSRF:    base64.RawURLEncoding.EncodeToString(plain[16:plainHeader]),
		Key:     ownkey.NewSecret(string(plain[plainHeader:])),
	}
	clear(plain)
	if !s.now().Before(sess.Expires) {
		return nil, errBadToken
	}
	return sess, nil
}

// Open returns r's session, or false without a valid, unexpired one.
func (s *Sessions) Open(r *http.Request) (*Session, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return nil, false
	}
	sess, err := s.open(c.Value)
	return sess, err == nil
}

// SessionKey is Open for the JSON API (httpapi.Sessions): the API key of
// r's session and the CSRF token its state changes must carry.
func (s *Sessions) SessionKey(r *http.Request) (ownkey.Secret, string, bool) {
	sess, ok := s.Open(r)
	if !ok {
		return ownkey.Secret{}, "", false
	}
	return sess.Key, sess.CSRF, true
}

// Issue starts a session for key and sets its cookie on w.
func (s *Sessions) Issue(w http.ResponseWriter, r *http.Request, key ownkey.Secret) (*Session, error) {
	token, sess, err := s.seal(key)
	if err != nil {
		return nil, err
	}
	http.SetCookie(w, s.cookie(r, token, sess.Expires))
	return sess, nil
}

// Clear deletes the session cookie.
func (s *Sessions) Clear(w http.ResponseWriter, r *http.Request) {
	c := s.cookie(r, "", time.Unix(0, 0))
	c.MaxAge = -1
	http.SetCookie(w, c)
}

// Secure reports whether r's cookies are marked Secure: it came over TLS,
// or the operator says a proxy in front terminates it.
func (s *Sessions) Secure(r *http.Request) bool { return s.secure || r.TLS != nil }

// cookie is the session cookie: HttpOnly (no script reads it),
// SameSite=Strict (no other site's page sends it), for the whole site,
// Secure behind TLS.
func (s *Sessions) cookie(r *http.Request, value string, expires time.Time) *http.Cookie {
	return &http.Cookie{
		Name: CookieName, Value: value, Path: "/", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.Secure(r),
	}
}
