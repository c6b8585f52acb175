package sse

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// Done is the event that ends an OpenAI Chat Completions stream.
var Done = []byte("data: [DONE]\n\n")

// Headers sets the response headers of an event stream: its content type,
// no caching, and no buffering by nginx-style proxies in front of ownkey
// (which would otherwise hold the stream back).
func Headers(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
}

// AppendData appends data framed as one event: "data: <data>\n\n". A data
// holding line breaks is split over several data lines, as the spec
// requires, so that the client's reader rebuilds exactly data.
func AppendData(dst, data []byte) []byte {
	for {
		dst = append(dst, "data: "...)
		i := lineBreak(data)
		if i < 0 {
			dst = append(dst, data...)
			return append(dst, '\n', '\n')
		}
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
}

// AppendEvent is AppendData preceded by an `event: typ` line. typ is a
// constant of the adapter's protocol and must not contain a line break.
func AppendEvent(dst []byte, typ string, data []byte) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, typ...)
	dst = append(dst, '\n')
	return AppendData(dst, data)
}

func lineBreak(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	head := b
	if i >= 0 {
		head = b[:i]
	}
	if j := bytes.IndexByte(head, '\r'); j >= 0 {
		return j
	}
	return i
}

// writeBufs recycles the buffers events are framed in. http.ResponseWriter
// copies what it is given, so a buffer is free again as soon as Write
// returns.
var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// WriteData writes data as one event (see AppendData) in a single Write, so
// that an event is never split over two flushes.
func WriteData(w io.Writer, data []byte) error {
	bp := writeBufs.Get().(*[]byte)
	*bp = AppendData((*bp)[:0], data)
	return writeAndRecycle(w, bp)
}

// WriteEvent writes an event with a type (see AppendEvent) in a single Write.
func WriteEvent(w io.Writer, typ string, data []byte) error {
	bp := writeBufs.Get().(*[]byte)
	*bp = AppendEvent((*bp)[:0], typ, data)
	return writeAndRecycle(w, bp)
}

func writeAndRecycle(w io.Writer, bp *[]byte) error {
	_, err := w.Write(*bp)
	if cap(*bp) <= keepCap {
		writeBufs.Put(bp)
	}
	return err
}

// Flush sends what was written to w on to the client now. It goes through
// wrappers that expose the original writer with Unwrap (as middleware
// should). The error is a failed write to the client (it went away), or
// http.ErrNotSupported when no writer in the chain can flush, in which case
// the data still goes out, only later.
func Flush(w http.ResponseWriter) error {
	return http.NewResponseController(w).Flush()
}
