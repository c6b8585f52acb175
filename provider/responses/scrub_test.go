package responses

import (
	"encoding/json"
	"testing"

	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// A key the provider echoes, even \u-escaped inside a JSON string, never
// reaches the client: not in a stream's error event, a failed response, nor
// an error answer.

func TestEscapedKeyInStreamErrorsIsScrubbed(t *testing.T) {
	esc := providertest.EscapedKey(testKey)
	for name, ev := range map[string]string{
		"error message":    `{"type":"error","code":"invalid_api_key","message":"Incorrect API key provided: ` + esc + `"}`,
		"error object":     `{"type":"error","error":{"type":"invalid_request_error","message":"bad key ` + esc + `"}}`,
		"error code":       `{"type":"error","code":"` + esc + `","message":"bad key"}`,
		"no message":       `{"type":"error","detail_text":"bad key ` + esc + `"}`,
		"failed response":  `{"type":"response.failed","response":{"id":"resp_1","status":"failed","error":{"code":"` + esc + `","message":"bad key ` + esc + `"}}}`,
		"failed, no error": `{"type":"response.failed","response":{"id":"resp_1","status":"failed","error":null,"instructions":"` + esc + `"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			up := providertest.NewUpstream(t, sseReply(events(created, ev)))
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
		"message":        `{"error":{"message":"Incorrect API key provided: ` + esc + `","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
		"no message":     `{"error":{"type":"invalid_request_error","detail_text":"bad key ` + esc + `"}}`,
		"type":           `{"error":{"type":"` + esc + `","message":"bad key"}}`,
		"code and param": `{"error":{"code":"` + esc + `","param":"` + esc + `","message":"bad key"}}`,
		"not JSON":       `Incorrect API key provided: ` + esc,
		"truncated JSON": `{"error":{"message":"Incorrect API key provided: ` + esc,
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

// A failed response answering a non-streaming request: its message and
// code are scrubbed too.
func TestEscapedKeyInFailedResponseIsScrubbed(t *testing.T) {
	esc := providertest.EscapedKey(testKey)
	body := `{"id":"resp_1","object":"response","status":"failed","error":{"code":"` + esc + `","message":"bad key ` + esc + `"},"output":[]}`
	up := providertest.NewUpstream(t, providertest.JSONReply(200, body))
	_, rec, err := run(t, chatRequest(t, up.URL, nonStream))
	if providertest.ErrorLeaks(t, err, rec.Body.String(), testKey) {
		t.Fatalf("the key reached the client: %+v", err)
	}
}
