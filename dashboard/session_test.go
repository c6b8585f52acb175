package dashboard

import (
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/vault"
)

const testKey = "sk-ownkey-CanarySessionKey0123456789abcdefghijKLMN"

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestSessions(kr *vault.Keyring, c *clock, opts SessionOptions) *Sessions {
	opts.Now = c.now
	return NewSessions(func() Keys { return kr }, opts)
}

// issue signs in with key and returns the cookie set.
func issue(t *testing.T, s *Sessions, r *http.Request, key string) (*http.Cookie, *Session) {
	t.Helper()
	w := httptest.NewRecorder()
	sess, err := s.Issue(w, r, ownkey.NewSecret(key))
	if err != nil {
		t.Fatal(err)
	}
	cs := w.Result().Cookies()
	if len(cs) != 1 || cs[0].Name != CookieName {
		t.Fatalf("cookies set: %v", cs)
	}
	return cs[0], sess
}

func withCookie(c *http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "/byok", nil)
	r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	return r
}

func TestSessionRoundTrip(t *testing.T) {
	kr := vault.GenerateKeyring()
	c := &clock{t: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
	s := newTestSessions(kr, c, SessionOptions{})
	cookie, sess := issue(t, s, httptest.NewRequest("POST", "/signin", nil), testKey)

	// The cookie: HttpOnly, SameSite=Strict, the whole site, not Secure
	// over plain HTTP, expiring with the session.
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || cookie.Secure {
		t.Fatalf("cookie attributes: %+v", cookie)
	}
	if !cookie.Expires.Equal(c.t.Add(DefaultSessionLifetime)) {
		t.Fatalf("cookie expires %v, want %v", cookie.Expires, c.t.Add(DefaultSessionLifetime))
	}
	// The key is in the cookie only encrypted: neither it nor a piece of
	// it, nor its base64, is in the value.
	raw, _ := base64.RawURLEncoding.DecodeString(cookie.Value)
	for _, piece := range []string{testKey, testKey[10:30], testKey[30:]} {
		if strings.Contains(cookie.Value, piece) || strings.Contains(string(raw), piece) ||
			strings.Contains(cookie.Value, base64.RawURLEncoding.EncodeToString([]byte(piece))) {
			t.Fatalf("the cookie carries the API key in the clear: %s", cookie.Value)
		}
	}
	got, ok := s.Open(withCookie(cookie))
	if !ok || got.Key.Reveal() != testKey || got.CSRF != sess.CSRF || !got.Expires.Equal(sess.Expires) || !got.Issued.Equal(c.t) {
		t.Fatalf("opened %+v (%v), issued %+v", got, ok, sess)
	}
	if len(sess.CSRF) < 20 || !got.CheckCSRF(sess.CSRF) || got.CheckCSRF("") || got.CheckCSRF(sess.CSRF+"x") {
		t.Fatalf("CSRF token %q checks wrongly", sess.CSRF)
	}
	// Two sessions of one key have different tokens and CSRF tokens.
	cookie2, sess2 := issue(t, s, httptest.NewRequest("POST", "/signin", nil), testKey)
	if cookie2.Value == cookie.Value || sess2.CSRF == sess.CSRF {
		t.Fatal("two sign-ins gave the same token")
	}
	key, csrf, ok := s.SessionKey(withCookie(cookie))
	if !ok || key.Reveal() != testKey || csrf != sess.CSRF {
		t.Fatalf("SessionKey: %v %q %v", key, csrf, ok)
	}
}

func TestSessionExpires(t *testing.T) {
	kr := vault.GenerateKeyring()
	c := &clock{t: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
	s := newTestSessions(kr, c, SessionOptions{Lifetime: time.Hour})
	cookie, _ := issue(t, s, httptest.NewRequest("POST", "/signin", nil), testKey)
	c.t = c.t.Add(time.Hour - time.Second)
	if _, ok := s.Open(withCookie(cookie)); !ok {
		t.Fatal("refused a second before it expires")
	}
	c.t = c.t.Add(time.Second)
	if _, ok := s.Open(withCookie(cookie)); ok {
		t.Fatal("accepted at its expiry")
	}
	if _, _, ok := s.SessionKey(withCookie(cookie)); ok {
		t.Fatal("the API accepts an expired session")
	}
}

func TestSessionRefusesForgeries(t *testing.T) {
	kr := vault.GenerateKeyring()
	c := &clock{t: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
	s := newTestSessions(kr, c, SessionOptions{})
	cookie, _ := issue(t, s, httptest.NewRequest("POST", "/signin", nil), testKey)
	raw, _ := base64.RawURLEncoding.DecodeString(cookie.Value)
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	other := newTestSessions(vault.GenerateKeyring(), c, SessionOptions{})
	otherCookie, _ := issue(t, other, httptest.NewRequest("POST", "/signin", nil), testKey)
	for name, value := range map[string]string{
		"empty":               "",
		"not base64":          "%%%",
		"short":               "AAAA",
		"version flipped":     flip(3),
		"nonce flipped":       flip(6),
		"ciphertext flipped":  flip(30),
		"tag flipped":         flip(len(raw) - 1),
		"another master key":  otherCookie.Value,
		"too long":            strings.Repeat("A", maxTokenBytes+1),
		"truncated":           cookie.Value[:len(cookie.Value)-4],
		"the key in the text": testKey,
	} {
		if _, ok := s.Open(withCookie(&http.Cookie{Name: CookieName, Value: value})); ok {
			t.Errorf("%s: opened", name)
		}
	}
}

// TestSessionAcrossReplicas: a replica started with the same master key
// opens the session another issued (nothing is stored), also after the
// master key is rotated (the token names its key version).
func TestSessionAcrossReplicas(t *testing.T) {
	kr := vault.GenerateKeyring()
	c := &clock{t: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
	a := newTestSessions(kr, c, SessionOptions{})
	cookie, _ := issue(t, a, httptest.NewRequest("POST", "/signin", nil), testKey)
	kr2, err := vault.ParseKeyring(kr.Encode())
	if err != nil {
		t.Fatal(err)
	}
	b := newTestSessions(kr2, c, SessionOptions{})
	if got, ok := b.Open(withCookie(cookie)); !ok || got.Key.Reveal() != testKey {
		t.Fatal("another replica with the same master key does not open the session")
	}
	if _, err := kr2.AddVersion(); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Open(withCookie(cookie)); !ok {
		t.Fatal("a session sealed under v1 is lost once v2 is added")
	}
	newer, _ := issue(t, b, httptest.NewRequest("POST", "/signin", nil), testKey)
	if _, ok := b.Open(withCookie(newer)); !ok {
		t.Fatal("a session sealed under v2 does not open")
	}
}

func TestSessionCookieSecure(t *testing.T) {
	kr := vault.GenerateKeyring()
	c := &clock{t: time.Now()}
	tlsReq := httptest.NewRequest("POST", "https://example.com/signin", nil)
	tlsReq.TLS = &tls.ConnectionState{}
	plain := httptest.NewRequest("POST", "/signin", nil)
	for _, tc := range []struct {
		name   string
		opts   SessionOptions
		r      *http.Request
		secure bool
	}{
		{"plain HTTP", SessionOptions{}, plain, false},
		{"over TLS", SessionOptions{}, tlsReq, true},
		{"the operator says a proxy terminates TLS", SessionOptions{Secure: true}, plain, true},
	} {
		cookie, _ := issue(t, newTestSessions(kr, c, tc.opts), tc.r, testKey)
		if cookie.Secure != tc.secure {
			t.Errorf("%s: Secure=%v", tc.name, cookie.Secure)
		}
		w := httptest.NewRecorder()
		newTestSessions(kr, c, tc.opts).Clear(w, tc.r)
		cleared := w.Result().Cookies()[0]
		if cleared.MaxAge >= 0 || cleared.Value != "" || cleared.Secure != tc.secure || !cleared.HttpOnly {
			t.Errorf("%s: cleared cookie %+v", tc.name, cleared)
		}
	}
}

func testKeySecret() ownkey.Secret { return ownkey.NewSecret(testKey) }
