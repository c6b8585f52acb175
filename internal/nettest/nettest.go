// Package nettest holds network fakes for tests that are not HTTP servers:
// an open port that speaks another protocol, a port nothing listens on.
// It imports nothing of ownkey, so any package's tests may use it.
package nettest

import (
	"io"
	"net"
	"testing"
	"time"
)

// NotHTTP listens on a loopback port that is open but does not speak HTTP,
// handing every connection to serve (write a banner, stay silent), and
// returns its host:port.
func NotHTTP(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); serve(c) }()
		}
	}()
	return ln.Addr().String()
}

// Babble is a NotHTTP service that reads what it is sent and answers in a
// protocol that is not HTTP, as a Redis or SMTP port would.
func Babble(c net.Conn) {
	buf := make([]byte, 4096)
	if _, err := c.Read(buf); err != nil {
		return
	}
	_, _ = io.WriteString(c, "-ERR unknown command 'GET'\r\n")
	time.Sleep(time.Second) // let the client read it before the close
}

// ClosedAddr returns a loopback host:port nothing listens on.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
