package bedrock

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

const eventstreamModule = "github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

// moduleTestdata is the eventstream module's own test vectors, in the
// module cache (go list finds the version go.mod requires).
func moduleTestdata(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", eventstreamModule).Output()
	dir := filepath.Join(strings.TrimSpace(string(out)), "testdata")
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Skipf("cannot locate %s in the module cache: %v", eventstreamModule, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "encoded", "negative")); err != nil {
		t.Skipf("the module ships no test vectors: %v", err)
	}
	return dir
}

// readAll reads every event of body through a frameSource.
func readAll(body []byte) (events []string, err error) {
	src := newFrameSource()
	src.reset(bytes.NewReader(body))
	for {
		ev, err := src.Next()
		if err != nil {
			return events, err
		}
		events = append(events, string(ev.Type)+" "+string(ev.Data))
	}
}

// The module's corrupted frames (a flipped length, header length, header
// byte, payload byte) are errors saying which checksum failed, as the
// module's decoded vectors say, and never an event.
func TestEventStreamNegativeVectors(t *testing.T) {
	dir := moduleTestdata(t)
	files, _ := filepath.Glob(filepath.Join(dir, "encoded", "negative", "*"))
	if len(files) < 4 {
		t.Fatalf("%d negative vectors in %s", len(files), dir)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, "decoded", "negative", name))
			if err != nil {
				t.Fatal(err)
			}
			// Alone, and after a good message.
			for before, body := range [][]byte{raw, append(providertest.BedrockFrame("messageStart", `{"role":"assistant"}`), raw...)} {
				events, err := readAll(body)
				var m *provider.MalformedEventError
				if !errors.As(err, &m) || !strings.EqualFold(m.Reason, strings.TrimSpace(string(want))) || len(events) != before {
					t.Fatalf("events %q, err %v; want %q", events, err, want)
				}
			}
		})
	}
}

// The module's good frames pass both checksums (they lack Bedrock's
// :message-type, which is the only complaint).
func TestEventStreamPositiveVectors(t *testing.T) {
	dir := moduleTestdata(t)
	files, _ := filepath.Glob(filepath.Join(dir, "encoded", "positive", "*"))
	if len(files) < 5 {
		t.Fatalf("%d positive vectors in %s", len(files), dir)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, err = readAll(raw)
		var m *provider.MalformedEventError
		if !errors.As(err, &m) || m.Reason != "a message of no known :message-type" {
			t.Fatalf("%s: err %v", filepath.Base(f), err)
		}
	}
}

// Corrupted frames of Bedrock's own kind, built without the module's
// vectors: every bit of the prelude, headers, payload and checksums
// matters, and the stream through the adapter ends in a clean error event.
func TestEventStreamCorruptFrames(t *testing.T) {
	good := providertest.BedrockFrame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"lo"},"p":"abcdef"}`)
	for i := range good {
		events, err := readAll(flip(good, i))
		// Never a cut stream or an oversized event: a flipped length
		// fails the prelude's checksum before it is believed.
		var m *provider.MalformedEventError
		if !errors.As(err, &m) {
			t.Fatalf("byte %d: events %q, err %v; want a malformed event", i, events, err)
		}
		if len(events) != 0 {
			t.Fatalf("byte %d: a corrupt frame gave events %q", i, events)
		}
	}

	// Through the adapter: the text before it, then an error event.
	lo := textDelta(0, "lo")
	up := fakeBedrock(t, providertest.BedrockStream(append(frames(msgStart(), textDelta(0, "Hel")), flip(providertest.BedrockFrame(lo[0], lo[1]), 40))...))
	res, rec, err := run(t, chatRequest(t, up.URL))
	if err != nil {
		t.Fatal(err)
	}
	providertest.CompareFrames(t, rec.Body.String(), providertest.Frames(roleChunk, delta(`{"content":"Hel"}`),
		`{"error":{"message":"AWS Bedrock sent a malformed stream event (message checksum mismatch); the stream was ended before the response was complete","type":"upstream_error","param":null,"code":"stream_error"}}`))
	if res.ErrorCode != provider.CodeStreamError {
		t.Fatalf("result %+v", res)
	}
}

// prelude builds a prelude with a valid checksum over the given lengths.
func prelude(total, headers uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, total)
	b = binary.BigEndian.AppendUint32(b, headers)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// The limits: lengths that cannot be, a message over maxFrame (refused
// from its prelude, before anything is read), a stream cut inside a
// message, the end between messages.
func TestEventStreamLimits(t *testing.T) {
	good := providertest.BedrockFrame("messageStart", `{"role":"assistant"}`)
	var m *provider.MalformedEventError
	for _, tc := range []struct {
		name  string
		body  []byte
		check func(error) bool
	}{
		{"total under the minimum", prelude(15, 0), func(err error) bool { return errors.As(err, &m) && m.Reason == "message lengths out of range" }},
		{"headers beyond the message", prelude(100, 90), func(err error) bool { return errors.As(err, &m) && m.Reason == "message lengths out of range" }},
		{"over maxFrame", prelude(maxFrame+1, 0), func(err error) bool { return errors.Is(err, provider.ErrEventTooLarge) }},
		{"cut in the prelude", good[:7], func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"cut in the payload", good[:len(good)-5], func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"whole", good, func(err error) bool { return err == io.EOF }},
		{"nothing", nil, func(err error) bool { return err == io.EOF }},
	} {
		events, err := readAll(tc.body)
		if !tc.check(err) {
			t.Errorf("%s: events %q, err %v", tc.name, events, err)
		}
	}
	// A message of exactly maxFrame bytes is read.
	big := providertest.BedrockFrame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"`+strings.Repeat("a", 100)+`"}}`)
	pad := maxFrame - len(big)
	big = providertest.BedrockFrame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"`+strings.Repeat("a", 100+pad)+`"}}`)
	if len(big) != maxFrame {
		t.Fatalf("built a frame of %d bytes", len(big))
	}
	if events, err := readAll(big); err != io.EOF || len(events) != 1 {
		t.Fatalf("a frame of maxFrame bytes: %d events, err %v", len(events), err)
	}
}

// Each message's type and payload come out as they went in, the kinds
// told apart, whatever the reads' sizes.
func TestEventStreamRoundTrip(t *testing.T) {
	body := join(providertest.BedrockFrame("messageStart", `{"role":"assistant"}`),
		providertest.BedrockException("throttlingException", `{"message":"slow down"}`),
		providertest.BedrockError("InternalFailure", "boom"),
		providertest.BedrockFrame("messageStop", ""))
	src := newFrameSource()
	src.reset(&oneReadPerFrame{frames: [][]byte{[]byte(body[:5]), []byte(body[5:30]), []byte(body[30:])}})
	want := []struct {
		kind       int
		typ, data  string
		errMessage string
	}{
		{kindEvent, "messageStart", `{"role":"assistant"}`, ""},
		{kindException, "throttlingException", `{"message":"slow down"}`, ""},
		{kindError, "InternalFailure", "", "boom"},
		{kindEvent, "messageStop", "", ""},
	}
	for i, w := range want {
		ev, err := src.Next()
		if err != nil || src.kind != w.kind || string(ev.Type) != w.typ || string(ev.Data) != w.data || src.errMessage != w.errMessage {
			t.Fatalf("message %d: %d %q %q %q, err %v", i, src.kind, ev.Type, ev.Data, src.errMessage, err)
		}
	}
	if _, err := src.Next(); err != io.EOF {
		t.Fatalf("after the last message: %v", err)
	}
	if _, err := src.Next(); err != io.EOF {
		t.Fatalf("the end is not sticky: %v", err)
	}
}
