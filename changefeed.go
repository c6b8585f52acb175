package ownkey

import (
	"context"
	"time"
)

// ChangeKind names what a Change is about.
type ChangeKind string

const (
	// ChangeAPIKey: an API key was revoked or its limits changed
	// (AccountID, KeyID).
	ChangeAPIKey ChangeKind = "apikey"
	// ChangeCredential: a provider credential was stored, replaced or
	// deleted (AccountID, Provider).
	ChangeCredential ChangeKind = "cred"
	// ChangePrices: the stored model prices changed (an import, an
	// operator's price): the price catalog is read again.
	ChangePrices ChangeKind = "prices"
	// ChangeAll: changes may have been missed (the listener connected or
	// reconnected, or the store was written by a process that cannot
	// publish): drop everything cached.
	ChangeAll ChangeKind = "all"
)

// Change tells the processes that share a store that cached state went
// stale. It never carries a secret: ids and provider names only.
type Change struct {
	Kind      ChangeKind
	AccountID int64
	KeyID     int64
	Provider  string
}

// ChangePublisher announces a change after the store committed it.
// Publishing is best effort: a change whose announcement is lost still
// reaches every cache when its TTL expires.
type ChangePublisher interface {
	Publish(ctx context.Context, c Change) error
}

// AnnounceTimeout bounds announcing one change: the request that made it
// waits for the announcement, and a lost one only costs a cache TTL.
const AnnounceTimeout = 5 * time.Second

// Announce publishes c after its change committed, within AnnounceTimeout
// and detached from ctx's cancellation: a client that leaves right after a
// revocation must not stop the other replicas from hearing of it. The
// caller logs the error, if any; the change stands either way.
func Announce(ctx context.Context, p ChangePublisher, c Change) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), AnnounceTimeout)
	defer cancel()
	return p.Publish(ctx, c)
}

// ChangeFeed carries cache invalidations between the processes (replicas,
// CLI commands) sharing one store, so that a revocation made in one applies
// in the others within about a second instead of a cache TTL.
type ChangeFeed interface {
	ChangePublisher
	// Listen calls fn with each change published by any process, this one
	// included, and with a ChangeAll whenever changes may have been missed
	// (at each (re)connection). It reconnects on its own and returns only
	// when ctx ends. fn runs on the listening goroutine and must not block.
	Listen(ctx context.Context, fn func(Change)) error
}

// NoChanges is the ChangeFeed of a store that no other process shares: it
// publishes nothing and hears nothing.
type NoChanges struct{}

func (NoChanges) Publish(context.Context, Change) error { return nil }

func (NoChanges) Listen(ctx context.Context, _ func(Change)) error {
	<-ctx.Done()
	return nil
}
