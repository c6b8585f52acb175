package bedrock

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream/eventstreamapi"

	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/sse"
)

// The AWS event-stream framing (application/vnd.amazon.eventstream), in
// which ConverseStream answers: each message is a 12-byte prelude (total
// length, headers length, both big-endian uint32, and the prelude's CRC32),
// the headers, the payload, and the CRC32 of all that precedes it.
const (
	preludeLen = 12
	// minFrame is a message with no headers and no payload.
	minFrame = preludeLen + 4
	// maxFrame bounds a message, headers and payload, as sse bounds an
	// event: far above any real chunk, and a bound on what a hostile
	// endpoint can make ownkey hold. The decoder itself has none (its
	// payload is as long as the prelude says).
	maxFrame = sse.DefaultMaxEvent
	// readBuf is the frame reader's buffer: many small messages at once.
	readBuf = 16 << 10
)

// The kinds of message (:message-type).
const (
	kindEvent     = iota // an event of the stream: :event-type
	kindException        // a modeled exception: :exception-type, JSON payload
	kindError            // an unmodeled error: :error-code, :error-message
)

// frameSource is the provider.EventSource of a ConverseStream answer: it
// reads one event-stream message at a time and decodes it with
// aws-sdk-go-v2's eventstream.Decoder, which checks both CRCs. A message
// that fails the checks ends the stream with a provider.MalformedEventError
// (never relayed as if it were text); a body that ends inside a message
// is io.ErrUnexpectedEOF (the stream broke off); io.EOF only between
// messages.
//
// Each event is the :event-type (or the exception's, or the error's code)
// and the payload, the event's JSON; kind and errMessage say what the
// message was. All are valid until the next call.
type frameSource struct {
	br    *bufio.Reader
	frame []byte // the current message, whole
	rd    bytes.Reader
	dec   *eventstream.Decoder
	// payload is the decoder's buffer (it reuses it), typ the event type.
	payload, typ []byte
	kind         int
	errMessage   string
	err          error // sticky
}

func newFrameSource() *frameSource {
	return &frameSource{br: bufio.NewReaderSize(nil, readBuf), dec: eventstream.NewDecoder()}
}

// reset makes s read r, keeping its buffers unless a large message made
// them large.
func (s *frameSource) reset(r io.Reader) {
	s.br.Reset(r)
	if cap(s.frame) > keepCap {
		s.frame = nil
	}
	if cap(s.payload) > keepCap {
		s.payload = nil
	}
	s.rd.Reset(nil)
	s.kind, s.errMessage, s.err = kindEvent, "", nil
}

func malformed(reason string) error { return &provider.MalformedEventError{Reason: reason} }

func (s *frameSource) Next() (provider.Event, error) {
	if s.err != nil {
		return provider.Event{}, s.err
	}
	ev, err := s.next()
	if err != nil {
		s.err = err
	}
	return ev, err
}

func (s *frameSource) next() (provider.Event, error) {
	prelude, err := s.br.Peek(preludeLen)
	switch {
	case err == io.EOF && len(prelude) == 0:
		return provider.Event{}, io.EOF
	case err == io.EOF:
		return provider.Event{}, io.ErrUnexpectedEOF
	case err != nil:
		return provider.Event{}, err
	}
	// The lengths are trusted only once the prelude's own checksum holds:
	// a flipped bit in a length is a corrupt message, not a huge one.
	if crc32.ChecksumIEEE(prelude[:8]) != binary.BigEndian.Uint32(prelude[8:12]) {
		return provider.Event{}, malformed("prelude checksum mismatch")
	}
	total, headers := binary.BigEndian.Uint32(prelude[0:4]), binary.BigEndian.Uint32(prelude[4:8])
	if total < minFrame || headers > total-minFrame {
		return provider.Event{}, malformed("message lengths out of range")
	}
	if total > maxFrame {
		return provider.Event{}, provider.ErrEventTooLarge
	}
	if cap(s.frame) < int(total) {
		s.frame = make([]byte, total)
	}
	s.frame = s.frame[:total]
	if _, err := io.ReadFull(s.br, s.frame); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // Peek saw the prelude
		}
		return provider.Event{}, err
	}
	s.rd.Reset(s.frame)
	msg, err := s.dec.Decode(&s.rd, s.payload[:0])
	if err != nil {
		var sum eventstream.ChecksumError
		if errors.As(err, &sum) {
			return provider.Event{}, malformed("message checksum mismatch")
		}
		return provider.Event{}, malformed("undecodable message headers")
	}
	if cap(msg.Payload) >= cap(s.payload) {
		s.payload = msg.Payload[:0]
	}
	s.errMessage = ""
	switch header(msg.Headers, eventstreamapi.MessageTypeHeader) {
	case eventstreamapi.EventMessageType:
		s.kind = kindEvent
		s.typ = append(s.typ[:0], header(msg.Headers, eventstreamapi.EventTypeHeader)...)
	case eventstreamapi.ExceptionMessageType:
		s.kind = kindException
		s.typ = append(s.typ[:0], header(msg.Headers, eventstreamapi.ExceptionTypeHeader)...)
	case eventstreamapi.ErrorMessageType:
		s.kind = kindError
		s.typ = append(s.typ[:0], header(msg.Headers, eventstreamapi.ErrorCodeHeader)...)
		s.errMessage = header(msg.Headers, eventstreamapi.ErrorMessageHeader)
	default:
		return provider.Event{}, malformed("a message of no known :message-type")
	}
	return provider.Event{Type: s.typ, Data: msg.Payload}, nil
}

// header is the string header name of hs, "" when it is missing or not a
// string.
func header(hs eventstream.Headers, name string) string {
	if v, ok := hs.Get(name).(eventstream.StringValue); ok {
		return string(v)
	}
	return ""
}
