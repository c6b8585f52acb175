package httpapi

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// The defaults hold the bounds: a body trickled at 1 byte a second
// loses its connection within 60 s, and a client that stops reading within
// 30 to 60 s.
func TestLimitDefaultsWithinBounds(t *testing.T) {
	var l Limits
	l.setDefaults(32 << 20)
	// The deadline moves 1/rate s per byte: at 1 byte/s the read fails at
	// t = timeout + t/rate.
	cut := time.Duration(float64(l.BodyReadTimeout) / (1 - 1/float64(l.BodyMinRate)))
	if cut > 60*time.Second {
		t.Fatalf("a 1 byte/s body keeps its connection for %s", cut)
	}
	// A 32 MiB body on a 1 Mbit/s uplink (125 kB/s) still gets through.
	if 125_000 < l.BodyMinRate {
		t.Fatalf("minimum rate %d bytes/s would cut off a 1 Mbit/s uplink", l.BodyMinRate)
	}
	if l.WriteTimeout < 30*time.Second || l.WriteTimeout > 60*time.Second {
		t.Fatalf("write timeout %s", l.WriteTimeout)
	}
	if l.MaxBodyMemory != 256<<20 || l.MaxInFlightPerAccount >= l.MaxInFlight || l.MaxInFlight >= l.MaxConnections {
		t.Fatalf("defaults %+v", l)
	}
}

func TestBodyBudget(t *testing.T) {
	b := bodyBudget{max: 100}
	if !b.acquire(60) || b.acquire(41) || !b.acquire(40) || b.acquire(1) {
		t.Fatal("budget not exact")
	}
	b.release(60)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 1000; j++ {
				if b.acquire(7) {
					if u := b.used.Load(); u > b.max {
						t.Errorf("used %d over %d", u, b.max)
					}
					b.release(7)
				}
			}
		}()
	}
	wg.Wait()
	if b.used.Load() != 40 {
		t.Fatalf("used %d after releases, want 40", b.used.Load())
	}
}

// Admission costs no allocation: an account's counter is found, not made.
func TestAccountSlotsAllocateNothing(t *testing.T) {
	s := &Server{}
	s.accountSlots(1234567)
	if n := testing.AllocsPerRun(100, func() {
		c := s.accountSlots(1234567)
		c.Add(1)
		c.Add(-1)
	}); n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
}

// The listener frees a slot when a connection closes, and a write to a
// client that does not read fails after the write timeout.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitListener(inner, 1, 200*time.Millisecond).(*limitListener)
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	first, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	server := <-accepted

	second, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_, _ = io.WriteString(second, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(second), nil)
	if err != nil || res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "1" {
		t.Fatalf("beyond the cap: %v %+v", err, res)
	}

	// first never reads: the server's writes block once the socket
	// buffers are full, and fail after the timeout.
	start := time.Now()
	chunk := make([]byte, 1<<20)
	for {
		if _, err := server.Write(chunk); err != nil {
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatal("writes to a client that does not read never failed")
		}
	}
	server.Close()
	server.Close() // once only
	if n := ln.open.Load(); n != 0 {
		t.Fatalf("%d connections counted after close", n)
	}
}

// A body without Content-Length grows as it is read, reserving what it holds
// in the budget, and gives it back when released.
func TestReadBodyChunked(t *testing.T) {
	s := &Server{cfg: Config{MaxBodyBytes: 1 << 20}}
	s.bodies.max = MinBodyMemory(1 << 20)
	want := bytes.Repeat([]byte("0123456789"), 30<<10)
	req := httptest.NewRequest("POST", "/", io.MultiReader(bytes.NewReader(want))) // no Content-Length
	req.ContentLength = -1
	cb, err := s.readBody(req)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cb.b, want) || cap(cb.b)-len(cb.b) < bodyHeadroom {
		t.Fatalf("read %d bytes with %d spare", len(cb.b), cap(cb.b)-len(cb.b))
	}
	if held := s.bodies.used.Load(); held != int64(cap(cb.b)) || held > 2*int64(len(want)) {
		t.Fatalf("budget holds %d for a buffer of %d", held, cap(cb.b))
	}
	s.releaseBody(cb)
	if held := s.bodies.used.Load(); held != 0 {
		t.Fatalf("budget holds %d after release", held)
	}

	// Over the size limit: refused, nothing held.
	req = httptest.NewRequest("POST", "/", io.MultiReader(bytes.NewReader(make([]byte, 2<<20))))
	req.ContentLength = -1
	if _, err := s.readBody(req); err == nil || s.bodies.used.Load() != 0 {
		t.Fatalf("over the limit: %v, %d held", err, s.bodies.used.Load())
	}
}

func TestBodyClass(t *testing.T) {
	last := -1
	for size := pooledBodyCap + 1; size < 64<<20; size += size/7 + 1 {
		class, capacity, ok := bodyClass(size)
		if !ok || capacity < size || capacity > size+size/4+1 || class < last {
			t.Fatalf("bodyClass(%d) = %d, %d, %v (previous class %d)", size, class, capacity, ok, last)
		}
		if c2, cap2, _ := bodyClass(capacity); c2 != class || cap2 != capacity {
			t.Fatalf("bodyClass(%d) = %d, %d; its capacity's class is %d, %d", size, class, capacity, c2, cap2)
		}
		last = class
	}
	if _, _, ok := bodyClass(16 << 40); ok {
		t.Fatal("a class for 16 TiB")
	}
}

// A large body with a Content-Length is read into its size class's buffer,
// which the budget holds whole, and which the next such body reuses instead
// of clearing and faulting in a fresh one.
func TestReadBodyLargeReusesClassBuffer(t *testing.T) {
	s := &Server{cfg: Config{MaxBodyBytes: 4 << 20}}
	s.bodies.max = MinBodyMemory(4 << 20)
	want := bytes.Repeat([]byte("0123456789"), 100<<10)
	_, capacity, _ := bodyClass(len(want) + bodyHeadroom + 1)
	var prev *byte
	reused := false
	for i := 0; i < 20 && !reused; i++ {
		cb, err := s.readBody(httptest.NewRequest("POST", "/", bytes.NewReader(want)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(cb.b, want) || cap(cb.b) != capacity || s.bodies.used.Load() != int64(capacity) {
			t.Fatalf("read %d bytes into %d (class capacity %d), budget holds %d", len(cb.b), cap(cb.b), capacity, s.bodies.used.Load())
		}
		reused = unsafe.SliceData(cb.b) == prev
		prev = unsafe.SliceData(cb.b)
		s.releaseBody(cb)
		if held := s.bodies.used.Load(); held != 0 {
			t.Fatalf("budget holds %d after release", held)
		}
	}
	if !reused {
		t.Fatal("a large body's buffer was never reused")
	}
}

// deadlineConn records the write deadlines set on it.
type deadlineConn struct {
	net.Conn
	set []time.Time
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error { c.set = append(c.set, t); return nil }
func (c *deadlineConn) Write(p []byte) (int, error)        { return len(p), nil }

// The write deadline moves once per tenth of the timeout, not on every
// write, and always leaves a write at least nine tenths of it.
func TestWriteDeadlineMovesOncePerTenth(t *testing.T) {
	const timeout = 500 * time.Millisecond
	inner := &deadlineConn{}
	c := &limitedConn{Conn: inner, l: &limitListener{writeTimeout: timeout}}
	start := time.Now()
	for range 100 {
		_, _ = c.Write([]byte("x"))
	}
	if len(inner.set) != 1 {
		t.Fatalf("100 writes at once set the deadline %d times, want 1", len(inner.set))
	}
	time.Sleep(timeout/10 + 10*time.Millisecond)
	before := time.Now()
	_, _ = c.Write([]byte("x"))
	if len(inner.set) != 2 {
		t.Fatalf("a write a tenth of the timeout later set the deadline %d times in all, want 2", len(inner.set))
	}
	if got := inner.set[1]; got.Before(before.Add(timeout)) || got.Before(start.Add(timeout)) {
		t.Fatalf("the deadline moved to %s after the write, want at least the timeout", got.Sub(before))
	}
	// Between two moves, what a write is left is never under 9/10.
	for range 20 {
		now := time.Now()
		_, _ = c.Write([]byte("x"))
		if left := inner.set[len(inner.set)-1].Sub(now); left < timeout*9/10 {
			t.Fatalf("a write was left %s of a %s timeout", left, timeout)
		}
		time.Sleep(timeout / 40)
	}
}
