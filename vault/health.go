package vault

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/ownkey/ownkey"
)

// Key health (ownkey.KeyHealth): a stored key its provider refuses is shown
// as failing in the key list (KeyStatus.Failure) until it is replaced or a
// request with it succeeds. The chat path reports every outcome, so the
// state lives in memory and only its changes reach the store, written by
// the flush loop with the last-used times: a key that keeps working, or
// keeps failing, costs no write. A key that works is not in the map at all,
// and while the map is empty a success costs one atomic load.
//
// What the store holds is learnt when a credential is loaded (every cache
// TTL), so a replica that did not see the failure clears it at its next
// success after that, and one that did not see the recovery does not write
// the same failure twice within a TTL.

var _ ownkey.KeyHealth = (*Service)(nil)

// keyHealth is one key's state as this process knows it.
type keyHealth struct {
	// failure is the key's state: nil once it worked again.
	failure *ownkey.KeyFailure
	// suffix names the key the state is about (a replaced key starts
	// afresh).
	suffix string
	// dirty: the store has not been told yet (the flush loop writes it).
	dirty bool
}

// KeyRejected marks owner's key for providerID as failing: its provider
// refused it (status 401/403) with message. Only the first failure after it
// worked is written; the message is cut to ownkey.MaxKeyFailureMessage
// bytes.
func (s *Service) KeyRejected(owner int64, providerID string, c *ownkey.Credential, status int, message string) {
	if c == nil {
		return
	}
	k, suffix := credentialKey{owner, providerID}, c.Suffix()
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	if h := s.health[k]; h != nil && h.failure != nil && h.suffix == suffix {
		return // failing already, as the store knows or soon will
	}
	s.health[k] = &keyHealth{
		failure: &ownkey.KeyFailure{At: s.now(), Status: status, Message: cutMessage(message)},
		suffix:  suffix, dirty: true,
	}
	s.healthy.Store(false)
}

// KeyWorked notes that owner's key for providerID was accepted: a key
// marked failing is cleared (written by the flush loop). For a key that
// was not failing it only reads memory.
func (s *Service) KeyWorked(owner int64, providerID string, c *ownkey.Credential) {
	if c == nil || s.healthy.Load() {
		return
	}
	k := credentialKey{owner, providerID}
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	h := s.health[k]
	if h == nil || h.failure == nil || h.suffix != c.Suffix() {
		return
	}
	h.failure, h.dirty = nil, true
}

// learnHealth takes in the failure the store holds for a key just loaded,
// unless this process has a change of its own still to write.
func (s *Service) learnHealth(k credentialKey, rec *ownkey.CredentialRecord) {
	if rec.Failure == nil && s.healthy.Load() {
		return
	}
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	h := s.health[k]
	switch {
	case h != nil && h.dirty && h.suffix == rec.Suffix:
		// Ours is newer than what was read.
	case rec.Failure != nil:
		f := *rec.Failure
		s.health[k] = &keyHealth{failure: &f, suffix: rec.Suffix}
		s.healthy.Store(false)
	default:
		delete(s.health, k)
		s.healthy.Store(len(s.health) == 0)
	}
}

// forgetHealth drops what is known of a key replaced or deleted here: the
// store cleared its failure with it.
func (s *Service) forgetHealth(k credentialKey) {
	s.healthMu.Lock()
	delete(s.health, k)
	s.healthy.Store(len(s.health) == 0)
	s.healthMu.Unlock()
}

// pendingFailure is the failure to show for a stored key whose state this
// process changed and has not written yet; ok is false when there is none,
// and the stored state holds.
func (s *Service) pendingFailure(k credentialKey, suffix string) (f *ownkey.KeyFailure, ok bool) {
	if s.healthy.Load() {
		return nil, false
	}
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	if h := s.health[k]; h != nil && h.dirty && h.suffix == suffix {
		return h.failure, true
	}
	return nil, false
}

// flushHealth writes the changed states. One the store refuses stays
// dirty for the next flush unless it changed meanwhile; one whose key is
// gone (ENOTFOUND: deleted, or replaced since it failed) is dropped.
func (s *Service) flushHealth(ctx context.Context) error {
	type change struct {
		k       credentialKey
		h       keyHealth
		current *keyHealth
	}
	var changes []change
	s.healthMu.Lock()
	for k, h := range s.health {
		if h.dirty {
			changes = append(changes, change{k, *h, h})
		}
	}
	s.healthMu.Unlock()
	var firstErr error
	for _, c := range changes {
		err := s.store.SetCredentialFailure(ctx, c.k.accountID, c.k.provider, c.h.suffix, c.h.failure)
		if err != nil && ownkey.ErrorCode(err) != ownkey.ENOTFOUND {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		s.healthMu.Lock()
		// Unless a request changed the state while it was written.
		if cur := s.health[c.k]; cur == c.current && cur.failure == c.h.failure {
			if cur.failure == nil || err != nil {
				delete(s.health, c.k)
			} else {
				cur.dirty = false
			}
		}
		s.healthy.Store(len(s.health) == 0)
		s.healthMu.Unlock()
	}
	return firstErr
}

// cutMessage bounds a provider's message kept with a failing key, on a
// character boundary, in one line.
func cutMessage(m string) string {
	m = strings.TrimSpace(m)
	if len(m) <= ownkey.MaxKeyFailureMessage {
		return m
	}
	n := ownkey.MaxKeyFailureMessage
	for n > 0 && !utf8.RuneStart(m[n]) {
		n--
	}
	return m[:n]
}
