// Package changetest gives tests an ownkey.ChangePublisher that records
// what it was told; for tests only, like httptest.
package changetest

import (
	"context"
	"slices"
	"sync"

	"github.com/ownkey/ownkey"
)

// Recorder is an ownkey.ChangePublisher that keeps every change published.
type Recorder struct {
	mu      sync.Mutex
	changes []ownkey.Change
}

func (r *Recorder) Publish(_ context.Context, c ownkey.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
	return nil
}

// Changes returns what was published so far, oldest first.
func (r *Recorder) Changes() []ownkey.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes)
}
