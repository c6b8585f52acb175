// Package openaicompat is the chat adapter for providers that speak OpenAI
// Chat Completions themselves (wire family ownkey.WireOpenAI: OpenAI,
// OpenRouter, Groq, Together, …). The client already speaks that protocol, so
// the adapter is a pass-through on the gateway's hottest path: request and
// response bytes go through unchanged, read only where accounting needs a
// value (usage, model, finish reason, output size) and edited only where
// providers disagree on where usage goes in a stream.
package openaicompat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider"
)

const (
	// maxErrorBody bounds what is read of an error answer: plenty for any
	// message, little enough that a hostile endpoint cannot make us buffer.
	maxErrorBody = 1 << 20
	// maxBody bounds a non-streaming answer, which is held whole.
	maxBody = 64 << 20
	// sampleLimit bounds ChatResult.OutputSample.
	sampleLimit = 16 << 10
	// drainLimit and drainTimeout bound the read past [DONE] that lets the
	// upstream connection be reused.
	drainLimit   = 64 << 10
	drainTimeout = 5 * time.Second
)

// Adapter implements ownkey.ChatAdapter for every WireOpenAI provider.
type Adapter struct {
	// Clients carries the requests; nil uses egress defaults.
	Clients *egress.Clients
	// UserAgent is sent upstream; empty means "ownkey".
	UserAgent string
	// StreamIdleTimeout ends a stream whose provider sends nothing for
	// this long (an error event, upstream_timeout); zero means
	// provider.DefaultStreamIdleTimeout, negative no limit.
	StreamIdleTimeout time.Duration
}

var _ ownkey.ChatAdapter = (*Adapter)(nil)

var defaultClients = sync.OnceValue(func() *egress.Clients { return egress.New(egress.Options{}) })

func (a *Adapter) client(guarded bool) *http.Client {
	if a.Clients != nil {
		return a.Clients.For(guarded)
	}
	return defaultClients().For(guarded)
}

// Chat sends req to POST {req.BaseURL}/chat/completions and writes the answer
// to w: a non-streaming body unchanged, a stream event by event (see
// streamTo). Before anything is written, failures come back as errors: the
// provider's own error (EUPSTREAM with its status, message, type, code and
// Retry-After), EUNAVAILABLE or ETIMEOUT when it could not be reached. Once
// the response has started, failures are reported inside it and in
// ChatResult.ErrorCode, and the error is nil.
func (a *Adapter) Chat(ctx context.Context, req *ownkey.ChatRequest, w http.ResponseWriter) (*ownkey.ChatResult, error) {
	res := &ownkey.ChatResult{}
	p := req.Provider
	if p == nil {
		return provider.Failed(res, "", ownkey.Errorf(ownkey.EINTERNAL, "chat request without a provider"))
	}
	// upstreamCtx is cancelled as soon as the client is found gone, even
	// when that is noticed by a failed write rather than by ctx.
	upstreamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, start, err := provider.Send(ctx, upstreamCtx, a.client(req.Guarded), req, res, "/chat/completions", req.Body, a.UserAgent)
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		res.UpstreamLatency = time.Since(start)
		e := upstreamError(req, resp.StatusCode, body)
		e.RetryAfter = provider.RetryAfter(resp.Header)
		return provider.Failed(res, provider.CodeUpstreamError, e)
	}
	x := getExchange(req, res)
	defer putExchange(x)
	if req.Stream {
		x.idleTimeout = provider.StreamIdle(a.StreamIdleTimeout)
		return x.streamTo(ctx, cancel, w, resp, start)
	}
	return x.completeTo(ctx, w, resp, start)
}

// upstreamError builds the client's error from a provider's error answer.
// The message is the provider's own, so that a client sees what it would see
// talking to the provider directly, minus any echo of the key.
func upstreamError(req *ownkey.ChatRequest, status int, body []byte) *ownkey.Error {
	p, c := req.Provider, req.Credential
	e := &ownkey.Error{Code: ownkey.EUPSTREAM, Status: status, Message: provider.UpstreamMessage(body, c, req.MaxJSONDepth)}
	if e.Message == "" {
		e.Message = fmt.Sprintf("%s returned HTTP %d", p.Name, status)
	}
	if status < 400 {
		// A redirect or an informational status is not something to
		// relay: without its Location it means nothing to the client.
		e.Status = http.StatusBadGateway
	}
	errObj := gjson.GetBytes(body, "error")
	// OpenRouter's code is a number (the HTTP status again): only strings
	// are OpenAI-style machine codes.
	if t := errObj.Get("type"); t.Type == gjson.String {
		e.Type = provider.SafeToken(t.Str, c)
	}
	if code := errObj.Get("code"); code.Type == gjson.String {
		e.Reason = provider.SafeToken(code.Str, c)
	}
	return e
}

// completeTo relays a non-streaming answer. The body is read whole (it is
// needed for accounting before the status is sent, and a provider's 200 with
// an error object must still become an error) and written unchanged.
func (x *exchange) completeTo(ctx context.Context, w http.ResponseWriter, resp *http.Response, start time.Time) (*ownkey.ChatResult, error) {
	res, p := x.res, x.req.Provider
	body, err := x.readBody(resp)
	res.UpstreamLatency = time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			provider.MarkClientGone(res)
			return provider.Failed(res, provider.CodeClientDisconnected, &ownkey.Error{Code: ownkey.EUNAVAILABLE, Status: provider.StatusClientClosed, Message: "the client closed the request"})
		}
		if errors.Is(err, errTooLarge) {
			return provider.Failed(res, provider.CodeUpstreamError, ownkey.Errorf(ownkey.EUPSTREAM, "the %s response is larger than %d MiB", p.Name, maxBody>>20))
		}
		return provider.Failed(res, provider.CodeUpstreamError, ownkey.Errorf(ownkey.EUPSTREAM, "the %s response broke off before its end", p.Name))
	}
	ci := x.inspect(body)
	if ci.isError && ci.choices == 0 {
		// Some providers answer 200 with only an error object.
		return provider.Failed(res, provider.CodeUpstreamError, upstreamError(x.req, http.StatusBadGateway, body))
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	res.Status, res.Started = http.StatusOK, true
	if _, err := w.Write(body); err != nil {
		provider.MarkClientGone(res)
	}
	return res, nil
}

var errTooLarge = errors.New("response too large")

// readBody reads resp's body into the exchange's reusable buffer.
func (x *exchange) readBody(resp *http.Response) ([]byte, error) {
	b := x.body[:0]
	if n := resp.ContentLength; n > 0 && n <= maxBody && int(n) > cap(b) {
		b = make([]byte, 0, n+1) // +1: reading EOF needs room for one more byte
	}
	r := io.LimitReader(resp.Body, maxBody+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			x.body = b
			return nil, err
		}
	}
	x.body = b
	if len(b) > maxBody {
		return nil, errTooLarge
	}
	return b, nil
}
