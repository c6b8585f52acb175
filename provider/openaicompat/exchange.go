package openaicompat

import (
	"bytes"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsontext"
	"github.com/ownkey/ownkey/sse"
)

// exchange is the per-request state of one Chat call. Exchanges are pooled
// so that a stream's buffers (SSE reader, scratch space) are reused across
// requests instead of allocated for each.
type exchange struct {
	req    *ownkey.ChatRequest
	res    *ownkey.ChatResult
	rd     *sse.Reader
	client sse.Relay

	body    []byte // non-streaming body
	out     []byte // scratch for chunks the adapter edits or writes itself
	sample  []byte // the output sample, copied to the result at the end
	scratch []byte // scratch for unescaping strings

	// From the chunks seen so far, as raw JSON: the last non-zero usage
	// object, the last id and created, the first non-empty model.
	usage, id, created, model []byte
	sawFinish                 bool
	// resume is the start of the last chunk read whole, up to the first
	// value of its delta, and resumePath the path there (see inspect).
	resume     []byte
	resumePath path
	// tail is what followed the text in the last chunk whose tail was read
	// whole, and marks where reading may resume in it (see inspect).
	tail   []byte
	marks  [maxMarks]mark
	nMarks int
	// idleTimeout is the stream's idle limit (Adapter.StreamIdleTimeout).
	idleTimeout time.Duration
	// noShortcuts makes inspect read every chunk whole: the reference
	// the shortcuts are tested against.
	noShortcuts bool
}

// keepCap is the largest buffer an exchange keeps when returned to the pool.
const keepCap = 256 << 10

var exchanges = sync.Pool{New: func() any { return new(exchange) }}

func getExchange(req *ownkey.ChatRequest, res *ownkey.ChatResult) *exchange {
	x := exchanges.Get().(*exchange)
	x.req, x.res = req, res
	return x
}

// putExchange hands the output sample to the result, in one allocation of
// its exact size, and recycles x.
func putExchange(x *exchange) {
	x.res.OutputSample = bytes.Clone(x.sample)
	if cap(x.body) > keepCap || cap(x.out) > keepCap || cap(x.scratch) > keepCap || cap(x.usage) > keepCap || cap(x.resume) > keepCap || cap(x.tail) > keepCap ||
		x.client.BufferCap() > keepCap {
		return
	}
	if x.rd != nil {
		x.rd.Reset(nil) // drop the reference to the body; Reset also sheds large buffers
	}
	*x = exchange{
		rd:      x.rd,
		body:    x.body[:0],
		out:     x.out[:0],
		sample:  x.sample[:0],
		scratch: x.scratch[:0],
		usage:   x.usage[:0],
		id:      x.id[:0],
		created: x.created[:0],
		model:   x.model[:0],
		resume:  x.resume[:0],
		tail:    x.tail[:0],
		client:  x.client.Released(),
	}
	exchanges.Put(x)
}

// output counts a JSON string's text as delivered and keeps the first
// sampleLimit bytes of it, cut at a character boundary.
func (x *exchange) output(raw []byte, escaped bool) {
	if len(raw) == 0 {
		return
	}
	text := raw
	if escaped {
		x.scratch = jsontext.AppendUnescaped(x.scratch[:0], raw)
		text = x.scratch
	}
	x.res.OutputBytes += int64(len(text))
	room := sampleLimit - len(x.sample)
	if room <= 0 {
		return
	}
	if len(text) > room {
		text = text[:room]
		// Drop a last character the cut left incomplete (at most 3 bytes).
		for i := 0; i < utf8.UTFMax-1 && len(text) > 0; i++ {
			if r, size := utf8.DecodeLastRune(text); r != utf8.RuneError || size > 1 {
				break
			}
			text = text[:len(text)-1]
		}
	}
	x.sample = append(x.sample, text...)
}
