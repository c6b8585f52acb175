package provider

import (
	"bytes"
	"cmp"
	"context"
	"net/http"
	"time"

	"github.com/ownkey/ownkey"
)

// Send posts body to req.BaseURL+path with the provider's authentication,
// the JSON/SSE Accept header and userAgent, on upstreamCtx (which the caller
// cancels when the client goes away). It fills res.TTFB, and on failure
// res.Status (Failed), res.UpstreamLatency and the client-facing error (Unreachable
// judges a cancelled ctx as the client leaving). start is when the request
// was sent, for the caller's UpstreamLatency.
func Send(ctx, upstreamCtx context.Context, client *http.Client, req *ownkey.ChatRequest, res *ownkey.ChatResult,
	path string, body []byte, userAgent string) (resp *http.Response, start time.Time, err error) {
	p := req.Provider
	hreq, err := http.NewRequestWithContext(upstreamCtx, http.MethodPost, req.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		// The URL may carry an operator's credentials: do not quote it.
		_, err = Failed(res, "", ownkey.Errorf(ownkey.EINTERNAL, "the %s base URL is not a valid URL", p.Name))
		return nil, start, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	if req.Stream {
		hreq.Header.Set("Accept", "text/event-stream")
	} else {
		hreq.Header.Set("Accept", "application/json")
	}
	hreq.Header.Set("User-Agent", cmp.Or(userAgent, "ownkey"))
	if err := Authorize(upstreamCtx, hreq, p, req.Credential, body); err != nil {
		_, err = Failed(res, "", err)
		return nil, start, err
	}
	start = time.Now()
	resp, err = client.Do(hreq)
	if err != nil {
		res.UpstreamLatency = time.Since(start)
		return nil, start, Unreachable(ctx, req, res, err)
	}
	res.TTFB = time.Since(start)
	return resp, start, nil
}
