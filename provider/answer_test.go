package provider_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// echoTranslator puts each line of the stream into the answer as a piece
// of the kind its first word names: "model <s>", "id <s>", "text
// <literal>", "reasoning <literal>", "tool <name>", "args <literal>".
type echoTranslator struct{ lineTranslator }

func (e *echoTranslator) Event(ev provider.Event, out *provider.Answer) provider.Step {
	var err error
	switch d := string(ev.Data); string(ev.Type) {
	case "model":
		err = out.Start("id-1", d, 1)
	case "id":
		err = out.Start(d, "model-1", 1)
	case "text":
		err = out.Text(d)
	case "reasoning":
		err = out.Reasoning(d)
	case "tool":
		err = out.ToolCall(0, "call-1", d, `""`)
	case "args":
		err = out.ToolArgs(0, d)
	default:
		return e.lineTranslator.Event(ev, out)
	}
	if err != nil {
		return provider.StepGone
	}
	return provider.StepMore
}

// A provider that echoes the request's key anywhere in its answer (the
// model name, the id, text, reasoning, a tool call), plainly or spelled
// with \u escapes, does not hand it to the client; a text that merely has
// escapes is left as it came.
func TestAnswerScrubsAnEchoedKey(t *testing.T) {
	const key = "sk-test-0123456789abcdefECHO"
	escaped := providertest.EscapedKey(key)
	for name, lines := range map[string][]string{
		"model":          {"model " + key},
		"model escaped":  {"model " + escaped},
		"id":             {"id " + key},
		"text":           {"model m", `text "the key is ` + key + `"`},
		"text escaped":   {"model m", `text "the key is ` + escaped + `"`},
		"reasoning":      {"model m", `reasoning "` + key + `"`},
		"tool name":      {"model m", "tool " + key},
		"tool arguments": {"model m", "tool f", `args "{\"k\":\"` + escaped + `\"}"`},
	} {
		t.Run(name, func(t *testing.T) {
			body := strings.Join(append(lines, "end stop"), "\n") + "\n"
			up := providertest.NewUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = w.Write([]byte(body))
			})
			req := &ownkey.ChatRequest{Provider: providertest.Catalog(t, "groq"), BaseURL: up.URL, Model: "m", Stream: true,
				Credential: &ownkey.Credential{APIKey: ownkey.NewSecret(key)}, Auth: provider.Bearer{}}
			sink, res := &providertest.Recorder{}, &ownkey.ChatResult{}
			core := provider.Core{StreamIdleTimeout: 5 * time.Second}
			if _, err := core.Chat(context.Background(), req, res, sink, &echoTranslator{}, "/x", []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
			got := strings.Join(sink.Calls, "\n")
			if providertest.Leaks(got, key) || providertest.Leaks(res.ModelServed, key) {
				t.Fatalf("the key reached the client:\n%s", got)
			}
			if !strings.Contains(got, ownkey.Redacted) {
				t.Fatalf("no %s where the key was:\n%s", ownkey.Redacted, got)
			}
		})
	}
	// Escapes alone are not a key.
	up := providertest.NewUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("model m\n" + `text "caf\u00e9 \/ \"q\""` + "\nend stop\n"))
	})
	req := &ownkey.ChatRequest{Provider: providertest.Catalog(t, "groq"), BaseURL: up.URL, Model: "m", Stream: true,
		Credential: &ownkey.Credential{APIKey: ownkey.NewSecret(key)}, Auth: provider.Bearer{}}
	sink := &providertest.Recorder{}
	core := provider.Core{StreamIdleTimeout: 5 * time.Second}
	if _, err := core.Chat(context.Background(), req, &ownkey.ChatResult{}, sink, &echoTranslator{}, "/x", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sink.Calls, "\n"); !strings.Contains(got, `text "caf\u00e9 \/ \"q\""`) {
		t.Fatalf("a text with escapes was changed:\n%s", got)
	}
}
