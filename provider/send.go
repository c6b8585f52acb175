package provider

import (
	"bytes"
	"cmp"
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/ownkey/ownkey"
)

// Send posts body to req.BaseURL+path, authorized by req.Auth (the
// provider's family; none is an internal error), with the JSON/SSE Accept
// header and userAgent, on upstreamCtx (which the caller cancels when the
// client goes away). It fills res.TTFB, and on failure res.Status (Failed),
// res.UpstreamLatency and the client-facing error (Unreachable judges a
// cancelled ctx as the client leaving). start is when the request
// was sent, for the caller's UpstreamLatency.
func Send(ctx, upstreamCtx context.Context, client *http.Client, req *ownkey.ChatRequest, res *ownkey.ChatResult,
	path string, body []byte, userAgent string) (resp *http.Response, start time.Time, err error) {
	p := req.Provider
	hreq, err := http.NewRequestWithContext(upstreamCtx, http.MethodPost, req.BaseURL+path, nil)
	if err != nil {
		// The URL may carry an operator's credentials: do not quote it.
		_, err = Failed(res, "", ownkey.Errorf(ownkey.EINTERNAL, "the %s base URL is not a valid URL", p.Name))
		return nil, start, err
	}
	sent := setBody(hreq, body)
	// The three fixed headers share one backing array (each value capped at
	// its own element, so an Add to one cannot overwrite the next): one
	// allocation per request instead of three. The keys are canonical.
	accept := "application/json"
	if req.Stream {
		accept = "text/event-stream"
	}
	fixed := []string{"application/json", accept, cmp.Or(userAgent, "ownkey")}
	hreq.Header["Content-Type"] = fixed[0:1:1]
	hreq.Header["Accept"] = fixed[1:2:2]
	hreq.Header["User-Agent"] = fixed[2:3:3]
	if req.Auth == nil {
		_, err = Failed(res, "", ownkey.Errorf(ownkey.EINTERNAL, "chat request to %s without an authorizer", p.ID))
		return nil, start, err
	}
	if err := req.Auth.Authorize(upstreamCtx, hreq, p, req.Credential, body); err != nil {
		_, err = Failed(res, "", err)
		return nil, start, err
	}
	start = time.Now()
	resp, err = roundTrip(client, hreq)
	if err != nil {
		if sent != nil {
			sent.wait()
		}
		res.UpstreamLatency = time.Since(start)
		return nil, start, Unreachable(ctx, req, res, err)
	}
	res.TTFB = time.Since(start)
	if sent != nil {
		resp.Body = &sentResponse{ReadCloser: resp.Body, sent: sent}
	}
	return resp, start, nil
}

// setBody makes body hreq's, with its length (or the transport would send
// it chunked) and how to send it again (a request never written to a stale
// connection is retried). It returns the sentBodies to wait for before
// body's buffer may be reused, or nil when the transport has a copy.
func setBody(hreq *http.Request, body []byte) *sentBodies {
	hreq.ContentLength = int64(len(body))
	if len(body) <= smallBody {
		// The transport's own copy, in a reader it knows to be in memory:
		// it then writes the headers and the body in one system call (for
		// any other reader it flushes the headers first, in case the body
		// blocks), and nothing need wait for it to let go of body.
		own := bytes.Clone(body)
		hreq.Body = io.NopCloser(bytes.NewReader(own))
		hreq.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(own)), nil }
		return nil
	}
	sent := newSentBodies(body)
	hreq.Body = sent.last
	hreq.GetBody = func() (io.ReadCloser, error) { return sent.next(), nil }
	return sent
}

// smallBody is the largest request body Send copies for the transport, so
// that it goes out with the headers in one write: the transport's write
// buffer holds 4 KiB, headers included. A larger body is written in several
// system calls anyway, and is not worth a copy.
const smallBody = 3 << 10

// roundTrip sends req on client's transport itself. Every client ownkey
// builds refuses redirects (egress: an upstream's 3xx is its answer, and
// following one would carry the key elsewhere), so what http.Client.Do adds
// is bookkeeping for redirects: a copy of the request's headers each time.
// Errors are the transport's, not wrapped in a *url.Error that quotes the
// URL.
func roundTrip(client *http.Client, req *http.Request) (*http.Response, error) {
	rt := client.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	return rt.RoundTrip(req)
}

// sentBodies are the upstream request's bodies (the first, and one per
// GetBody when the transport retries a request it never got to send). Their
// bytes are the chat request's buffer, which httpapi pools and hands to the
// next request once the adapter returns. The transport may still be reading
// or closing a body after it returned the response (HTTP/2; HTTP/1 when a
// provider answers before it read the whole body), so the buffer may only
// be reused once the transport closed the last body: wait blocks until
// then. (Earlier bodies are closed before GetBody is asked for the next.)
type sentBodies struct {
	data []byte
	mu   sync.Mutex
	last *sentBody
}

type sentBody struct {
	bytes.Reader
	closed chan struct{}
	once   sync.Once
}

func newSentBodies(data []byte) *sentBodies {
	s := &sentBodies{data: data}
	s.next()
	return s
}

// next starts another body over the same bytes (the GetBody of a retry).
func (s *sentBodies) next() *sentBody {
	b := &sentBody{closed: make(chan struct{})}
	b.Reset(s.data)
	s.mu.Lock()
	s.last = b
	s.mu.Unlock()
	return b
}

func (b *sentBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// sentBodyWait bounds the wait for the transport to close a body: it always
// does (RoundTrip must close the body, on errors too), promptly once the
// response is closed or the request cancelled.
const sentBodyWait = 10 * time.Second

func (s *sentBodies) wait() {
	s.mu.Lock()
	b := s.last
	s.mu.Unlock()
	select {
	case <-b.closed:
		return // the usual case: no timer
	default:
	}
	t := time.NewTimer(sentBodyWait)
	defer t.Stop()
	select {
	case <-b.closed:
	case <-t.C:
	}
}

// sentResponse is the upstream response body; closing it also waits until
// the transport is done with the request body (see sentBodies). Every
// adapter closes the response before it returns.
type sentResponse struct {
	io.ReadCloser
	sent *sentBodies
}

func (r *sentResponse) Close() error {
	err := r.ReadCloser.Close()
	r.sent.wait()
	return err
}
