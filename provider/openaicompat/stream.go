package openaicompat

import (
	"bytes"
	"fmt"
	"time"

	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/jsonvalid"
	"github.com/ownkey/ownkey/provider"
)

// Event relays one event of a stream to an OpenAI client (see
// translateEvent for another dialect). Chunks pass through byte for byte
// except where usage is concerned: providers put it in a separate last
// chunk (OpenAI), on the finish chunk (Groq, DeepSeek) or on every chunk
// (Perplexity), and the client must get it exactly once, in OpenAI's place
// (a last chunk with empty choices, before [DONE]) and only if it asked. So
// usage is taken out of every chunk, the last non-zero one is remembered,
// and end writes it.
//
// A stream that stops without [DONE] and without a finish reason, that
// breaks off, or that sends an event over the size limit is ended by
// provider.Core with an error event and no [DONE].
func (x *exchange) Event(ev provider.Event, out *provider.Answer) provider.Step {
	data := bytes.TrimSpace(ev.Data)
	switch {
	case len(data) == 0:
		return provider.StepMore
	case !x.relay:
		return x.translateEvent(data, out)
	case string(data) == "[DONE]":
		return x.end(out)
	case data[0] != '{':
		// Not a chunk: relayed, since the client may understand it,
		// but never with an echo of the key (rare: the scrub costs
		// nothing on the chunks every stream is made of).
		return x.relayEvent(out, provider.ScrubJSON(data, x.req.Credential))
	}
	ci := x.inspect(data)
	switch {
	case !ci.ok:
		// Not JSON we can read: relayed, less any echo of the key.
		return x.relayEvent(out, provider.ScrubJSON(data, x.req.Credential))
	case ci.isError:
		// OpenAI's (and OpenRouter's) mid-stream error: relayed as is
		// but for an echo of the key, and it ends the stream.
		x.res.ErrorCode = provider.CodeStreamError
		if out.RelayEvent(nil, provider.ScrubJSON(data, x.req.Credential)) != nil {
			return provider.StepGone
		}
		return provider.StepEnd
	case ci.usageEnd > 0 && ci.choices == 0:
		return provider.StepMore // a usage-only chunk: end writes the usage
	case ci.choices == 0 && x.dropEmpty:
		return provider.StepMore // nothing for the client (Adapter.DropEmptyChunks)
	case ci.usageEnd > 0:
		data = x.withoutUsage(data, ci)
	}
	return x.relayEvent(out, data)
}

func (x *exchange) relayEvent(out *provider.Answer, data []byte) provider.Step {
	if out.RelayEvent(nil, data) != nil {
		return provider.StepGone
	}
	return provider.StepMore
}

// EOF: some providers close without [DONE]; after a finish reason the
// answer is complete all the same.
func (x *exchange) EOF(out *provider.Answer) provider.Step {
	switch {
	case !x.relay:
		return x.translatedEOF(out)
	case x.sawFinish:
		return x.end(out)
	}
	return provider.StepMore
}

var doneData = []byte("[DONE]")

// end finishes a complete stream: the one usage chunk if the client asked
// for it and the provider gave usage, then [DONE].
func (x *exchange) end(out *provider.Answer) provider.Step {
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
		if p := x.req.Pricer; p != nil {
			// The provider's usage object with the cost added: the charge
			// the ledger settles.
			b = openai.InsertCost(b, x.usage, len(x.usage)-1, p.Price(x.req, x.res))
		} else {
			b = append(b, x.usage...)
		}
		b = append(b, '}')
		x.out = b
		if out.RelayEvent(nil, b) != nil {
			return provider.StepGone
		}
	}
	if out.RelayEvent(nil, doneData) != nil {
		return provider.StepGone
	}
	return provider.StepEnd
}

func appendOr(b, v []byte, fallback string) []byte {
	if len(v) == 0 {
		return append(b, fallback...)
	}
	return append(b, v...)
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
