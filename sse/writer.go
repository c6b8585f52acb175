package sse

import (
	"bytes"
	"net/http"
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
