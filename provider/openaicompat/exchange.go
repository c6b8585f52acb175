package openaicompat

import (
	"sync"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
)

// exchange is the per-request state of one Chat call, and its
// provider.Translator. Exchanges are pooled so that a stream's scratch
// buffers are reused across requests instead of allocated for each.
type exchange struct {
	req *ownkey.ChatRequest
	res *ownkey.ChatResult
	// relay: the client speaks OpenAI's dialect, so the provider's bytes
	// are relayed; otherwise they are translated (translate.go).
	relay bool
	// dropEmpty: Adapter.DropEmptyChunks.
	dropEmpty bool

	out     []byte // scratch for chunks the adapter edits or writes itself
	scratch []byte // scratch for unescaping strings
	// counted is the output relayed (translated output is counted by
	// provider.Answer).
	counted provider.Output

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
	// noShortcuts makes inspect read every chunk whole: the reference
	// the shortcuts are tested against.
	noShortcuts bool

	// translated is the state of a translation (translate.go).
	translated translation
}

// keepCap is the largest buffer an exchange keeps when returned to the pool.
const keepCap = 256 << 10

var exchanges = sync.Pool{New: func() any { return new(exchange) }}

func getExchange(req *ownkey.ChatRequest, res *ownkey.ChatResult) *exchange {
	x := exchanges.Get().(*exchange)
	x.req, x.res = req, res
	return x
}

// putExchange hands the output counted to the result and recycles x.
func putExchange(x *exchange) {
	x.counted.Report(x.res)
	if cap(x.out) > keepCap || cap(x.scratch) > keepCap || cap(x.usage) > keepCap || cap(x.resume) > keepCap || cap(x.tail) > keepCap {
		return
	}
	x.counted.Reset()
	*x = exchange{
		out:     x.out[:0],
		scratch: x.scratch[:0],
		counted: x.counted,
		usage:   x.usage[:0],
		id:      x.id[:0],
		created: x.created[:0],
		model:   x.model[:0],
		resume:  x.resume[:0],
		tail:    x.tail[:0],
	}
	exchanges.Put(x)
}

// output counts a JSON string's text as delivered.
func (x *exchange) output(raw []byte, escaped bool) { x.counted.AddJSON(raw, escaped) }
