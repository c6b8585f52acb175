// Package flock takes exclusive advisory locks on files, held until released
// or until the process dies: the kernel drops them with the process, so a
// crashed holder never leaves a stale lock behind (unlike a lock file whose
// mere existence is the lock).
package flock

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// pollInterval is how often Lock retries a held lock. The kernel's blocking
// lock cannot be cancelled, so Lock polls a non-blocking one instead, which
// lets a context end the wait.
const pollInterval = 20 * time.Millisecond

// Lock creates path (mode 0600) if needed and locks it exclusively, waiting
// while another process (or another Lock in this one) holds it. The returned
// function releases the lock.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock file %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file %s: %w", path, err)
	}
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		held, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if held {
			// Closing the file releases the lock.
			return func() { f.Close() }, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the lock on %s: %w", path, ctx.Err())
		case <-t.C:
		}
	}
}
