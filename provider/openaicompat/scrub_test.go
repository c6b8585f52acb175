package openaicompat

import (
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// Issue 8 finding 11: a key echoed \u-escaped inside a JSON string is the
// key all the same; the scrubber must match decoded text.

func TestEscapedKeyInMidStreamErrorIsScrubbed(t *testing.T) {
	esc := providertest.EscapedKey(testKey)
	errChunk := `{"id":"gen-1","object":"chat.completion.chunk","created":1,"model":"m","error":{"code":401,"message":"Incorrect API key provided: ` + esc + `"},"choices":[]}`
	up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(oaHello, errChunk, done)))
	res, rec, err := run(t, chatRequest(t, base(up)))
	if err != nil {
		t.Fatal(err)
	}
	got := rec.Body.String()
	if providertest.Leaks(got, testKey) {
		t.Fatalf("the key reached the client:\n%s", got)
	}
	want := strings.Replace(errChunk, esc, ownkey.Redacted, 1)
	if got != providertest.Frames(oaHello, want) {
		t.Fatalf("client got:\n%s\nwant the error event with the key redacted:\n%s", got, want)
	}
	if res.ErrorCode != provider.CodeStreamError {
		t.Fatalf("result = %+v", res)
	}
}

func TestEscapedKeyInErrorBodyIsScrubbed(t *testing.T) {
	esc := providertest.EscapedKey(testKey)
	for name, body := range map[string]string{
		"message":         `{"error":{"message":"Incorrect API key provided: ` + esc + `","type":"invalid_request_error"}}`,
		"no message":      `{"error":{"detail_text":"Incorrect API key provided: ` + esc + `"}}`,
		"type and code":   `{"error":{"message":"bad key","type":"` + esc + `","code":"` + esc + `"}}`,
		"not JSON":        `Incorrect API key provided: ` + esc,
		"truncated JSON":  `{"error":{"message":"Incorrect API key provided: ` + esc,
		"status 200 body": `{"error":{"detail_text":"` + esc + `"}}`,
	} {
		for _, stream := range []bool{true, false} {
			t.Run(name+map[bool]string{true: "/stream", false: "/non-stream"}[stream], func(t *testing.T) {
				status := 401
				if name == "status 200 body" {
					status = 200
				}
				up := providertest.NewUpstream(t, providertest.JSONReply(status, body))
				req := chatRequest(t, base(up))
				req.Stream = stream
				_, rec, err := run(t, req)
				if providertest.ErrorLeaks(t, err, rec.Body.String(), testKey) {
					t.Fatalf("the key reached the client: %+v", err)
				}
			})
		}
	}
}

// Chunks the adapter cannot read are relayed, but never with the key in them.
func TestKeyInUnreadableChunkIsScrubbed(t *testing.T) {
	for name, chunk := range map[string]string{
		"not an object": `Incorrect API key provided: ` + testKey,
		"broken JSON":   `{"error":{"message":"Incorrect API key provided: ` + providertest.EscapedKey(testKey),
	} {
		t.Run(name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.SSEReply(providertest.Frames(oaHello, chunk, done)))
			_, rec, err := run(t, chatRequest(t, base(up)))
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.Body.String(); providertest.Leaks(got, testKey) || !strings.Contains(got, ownkey.Redacted) {
				t.Fatalf("client got (the key must be redacted, the chunk relayed):\n%s", got)
			}
		})
	}
}
