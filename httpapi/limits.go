package httpapi

import (
	"errors"
	"io"
	"math/bits"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ownkey/ownkey"
)

// Limits bound what clients can hold of the server: connections, requests in
// flight (in all and per account), the time to send a request body and to
// take a response, and the memory held by request bodies. Zero fields take
// the defaults below; docs/ARCHITECTURE.md ("Limits") lists them all.
type Limits struct {
	// MaxConnections bounds open client connections (LimitListener):
	// beyond it a new connection is answered 503 and closed.
	MaxConnections int64
	// MaxInFlight bounds the requests being served; beyond it 503.
	MaxInFlight int64
	// MaxInFlightPerAccount bounds one account's requests in flight, so
	// that one tenant cannot take every slot; beyond it 429.
	MaxInFlightPerAccount int64
	// BodyReadTimeout and BodyMinRate bound the time to receive a request
	// body: it must arrive within BodyReadTimeout plus one second per
	// BodyMinRate bytes received, or the read fails (408) and the
	// connection is closed.
	BodyReadTimeout time.Duration
	BodyMinRate     int64
	// WriteTimeout bounds each write to a client connection
	// (LimitListener): a client that stops reading loses its connection,
	// and its request's context is cancelled, so the upstream request ends.
	WriteTimeout time.Duration
	// MaxBodyMemory bounds the bytes held by the chat bodies in flight
	// larger than untrackedBody; a body beyond it is refused with 503.
	MaxBodyMemory int64
}

// Defaults, sized for a small (2-core) box.
const (
	DefaultMaxConnections        = 2048
	DefaultMaxInFlight           = 1024
	DefaultMaxInFlightPerAccount = 256
	DefaultBodyReadTimeout       = 10 * time.Second
	DefaultBodyMinRate           = 16 << 10 // bytes per second
	DefaultWriteTimeout          = 60 * time.Second
	// DefaultBodyMemoryFactor times the body size limit is the default
	// MaxBodyMemory: 256 MiB for the default 32 MiB limit.
	DefaultBodyMemoryFactor = 8
)

func (l *Limits) setDefaults(maxBody int64) {
	set := func(v *int64, def int64) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MaxConnections, DefaultMaxConnections)
	set(&l.MaxInFlight, DefaultMaxInFlight)
	set(&l.MaxInFlightPerAccount, DefaultMaxInFlightPerAccount)
	set(&l.BodyMinRate, DefaultBodyMinRate)
	set(&l.MaxBodyMemory, DefaultBodyMemoryFactor*maxBody)
	if l.BodyReadTimeout <= 0 {
		l.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = DefaultWriteTimeout
	}
}

// retryAfter is what clients refused for load are told to wait, in seconds:
// slots free as requests finish, typically within a second.
const retryAfter = "1"

// overloaded is the answer beyond MaxInFlight (and, raw, beyond
// MaxConnections).
var overloaded = &ownkey.Error{Code: ownkey.EUNAVAILABLE, Reason: "server_overloaded", RetryAfter: retryAfter,
	Message: "the gateway is serving as many requests as it accepts at once; retry shortly"}

// admit counts a request in flight and reports whether it is within
// MaxInFlight; the caller calls done if it was counted. The liveness check
// and metrics are not counted, and always served: a busy gateway is not a
// dead one, and they must not take a slot a request was about to get.
func (s *Server) admit(r *http.Request) (admitted, counted bool) {
	if p := r.URL.Path; p == "/healthz" || p == "/metrics" {
		return true, false
	}
	if s.inflight.Add(1) <= s.cfg.Limits.MaxInFlight {
		return true, true
	}
	return false, true
}

func (s *Server) done() { s.inflight.Add(-1) }

// accountSlots returns the counter of an account's requests in flight.
// Counters are created on first use and kept: there is one per account.
func (s *Server) accountSlots(id int64) *atomic.Int64 {
	if v, ok := s.perAccount.Load(id); ok {
		return v.(*atomic.Int64)
	}
	v, _ := s.perAccount.LoadOrStore(id, new(atomic.Int64))
	return v.(*atomic.Int64)
}

func (s *Server) accountBusy() *ownkey.Error {
	return &ownkey.Error{Code: ownkey.ERATELIMIT, Reason: "too_many_concurrent_requests", RetryAfter: retryAfter,
		Message: "this account already has " + strconv.FormatInt(s.cfg.Limits.MaxInFlightPerAccount, 10) +
			" requests in flight, the most one account may have at once; retry when one has finished"}
}

// readDeadliner is the ResponseWriter of net/http's HTTP/1 and HTTP/2
// servers (what http.ResponseController.SetReadDeadline calls).
type readDeadliner interface {
	SetReadDeadline(time.Time) error
}

// minRateBody enforces the body read limits: the connection's read deadline
// starts at BodyReadTimeout from the request's start and moves on by one
// second per BodyMinRate bytes received. A client trickling its body (a
// slowloris) hits it and loses the connection, whatever Content-Length it
// announced; a large body on a normal link earns time as it arrives. The
// deadline also bounds what net/http reads of an unread body after the
// handler (an unauthenticated request's body, say).
type minRateBody struct {
	io.ReadCloser
	conn     readDeadliner // nil once the body is done
	deadline time.Time
	rate     int64
}

func (b *minRateBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.conn == nil {
		return n, err
	}
	if err != nil {
		// Done. At the body's end net/http lifts the deadline itself as
		// it starts its background read (which notices a client
		// leaving, and would cancel a long stream if it timed out), so
		// it must not be set again; after an error it stays, bounding
		// what net/http still reads of the body.
		b.conn = nil
	} else if n > 0 {
		b.deadline = b.deadline.Add(time.Duration(n) * time.Second / time.Duration(b.rate))
		_ = b.conn.SetReadDeadline(b.deadline)
	}
	return n, err
}

// limitBodyRate puts r's body under the body read limits; st holds the
// wrapper so that it costs no allocation of its own.
func (s *Server) limitBodyRate(w http.ResponseWriter, r *http.Request, st *requestState, start time.Time) {
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return
	}
	conn, ok := w.(readDeadliner)
	if !ok {
		return
	}
	st.body = minRateBody{ReadCloser: r.Body, conn: conn, deadline: start.Add(s.cfg.Limits.BodyReadTimeout), rate: s.cfg.Limits.BodyMinRate}
	if conn.SetReadDeadline(st.body.deadline) == nil {
		r.Body = &st.body
	}
}

// bodyTimeout is the answer to a body that arrived too slowly.
var bodyTimeout = &ownkey.Error{Code: ownkey.ETIMEOUT, Status: http.StatusRequestTimeout, Type: "invalid_request_error",
	Reason: "request_body_timeout", Message: "the request body arrived too slowly; the connection is closed"}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// Request bodies of the chat path are read whole. Those up to pooledBodyCap
// are read into pooled buffers. Larger ones with a Content-Length are read
// into a buffer of their size class (bodyClass: at most a quarter larger),
// pooled by class: a long conversation is sent again and again, and a fresh
// megabyte per request costs clearing it, faulting its pages in and a
// garbage collector that lets the heap grow to twice the bodies in flight.
// A sync.Pool drops what was not taken again within two collections, so
// the classes hold memory only while such bodies keep coming. Others (no
// Content-Length, or a class larger than the size limit allows) get a
// buffer of their own, dropped after the request. Bodies over untrackedBody reserve
// their buffer's size in the body memory budget (MaxBodyMemory) for as long
// as the request holds them; smaller ones are bounded by MaxInFlight, and
// skipping them keeps the budget off the common path.
const (
	untrackedBody = 64 << 10
	pooledBodyCap = 256 << 10
	// bodyHeadroom is room left after a body for routing edits made in
	// place (chatbody.go), so that they need no second copy.
	bodyHeadroom = 256
)

// MinBodyMemory is the least MaxBodyMemory that lets a body of maxBody
// bytes, the size limit, be read.
func MinBodyMemory(maxBody int64) int64 { return maxBody + bodyHeadroom + 1 }

// chatBody is a request body read whole.
type chatBody struct {
	b    []byte
	held int64 // bytes reserved in the body memory budget
}

var chatBodies = sync.Pool{New: func() any { return &chatBody{b: make([]byte, 0, 8<<10)} }}

// largeBodies are the pools of the size classes over pooledBodyCap, up to
// buffers of 8 TiB (bodyClass), far beyond any size limit.
var largeBodies [(40 - 16 + 1) * 4]sync.Pool

// bodyClass is the size class of a buffer of at least size bytes, size >
// pooledBodyCap: four classes per power of two, so that a buffer is at most
// a quarter larger than asked. ok is false beyond the last class.
func bodyClass(size int) (class, capacity int, ok bool) {
	// With 2^(e+2) <= size-1 < 2^(e+3), the capacity is m·2^e, m in 5..8.
	e := bits.Len(uint(size-1)) - 3
	m := (size-1)>>e + 1
	class = (e-16)*4 + m - 5
	if e < 16 || class >= len(largeBodies) {
		return 0, 0, false
	}
	return class, m << e, true
}

// takeBody is a chatBody for a body of size bytes: a large one from its
// class's pool, when the class fits the size limit.
func (s *Server) takeBody(size int) *chatBody {
	if size > pooledBodyCap {
		if class, capacity, ok := bodyClass(size); ok && capacity <= s.maxBodyBuffer() {
			if cb, _ := largeBodies[class].Get().(*chatBody); cb != nil {
				return cb
			}
			return &chatBody{b: make([]byte, 0, capacity)}
		}
	}
	return chatBodies.Get().(*chatBody)
}

// maxBodyBuffer is the largest buffer a body is read into: the size limit,
// the routing edits' headroom and a byte for reading the EOF.
func (s *Server) maxBodyBuffer() int { return int(s.cfg.MaxBodyBytes) + bodyHeadroom + 1 }

// bodyBudget is a counting semaphore of bytes that never waits: a request
// that does not fit is refused at once.
type bodyBudget struct {
	used atomic.Int64
	max  int64
}

func (b *bodyBudget) acquire(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

func (b *bodyBudget) release(n int64) { b.used.Add(-n) }

// grow gives cb a buffer of capacity size (keeping its bytes), reserving it
// in the budget when it is large.
func (s *Server) grow(cb *chatBody, size int) error {
	if cap(cb.b) > pooledBodyCap {
		size = max(size, cap(cb.b)) // a size class's buffer is held whole
	}
	if size > untrackedBody {
		if !s.bodies.acquire(int64(size) - cb.held) {
			return &ownkey.Error{Code: ownkey.EUNAVAILABLE, Reason: "request_body_memory_full", RetryAfter: retryAfter,
				Message: "the gateway already holds " + byteCount(s.bodies.max) + " of request bodies, its limit; retry shortly"}
		}
		cb.held = int64(size)
	}
	if cap(cb.b) < size {
		cb.b = append(make([]byte, 0, size), cb.b...)
	}
	return nil
}

// readBody reads r's body whole, with bodyHeadroom spare. Release it with
// releaseBody when the request is done with it.
func (s *Server) readBody(r *http.Request) (*chatBody, error) {
	// +1: reading the EOF needs room for one more byte.
	size := 4<<10 + bodyHeadroom + 1
	if r.ContentLength > 0 && r.ContentLength <= s.cfg.MaxBodyBytes {
		size = int(r.ContentLength) + bodyHeadroom + 1
	}
	cb := s.takeBody(size)
	if err := s.grow(cb, size); err != nil {
		s.releaseBody(cb)
		return nil, err
	}
	b := cb.b[:0]
	limit := s.maxBodyBuffer()
	for {
		if cap(b)-len(b) <= bodyHeadroom {
			// A body without Content-Length: grow by doubling, up to
			// what the size limit lets through.
			cb.b = b
			if cap(b) >= limit {
				s.releaseBody(cb)
				return nil, jsonError(&http.MaxBytesError{Limit: s.cfg.MaxBodyBytes})
			}
			if err := s.grow(cb, min(2*cap(b), limit)); err != nil {
				s.releaseBody(cb)
				return nil, err
			}
			b = cb.b
		}
		n, err := r.Body.Read(b[len(b) : cap(b)-bodyHeadroom])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			cb.b = b
			s.releaseBody(cb)
			return nil, jsonError(err)
		}
	}
	cb.b = b
	return cb, nil
}

func (s *Server) releaseBody(cb *chatBody) {
	s.bodies.release(cb.held)
	cb.held = 0
	cb.b = cb.b[:0]
	if c := cap(cb.b); c <= pooledBodyCap {
		chatBodies.Put(cb)
	} else if class, capacity, ok := bodyClass(c); ok && capacity == c {
		largeBodies[class].Put(cb)
	}
}

// LimitListener bounds ln to max open connections and every write to a
// connection to writeTimeout. A connection beyond max gets a minimal 503 in
// OpenAI's error envelope and is closed, so that its client sees why.
func LimitListener(ln net.Listener, max int64, writeTimeout time.Duration) net.Listener {
	return &limitListener{Listener: ln, max: max, writeTimeout: writeTimeout}
}

type limitListener struct {
	net.Listener
	max          int64
	writeTimeout time.Duration
	open         atomic.Int64
	rejecting    atomic.Int64
}

// maxRejecting bounds the goroutines answering refused connections; beyond
// it a refused connection is closed without an answer.
const maxRejecting = 64

// overloadedResponse is the whole answer to a connection beyond the cap.
var overloadedResponse = func() []byte {
	body := `{"error":{"message":"the gateway holds as many connections as it accepts; retry shortly","type":"service_unavailable","param":null,"code":"server_overloaded"}}`
	return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: " + retryAfter +
		"\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) <= l.max {
			return &limitedConn{Conn: c, l: l}, nil
		}
		l.open.Add(-1)
		l.reject(c)
	}
}

// reject answers c with a 503 and closes it. The request is drained
// briefly after the answer so that the close does not reset the connection
// before the client has read it.
func (l *limitListener) reject(c net.Conn) {
	if l.rejecting.Add(1) > maxRejecting {
		l.rejecting.Add(-1)
		c.Close()
		return
	}
	go func() {
		defer l.rejecting.Add(-1)
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write(overloadedResponse); err != nil {
			return
		}
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}()
}

// limitedConn frees its slot when closed and puts a deadline on every
// write. Setting it here, rather than around the handlers' writes, also
// covers what net/http writes itself (the end of a response after the
// handler returns, 100 Continue), and no stale deadline is left over for
// the connection's next request. A write that times out fails the
// connection: net/http cancels the request's context, which ends the
// upstream request.
//
// The deadline is moved at most once per tenth of the timeout, not before
// every write: moving it updates a runtime timer, and a stream writes to
// its client dozens of times a second. So a write may block for at least
// nine tenths of the timeout, at most the whole of it.
type limitedConn struct {
	net.Conn
	l      *limitListener
	closed atomic.Bool
	// armedAt is when the write deadline was last moved (Unix ns; 0:
	// never). Atomic: the header-delay timer of a stream may flush from
	// its own goroutine (in turn with the handler, never at once).
	armedAt atomic.Int64
}

func (c *limitedConn) Write(p []byte) (int, error) {
	if d := c.l.writeTimeout; d > 0 {
		now := time.Now()
		if since := now.UnixNano() - c.armedAt.Load(); since < 0 || since >= int64(d/10) {
			_ = c.Conn.SetWriteDeadline(now.Add(d))
			c.armedAt.Store(now.UnixNano())
		}
	}
	return c.Conn.Write(p)
}

func (c *limitedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.l.open.Add(-1)
	}
	return c.Conn.Close()
}

// CloseWrite keeps net/http's graceful close (FIN before close) working.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
