package provider

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/egress"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/sse"
)

const (
	// MaxErrorBody bounds what is read of an error answer: plenty for any
	// message, little enough that a hostile endpoint cannot make us buffer.
	MaxErrorBody = 1 << 20
	// MaxBody bounds a non-streaming answer, which is held whole.
	MaxBody = 64 << 20
	// drainLimit and drainTimeout bound the read past a stream's end that
	// lets the upstream connection be reused.
	drainLimit   = 64 << 10
	drainTimeout = 5 * time.Second
)

// Core is the upstream half that every chat adapter shares, as
// httputil.ReverseProxy is for a proxy: it sends the family's request with
// the family's authentication, reads an error answer, a whole answer or a
// stream within bounds, runs the stream loop (idle timeout, the upstream
// cancelled the moment the client leaves, a drain after the end so that the
// connection is reused) and classifies how a stream failed. What differs
// between families is one Translator per request.
type Core struct {
	// Clients carries the requests; nil uses egress defaults.
	Clients *egress.Clients
	// UserAgent is sent upstream; empty means "ownkey".
	UserAgent string
	// StreamIdleTimeout ends a stream whose provider sends nothing for
	// this long (an error event, upstream_timeout); zero means
	// DefaultStreamIdleTimeout, negative no limit.
	StreamIdleTimeout time.Duration
}

// client is the client for a trusted or a guarded (user-supplied) base URL;
// without Clients, the package's defaults (defaultClients, shared with the
// key checks).
func (c *Core) client(guarded bool) *http.Client {
	if c.Clients != nil {
		return c.Clients.For(guarded)
	}
	return defaultClients().For(guarded)
}

// Client is the client for a trusted or a guarded base URL, for a family's
// requests other than chat (Anthropic's count_tokens).
func (c *Core) Client(guarded bool) *http.Client { return c.client(guarded) }

// Event is one event of a provider's stream: its type (an SSE event: line,
// an AWS event-stream's :event-type header; empty when there is none) and
// its data. Both are valid only until the source's next call.
type Event = sse.Event

// EventSource reads a provider's stream one event at a time. Next returns
// io.EOF at the end, ErrEventTooLarge for an event over its bound, and the
// error of the reader it reads from otherwise.
type EventSource interface {
	Next() (Event, error)
}

// ErrEventTooLarge is what an EventSource returns for an event over its
// bound (sse.DefaultMaxEvent).
var ErrEventTooLarge = sse.ErrEventTooLarge

// MalformedEventError is what an EventSource returns for bytes that are
// not an event of its framing (a binary frame whose checksum fails, whose
// lengths cannot be right): the stream ends with stream_error, saying what
// was wrong, rather than as if it had merely broken off. Reason is shown to
// the client, so it holds nothing from the stream itself.
type MalformedEventError struct{ Reason string }

func (e *MalformedEventError) Error() string { return "malformed stream event: " + e.Reason }

// Step says how a stream goes on after a Translator's turn.
type Step uint8

const (
	StepMore Step = iota // keep reading
	StepEnd              // the answer ended, completely (End) or not (Fail)
	StepGone             // the client went away (a sink call failed)
)

// More is the Step after a Translator's call to the Answer that leaves the
// answer open (a delta, the start): StepGone when the call failed, as the
// client is then gone, else StepMore.
func More(err error) Step {
	if err != nil {
		return StepGone
	}
	return StepMore
}

// Ended is the Step after a call that ended the answer (End, Fail):
// StepGone when it failed, else StepEnd.
func Ended(err error) Step {
	if err != nil {
		return StepGone
	}
	return StepEnd
}

// Translator is one family's part of one request, which Core.Chat drives.
// It gets the Answer to write to in every call.
type Translator interface {
	// UpstreamError builds the client's error from the provider's error
	// answer: its status, headers and body (at most MaxErrorBody bytes),
	// in the provider's own words minus any echo of the key. Core sets
	// the Retry-After from the answer's header; a family whose providers
	// give the delay in the body instead may set it (RetryAfterDelay),
	// and Core keeps it when the header has none.
	UpstreamError(status int, header http.Header, body []byte) *ownkey.Error
	// JSONAnswer reads a JSON body (at most MaxErrorBody bytes) that
	// answered a streaming request with a 2xx status: the provider's
	// error, as a 502, when the body is one; nil otherwise, and Core
	// reports the JSON instead of a stream. Usage in the body, if any,
	// goes into the result: the tokens were spent.
	JSONAnswer(body []byte, out *Answer) *ownkey.Error
	// Complete serves a whole non-streaming answer (at most MaxBody
	// bytes): out.Start, deltas, out.End, or an error before anything was
	// written (a 200 that holds an error or cannot be read).
	Complete(body []byte, out *Answer) error
	// Event serves one event of a stream.
	Event(ev Event, out *Answer) Step
	// EOF is called when the stream ends without Event having ended the
	// answer. A translator whose answer is complete all the same (some
	// providers close without their last event) ends it and returns
	// StepEnd (or StepGone); StepMore leaves it to Core, which fails the
	// answer as truncated.
	EOF(out *Answer) Step
}

// An EventSourcer is a Translator whose stream is not SSE (Bedrock's AWS
// event-stream): Core reads the stream through the source it returns.
type EventSourcer interface {
	EventSource(body io.Reader) EventSource
}

// Chat sends body to req.BaseURL+path and has t answer through sink,
// filling res (see ownkey.ChatAdapter for what an adapter returns). Before
// anything is written, failures come back as errors: the provider's own
// error (EUPSTREAM with its status, and its Retry-After), EUNAVAILABLE or
// ETIMEOUT when it could not be reached, t's error for a whole answer it
// cannot serve. Once the answer has started, failures are reported inside
// it and in res.ErrorCode, and the error is nil.
func (c *Core) Chat(ctx context.Context, req *ownkey.ChatRequest, res *ownkey.ChatResult, sink ownkey.ChatSink,
	t Translator, path string, body []byte) (*ownkey.ChatResult, error) {
	if req.Provider == nil {
		return Failed(res, "", ownkey.Errorf(ownkey.EINTERNAL, "chat request without a provider"))
	}
	// upstreamCtx is cancelled as soon as the client is found gone, even
	// when that is noticed by a failed write rather than by ctx.
	upstreamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, start, err := Send(ctx, upstreamCtx, c.client(req.Guarded), req, res, path, body, c.UserAgent)
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	return c.Respond(ctx, cancel, req, res, sink, t, resp, start)
}

// Respond is Chat's second half: it serves resp, the provider's answer to
// a request sent at start, through t into sink. cancel must cancel the
// upstream request (Respond calls it when the client leaves or the stream
// goes silent). The caller closes resp.Body.
func (c *Core) Respond(ctx context.Context, cancel context.CancelFunc, req *ownkey.ChatRequest, res *ownkey.ChatResult,
	sink ownkey.ChatSink, t Translator, resp *http.Response, start time.Time) (*ownkey.ChatResult, error) {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
		res.UpstreamLatency = time.Since(start)
		e := t.UpstreamError(resp.StatusCode, resp.Header, b)
		// The header wins; without one, a delay the family read from the
		// body (Google's RetryInfo) stands.
		if ra := RetryAfter(resp.Header); ra != "" || e.RetryAfter == "" {
			e.RetryAfter = ra
		}
		return Failed(res, CodeUpstreamError, e)
	}
	x := getExchange(req, res, sink)
	defer putExchange(x)
	if req.Stream {
		return x.stream(ctx, cancel, t, resp, start, StreamIdle(c.StreamIdleTimeout))
	}
	return x.complete(ctx, t, resp, start)
}

// exchange is Core's state for one request, pooled so that the SSE reader
// and the body buffer are reused across requests.
type exchange struct {
	answer Answer
	rd     *sse.Reader
	body   []byte // a non-streaming answer
}

var exchanges = sync.Pool{New: func() any { return new(exchange) }}

func getExchange(req *ownkey.ChatRequest, res *ownkey.ChatResult, sink ownkey.ChatSink) *exchange {
	x := exchanges.Get().(*exchange)
	x.answer.req, x.answer.res, x.answer.sink = req, res, sink
	return x
}

// putExchange reports the output counted and recycles x.
func putExchange(x *exchange) {
	x.answer.out.Report(x.answer.res)
	x.answer.out.Reset()
	x.answer.req, x.answer.res, x.answer.sink = nil, nil, nil
	if x.rd != nil {
		x.rd.Reset(nil) // drop the reference to the body; Reset also sheds large buffers
	}
	x.body = keep(x.body)
	exchanges.Put(x)
}

// complete serves a non-streaming answer. The body is read whole: it is
// needed for accounting before the status is sent, and a 200 holding an
// error object must still become an error.
func (x *exchange) complete(ctx context.Context, t Translator, resp *http.Response, start time.Time) (*ownkey.ChatResult, error) {
	res, name := x.answer.res, x.answer.req.Provider.Name
	body, err := x.readBody(resp)
	res.UpstreamLatency = time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			MarkClientGone(res)
			return Failed(res, CodeClientDisconnected, &ownkey.Error{Code: ownkey.EUNAVAILABLE, Status: StatusClientClosed, Message: "the client closed the request"})
		}
		if errors.Is(err, errTooLarge) {
			return Failed(res, CodeUpstreamError, ownkey.Errorf(ownkey.EUPSTREAM, "the %s response is larger than %d MiB", name, MaxBody>>20))
		}
		return Failed(res, CodeUpstreamError, ownkey.Errorf(ownkey.EUPSTREAM, "the %s response broke off before its end", name))
	}
	if err := t.Complete(body, &x.answer); err != nil && !res.Started {
		return Failed(res, CodeUpstreamError, err)
	}
	// Written, or the client left while it was (the Answer noted it).
	return res, nil
}

var errTooLarge = errors.New("response too large")

// readBody reads resp's body, at most MaxBody bytes, into x's reusable
// buffer.
func (x *exchange) readBody(resp *http.Response) ([]byte, error) {
	b := x.body[:0]
	if n := resp.ContentLength; n > 0 && n <= MaxBody && int(n) > cap(b) {
		b = make([]byte, 0, n+1) // +1: reading EOF needs room for one more byte
	}
	r := io.LimitReader(resp.Body, MaxBody+1)
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
	if len(b) > MaxBody {
		return nil, errTooLarge
	}
	return b, nil
}

// stream runs a streamed answer: t translates each event, and Core ends the
// answer, with an error event and no normal end, when the stream stops
// short, breaks off, sends an event over the size limit or goes silent
// for idle: the client must not mistake a cut answer for a whole one.
//
// The provider's body is read through the sink's relay (ownkey.ChatSink
// Stream), which writes and flushes what was written before every read
// that may block: no event waits for the next one, while events that
// arrived together go out in one write and one flush, as a reverse proxy
// would send them.
func (x *exchange) stream(ctx context.Context, cancel context.CancelFunc, t Translator, resp *http.Response, start time.Time, idle time.Duration) (*ownkey.ChatResult, error) {
	out, res, name := &x.answer, x.answer.res, x.answer.req.Provider.Name
	var body io.Reader = resp.Body
	if isJSON(resp.Header.Get("Content-Type")) {
		// Usually an error with status 200; but some servers label their
		// event stream application/json, so the body decides.
		br := bufio.NewReaderSize(resp.Body, 64)
		if c := firstNonSpace(br); c == '{' || c == '[' {
			return x.jsonInsteadOfStream(t, br, start)
		}
		body = br
	}
	res.Status, res.Started = http.StatusOK, true
	if idle > 0 {
		ir := newIdleReader(body, idle, cancel)
		defer ir.stop()
		body = ir
	}
	src := x.source(t, x.answer.sink.Stream(body, ctx.Done()))
	var malformed *MalformedEventError
	for {
		ev, err := src.Next()
		if err != nil && (ctx.Err() != nil || errors.Is(err, ownkey.ErrClientGone)) {
			return x.gone(cancel, start)
		}
		var st Step
		switch {
		case err == nil:
			st = t.Event(ev, out)
		case err == io.EOF:
			if st = t.EOF(out); st == StepMore {
				st = out.fail(CodeStreamTruncated, name+" ended the stream before the response was complete")
			}
		case errors.Is(err, ErrEventTooLarge):
			st = out.fail(CodeStreamError, fmt.Sprintf("%s sent a stream event larger than %d MiB", name, sse.DefaultMaxEvent>>20))
		case errors.As(err, &malformed):
			st = out.fail(CodeStreamError, name+" sent a malformed stream event ("+malformed.Reason+"); the stream was ended before the response was complete")
		case errors.As(err, new(*IdleError)):
			st = out.fail(CodeUpstreamTimeout, name+" sent nothing for "+idle.String()+"; the stream was ended before the response was complete")
		default:
			st = out.fail(CodeStreamTruncated, "the "+name+" stream broke off before the response was complete")
		}
		switch st {
		case StepGone:
			return x.gone(cancel, start)
		case StepEnd:
			res.UpstreamLatency = time.Since(start)
			// The last events go out with the response's end (one write
			// with the chunked terminator), within milliseconds should
			// the drain below or the recording after it take longer.
			if x.answer.sink.FlushWithEnd() != nil {
				return x.gone(cancel, start)
			}
			if res.ErrorCode == "" {
				drain(cancel, resp.Body)
			}
			return res, nil
		}
	}
}

// source is the stream's event source: t's own, or the pooled SSE reader.
func (x *exchange) source(t Translator, r io.Reader) EventSource {
	if es, ok := t.(EventSourcer); ok {
		return es.EventSource(r)
	}
	if x.rd == nil {
		x.rd = sse.NewReader(r, sse.DefaultMaxEvent)
	} else {
		x.rd.Reset(r)
	}
	return x.rd
}

// gone records that the client went away and stops the upstream request at
// once, so the provider stops generating (and billing) for nobody. What
// was counted so far is kept.
func (x *exchange) gone(cancel context.CancelFunc, start time.Time) (*ownkey.ChatResult, error) {
	cancel()
	res := x.answer.res
	if res.UpstreamLatency == 0 {
		res.UpstreamLatency = time.Since(start)
	}
	MarkClientGone(res)
	return res, nil
}

// drain reads what follows the end of a stream (normally just the end of
// the body) so that the connection to the provider can be reused. A
// provider that keeps the body open is cut off after drainTimeout.
func drain(cancel context.CancelFunc, body io.Reader) {
	t := time.AfterFunc(drainTimeout, cancel)
	_, _ = io.CopyN(io.Discard, body, drainLimit)
	t.Stop()
}

// jsonInsteadOfStream handles a provider that answered a streaming request
// with a JSON body, typically an error object with status 200. Nothing has
// been written yet, so it becomes an ordinary error.
func (x *exchange) jsonInsteadOfStream(t Translator, r io.Reader, start time.Time) (*ownkey.ChatResult, error) {
	body, _ := io.ReadAll(io.LimitReader(r, MaxErrorBody))
	res := x.answer.res
	res.UpstreamLatency = time.Since(start)
	if e := t.JSONAnswer(body, &x.answer); e != nil {
		return Failed(res, CodeUpstreamError, e)
	}
	return Failed(res, CodeUpstreamError, ownkey.Errorf(ownkey.EUPSTREAM, "%s answered a streaming request with a JSON body instead of an event stream", x.answer.req.Provider.Name))
}

// firstNonSpace skips leading white space in br and returns the byte after
// it, 0 if there is none.
func firstNonSpace(br *bufio.Reader) byte {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return 0
		}
		if !jsonvalid.IsSpace(b[0]) {
			return b[0]
		}
		_, _ = br.Discard(1)
	}
}

func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}
