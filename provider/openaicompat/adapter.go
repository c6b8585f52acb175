// Package openaicompat is the chat adapter for providers that speak OpenAI
// Chat Completions themselves (wire family ownkey.WireOpenAI: OpenAI,
// OpenRouter, Groq, Together, …). The client already speaks that protocol, so
// the adapter is a pass-through on the gateway's hottest path: request and
// response bytes go through unchanged, read only where accounting needs a
// value (usage, model, finish reason, output size) and edited only where
// providers disagree on where usage goes in a stream. A client that speaks
// another dialect gets the answer translated (translate.go). The upstream
// half (send, error answers, the stream loop) is provider.Core's.
package openaicompat

import (
	"context"
	"net/http"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/provider"
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

	// The hooks of a family that speaks OpenAI's chat format at another
	// address with quirks of its own (Azure OpenAI). Both are off for the
	// OpenAI-compatible providers, whose answers pass through as they are.

	// Path is where a request goes under its base URL; nil means
	// "/chat/completions". Its error (EINVALID, naming the credential's
	// field) is the request's, before anything is sent.
	Path func(req *ownkey.ChatRequest) (string, error)
	// DropEmptyChunks drops a stream chunk that has no choices, no usage
	// and no error: one says nothing an OpenAI client can use, and
	// clients that read choices[0] of every chunk break on it. Azure
	// opens its streams with one (prompt_filter_results, empty id and
	// model).
	DropEmptyChunks bool
}

var _ ownkey.ChatAdapter = (*Adapter)(nil)

// Chat sends req to POST {req.BaseURL}/chat/completions (or a.Path's) and
// puts the answer into sink: for an OpenAI client, a non-streaming body
// unchanged and a stream event by event (see Event); for another dialect,
// translated. Errors are provider.Core's (see Core.Chat).
func (a *Adapter) Chat(ctx context.Context, req *ownkey.ChatRequest, sink ownkey.ChatSink) (*ownkey.ChatResult, error) {
	res := &ownkey.ChatResult{}
	path := "/chat/completions"
	if a.Path != nil {
		p, err := a.Path(req)
		if err != nil {
			return provider.Failed(res, "", err)
		}
		path = p
	}
	x := getExchange(req, res)
	defer putExchange(x)
	x.relay = sink.Dialect() == ownkey.DialectOpenAIChat
	x.dropEmpty = a.DropEmptyChunks
	core := provider.Core{Clients: a.Clients, UserAgent: a.UserAgent, StreamIdleTimeout: a.StreamIdleTimeout}
	return core.Chat(ctx, req, res, sink, x, path, req.Body)
}

// UpstreamError builds the client's error from a provider's error answer.
// The message is the provider's own, so that a client sees what it would see
// talking to the provider directly, minus any echo of the key.
func (x *exchange) UpstreamError(status int, _ http.Header, body []byte) *ownkey.Error {
	return upstreamError(x.req, status, body)
}

// upstreamError is the OpenAI-shaped error every WireOpenAI provider
// answers with (see provider.UpstreamError).
func upstreamError(req *ownkey.ChatRequest, status int, body []byte) *ownkey.Error {
	return provider.UpstreamError(req, status, body)
}

// JSONAnswer reads a JSON body that answered a stream: the provider's
// error if it is one. Usage in it, if any, is recorded by inspect.
func (x *exchange) JSONAnswer(body []byte, _ *provider.Answer) *ownkey.Error {
	if ci := x.inspect(body); ci.isError {
		return upstreamError(x.req, http.StatusBadGateway, body)
	}
	return nil
}

// Complete relays a non-streaming answer unchanged, read for accounting
// (a provider's 200 with only an error object becomes an error), or
// translates it for a client of another dialect. When billing prices the
// request, the cost goes into the provider's usage object (the only edit).
func (x *exchange) Complete(body []byte, out *provider.Answer) error {
	if !x.relay {
		return x.translateBody(body, out)
	}
	ci := x.inspect(body)
	if ci.isError && ci.choices == 0 {
		// Some providers answer 200 with only an error object.
		return upstreamError(x.req, http.StatusBadGateway, body)
	}
	if p := x.req.Pricer; p != nil && ci.usageEnd > 0 && !x.res.Usage.IsZero() {
		x.out = openai.InsertCost(x.out[:0], body, ci.usageEnd-1, p.Price(x.req, x.res))
		body = x.out
	}
	_ = out.RelayBody(body) // a failed write is the client gone, noted by out
	return nil
}
