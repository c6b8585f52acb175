package provider

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"syscall"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
)

// What a caller is told when a user-supplied (guarded) endpoint cannot be
// used. There are only these two: anything finer (refused, reset, timed out,
// TLS, DNS, the resolved address) would let a user map hosts and ports that
// ownkey can reach and they cannot, and learn what internal names resolve
// to. The operator finds the cause in the debug log.
const (
	EndpointNotAllowed  = "the endpoint is not allowed (it points to an internal address)"
	EndpointUnreachable = "the endpoint is not reachable"
)

// transportReason says why a request got no answer, in words fit for the
// caller. For a guarded endpoint it is EndpointNotAllowed or
// EndpointUnreachable and nothing else. For the operator's own addresses it
// names the kind of failure, never the address. Timeouts and a caller that
// left are judged by the callers, which word them differently.
func transportReason(err error, guarded bool) string {
	if guarded {
		if errors.Is(err, egress.ErrBlockedAddress) {
			return EndpointNotAllowed
		}
		return EndpointUnreachable
	}
	var (
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &dnsErr):
		return "cannot resolve the provider's host name"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to host"
	case errors.As(err, &certErr):
		return "TLS certificate not accepted"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the connection closed before a response"
	}
	return "the connection failed"
}

// isTimeout reports whether err is a round trip that ran out of time.
func isTimeout(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())
}

// logTransportError records the whole cause of a failed round trip at debug
// level, for the operator: the caller was told only transportReason. The
// URL's user:password (an operator's override may hold one) and the
// credential's secrets are removed.
func logTransportError(ctx context.Context, log *slog.Logger, p *ownkey.Provider, c *ownkey.Credential, guarded bool, err error) {
	if log == nil {
		log = slog.Default()
	}
	if !log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	text := err.Error()
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		text = ue.Op + " " + redactURL(ue.URL) + ": " + ue.Err.Error()
	}
	log.LogAttrs(ctx, slog.LevelDebug, "upstream not reachable", slog.String("provider", p.ID),
		slog.Bool("user_endpoint", guarded), slog.String("err", ScrubSecrets(text, c)))
}
