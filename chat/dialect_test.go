package chat

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/responses"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
)

// dialectBody is a body of another dialect: Routed gives routed, Translated
// chat (or err), and both note what they were asked.
type dialectBody struct {
	routed, chat string
	err          error
	models       []string
	translated   [][2]string
}

func (b *dialectBody) Routed(model string) []byte {
	b.models = append(b.models, model)
	return []byte(b.routed)
}
func (b *dialectBody) Translated(p *ownkey.Provider, model string) ([]byte, error) {
	b.translated = append(b.translated, [2]string{model, p.ID})
	return []byte(b.chat), b.err
}

// relayFamily relays the Responses dialect with relay.
type relayFamily struct {
	*providertest.Family
	relay ownkey.ChatAdapter
}

func (f relayFamily) Passthrough(d ownkey.Dialect) ownkey.ChatAdapter {
	if d != ownkey.DialectOpenAIResponses {
		return nil
	}
	return f.relay
}

var _ provider.Passthrougher = relayFamily{}

// dialectFixture serves openai-responses with a relaying family (its chat
// adapter for chat clients, relay for Responses clients) and groq with
// the fixture's adapter.
func dialectFixture(t *testing.T) (*fixture, *fakeAdapter, *fakeAdapter) {
	// A whole answer (a finish reason, reported usage): nothing to estimate,
	// so a relayed body is never translated for an estimate.
	ok := &ownkey.ChatResult{Status: 200, Started: true, FinishReason: "stop", Usage: ownkey.Usage{PromptTokens: 3, CompletionTokens: 4}}
	f := newFixture(t, ok, nil)
	f.vault.keys["openai-responses"] = true
	chatAdapter, relay := &fakeAdapter{res: ok}, &fakeAdapter{res: ok}
	responsesFamily := relayFamily{&providertest.Family{Speaks: providertest.Catalog(t, "openai-responses").Wire, Adapter: chatAdapter}, relay}
	f.svc.Families = providertest.Families(t, nil, f.family, responsesFamily)
	return f, chatAdapter, relay
}

func (f *fixture) responsesCall(model string, b *dialectBody) error {
	return f.svc.Chat(context.Background(), &ownkey.ChatCall{
		RequestID: "req-1", Model: model, Keys: f.keys, Dialect: ownkey.DialectOpenAIResponses, Body: b,
		Sink:      responses.NewWriter(httptest.NewRecorder(), false),
		Principal: &ownkey.Principal{Account: &ownkey.Account{ID: 7}, APIKey: &ownkey.APIKey{ID: 9}},
	})
}

// A Responses client routed to a family that speaks its dialect is
// relayed: the relaying adapter gets the body with the routing edits,
// nothing is translated.
func TestForeignDialectRelayed(t *testing.T) {
	f, chatAdapter, relay := dialectFixture(t)
	b := &dialectBody{routed: `{"model":"gpt-5","input":"hi","store":false}`, chat: "not this"}
	if err := f.responsesCall("openai-responses/gpt-5", b); err != nil {
		t.Fatal(err)
	}
	if relay.got == nil || chatAdapter.got != nil || string(relay.got.Body) != b.routed || relay.got.Model != "gpt-5" {
		t.Fatalf("relay got %+v, chat adapter %+v", relay.got, chatAdapter.got)
	}
	if len(b.models) != 1 || b.models[0] != "gpt-5" || len(b.translated) != 0 {
		t.Fatalf("routed for %v, translated %v", b.models, b.translated)
	}
	if len(f.rec.recs) != 1 || f.rec.recs[0].Provider != "openai-responses" {
		t.Fatalf("records %+v", f.rec.recs)
	}
	// A chat client of the same family is not relayed.
	if _, err := f.chat("openai-responses/gpt-5", ""); err != nil || chatAdapter.got == nil {
		t.Fatalf("chat client: %v", err)
	}
}

// Routed elsewhere, the body is translated for the routed model and
// provider, and never edited as it is.
func TestForeignDialectTranslated(t *testing.T) {
	f, _, relay := dialectFixture(t)
	b := &dialectBody{routed: "not this", chat: `{"model":"llama-3.3-70b-versatile","messages":[{"role":"user","content":"hi"}]}`}
	if err := f.responsesCall("groq/llama-3.3-70b-versatile", b); err != nil {
		t.Fatal(err)
	}
	if got := f.adapter.got; got == nil || string(got.Body) != b.chat || relay.got != nil {
		t.Fatalf("adapter got %+v", got)
	}
	if len(b.translated) != 1 || b.translated[0] != [2]string{"llama-3.3-70b-versatile", "groq"} || len(b.models) != 0 {
		t.Fatalf("translated %v, routed %v", b.translated, b.models)
	}
}

// What the translation refuses is the client's error, before the spend
// limits count the request, before any upstream call or record.
func TestForeignDialectTranslationRefused(t *testing.T) {
	f, _, _ := dialectFixture(t)
	lim := &fakeLimiter{}
	f.svc.Limits = lim
	b := &dialectBody{err: ownkey.FieldError("tools[0].type", "the built-in tool")}
	err := f.responsesCall("groq/llama-3.3-70b-versatile", b)
	if e, ok := err.(*ownkey.Error); !ok || e.Param != "tools[0].type" {
		t.Fatalf("error %v", err)
	}
	if f.adapter.got != nil || len(lim.admitted) != 0 || len(f.rec.recs) != 0 {
		t.Fatalf("adapter %+v, admitted %d, records %d", f.adapter.got, len(lim.admitted), len(f.rec.recs))
	}
	// A body that cannot be translated at all is ownkey's error.
	call := &ownkey.ChatCall{RequestID: "req-2", Model: "groq/llama-3.3-70b-versatile", Keys: f.keys, Dialect: ownkey.DialectOpenAIResponses,
		Body: &body{b: []byte(chatBody)}, Sink: responses.NewWriter(httptest.NewRecorder(), false),
		Principal: &ownkey.Principal{Account: &ownkey.Account{ID: 7}, APIKey: &ownkey.APIKey{ID: 9}}}
	if err := f.svc.Chat(context.Background(), call); ownkey.ErrorCode(err) != ownkey.EINTERNAL {
		t.Fatalf("untranslatable body: %v", err)
	}
}
