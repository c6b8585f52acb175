// Package sse reads and writes Server-Sent Events
// (https://html.spec.whatwg.org/multipage/server-sent-events.html), the
// framing of every streaming LLM API. provider.Core reads every SSE upstream
// with Reader, and the client dialect writers frame their streams with
// AppendData (through Relay), so the framing rules live in one place and
// each adapter deals only in payloads.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// DefaultMaxEvent is a limit for NewReader that no real chat chunk comes near
// (a base64 image in a delta is a few MiB) while still bounding memory.
const DefaultMaxEvent = 16 << 20

// ErrEventTooLarge is what Next returns, from then on, once an event (or a
// single line) exceeds the reader's limit.
var ErrEventTooLarge = errors.New("sse: event larger than the limit")

// bufSize is the read buffer: large enough that a typical chat chunk (200 B to
// 2 KiB) is seen whole, so its line is used in place rather than copied.
const bufSize = 32 << 10

// keepCap is the largest scratch buffer Reset keeps, so that one huge event
// does not pin its memory in a pooled Reader.
const keepCap = 64 << 10

// lineSlack is what a line may hold beyond the event limit: its field name,
// colon and space.
const lineSlack = 64

var bom = []byte("\xEF\xBB\xBF")

// Event is one dispatched event. Type is what the last `event:` line set
// (empty when there was none; the spec's default "message" is left to the
// caller). Data is the `data:` lines joined by "\n". Both point into the
// Reader's buffers, its read buffer included: they are read-only, and valid
// only until the next call to Next or Reset.
type Event struct {
	Type []byte
	Data []byte
}

// Reader splits a byte stream into events. It is not safe for concurrent use.
type Reader struct {
	br  *bufio.Reader
	max int
	// line holds a line only when it spans buffer refills; otherwise lines
	// are used where bufio holds them.
	line []byte
	data []byte
	typ  []byte
	// hasData: at least one data field was seen, so even an empty Data is
	// dispatched (the spec's "data buffer is not empty").
	hasData bool
	// skipLF: the last line ended in a CR at the end of the buffer; a LF
	// arriving next is the second half of that CRLF, not an empty line.
	skipLF  bool
	started bool  // past the optional byte order mark
	err     error // sticky: once the stream failed or ended, it stays so
}

// NewReader reads events from src. An event whose data exceeds maxEvent bytes
// makes Next fail with ErrEventTooLarge; maxEvent <= 0 means
// DefaultMaxEvent.
func NewReader(src io.Reader, maxEvent int) *Reader {
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEvent
	}
	return &Reader{br: bufio.NewReaderSize(src, bufSize), max: maxEvent}
}

// Reset makes r read a new stream from src, keeping its buffers (unless an
// event made them large) so that pooled Readers do not allocate.
func (r *Reader) Reset(src io.Reader) {
	r.br.Reset(src)
	r.line = shrink(r.line)
	r.data = shrink(r.data)
	r.typ = shrink(r.typ)
	r.hasData, r.skipLF, r.started, r.err = false, false, false, nil
}

func shrink(b []byte) []byte {
	if cap(b) > keepCap {
		return nil
	}
	return b[:0]
}

// Next returns the next event. At the end of the stream a pending event (one
// not followed by a blank line) is dispatched first, then Next returns
// io.EOF. A read error other than EOF is returned as is, and the incomplete
// event is dropped: the stream broke and its tail cannot be trusted.
func (r *Reader) Next() (Event, error) {
	if r.err != nil {
		return Event{}, r.err
	}
	r.data, r.typ, r.hasData = r.data[:0], r.typ[:0], false
	if ev, ok := r.whole(); ok {
		return ev, nil
	}
	for {
		line, err := r.readLine()
		if err != nil {
			r.err = err
			if err == io.EOF && r.hasData {
				return Event{Type: r.typ, Data: r.data}, nil
			}
			return Event{}, err
		}
		if !r.started {
			r.started = true
			line = bytes.TrimPrefix(line, bom)
		}
		if len(line) == 0 {
			if r.hasData {
				return Event{Type: r.typ, Data: r.data}, nil
			}
			// A blank line without data dispatches nothing but still ends
			// the event, so its type does not leak into the next one.
			r.typ = r.typ[:0]
			continue
		}
		if line[0] == ':' {
			continue // comment, e.g. OpenRouter's ": OPENROUTER PROCESSING"
		}
		name, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			name, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(name) {
		case "data":
			size := len(r.data) + len(value)
			if r.hasData {
				size++
			}
			if size > r.max {
				r.err = ErrEventTooLarge
				return Event{}, r.err
			}
			if !r.hasData && r.blankLineBuffered() {
				// The usual event, one data line and the blank line
				// already read: its data is used where it lies, as
				// nothing is read before the next call.
				return Event{Type: r.typ, Data: value}, nil
			}
			if r.hasData {
				r.data = append(r.data, '\n')
			}
			r.data = append(r.data, value...)
			r.hasData = true
		case "event":
			r.typ = append(r.typ[:0], value...)
		}
		// id, retry and unknown fields carry nothing an adapter uses.
	}
}

// whole is Next's shortcut for the event nearly every stream is made of: a
// single "data:" line ended by "\n\n", already buffered whole. It is
// returned where it lies, with four calls instead of a dozen.
func (r *Reader) whole() (Event, bool) {
	if r.skipLF || !r.started {
		return Event{}, false
	}
	buf, _ := r.br.Peek(r.br.Buffered())
	if len(buf) < 7 || string(buf[:5]) != "data:" {
		return Event{}, false
	}
	nl := bytes.IndexByte(buf, '\n')
	if nl < 0 || nl+1 >= len(buf) || buf[nl+1] != '\n' || bytes.IndexByte(buf[:nl], '\r') >= 0 {
		return Event{}, false
	}
	value := buf[5:nl]
	if len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	if len(value) > r.max {
		return Event{}, false
	}
	_, _ = r.br.Discard(nl + 2)
	return Event{Data: value}, true
}

// blankLineBuffered consumes the empty line that ends an event if it is
// already buffered. A CR that is the last byte buffered is left to readLine,
// which knows how to wait for a possible LF.
func (r *Reader) blankLineBuffered() bool {
	if r.skipLF || r.br.Buffered() < 2 {
		return false
	}
	b, _ := r.br.Peek(2)
	switch {
	case b[0] == '\n':
		_, _ = r.br.Discard(1)
	case b[0] == '\r' && b[1] == '\n':
		_, _ = r.br.Discard(2)
	case b[0] == '\r':
		_, _ = r.br.Discard(1)
	default:
		return false
	}
	return true
}

// readLine returns the next line without its terminator ("\n", "\r\n" or a
// lone "\r"). The result points into bufio's buffer or r.line and is valid
// until the next read. At EOF an unterminated last line is returned as a
// line; the call after it returns io.EOF.
func (r *Reader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	for {
		// Peek(1) returns as soon as anything is buffered, so a line is
		// handed over as soon as its terminator arrives.
		if _, err := r.br.Peek(1); err != nil {
			if err == io.EOF && len(r.line) > 0 {
				r.skipLF = false
				return r.line, nil
			}
			return nil, err
		}
		buf, _ := r.br.Peek(r.br.Buffered())
		if r.skipLF {
			r.skipLF = false
			if buf[0] == '\n' {
				_, _ = r.br.Discard(1)
				continue
			}
		}
		end := bytes.IndexByte(buf, '\n')
		head := buf
		if end >= 0 {
			head = buf[:end]
		}
		consumed := end + 1
		if cr := bytes.IndexByte(head, '\r'); cr >= 0 {
			end, consumed = cr, cr+1
			switch {
			case cr+1 == len(buf):
				// The LF of a CRLF may be in the next read; deciding now
				// would mean blocking for it.
				r.skipLF = true
			case buf[cr+1] == '\n':
				consumed++
			}
		}
		if end < 0 {
			if len(r.line)+len(buf) > r.max+lineSlack {
				return nil, ErrEventTooLarge
			}
			r.line = append(r.line, buf...)
			_, _ = r.br.Discard(len(buf))
			continue
		}
		// Discard only moves bufio's read index: buf stays intact until the
		// next Peek.
		// The limit applies to every line, however it was buffered, so
		// that what fails does not depend on how the input was split.
		if len(r.line)+end > r.max+lineSlack {
			return nil, ErrEventTooLarge
		}
		_, _ = r.br.Discard(consumed)
		if len(r.line) == 0 {
			return buf[:end], nil
		}
		r.line = append(r.line, buf[:end]...)
		return r.line, nil
	}
}
