package openaicompat

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/sse"
)

// streamTo relays an event stream to w. Chunks pass through byte for byte
// except where usage is concerned: providers put it in
// a separate last chunk (OpenAI), on the finish chunk (Groq, DeepSeek) or on
// every chunk (Perplexity), and the client must get it exactly once, in
// OpenAI's place (a last chunk with empty choices, before [DONE]) and only if
// it asked. So usage is taken out of every chunk, the last non-zero one is
// remembered, and end writes it.
//
// Events are flushed before every read from the provider, which may block
// (see sse.Relay): none waits for the next one, while events that
// arrived together go out in one write and one flush, as a reverse proxy
// would send them.
//
// A stream that stops without [DONE] and without a finish reason, that
// breaks off, or that sends an event over the size limit ends with an error
// event and no [DONE]: the client must not mistake a cut answer for a whole
// one.
func (x *exchange) streamTo(ctx context.Context, cancel context.CancelFunc, w http.ResponseWriter, resp *http.Response, start time.Time) (*ownkey.ChatResult, error) {
	res, name := x.res, x.req.Provider.Name
	var body io.Reader = resp.Body
	if isJSON(resp.Header.Get("Content-Type")) {
		// Usually an error with status 200; but some servers label their
		// event stream application/json, so the body decides.
		br := bufio.NewReaderSize(resp.Body, 64)
		if c := firstNonSpace(br); c == '{' || c == '[' {
			return x.jsonInsteadOfStream(br, start)
		}
		body = br
	}
	sse.Headers(w.Header())
	w.WriteHeader(http.StatusOK)
	res.Status, res.Started = http.StatusOK, true
	out := &x.client
	out.Reset(w, body, ctx.Done())
	// The headers go out with the first event, or alone within
	// sse.HeaderDelay if it is slow (a reasoning model's may be minutes
	// away).
	out.DelayHeaders(sse.HeaderDelay)
	out.IdleTimeout(x.idleTimeout, cancel)
	defer out.Finish()
	if x.rd == nil {
		x.rd = sse.NewReader(out, sse.DefaultMaxEvent)
	} else {
		x.rd.Reset(out)
	}
	for {
		ev, err := x.rd.Next()
		if err != nil && ctx.Err() != nil || out.Failed() {
			return x.gone(cancel, start)
		}
		if err != nil {
			res.UpstreamLatency = time.Since(start)
			var ok bool
			switch {
			case err == io.EOF && x.sawFinish:
				// Some providers close without [DONE]; the answer is
				// complete all the same.
				ok = x.end(out)
			case err == io.EOF:
				ok = x.fail(out, provider.CodeStreamTruncated, name+" ended the stream before the response was complete")
			case errors.Is(err, sse.ErrEventTooLarge):
				ok = x.fail(out, provider.CodeStreamError, fmt.Sprintf("%s sent a stream event larger than %d MiB", name, sse.DefaultMaxEvent>>20))
			case errors.As(err, new(*sse.IdleError)):
				ok = x.fail(out, provider.CodeUpstreamTimeout, name+" sent nothing for "+x.idleTimeout.String()+"; the stream was ended before the response was complete")
			default:
				ok = x.fail(out, provider.CodeStreamTruncated, "the "+name+" stream broke off before the response was complete")
			}
			if !ok || !out.Flush() {
				return x.gone(cancel, start)
			}
			return res, nil
		}
		data := bytes.TrimSpace(ev.Data)
		switch {
		case len(data) == 0:
			continue
		case string(data) == "[DONE]":
			res.UpstreamLatency = time.Since(start)
			if !x.end(out) || !out.Flush() {
				return x.gone(cancel, start)
			}
			drain(cancel, resp.Body)
			return res, nil
		case data[0] != '{':
			// Not a chunk: relayed, since the client may understand it,
			// but never with an echo of the key (rare: the scrub costs
			// nothing on the chunks every stream is made of).
			if !out.Event(provider.ScrubJSON(data, x.req.Credential)) {
				return x.gone(cancel, start)
			}
			continue
		}
		ci := x.inspect(data)
		switch {
		case !ci.ok:
			// Not JSON we can read: relayed, less any echo of the key.
			if !out.Event(provider.ScrubJSON(data, x.req.Credential)) {
				return x.gone(cancel, start)
			}
			continue
		case ci.isError:
			// OpenAI's (and OpenRouter's) mid-stream error: relayed as is
			// but for an echo of the key, and it ends the stream.
			res.UpstreamLatency = time.Since(start)
			res.ErrorCode = provider.CodeStreamError
			if !out.Event(provider.ScrubJSON(data, x.req.Credential)) || !out.Flush() {
				return x.gone(cancel, start)
			}
			return res, nil
		case ci.usageEnd > 0 && ci.choices == 0:
			continue // a usage-only chunk: end writes the usage
		case ci.usageEnd > 0:
			data = x.withoutUsage(data, ci)
		}
		if !out.Event(data) {
			return x.gone(cancel, start)
		}
	}
}

// end finishes a complete stream: the one usage chunk if the client asked
// for it and the provider gave usage, then [DONE].
func (x *exchange) end(out *sse.Relay) bool {
	if x.req.IncludeUsage && len(x.usage) > 0 {
		b := append(x.out[:0], `{"id":`...)
		b = appendOr(b, x.id, `""`)
		b = append(b, `,"object":"chat.completion.chunk","created":`...)
		if len(x.created) > 0 {
			b = append(b, x.created...)
		} else {
			b = fmt.Appendf(b, "%d", time.Now().Unix())
		}
		b = append(b, `,"model":`...)
		b = appendOr(b, x.model, `""`)
		b = append(b, `,"choices":[],"usage":`...)
		b = append(b, x.usage...)
		b = append(b, '}')
		x.out = b
		if !out.Event(b) {
			return false
		}
	}
	return out.Raw(sse.Done)
}

func appendOr(b, v []byte, fallback string) []byte {
	if len(v) == 0 {
		return append(b, fallback...)
	}
	return append(b, v...)
}

// fail ends a stream with an error event in OpenAI's mid-stream form, and no
// [DONE].
func (x *exchange) fail(out *sse.Relay, code, message string) bool {
	x.res.ErrorCode = code
	b := append(x.out[:0], `{"error":{"message":`...)
	b = gjson.AppendJSONString(b, message)
	b = append(b, `,"type":"upstream_error","param":null,"code":"`...)
	b = append(b, code...)
	b = append(b, `"}}`...)
	x.out = b
	return out.Event(b)
}

// withoutUsage returns data with its usage member removed, in x.out.
func (x *exchange) withoutUsage(data []byte, ci chunkInfo) []byte {
	from, to := ci.usageKey, ci.usageEnd
	i := from - 1
	for i >= 0 && jsonvalid.IsSpace(data[i]) {
		i--
	}
	if i >= 0 && data[i] == ',' {
		from = i
	} else {
		// usage is the first member: take the comma after it instead.
		j := to
		for j < len(data) && jsonvalid.IsSpace(data[j]) {
			j++
		}
		if j < len(data) && data[j] == ',' {
			to = j + 1
		}
	}
	x.out = append(append(x.out[:0], data[:from]...), data[to:]...)
	return x.out
}

// gone records that the client went away and stops the upstream request at
// once, so the provider stops generating (and billing) for nobody.
func (x *exchange) gone(cancel context.CancelFunc, start time.Time) (*ownkey.ChatResult, error) {
	cancel()
	if x.res.UpstreamLatency == 0 {
		x.res.UpstreamLatency = time.Since(start)
	}
	provider.MarkClientGone(x.res)
	return x.res, nil
}

// drain reads what follows [DONE] (normally just the end of the body) so
// that the connection to the provider can be reused. A provider that keeps
// the body open past [DONE] is cut off after drainTimeout.
func drain(cancel context.CancelFunc, body io.Reader) {
	t := time.AfterFunc(drainTimeout, cancel)
	_, _ = io.CopyN(io.Discard, body, drainLimit)
	t.Stop()
}

// jsonInsteadOfStream handles a provider that answered a streaming request
// with a JSON body, typically an error object with status 200. Nothing has
// been written yet, so it becomes an ordinary error. Usage in the body, if
// any, is still recorded: the tokens were spent.
func (x *exchange) jsonInsteadOfStream(r io.Reader, start time.Time) (*ownkey.ChatResult, error) {
	body, _ := io.ReadAll(io.LimitReader(r, maxErrorBody))
	x.res.UpstreamLatency = time.Since(start)
	p := x.req.Provider
	if ci := x.inspect(body); ci.isError {
		return provider.Failed(x.res, provider.CodeUpstreamError, upstreamError(x.req, http.StatusBadGateway, body))
	}
	return provider.Failed(x.res, provider.CodeUpstreamError, ownkey.Errorf(ownkey.EUPSTREAM, "%s answered a streaming request with a JSON body instead of an event stream", p.Name))
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
