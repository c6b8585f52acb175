package provider

import (
	"io"
	"sync/atomic"
	"time"
)

// DefaultStreamIdleTimeout is how long a stream may go without a byte from
// the provider before it is ended: long enough for a reasoning model that
// thinks in silence, and a bound on one that hangs.
const DefaultStreamIdleTimeout = 10 * time.Minute

// StreamIdle resolves an adapter's StreamIdleTimeout setting: zero means
// DefaultStreamIdleTimeout, negative no limit (0).
func StreamIdle(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultStreamIdleTimeout
	case d < 0:
		return 0
	}
	return d
}

// IdleError is what a read of a stream returns when the provider sent
// nothing for After.
type IdleError struct{ After time.Duration }

func (e *IdleError) Error() string {
	return "the provider sent nothing for " + e.After.String()
}

// idleReader ends a stream whose provider went silent: if a read waits
// longer than after, cancel (which must cancel the upstream request, so
// that the read returns) is called and the read returns an *IdleError.
// Comments and keep-alive events count as something. Allocated per stream:
// a timer that fires as a stream ends must not touch the next one's state.
type idleReader struct {
	r     io.Reader
	after time.Duration
	timer *time.Timer
	fired atomic.Bool
}

func newIdleReader(r io.Reader, after time.Duration, cancel func()) *idleReader {
	i := &idleReader{r: r, after: after}
	i.timer = time.AfterFunc(after, func() {
		i.fired.Store(true)
		cancel()
	})
	return i
}

func (i *idleReader) Read(p []byte) (int, error) {
	i.timer.Reset(i.after)
	n, err := i.r.Read(p)
	if err != nil && i.fired.Load() {
		return n, &IdleError{After: i.after}
	}
	return n, err
}

func (i *idleReader) stop() { i.timer.Stop() }
