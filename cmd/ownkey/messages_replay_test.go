package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/internal/fixtures"
	"github.com/ownkey/ownkey/provider/providertest"
)

// TestMessagesReplayCassettes replays anthropic-sdk-go's recordings of
// Anthropic itself (../shared/fixtures/anthropic-sdk-go) through the
// pass-through: the recorded request, sent to ownkey's /v1/messages,
// reaches the fake Anthropic byte for byte, and the client receives the
// recorded response byte for byte (a stream's events, Anthropic's padding
// inside the JSON and its pings included). The Go SDK then reads the same
// bytes into the message the recording holds, and the usage recorded is
// the recording's.
func TestMessagesReplayCassettes(t *testing.T) {
	for _, c := range fixtures.Cassettes(t) {
		t.Run(c.Name, func(t *testing.T) {
			var replies []func(http.ResponseWriter, *http.Request)
			for _, it := range c.Interactions {
				if strings.HasPrefix(it.Response, "event:") {
					replies = append(replies, providertest.SSEReply(it.Response, "Content-Type", "text/event-stream; charset=utf-8"))
				} else {
					replies = append(replies, providertest.JSONReply(200, it.Response))
				}
			}
			claude := providertest.NewUpstream(t, replies...)
			g, id, key := messagesGateway(t, claude, nil)
			for i, it := range c.Interactions {
				req, err := http.NewRequest("POST", g.srv.URL+"/v1/messages", strings.NewReader(it.Request))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("X-Api-Key", key)
				req.Header.Set("Anthropic-Version", "2023-06-01")
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != 200 || string(got) != it.Response {
					t.Fatalf("interaction %d: %d, the client got\n%q\nthe recording holds\n%q", i, resp.StatusCode, got, it.Response)
				}
				if sent := claude.Requests()[i].Body; string(sent) != it.Request {
					t.Fatalf("interaction %d: Anthropic got\n%s\nthe recording's client sent\n%s", i, sent, it.Request)
				}
				// What the SDK makes of those bytes is the recording's
				// message.
				var msg anthropic.Message
				if gjson.GetBytes(got, "type").Str == "message" {
					if err := msg.UnmarshalJSON(got); err != nil {
						t.Fatal(err)
					}
				} else {
					for _, data := range fixtures.SSEData(string(got)) {
						var ev anthropic.MessageStreamEventUnion
						if err := ev.UnmarshalJSON([]byte(data)); err != nil {
							t.Fatal(err)
						}
						if ev.Type != "ping" {
							if err := msg.Accumulate(ev); err != nil {
								t.Fatal(err)
							}
						}
					}
				}
				if msg.StopReason == "" || len(msg.Content) == 0 || msg.Usage.OutputTokens == 0 {
					t.Fatalf("interaction %d: the SDK read %s", i, msg.RawJSON())
				}
			}
			recs := g.usageRecords(t, id, len(c.Interactions))
			for i, rec := range recs {
				// Newest first.
				it := c.Interactions[len(c.Interactions)-1-i]
				in, out := recordedUsage(t, it.Response)
				if rec.Provider != "anthropic" || rec.Usage.Source != ownkey.UsageFromProvider || rec.Usage.PromptTokens != in || rec.Usage.CompletionTokens != out {
					t.Fatalf("usage record %+v; the recording says %d in, %d out", rec, in, out)
				}
			}
		})
	}
}

// recordedUsage is the prompt (input, cache reads and writes) and output
// tokens of a recorded response: a message's usage, or a stream's last
// counts.
func recordedUsage(t *testing.T, response string) (in, out int64) {
	t.Helper()
	read := func(u gjson.Result) {
		if !u.Exists() {
			return
		}
		for _, k := range []string{"input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"} {
			if v := u.Get(k); v.Exists() {
				if k == "input_tokens" {
					in = 0
				}
				in += v.Int()
			}
		}
		if v := u.Get("output_tokens"); v.Exists() {
			out = v.Int()
		}
	}
	if !strings.HasPrefix(response, "event:") {
		read(gjson.Get(response, "usage"))
		return in, out
	}
	for _, data := range fixtures.SSEData(response) {
		ev := gjson.Parse(data)
		switch ev.Get("type").Str {
		case "message_start":
			read(ev.Get("message.usage"))
		case "message_delta":
			read(ev.Get("usage"))
		}
	}
	if in == 0 || out == 0 {
		t.Fatalf("no usage in the recording:\n%s", bytes.TrimSpace([]byte(response)))
	}
	return in, out
}
