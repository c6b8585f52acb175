package provider

import (
	"io"
	"runtime"
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
//
// A read notes when it started instead of resetting the timer (a runtime
// timer update per read, dozens a second on a fast stream): the timer, when
// it fires, looks at the read in progress and waits again for what is left
// of after if that read is younger.
type idleReader struct {
	r     io.Reader
	after time.Duration
	timer atomic.Pointer[time.Timer]
	// readAt is when the latest read started, in ns since base (a
	// monotonic clock: time.Since).
	readAt atomic.Int64
	base   time.Time
	fired  atomic.Bool
}

func newIdleReader(r io.Reader, after time.Duration, cancel func()) *idleReader {
	i := &idleReader{r: r, after: after, base: time.Now()}
	t := time.AfterFunc(after, func() {
		if left := after - (time.Since(i.base) - time.Duration(i.readAt.Load())); left > 0 {
			// A read started since: wait out its turn. (The timer is
			// stored just after it starts; a timer of a few ns could get
			// here first.)
			t := i.timer.Load()
			for t == nil {
				runtime.Gosched()
				t = i.timer.Load()
			}
			t.Reset(left)
			return
		}
		i.fired.Store(true)
		cancel()
	})
	i.timer.Store(t)
	return i
}

func (i *idleReader) Read(p []byte) (int, error) {
	i.readAt.Store(int64(time.Since(i.base)))
	n, err := i.r.Read(p)
	if err != nil && i.fired.Load() {
		return n, &IdleError{After: i.after}
	}
	return n, err
}

func (i *idleReader) stop() { i.timer.Load().Stop() }
