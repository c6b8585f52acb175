package anthropic

import (
	"encoding/json"
	"testing"

	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// Issue 8 finding 11: a key echoed \u-escaped inside a JSON string is the
// key all the same; the scrubber must match decoded text.

func TestEscapedKeyInMidStreamErrorIsScrubbed(t *testing.T) {
	esc := providertest.EscapedKey(testKey)
	for name, ev := range map[string]string{
		"message":    `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key ` + esc + `"}}`,
		"no message": `{"type":"error","error":{"type":"authentication_error","detail_text":"invalid x-api-key ` + esc + `"}}`,
		"type":       `{"type":"error","error":{"type":"` + esc + `","message":"bad key"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			up := providertest.NewUpstream(t, sseReply(events(msgStart, ev)))
			res, rec, err := run(t, chatRequest(t, up.URL))
			if err != nil {
				t.Fatal(err)
			}
			got := rec.Body.String()
			if providertest.Leaks(got, testKey) {
				t.Fatalf("the key reached the client:\n%s", got)
			}
			payloads := providertest.Payloads(got)
			last := payloads[len(payloads)-1]
			if !json.Valid([]byte(last)) || res.ErrorCode != provider.CodeStreamError {
				t.Fatalf("last event %s, result %+v", last, res)
			}
		})
	}
}

func TestEscapedKeyInErrorBodyIsScrubbed(t *testing.T) {
	esc := providertest.EscapedKey(testKey)
	for name, body := range map[string]string{
		"message":        `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key ` + esc + `"}}`,
		"no message":     `{"type":"error","error":{"type":"authentication_error","detail_text":"invalid x-api-key ` + esc + `"}}`,
		"type":           `{"type":"error","error":{"type":"` + esc + `","message":"bad key"}}`,
		"not JSON":       `invalid x-api-key ` + esc,
		"truncated JSON": `{"type":"error","error":{"message":"invalid x-api-key ` + esc,
	} {
		for _, stream := range []bool{true, false} {
			t.Run(name+map[bool]string{true: "/stream", false: "/non-stream"}[stream], func(t *testing.T) {
				up := providertest.NewUpstream(t, providertest.JSONReply(401, body))
				req := chatRequest(t, up.URL)
				req.Stream = stream
				_, rec, err := run(t, req)
				if providertest.ErrorLeaks(t, err, rec.Body.String(), testKey) {
					t.Fatalf("the key reached the client: %+v", err)
				}
			})
		}
	}
}
