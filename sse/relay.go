package sse

import (
	"errors"
	"io"
	"net/http"
)

// Relay writes OpenAI-side events to the client and is the reader of the
// upstream body that an adapter's Reader pulls from. Events are framed into
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
}

// maxBatch is how much is framed before it is written out, flush or not.
const maxBatch = 32 << 10

// ErrClientGone is what Read returns once the client has left.
var ErrClientGone = errors.New("client gone")

// Reset points the relay at a new response and upstream body, keeping its
// buffer.
func (c *Relay) Reset(w http.ResponseWriter, body io.Reader, done <-chan struct{}) {
	*c = Relay{w: w, rc: http.NewResponseController(w), body: body, done: done, batch: c.batch[:0]}
}

// Released returns an empty relay that keeps only c's buffer, for pooling.
func (c *Relay) Released() Relay { return Relay{batch: c.batch[:0]} }

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

func (c *Relay) write() bool {
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
