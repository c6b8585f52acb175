package httpapi

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"slices"

	"github.com/ownkey/ownkey"
	"github.com/tidwall/gjson"
)

func TestRoutedBody(t *testing.T) {
	for _, tc := range []struct {
		name, body, model string
		forceUsage        bool
		want              string
	}{
		{"nothing to change is forwarded as is", ` {"model":"gpt-4o", "messages":[{"role":"user","content":"hi"}]} `, "gpt-4o", false,
			` {"model":"gpt-4o", "messages":[{"role":"user","content":"hi"}]} `},
		{"prefix stripped, byok first", `{"byok":{"enabled":true,"provider":"groq"}, "model":"groq/llama","messages":[1]}`, "llama", false,
			`{ "model":"llama","messages":[1]}`},
		{"byok last, usage added", "{\r\n \"model\":\"m\",\r\n \"messages\":[1],\r\n \"stream\":true,\r\n \"byok\":{\"enabled\":true}\r\n}", "m", true,
			"{\r\n \"model\":\"m\",\r\n \"messages\":[1],\r\n \"stream\":true,\"stream_options\":{\"include_usage\":true}\r\n}"},
		{"byok in the middle", `{"model":"m","byok":{"enabled":true} ,"messages":[1]}`, "m", false,
			`{"model":"m","messages":[1]}`},
		{"include_usage false becomes true", `{"model":"m","messages":[1],"stream_options":{"include_usage":false,"x":1}}`, "m", true,
			`{"model":"m","messages":[1],"stream_options":{"include_usage":true,"x":1}}`},
		{"stream_options without include_usage", `{"model":"m","messages":[1],"stream_options":{"x":1}}`, "m", true,
			`{"model":"m","messages":[1],"stream_options":{"include_usage":true,"x":1}}`},
		{"empty stream_options", `{"model":"m","messages":[1],"stream_options":{ }}`, "m", true,
			`{"model":"m","messages":[1],"stream_options":{"include_usage":true }}`},
		{"null stream_options", `{"model":"m","messages":[1],"stream_options":null}`, "m", true,
			`{"model":"m","messages":[1],"stream_options":{"include_usage":true}}`},
		{"model with characters to escape", `{"model":"together/a\"b<c","messages":[1]}`, "a\"b<c", false,
			`{"model":"a\"b\u003cc","messages":[1]}`},
		{"all three edits", `{"messages":[{"content":"byok model"}],"model":"groq/x","stream":true,"byok":{"provider":"groq"}}`, "x", true,
			`{"messages":[{"content":"byok model"}],"model":"x","stream":true,"stream_options":{"include_usage":true}}`},
		// stream_options goes last: added first, it would move the whole
		// conversation in the buffer.
		{"usage added after a long conversation", `{"model":"m","messages":[1,2,3] }`, "m", true,
			`{"model":"m","messages":[1,2,3],"stream_options":{"include_usage":true} }`},
	} {
		// Edits are made in a copy, or in place when the body's buffer
		// has room (the chat path leaves bodyHeadroom): same result.
		for _, spare := range []int{0, bodyHeadroom} {
			t.Run(fmt.Sprintf("%s/spare %d", tc.name, spare), func(t *testing.T) {
				body := append(make([]byte, 0, len(tc.body)+spare), tc.body...)
				fields, err := parseChatBody(body, 0)
				if err != nil {
					t.Fatal(err)
				}
				routed := routedBody(body, fields, tc.model, tc.forceUsage)
				if got := string(routed); got != tc.want {
					t.Fatalf("routed body\n got %s\nwant %s", got, tc.want)
				}
				if !gjson.ValidBytes(routed) {
					t.Fatalf("routed body is not valid JSON: %s", routed)
				}
				if spare > 0 && &routed[:1][0] != &body[:1][0] {
					t.Fatalf("the body was copied although its buffer had %d bytes spare", spare)
				}
			})
		}
	}
}

// The answer's limit is read for the reservation: either name, the larger
// if both (or one twice), and only a positive number.
func TestParseChatBodyMaxTokens(t *testing.T) {
	for _, tc := range []struct {
		body string
		want int64
	}{
		{`{"model":"m","messages":[1]}`, 0},
		{`{"model":"m","messages":[1],"max_tokens":64}`, 64},
		{`{"max_completion_tokens":100,"model":"m","messages":[1]}`, 100},
		{`{"model":"m","max_tokens":10,"max_completion_tokens":20,"messages":[1]}`, 20},
		{`{"model":"m","max_tokens":30,"max_tokens":20,"messages":[1]}`, 30},
		{`{"model":"m","messages":[1],"max_tokens":"64"}`, 0},
		{`{"model":"m","messages":[1],"max_tokens":0}`, 0},
		{`{"model":"m","messages":[1],"max_tokens":-5}`, 0},
		{`{"model":"m","messages":[1],"max_tokens":null}`, 0},
		{`{"model":"m","messages":[{"max_tokens":9}]}`, 0},
	} {
		fields, err := parseChatBody([]byte(tc.body), 0)
		if err != nil || fields.maxTokens != tc.want {
			t.Errorf("%s: max tokens %d, %v; want %d", tc.body, fields.maxTokens, err, tc.want)
		}
	}
}

func TestParseChatBodyRefusesDuplicateRoutingFields(t *testing.T) {
	_, err := parseChatBody([]byte(`{"model":"a","messages":[1],"model":"b"}`), 0)
	if e, ok := err.(*ownkey.Error); !ok || e.Code != ownkey.EINVALID || e.Param != "model" || e.Message != "model appears more than once in the request body" {
		t.Fatalf("err = %#v", err)
	}
	// Other members may repeat; they are not ownkey's to judge.
	if _, err := parseChatBody([]byte(`{"model":"a","x":1,"x":2}`), 0); err != nil {
		t.Fatal(err)
	}
}

// TestEditInPlaceMatchesCopy checks the in-place edit against the copying
// one on random edits: growing, shrinking and mixed, at any offsets.
func TestEditInPlaceMatchesCopy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		body := make([]byte, rng.IntN(40))
		for j := range body {
			body[j] = byte('a' + j%26)
		}
		var edits []bodyEdit
		at := 0
		for n := rng.IntN(4); n > 0 && at <= len(body); n-- {
			start := at + rng.IntN(len(body)-at+1)
			end := start + rng.IntN(len(body)-start+1)
			text := string(make([]byte, rng.IntN(8)))
			edits = append(edits, bodyEdit{start: start, end: end, text: text})
			at = end + 1
		}
		var want []byte
		at = 0
		for _, e := range edits {
			want = append(append(want, body[at:e.start]...), e.text...)
			at = e.end
		}
		want = append(want, body[at:]...)
		room := append(make([]byte, 0, len(body)+40), body...)
		if got := applyEdits(room, slices.Clone(edits)); string(got) != string(want) {
			t.Fatalf("body %q edits %+v:\nin place %q\nwant     %q", body, edits, got, want)
		}
	}
}

// jsonString's plain-ASCII shortcut quotes exactly as json.Marshal does.
func TestJSONStringMatchesMarshal(t *testing.T) {
	for _, s := range []string{"", "gpt-4o-mini", "llama-3.3-70b-versatile", "a/b:c@1.0", "~ !#$%'()*+,-./", `q"uote`, `back\slash`,
		"<html>&", "tab\t", "\x7f", "é", "\u2028", "bad\xffutf8"} {
		want, _ := json.Marshal(s)
		if got := jsonString(s); got != string(want) {
			t.Errorf("jsonString(%q) = %s, want %s", s, got, want)
		}
	}
}
