package sse

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/ownkey/ownkey"
)

// Relay writes events to the client and is the reader of the upstream
// body that an adapter's event source pulls from (a client dialect's
// writer owns it: see ownkey.ChatSink.Stream). Events are framed into
// a batch, and before each read from the body, which may block until the
// provider sends more, the batch is written in one Write and flushed. So
// every event reaches the client before the adapter waits for the next one,
// while events that arrived together cost one write and one flush (one
// syscall, one HTTP chunk) rather than one each, as with a reverse proxy. An
// event is never split across two writes.
type Relay struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	body  io.Reader
	done  <-chan struct{} // the client's context
	batch []byte          // framed events not yet written
	// pending: written since the last flush; failed: a write or flush to
	// the client failed, so it is gone.
	pending, failed bool
	// headers is the flush timer while armed (DelayHeaders until the
	// first write, FlushWithEnd until Finish); flusher the timer of this
	// response, kept to be armed again.
	headers, flusher *headerFlush
}

// headerFlush sends a response's headers on a timer if no event has been
// written by then. The mutex orders the timer's flush before the relay's
// first write; after that the relay alone touches the ResponseWriter.
type headerFlush struct {
	mu    sync.Mutex
	done  bool
	timer *time.Timer
}

// HeaderDelay is how long DelayHeaders holds a stream's headers back at
// most. First tokens mostly come sooner, so the headers usually share their
// write; a client waiting on a slow first event still sees the response
// start within a second.
const HeaderDelay = time.Second

// EndFlushDelay is how long FlushWithEnd leaves a stream's last events in
// the response's buffer at most, waiting for the handler to return and send
// them with the response's end: it normally returns within microseconds,
// unless a provider is slow to close its body after the last event.
const EndFlushDelay = 2 * time.Millisecond

// maxBatch is how much is framed before it is written out, flush or not.
const maxBatch = 32 << 10

// ErrClientGone is what Read returns once the client has left.
var ErrClientGone = ownkey.ErrClientGone

// Reset points the relay at a new response and upstream body, keeping its
// buffer.
func (c *Relay) Reset(w http.ResponseWriter, body io.Reader, done <-chan struct{}) {
	c.Finish()
	*c = Relay{w: w, rc: http.NewResponseController(w), body: body, done: done, batch: c.batch[:0]}
}

// Released returns an empty relay that keeps only c's buffer, for pooling.
func (c *Relay) Released() Relay {
	c.Finish()
	return Relay{batch: c.batch[:0]}
}

// BufferCap is the capacity of the batch buffer (pools drop large ones).
func (c *Relay) BufferCap() int { return cap(c.batch) }

// Failed reports whether the client is gone.
func (c *Relay) Failed() bool { return c.failed }

func (c *Relay) Read(p []byte) (int, error) {
	// The client's context is checked once per read rather than once per
	// event: a read is where a stream for nobody would go on.
	select {
	case <-c.done:
		c.failed = true
		return 0, ErrClientGone
	default:
	}
	if (c.pending || len(c.batch) > 0) && !c.Flush() {
		return 0, ErrClientGone
	}
	return c.body.Read(p)
}

// Event frames data as one `data:` event; false means the client is gone.
func (c *Relay) Event(data []byte) bool {
	c.batch = AppendData(c.batch, data)
	return len(c.batch) < maxBatch || c.write()
}

// Raw appends pre-framed bytes (such as Done).
func (c *Relay) Raw(b []byte) bool {
	c.batch = append(c.batch, b...)
	return len(c.batch) < maxBatch || c.write()
}

// Open starts an event stream answer on w for a client dialect's writer:
// the event-stream headers and a 200, held back until the first event (at
// most HeaderDelay, as a reasoning model's first event may be minutes away),
// and the relay reading upstream, which it returns (ownkey.ChatSink.Stream).
func (c *Relay) Open(w http.ResponseWriter, upstream io.Reader, done <-chan struct{}) io.Reader {
	Headers(w.Header())
	w.WriteHeader(http.StatusOK)
	c.Reset(w, upstream, done)
	c.DelayHeaders(HeaderDelay)
	return c
}

// KeepCap is the largest buffer a released writer keeps, so that one huge
// answer does not pin its memory in a pool.
const KeepCap = 256 << 10

// Keep returns b emptied for reuse, or nil once it has grown past KeepCap.
func Keep(b []byte) []byte {
	if cap(b) > KeepCap {
		return nil
	}
	return b[:0]
}

// DelayHeaders holds back a stream's headers, already set with WriteHeader,
// so that they go out in the same write as the first event, as a reverse
// proxy sends them, rather than in a system call of their own: at most for
// d, after which they are flushed alone, so that a client whose first event
// is far off (a reasoning model) still sees the response start. Call Finish
// before the handler returns.
func (c *Relay) DelayHeaders(d time.Duration) { c.flushWithin(d) }

// FlushWithEnd writes the batch into the response, where it goes out with
// the response's end: the handler's return sends it in the same write as
// the chunked body's terminator, one system call where Flush and the end
// would make two. If the handler has not returned within EndFlushDelay, a
// timer flushes it. Call Finish before the handler returns (as after
// DelayHeaders). False means the client is gone.
func (c *Relay) FlushWithEnd() bool {
	if !c.write() {
		return false
	}
	if c.pending {
		c.flushWithin(EndFlushDelay)
	}
	return true
}

// flushWithin arms the timer that flushes the response in d unless the
// relay writes, flushes or finishes first (sendHeadersNow). The timer only
// flushes what is already in the response: it never touches the batch.
func (c *Relay) flushWithin(d time.Duration) {
	h := c.flusher
	if h == nil {
		h = &headerFlush{}
		rc := c.rc
		h.timer = time.AfterFunc(d, func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if !h.done {
				h.done = true
				// A failure shows again on the relay's next write.
				_ = rc.Flush()
			}
		})
		c.flusher = h
	} else {
		h.mu.Lock()
		h.done = false
		h.mu.Unlock()
		h.timer.Reset(d)
	}
	c.headers = h
}

// Finish disarms DelayHeaders and FlushWithEnd: once it returns, nothing
// but the caller touches the ResponseWriter. Writing or flushing disarms
// them too.
func (c *Relay) Finish() {
	c.sendHeadersNow()
}

// sendHeadersNow disarms DelayHeaders' timer: the caller is about to write
// or flush, or is done.
func (c *Relay) sendHeadersNow() {
	h := c.headers
	if h == nil {
		return
	}
	c.headers = nil
	h.mu.Lock()
	h.done = true
	h.mu.Unlock()
	h.timer.Stop()
}

func (c *Relay) write() bool {
	c.sendHeadersNow()
	if len(c.batch) == 0 || c.failed {
		return !c.failed
	}
	_, err := c.w.Write(c.batch)
	c.batch = c.batch[:0]
	c.pending = true
	if err != nil {
		c.failed = true
	}
	return !c.failed
}

// Flush writes the batch and flushes it to the client.
func (c *Relay) Flush() bool {
	if !c.write() {
		return false
	}
	c.pending = false
	// A writer that cannot flush still delivers, later: not a lost client.
	if err := c.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		c.failed = true
		return false
	}
	return true
}
