package egress

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func fakeUpstream(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "hello from "+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(req)
}

func TestGuardedRefusesLoopback(t *testing.T) {
	srv, hits := fakeUpstream(t)
	c := New(Options{})

	resp, err := get(t, c.Guarded, srv.URL+"/v1/models")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("guarded client reached %s (status %d)", srv.URL, resp.StatusCode)
	}
	if !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("error %v is not ErrBlockedAddress", err)
	}
	var blocked *BlockedAddressError
	if !errors.As(err, &blocked) || blocked.Addr != strings.TrimPrefix(srv.URL, "http://") {
		t.Fatalf("blocked address = %+v, want %s", blocked, srv.URL)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("upstream saw %d requests, want 0", n)
	}
}

func TestGuardedRefusesLocalhostName(t *testing.T) {
	// The name resolves to loopback only at dial time: the check must see
	// the resolved address, not the name.
	srv, hits := fakeUpstream(t)
	c := New(Options{})
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	resp, err := get(t, c.Guarded, url)
	if err == nil {
		resp.Body.Close()
		t.Fatal("guarded client reached localhost")
	}
	if !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("error %v is not ErrBlockedAddress", err)
	}
	if hits.Load() != 0 {
		t.Fatal("upstream was reached")
	}
}

func TestGuardedAllowsLoopbackWhenAllowPrivate(t *testing.T) {
	srv, _ := fakeUpstream(t)
	c := New(Options{AllowPrivate: true})

	resp, err := get(t, c.Guarded, srv.URL+"/ok")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "hello from /ok" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
}

func TestTrustedReachesLoopback(t *testing.T) {
	srv, hits := fakeUpstream(t)
	c := New(Options{})

	resp, err := get(t, c.Trusted, srv.URL+"/ok")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "hello from /ok" || hits.Load() != 1 {
		t.Fatalf("got %q after %d hits", body, hits.Load())
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var followed atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Add(1) }))
	defer target.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/internal", http.StatusFound)
	}))
	defer redirector.Close()

	c := New(Options{AllowPrivate: true})
	for name, client := range map[string]*http.Client{"trusted": c.Trusted, "guarded": c.Guarded} {
		resp, err := get(t, client, redirector.URL+"/start")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Errorf("%s: status %d, want the 302 itself", name, resp.StatusCode)
		}
		if loc := resp.Header.Get("Location"); loc != target.URL+"/internal" {
			t.Errorf("%s: Location %q", name, loc)
		}
	}
	if n := followed.Load(); n != 0 {
		t.Fatalf("redirect target was reached %d times", n)
	}
}

func TestTransportSettings(t *testing.T) {
	opts := Options{
		DialTimeout:           3 * time.Second,
		TLSHandshakeTimeout:   4 * time.Second,
		ResponseHeaderTimeout: 5 * time.Minute,
		IdleConnTimeout:       6 * time.Second,
		MaxIdleConnsPerHost:   7,
	}
	c := New(opts)
	for name, client := range map[string]*http.Client{"trusted": c.Trusted, "guarded": c.Guarded} {
		if client.Timeout != 0 {
			t.Errorf("%s: client Timeout %s would cut streams", name, client.Timeout)
		}
		tr := client.Transport.(*http.Transport)
		if tr.TLSHandshakeTimeout != opts.TLSHandshakeTimeout || tr.ResponseHeaderTimeout != opts.ResponseHeaderTimeout ||
			tr.IdleConnTimeout != opts.IdleConnTimeout || tr.MaxIdleConnsPerHost != opts.MaxIdleConnsPerHost || !tr.ForceAttemptHTTP2 {
			t.Errorf("%s: transport settings %+v do not match %+v", name, tr, opts)
		}
	}
	for i, d := range c.dialers {
		if d.Timeout != opts.DialTimeout {
			t.Errorf("dialer %d: timeout %s, want %s", i, d.Timeout, opts.DialTimeout)
		}
	}
	if c.dialers[0].ControlContext != nil || c.dialers[1].ControlContext == nil {
		t.Error("only the guarded dialer must check addresses")
	}
	if c.Trusted.Transport.(*http.Transport).Proxy == nil {
		t.Error("trusted client ignores the proxy environment")
	}
	if c.Guarded.Transport.(*http.Transport).Proxy != nil {
		t.Error("guarded client uses a proxy, which would bypass the address check")
	}

	def := New(Options{}).Trusted.Transport.(*http.Transport)
	if def.ResponseHeaderTimeout != DefaultResponseHeaderTimeout || def.MaxIdleConnsPerHost != DefaultMaxIdleConnsPerHost ||
		def.TLSHandshakeTimeout != DefaultTLSHandshakeTimeout || def.IdleConnTimeout != DefaultIdleConnTimeout {
		t.Errorf("defaults not applied: %+v", def)
	}
}

func TestForPicksClient(t *testing.T) {
	c := New(Options{})
	if c.For(true) != c.Guarded || c.For(false) != c.Trusted {
		t.Fatal("For returned the wrong client")
	}
}

// The dial-time check refuses the special-purpose blocks that embed or relay
// to another address (issue 8 finding 13), not only the obvious ones.
func TestRefuseInternalSpecialPurpose(t *testing.T) {
	for _, addr := range []string{
		"[::7f00:1]:443",        // IPv4-compatible 127.0.0.1
		"[::ffff:a9fe:a9fe]:80", // IPv4-mapped 169.254.169.254
		"[64:ff9b::a00:1]:443",  // NAT64 of 10.0.0.1
		"[64:ff9b:1::1]:443",    // local-use NAT64
		"[2002:7f00:1::1]:443",  // 6to4 of 127.0.0.1
		"[2001:0:4136::1]:443",  // Teredo
		"192.88.99.1:443",       // 6to4 relay anycast
		"[fe80::1%lo]:443",      // link-local with a zone
		"not-an-address:443",
	} {
		err := refuseInternal(context.Background(), "tcp", addr, nil)
		if !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("%s: err = %v, want ErrBlockedAddress", addr, err)
		}
	}
	for _, addr := range []string{"8.8.8.8:443", "[2606:4700::1]:443", "[64:ff9b::808:808]:443", "[::ffff:8.8.8.8]:443"} {
		if err := refuseInternal(context.Background(), "tcp", addr, nil); err != nil {
			t.Errorf("%s: refused: %v", addr, err)
		}
	}
}
