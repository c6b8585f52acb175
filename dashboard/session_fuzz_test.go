package dashboard

import (
	"bytes"
	"encoding/base64"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ownkey/ownkey/vault"
)

// FuzzSessionToken feeds the session cookie's reader anything a client
// can send: it must never panic, and never open a token that was not
// sealed under this master key (every token ever sealed under it, in any
// fuzzing process, is a session of testKey: one that opens with another
// key, or expiring elsewhen, would be a forgery).
func FuzzSessionToken(f *testing.F) {
	kr, err := vault.ParseKeyring("v1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		f.Fatal(err)
	}
	c := &clock{t: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
	s := newTestSessions(kr, c, SessionOptions{})
	w := httptest.NewRecorder()
	if _, err := s.Issue(w, httptest.NewRequest("POST", "/signin", nil), testKeySecret()); err != nil {
		f.Fatal(err)
	}
	valid := w.Result().Cookies()[0].Value
	for _, seed := range []string{valid, "", "AAAA", "AAAAAQ", valid[:len(valid)-1], valid + "A", "%%%", testKey} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		sess, err := s.open(token)
		if err != nil {
			return
		}
		if sess.Key.Reveal() != testKey || !sess.Expires.Equal(c.t.Add(DefaultSessionLifetime)) || len(sess.CSRF) != 22 {
			t.Fatalf("a forged token opened: %q", token)
		}
	})
}
