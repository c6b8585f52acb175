// Package egress builds the HTTP clients that carry requests to upstream
// providers. There are two, because the addresses they reach are trusted to
// different degrees: the operator's (catalog defaults and base URL overrides)
// and the user's (an Azure endpoint pasted on the BYOK page).
package egress

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/ownkey/ownkey"
)

// ErrBlockedAddress is what a Guarded dial to an internal address fails with;
// test for it with errors.Is.
var ErrBlockedAddress = errors.New("address is loopback, private, link-local or otherwise internal")

// BlockedAddressError names the address a Guarded dial refused. Its text holds
// only that address, never a URL or a header, so it is safe to log; it is not
// shown to users, who would learn from it what an internal name resolves to
// (provider.EndpointNotAllowed is what they see).
type BlockedAddressError struct {
	Addr string // ip:port as resolved
}

func (e *BlockedAddressError) Error() string {
	return "refusing to connect to " + e.Addr + ": " + ErrBlockedAddress.Error()
}

func (e *BlockedAddressError) Unwrap() error { return ErrBlockedAddress }

// Options tunes both clients. Zero fields take the defaults below.
type Options struct {
	DialTimeout         time.Duration // default 10s
	TLSHandshakeTimeout time.Duration // default 10s
	// ResponseHeaderTimeout bounds the wait for the first byte of the
	// response headers. Reasoning models can think for minutes before their
	// first byte, so the default is generous.
	ResponseHeaderTimeout time.Duration // default 10m
	IdleConnTimeout       time.Duration // default 90s
	// MaxIdleConnsPerHost is high because most traffic goes to a handful of
	// provider hosts; a low cap would reopen TLS connections under load.
	MaxIdleConnsPerHost int // default 256
	// AllowPrivate lets the Guarded client reach internal addresses. For
	// tests and for deployments whose "Azure" is a local fake.
	AllowPrivate bool
}

// Defaults for zero Options fields.
const (
	DefaultDialTimeout           = 10 * time.Second
	DefaultTLSHandshakeTimeout   = 10 * time.Second
	DefaultResponseHeaderTimeout = 10 * time.Minute
	DefaultIdleConnTimeout       = 90 * time.Second
	DefaultMaxIdleConnsPerHost   = 256
)

func (o Options) withDefaults() Options {
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.TLSHandshakeTimeout <= 0 {
		o.TLSHandshakeTimeout = DefaultTLSHandshakeTimeout
	}
	if o.ResponseHeaderTimeout <= 0 {
		o.ResponseHeaderTimeout = DefaultResponseHeaderTimeout
	}
	if o.IdleConnTimeout <= 0 {
		o.IdleConnTimeout = DefaultIdleConnTimeout
	}
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	return o
}

// Clients holds the two upstream clients. Neither has an overall Timeout:
// streams last as long as generation does, and a request ends when its
// context does. Neither follows redirects: provider APIs do not redirect, and
// following one is how a request to a public host ends up at an internal one.
type Clients struct {
	// Trusted reaches operator-configured addresses, which may be loopback
	// (a local fake in tests, a sidecar in production). It honours the
	// HTTP(S)_PROXY environment.
	Trusted *http.Client
	// Guarded reaches user-supplied addresses. Every address it connects to
	// is checked after DNS resolution, so a name that resolved to a public IP
	// when the credential was saved and to 169.254.169.254 now is refused.
	// It ignores proxy settings: through a proxy, the check would see the
	// proxy's address instead of the target's.
	Guarded *http.Client

	dialers [2]*net.Dialer // trusted, guarded; kept for tests
}

// New builds both clients from opts.
func New(opts Options) *Clients {
	opts = opts.withDefaults()
	trusted, trustedDialer := newTransport(opts, nil)
	trusted.Proxy = http.ProxyFromEnvironment
	var control func(context.Context, string, string, syscall.RawConn) error
	if !opts.AllowPrivate {
		control = refuseInternal
	}
	guarded, guardedDialer := newTransport(opts, control)
	return &Clients{
		Trusted: &http.Client{Transport: trusted, CheckRedirect: doNotFollow},
		Guarded: &http.Client{Transport: guarded, CheckRedirect: doNotFollow},
		dialers: [2]*net.Dialer{trustedDialer, guardedDialer},
	}
}

// For returns Guarded when guarded is set, else Trusted; guarded is what
// provider.Families.Endpoint reports for the address being called.
func (c *Clients) For(guarded bool) *http.Client {
	if guarded {
		return c.Guarded
	}
	return c.Trusted
}

func newTransport(opts Options, control func(context.Context, string, string, syscall.RawConn) error) (*http.Transport, *net.Dialer) {
	dialer := &net.Dialer{
		Timeout:        opts.DialTimeout,
		KeepAlive:      30 * time.Second,
		ControlContext: control,
	}
	return &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   opts.TLSHandshakeTimeout,
		ResponseHeaderTimeout: opts.ResponseHeaderTimeout,
		IdleConnTimeout:       opts.IdleConnTimeout,
		MaxIdleConnsPerHost:   opts.MaxIdleConnsPerHost,
		ExpectContinueTimeout: time.Second,
	}, dialer
}

// refuseInternal runs after name resolution, just before connect(2), once per
// candidate address, so it sees exactly the IP the socket would reach.
func refuseInternal(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// An address we cannot parse is one we cannot vouch for.
		return &BlockedAddressError{Addr: address}
	}
	if ownkey.IsInternalAddr(ap.Addr()) {
		return &BlockedAddressError{Addr: ap.String()}
	}
	return nil
}

func doNotFollow(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
