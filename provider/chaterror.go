package provider

import (
	"context"
	"errors"

	"github.com/ownkey/ownkey"
)

// ChatResult.ErrorCode values every chat adapter reports.
const (
	CodeUpstreamError      = "upstream_error"       // the provider answered with an error
	CodeUpstreamUnavail    = "upstream_unavailable" // no answer: connection failed
	CodeUpstreamTimeout    = "upstream_timeout"     // no answer in time
	CodeStreamError        = "stream_error"         // the provider reported an error mid-stream, or sent garbage
	CodeStreamTruncated    = "stream_truncated"     // the stream ended before the response was complete
	CodeClientDisconnected = "client_disconnected"  // the client went away
)

// StatusClientClosed is nginx's 499: the client closed the request before a
// response; it never reaches a client, only records.
const StatusClientClosed = 499

// SafeToken makes an upstream identifier fit to relay: no secret, no control
// characters, short.
func SafeToken(s string, c *ownkey.Credential) string {
	s = ScrubSecrets(s, c)
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < 100; i++ {
		if s[i] >= 0x20 && s[i] != 0x7f {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// Unreachable turns a failed round trip into the client's error. The message
// names the provider and the kind of failure, never the URL (an operator's
// override may hold credentials or internal addresses) nor the key. For a
// user-supplied endpoint (req.Guarded) every failure reads the same, bar a
// refused internal address: see EndpointUnreachable. The cause goes to the
// debug log.
func Unreachable(ctx context.Context, req *ownkey.ChatRequest, res *ownkey.ChatResult, err error) error {
	e, code := RoundTripError(ctx, req.Provider, req.Credential, req.Guarded, err)
	if code == CodeClientDisconnected {
		MarkClientGone(res)
	}
	_, err = Failed(res, code, e)
	return err
}

// RoundTripError is the caller's error for a request to p that got no
// answer (err from the round trip on ctx), worded as Unreachable says, and
// the ChatResult error code that names the failure: the client left
// (ctx cancelled), a timeout, or no connection. Search requests share it
// with the chat adapters.
func RoundTripError(ctx context.Context, p *ownkey.Provider, c *ownkey.Credential, guarded bool, err error) (*ownkey.Error, string) {
	name := p.Name
	if errors.Is(ctx.Err(), context.Canceled) {
		return &ownkey.Error{Code: ownkey.EUNAVAILABLE, Status: StatusClientClosed,
			Message: "the client closed the request before " + name + " answered"}, CodeClientDisconnected
	}
	logTransportError(ctx, nil, p, c, guarded, err)
	timeout := isTimeout(err)
	if timeout && !guarded {
		return ownkey.Errorf(ownkey.ETIMEOUT, "%s did not answer in time", name), CodeUpstreamTimeout
	}
	code := CodeUpstreamUnavail
	if timeout {
		// The record keeps the truth; the client gets the one message.
		code = CodeUpstreamTimeout
	}
	return ownkey.Errorf(ownkey.EUNAVAILABLE, "could not reach %s: %s", name, transportReason(err, guarded)), code
}

// Failed notes in res a failure nothing was written for, and returns res
// and err for the adapter to return: res.Status is the status err will be
// sent with (ownkey.StatusOf, the one table, so an adapter never states a
// status of its own for an error) and, when code is set, res.ErrorCode is
// code.
func Failed(res *ownkey.ChatResult, code string, err error) (*ownkey.ChatResult, error) {
	res.Status = ownkey.StatusOf(err)
	if code != "" {
		res.ErrorCode = code
	}
	return res, err
}

func MarkClientGone(res *ownkey.ChatResult) {
	res.ClientGone, res.ErrorCode = true, CodeClientDisconnected
}
