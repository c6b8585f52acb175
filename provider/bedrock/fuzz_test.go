package bedrock

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// FuzzEventStream: whatever bytes come, the event-stream source ends with
// io.EOF (only at a message boundary), a cut (io.ErrUnexpectedEOF), an
// event over the bound or a malformed message, never a panic; every event
// it gives came from a message of at least 16 bytes, and each is what
// the eventstream encoder would have made of it.
func FuzzEventStream(f *testing.F) {
	f.Add(providertest.BedrockFrame("messageStart", `{"role":"assistant"}`))
	f.Add([]byte(join(frames(msgStart(), textDelta(0, "Hel\"lo"), blockStop(0), msgStop("end_turn"), metadata(`{"inputTokens":1}`))...)))
	f.Add(providertest.BedrockException("throttlingException", `{"message":"slow down"}`))
	f.Add(providertest.BedrockError("InternalFailure", "boom"))
	f.Add(flip(providertest.BedrockFrame("messageStart", `{}`), 20))
	f.Add(prelude(0xffffffff, 0))
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		src := newFrameSource()
		src.reset(bytes.NewReader(raw))
		n := 0
		for {
			ev, err := src.Next()
			if err != nil {
				var m *provider.MalformedEventError
				if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, provider.ErrEventTooLarge) && !errors.As(err, &m) {
					t.Fatalf("unexpected error %v", err)
				}
				if again, err2 := src.Next(); again.Type != nil || again.Data != nil || err2 != err {
					t.Fatalf("after %v: %q %q, %v", err, again.Type, again.Data, err2)
				}
				return
			}
			n++
			if n*minFrame > len(raw) || len(ev.Data) > maxFrame {
				t.Fatalf("%d events from %d bytes, the last of %d bytes", n, len(raw), len(ev.Data))
			}
			var re []byte
			switch src.kind {
			case kindEvent:
				re = providertest.BedrockFrame(string(ev.Type), string(ev.Data))
			case kindException:
				re = providertest.BedrockException(string(ev.Type), string(ev.Data))
			}
			// The event's type and payload came from a message that
			// verified: re-encoded, they decode to themselves.
			if re != nil {
				s := newFrameSource()
				s.reset(bytes.NewReader(re))
				back, err := s.Next()
				if err != nil || !bytes.Equal(back.Type, ev.Type) || !bytes.Equal(back.Data, ev.Data) {
					t.Fatalf("re-encoded %q %q came back as %q %q (%v)", ev.Type, ev.Data, back.Type, back.Data, err)
				}
			}
		}
	})
}

// script turns lines "type<TAB>payload" into event-stream messages (an
// exception when the type starts with '!', an error message with '?'),
// with valid checksums, so that the fuzzer reaches the translation.
func script(s []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(s, []byte("\n")) {
		typ, payload, _ := bytes.Cut(line, []byte("\t"))
		switch {
		case bytes.HasPrefix(typ, []byte("!")):
			out = append(out, providertest.BedrockException(string(typ[1:]), string(payload))...)
		case bytes.HasPrefix(typ, []byte("?")):
			out = append(out, providertest.BedrockError(string(typ[1:]), string(payload))...)
		default:
			out = append(out, providertest.BedrockFrame(string(typ), string(payload))...)
		}
	}
	return out
}

func scriptOf(events ...[2]string) []byte {
	var lines []string
	for _, e := range events {
		lines = append(lines, e[0]+"\t"+e[1])
	}
	return []byte(strings.Join(lines, "\n"))
}

// runStream translates a ConverseStream body in process and returns what
// the client got.
func runStream(t testing.TB, raw []byte, includeUsage, jsonMode bool) (*ownkey.ChatResult, string) {
	req := chatRequest(t, "http://unused", func(r *ownkey.ChatRequest) { r.IncludeUsage = includeUsage })
	res, got, err := providertest.Translate(t, req, providertest.BedrockEventStream, raw, responder(&translation{jsonMode: jsonMode}))
	if err != nil {
		t.Fatalf("respond: %v", err)
	}
	return res, got
}

// FuzzStreamTranslation: whatever ConverseStream sends (messages of any
// type and payload, one of them possibly corrupted), the client gets a
// well-formed OpenAI stream: every event a JSON object (or [DONE], only
// last), ending in [DONE] or an error event, and never the credential.
func FuzzStreamTranslation(f *testing.F) {
	secret := awsJSON["secretAccessKey"]
	f.Add(scriptOf(msgStart(), textDelta(0, "Hel"), textDelta(0, "lo"), blockStop(0), msgStop("end_turn"), metadata(`{"inputTokens":1,"outputTokens":2}`)), uint16(0), true, false)
	f.Add(scriptOf(toolStart(0, "t1", "f"), toolDelta(0, `{"a":`), toolDelta(0, `1}`), blockStop(0), metadata(`{"inputTokens":1}`), msgStop("tool_use")), uint16(0), false, false)
	f.Add(scriptOf(msgStart(), reasoningDelta(0, "x"), signatureDelta(0), textDelta(1, "y"), msgStop("max_tokens")), uint16(0), true, false)
	f.Add(scriptOf(toolStart(0, "t1", "json"), toolDelta(0, `{}`), blockStop(0), msgStop("tool_use"), metadata(`{}`)), uint16(0), true, true)
	f.Add([]byte("messageStart\t{}\n!throttlingException\t{\"message\":\""+secret+"\"}"), uint16(0), false, false)
	f.Add([]byte("messageStart\t{}\n?InternalFailure\t"+providertest.EscapedKey(secret)), uint16(0), false, false)
	f.Add(scriptOf(msgStart(), textDelta(0, "Hel")), uint16(60), true, false)
	f.Add([]byte("contentBlockDelta\t"+strings.Repeat("[", 300)), uint16(0), false, false)
	f.Fuzz(func(t *testing.T, s []byte, corruptAt uint16, includeUsage, jsonMode bool) {
		raw := script(s)
		if int(corruptAt) > 0 && int(corruptAt) < len(raw) {
			raw[corruptAt] ^= 0x5a
		}
		res, got := runStream(t, raw, includeUsage, jsonMode)
		providertest.CheckStream(t, res, got, secret, awsJSON["sessionToken"])
	})
}

// FuzzComplete: whatever a Converse answer holds, the client gets a
// chat.completion that is valid JSON, or an error with nothing written;
// never the credential.
func FuzzComplete(f *testing.F) {
	secret := awsJSON["secretAccessKey"]
	for _, s := range []string{
		`{"output":{"message":{"role":"assistant","content":[{"text":"Hi"}]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":2}}`,
		`{"output":{"message":{"content":[{"reasoningContent":{"reasoningText":{"text":"r"}}},{"toolUse":{"toolUseId":"t","name":"f","input":{"a":[1]}}}]}},"stopReason":"tool_use"}`,
		`{"output":{"message":{"content":[{"toolUse":{"toolUseId":"t","name":"json","input":null}}]}},"usage":{"cacheReadInputTokens":-5}}`,
		`{"message":"` + secret + `","__type":"ThrottlingException"}`,
		`{"output":{"message":{"content":[{"text":1}]}}}`, `[]`, `{"output":{"message":{"content":[[[[[[[]]]]]]]}}}`,
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, jsonMode bool) {
		req := chatRequest(t, "http://unused", nonStream)
		res, written, err := providertest.Translate(t, req, "application/json", body, responder(&translation{jsonMode: jsonMode}))
		if err != nil {
			if written != "" || res.Started || providertest.ErrorLeaks(t, err, written, secret) {
				t.Fatalf("err %v with %q written", err, written)
			}
			return
		}
		var c struct {
			Object  string            `json:"object"`
			Choices []json.RawMessage `json:"choices"`
		}
		if json.Unmarshal([]byte(written), &c) != nil || c.Object != "chat.completion" || len(c.Choices) != 1 || providertest.Leaks(written, secret) {
			t.Fatalf("client got %s", written)
		}
	})
}

// FuzzTranslateRequest: any client body is either refused with an
// EINVALID naming a field, or becomes a Converse request that is valid JSON
// with at least one message, whose tool blocks come with a toolConfig.
func FuzzTranslateRequest(f *testing.F) {
	for _, s := range []string{
		helloBody,
		`{"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}],"max_tokens":10,"temperature":0.5,"stop":["x"]}`,
		`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":[1,{\"b\":null}]}"}}]},{"role":"tool","tool_call_id":"c1","content":"r"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"none"}`,
		`{"messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object"}}},"top_k":3}`,
		`{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"high","max_completion_tokens":5000}`,
		`{"messages":[],"n":2}`, `[]`, `{"messages":[{"role":"user","content":[[[[[[]]]]]]}]}`,
	} {
		f.Add([]byte(s), testModel)
	}
	f.Add([]byte(`{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"low"}`), "amazon.nova-2-lite-v1:0")
	f.Fuzz(func(t *testing.T, body []byte, model string) {
		tr, err := translateRequest(&ownkey.ChatRequest{Model: model, Body: body}, DefaultMaxTokens)
		if err != nil {
			if ownkey.ErrorCode(err) != ownkey.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		var out struct {
			Messages []struct {
				Role    string            `json:"role"`
				Content []json.RawMessage `json:"content"`
			} `json:"messages"`
			ToolConfig *struct {
				Tools []json.RawMessage `json:"tools"`
			} `json:"toolConfig"`
		}
		if err := json.Unmarshal(tr.body, &out); err != nil || len(out.Messages) == 0 {
			t.Fatalf("translated body %s (%v)", tr.body, err)
		}
		for i, m := range out.Messages {
			if len(m.Content) == 0 || i > 0 && m.Role == out.Messages[i-1].Role {
				t.Fatalf("turn %d empty or not alternating: %s", i, tr.body)
			}
			for _, b := range m.Content {
				if (bytes.HasPrefix(b, []byte(`{"toolUse"`)) || bytes.HasPrefix(b, []byte(`{"toolResult"`))) && (out.ToolConfig == nil || len(out.ToolConfig.Tools) == 0) {
					t.Fatalf("tool blocks without a toolConfig: %s", tr.body)
				}
				if string(b) == `{}` || string(b) == `{"text":""}` {
					t.Fatalf("an empty block: %s", tr.body)
				}
			}
		}
	})
}
