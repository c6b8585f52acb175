package ownkey

import (
	"context"
	"net/http"
	"time"
)

// ChatService serves the chat use case from routing to the usage record
// (package chat). The HTTP layer decodes a request into a ChatCall, calls
// Chat and encodes what comes back.
type ChatService interface {
	// Chat routes call to a provider, has the provider's adapter put the
	// answer into call.Sink, and records usage. A returned error has not
	// been written: the caller writes it. A failure the answer already
	// carries (mid-stream), or one the client left before, is recorded
	// and not returned.
	Chat(ctx context.Context, call *ChatCall) error
}

// ChatCall is one chat request as the HTTP layer decoded it: the routing
// fields read from the body and headers, and the body itself.
type ChatCall struct {
	RequestID string
	Principal *Principal
	// Model is the model id as the client asked for it (routing may strip
	// a provider prefix).
	Model string
	// Provider is the provider id the client forced (lower case), empty
	// to route by Model.
	Provider string
	// Keys is the BYOK switch: whose key may serve the request.
	Keys         KeyChoice
	Stream       bool
	IncludeUsage bool
	// MaxTokens is the client's limit on the answer (max_completion_tokens
	// or max_tokens, the larger if it sent both); 0 when it set none. The
	// reservation is priced from it.
	MaxTokens int64
	// WebSearch, when set, asks for the answer to be grounded in a web
	// search (a model's :online suffix, or the body's webSearch object;
	// the suffix is already stripped from Model and the object from the
	// body). Its Query is empty: it comes from the conversation.
	WebSearch *WebSearchRequest
	// Body is the client's body: OpenAI Chat Completions JSON, or, for a
	// client of another Dialect, a DialectBody.
	Body ChatBody
	// Sink receives the answer from the adapter, and writes it in the
	// client's dialect (the HTTP layer builds it: encoding is its job).
	Sink ChatSink
	// Outcome is filled by the chat service as it serves the call: what
	// the HTTP layer's access log line, metrics and trace say of it.
	Outcome ChatOutcome
	// Dialect is the client's wire format, its request's and its
	// answer's (Sink's); empty means DialectOpenAIChat. When the routed
	// provider's family speaks it too, the request and the answer pass
	// through as bytes (provider.Passthrougher).
	Dialect Dialect
	// Header holds the client's request headers that its dialect defines
	// and a pass-through forwards upstream (Anthropic's anthropic-version
	// and anthropic-beta); nil for none. Never credentials.
	Header http.Header
}

// ClientDialect is c.Dialect, DialectOpenAIChat when unset.
func (c *ChatCall) ClientDialect() Dialect {
	if c.Dialect == "" {
		return DialectOpenAIChat
	}
	return c.Dialect
}

// ChatOutcome is what became of a chat call, as the chat service reports
// it back to the HTTP layer (ChatCall.Outcome). It holds no secret and no
// message content: it feeds the access log, the metrics and the trace.
type ChatOutcome struct {
	// Provider is the routed provider's id; empty when the request was
	// refused before a provider was chosen.
	Provider string
	// Model is the model id sent to the provider (the routed one).
	Model string
	// ModelServed is the model the provider said it used, if it said.
	ModelServed string
	// BYOK says whose key served it: the account's own, or the platform's.
	BYOK bool
	// Upstream is true once the request was sent to the provider.
	Upstream bool
	// Status is the HTTP status the client got (0 when the service
	// returned an error the caller writes: the caller's status is then
	// StatusOf(err)).
	Status int
	// ErrorCode is the usage record's error code (upstream_error,
	// stream_truncated, client_disconnected, …), empty for a whole answer.
	ErrorCode string
	Usage     Usage
	// Charged is what the request cost the account (nano-USD).
	Charged NanoUSD
	// TTFB and UpstreamLatency as in ChatResult.
	TTFB            time.Duration
	UpstreamLatency time.Duration
	ClientGone      bool
}

// ChatBody is the client's OpenAI JSON body. The routing edits need the
// offsets the decoder found, so the decoder makes them.
type ChatBody interface {
	// Routed returns the body with the routing edits made for the routed
	// model: model set to model, the byok member removed and, for a
	// stream whose client did not ask for usage,
	// stream_options.include_usage forced on. It may edit in place, so it
	// is called once.
	Routed(model string) []byte
}

// DialectBody is the body of a client that speaks another dialect than
// OpenAI Chat Completions (ChatCall.Dialect). Such a body reaches a
// provider in one of two ways: to a family that speaks the client's
// dialect itself, as it is with the routing edits only (Routed: the model
// member set, ownkey's own members removed; a byte pass-through, nothing
// lost); to every other family, translated into OpenAI Chat Completions,
// which every adapter reads (Translated). The chat service calls one of
// them.
type DialectBody interface {
	ChatBody
	// Translated returns the body as OpenAI Chat Completions JSON for
	// provider p, with model set and, for a stream, usage asked for. Its
	// error is the client's (EINVALID naming the field): what the
	// provider cannot be asked in OpenAI's terms. It reads the body as it
	// stands, so it may follow Routed.
	Translated(p *Provider, model string) ([]byte, error)
}

// TokenCounter counts the input tokens of a chat request without running
// it (Anthropic's count_tokens): exactly, by asking the provider, where the
// routed provider offers that, else by ownkey's conservative estimate
// (usage.Estimate). Nothing is billed or recorded. The chat service
// implements it; the HTTP layer reaches it through its ChatService.
type TokenCounter interface {
	CountTokens(ctx context.Context, call *ChatCall) (TokenCount, error)
}

// TokenCount is a TokenCounter's answer.
type TokenCount struct {
	InputTokens int64
	// Estimated: ownkey estimated the count, the provider was not asked.
	Estimated bool
	// Provider is the id of the provider the request would be routed to.
	Provider string
}

// UsageRecorder receives one usage record per chat request that passed
// authentication (usage.Recorder).
type UsageRecorder interface {
	Record(rec *UsageRecord)
}

// Authorizer adds a credential to an upstream request the way one wire
// family's API expects (a bearer token, x-api-key, SigV4, …). Each provider
// family implements it in its own package; nothing else switches on the
// wire family.
type Authorizer interface {
	// Authorize adds c to req for provider p. body must be exactly the
	// bytes req will send (SigV4 signs their hash); call it last, once
	// the URL and every other header are final.
	Authorize(ctx context.Context, req *http.Request, p *Provider, c *Credential, body []byte) error
}

// ChatRequest is one OpenAI Chat Completions request on its way to a
// provider, after authentication and routing.
type ChatRequest struct {
	RequestID  string
	Provider   *Provider
	Credential *Credential
	// BYOK says whose key Credential is: the account's own (the provider
	// bills the user; ownkey charges Markup on the at-cost price) or, when
	// false, the platform's (ownkey pays the provider and charges the
	// at-cost price plus Markup, the platform margin). Quote.ChargeFor
	// prices the request from the two.
	BYOK bool
	// Markup is the rate this request is billed at on top of the at-cost
	// price: Markups.For(BYOK).
	Markup PPM
	// Auth authorizes the upstream request: the routed provider's family
	// (required: provider.Send refuses a request without one).
	Auth Authorizer
	// BaseURL is the resolved upstream base (provider.Families.Endpoint);
	// Guarded says it came from the user's credential and must be dialled
	// through the guarded client.
	BaseURL string
	Guarded bool
	// Model is the model id as the provider must see it (prefix stripped).
	Model string
	// Body is the client's OpenAI JSON with only the routing edits applied:
	// model rewritten, the byok field removed and, for streams,
	// stream_options.include_usage forced on. For a client of another
	// dialect it is the body translated into OpenAI's (DialectBody), or,
	// for a pass-through adapter, the client's own with the routing edits.
	Body []byte
	// PromptBody, set when Body is not OpenAI Chat Completions JSON (a
	// pass-through: Body is in the client's and the provider's own
	// dialect), returns the request in OpenAI's terms, for estimating its
	// prompt tokens when the provider reports none.
	PromptBody func() []byte
	// Header is ChatCall.Header: what a pass-through forwards.
	Header http.Header
	Stream bool
	// IncludeUsage is whether the client itself asked for the usage chunk.
	IncludeUsage bool
	// MaxJSONDepth bounds the nesting of the JSON the adapter parses for
	// this request: the provider's answer, its stream events, its error
	// body (OWNKEY_MAX_JSON_DEPTH; zero means jsonvalid.DefaultMaxDepth).
	// Body itself was checked against it before routing.
	MaxJSONDepth int
	// Pricer, when set, prices the answer as it ends (see Pricer), so
	// that the cost written in the answer is the charge settled.
	Pricer Pricer
}

// UsageSource says where token counts came from.
type UsageSource string

const (
	UsageFromProvider UsageSource = "provider" // the provider reported them
	UsageEstimated    UsageSource = "estimate" // the provider reported none; ownkey estimated conservatively
	UsageNone         UsageSource = "none"     // nothing was consumed (the request never reached a model)
)

// Usage is token usage in OpenAI's meaning: PromptTokens includes cached and
// cache-write tokens, CompletionTokens includes reasoning tokens. Adapters
// for other wire formats convert to this meaning.
type Usage struct {
	PromptTokens     int64       `json:"prompt_tokens"`
	CompletionTokens int64       `json:"completion_tokens"`
	CachedTokens     int64       `json:"cached_tokens"`      // part of PromptTokens read from cache
	CacheWriteTokens int64       `json:"cache_write_tokens"` // part of PromptTokens written to cache (priced apart)
	ReasoningTokens  int64       `json:"reasoning_tokens"`   // part of CompletionTokens
	Source           UsageSource `json:"source"`
}

// IsZero reports whether no tokens were counted; all-zero provider usage
// counts as missing.
func (u Usage) IsZero() bool { return u.PromptTokens == 0 && u.CompletionTokens == 0 }

// ChatResult is what an adapter learned while serving a request.
type ChatResult struct {
	// Status is the HTTP status the client got. For an error returned
	// before anything was written it is StatusOf(err), the status the
	// error is sent with (adapters set it with provider.Failed; the chat
	// service sets it again, so no adapter can make the record disagree
	// with the client).
	Status int
	// Started is true once response headers went to the client: a failure
	// after that was reported inside the stream, not as an error return.
	Started      bool
	ModelServed  string
	FinishReason string
	Usage        Usage
	// OutputBytes counts the content, reasoning, tool-name and
	// tool-argument bytes delivered, for estimating completion tokens
	// when usage is missing.
	OutputBytes int64
	// OutputSample holds the start of that output (bounded), to estimate
	// tokens with the tokenizer rather than a byte ratio.
	OutputSample []byte
	// OutputToolCalls counts the tool calls delivered, for the framing
	// each costs beyond its name and arguments.
	OutputToolCalls int
	// TTFB is from sending the upstream request to its response headers;
	// UpstreamLatency to the end of the upstream response.
	TTFB            time.Duration
	UpstreamLatency time.Duration
	ClientGone      bool
	// ErrorCode is set when the request failed: upstream_error,
	// stream_error, stream_truncated, client_disconnected, …
	ErrorCode string
	// Charge is the request's price once Priced (see Pricer): Usage is
	// then final too.
	Charge Charge
	Priced bool
}

// ChatAdapter speaks one provider wire family. Chat translates req into the
// provider's API, sends it, and puts the answer into sink (see ChatSink:
// the sink writes it in the client's dialect, streamed event by event as
// it arrives or whole), or relays the provider's bytes when the client
// speaks the provider's dialect. An error returned while result.Started is
// false has not been written: the caller writes it in the client's error
// envelope. Cancelling ctx (the client went away) must cancel the upstream
// request at once; what was consumed so far is still reported in the
// result.
type ChatAdapter interface {
	Chat(ctx context.Context, req *ChatRequest, sink ChatSink) (*ChatResult, error)
}

// UsageRecord is one request's usage as stored: exactly one per chat
// request that passed authentication.
type UsageRecord struct {
	RequestID          string
	AccountID          int64
	APIKeyID           int64
	Provider           string
	ModelRequested     string
	ModelServed        string
	Usage              Usage
	Stream             bool
	Status             int
	ErrorCode          string
	UpstreamLatency    time.Duration
	TTFB               time.Duration
	ClientDisconnected bool
	CreatedAt          time.Time

	// The ledger entry: what the request cost and how it was settled.
	// Charge is what the usage above costs (also for an unmetered
	// account, which is not charged it); Reserved what was held for it
	// before the upstream call and LeaseID the balance lease that held it
	// (0 for none: an unmetered account, or billing off). Storing the
	// record takes Charge.Charged from the lease, in the same transaction.
	Charge     Charge
	Reserved   NanoUSD
	LeaseID    int64
	Settlement Settlement // empty means SettlementSettled
}

// UsageStore keeps usage records.
type UsageStore interface {
	// InsertUsage stores records in one transaction. A record whose
	// RequestID is already stored is skipped, so a retried batch never
	// double-counts.
	InsertUsage(ctx context.Context, recs []*UsageRecord) error
	// UsageRecords lists an account's records, newest first.
	UsageRecords(ctx context.Context, accountID int64, limit int) ([]*UsageRecord, error)
}
