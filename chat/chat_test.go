package chat

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/provider/providertest"
	"github.com/ownkey/ownkey/usage"
)

// fakeVault holds keys for the providers in keys.
type fakeVault struct {
	keys     map[string]bool
	disabled map[string]bool
	used     []string
}

func (v *fakeVault) Put(context.Context, int64, string, json.RawMessage) (*ownkey.KeyStatus, error) {
	return nil, errors.New("not used")
}
func (v *fakeVault) PutWithCaps(context.Context, int64, string, json.RawMessage, ownkey.SpendCapsUpdate) (*ownkey.KeyStatus, error) {
	return nil, errors.New("not used")
}
func (v *fakeVault) SetCaps(context.Context, int64, string, ownkey.SpendCapsUpdate) (*ownkey.KeyStatus, error) {
	return nil, errors.New("not used")
}
func (v *fakeVault) Delete(context.Context, int64, string) error { return errors.New("not used") }
func (v *fakeVault) List(context.Context, int64) ([]ownkey.KeyStatus, error) {
	return nil, errors.New("not used")
}
func (v *fakeVault) Credential(_ context.Context, _ int64, id string) (*ownkey.Credential, error) {
	if !v.keys[id] {
		return nil, ownkey.Errorf(ownkey.ENOTFOUND, "no key")
	}
	return &ownkey.Credential{Provider: id, APIKey: ownkey.NewSecret("sk-test")}, nil
}
func (v *fakeVault) Configured(context.Context, int64) (map[string]bool, error) { return v.keys, nil }
func (v *fakeVault) Disabled(id string) bool                                    { return v.disabled[id] }
func (v *fakeVault) MarkUsed(_ int64, id string)                                { v.used = append(v.used, id) }

// fakeAdapter answers with res and err and keeps the request it got;
// check, if set, runs as the upstream call would.
type fakeAdapter struct {
	res   *ownkey.ChatResult
	err   error
	got   *ownkey.ChatRequest
	check func(req *ownkey.ChatRequest)
}

func (a *fakeAdapter) Chat(_ context.Context, req *ownkey.ChatRequest, _ ownkey.ChatSink) (*ownkey.ChatResult, error) {
	a.got = req
	if a.check != nil {
		a.check(req)
	}
	return a.res, a.err
}

type recorder struct{ recs []*ownkey.UsageRecord }

func (r *recorder) Record(rec *ownkey.UsageRecord) { r.recs = append(r.recs, rec) }

// body is a ChatBody that counts its edits.
type body struct {
	b      []byte
	models []string
}

func (b *body) Routed(model string) []byte { b.models = append(b.models, model); return b.b }

type fixture struct {
	svc     *Service
	vault   *fakeVault
	adapter *fakeAdapter
	family  provider.Family
	rec     *recorder
	// keys is the BYOK switch the calls carry: KeyOwn, as these tests
	// were written when every request had to send x-use-byok: true.
	keys    ownkey.KeyChoice
	metered bool
}

func newFixture(t *testing.T, res *ownkey.ChatResult, err error) *fixture {
	f := &fixture{
		vault:   &fakeVault{keys: map[string]bool{"groq": true, "openai": true, "anthropic": true}, disabled: map[string]bool{}},
		adapter: &fakeAdapter{res: res, err: err},
		rec:     &recorder{},
		keys:    ownkey.KeyOwn,
	}
	// Only the OpenAI family has an adapter here: Anthropic routes to none.
	f.family = &providertest.Family{Speaks: providertest.Catalog(t, "openai").Wire, Adapter: f.adapter}
	f.svc = &Service{Vault: f.vault, Usage: f.rec, Families: providertest.Families(t, nil, f.family)}
	return f
}

const chatBody = `{"model":"m","messages":[{"role":"user","content":"Say hello in one short sentence, please."}]}`

func (f *fixture) chat(model, forced string) (*body, error) {
	b := &body{b: []byte(chatBody)}
	err := f.svc.Chat(context.Background(), &ownkey.ChatCall{
		RequestID: "req-1", Model: model, Provider: forced, Keys: f.keys, Body: b, Sink: openai.NewWriter(httptest.NewRecorder(), false, false),
		Principal: &ownkey.Principal{Account: &ownkey.Account{ID: 7}, APIKey: &ownkey.APIKey{ID: 9}},
	})
	return b, err
}

func TestChatRoutesEditsAndRecords(t *testing.T) {
	f := newFixture(t, &ownkey.ChatResult{Status: 200, Started: true, ModelServed: "llama-served",
		Usage: ownkey.Usage{PromptTokens: 12, CompletionTokens: 30}}, nil)
	b, err := f.chat("groq/llama-3.3-70b-versatile", "")
	if err != nil {
		t.Fatal(err)
	}
	req := f.adapter.got
	if req == nil || req.Provider.ID != "groq" || req.Model != "llama-3.3-70b-versatile" || req.RequestID != "req-1" ||
		req.BaseURL != "https://api.groq.com/openai/v1" || req.Credential.Provider != "groq" || string(req.Body) != chatBody {
		t.Fatalf("adapter got %+v", req)
	}
	if req.Auth != ownkey.Authorizer(f.family) {
		t.Fatalf("the request is authorized by %v, want its family", req.Auth)
	}
	if len(b.models) != 1 || b.models[0] != "llama-3.3-70b-versatile" {
		t.Fatalf("body edited for %q, want once for the routed model", b.models)
	}
	if len(f.vault.used) != 1 || f.vault.used[0] != "groq" {
		t.Fatalf("MarkUsed for %q", f.vault.used)
	}
	if len(f.rec.recs) != 1 {
		t.Fatalf("%d records", len(f.rec.recs))
	}
	r := f.rec.recs[0]
	want := ownkey.Usage{PromptTokens: 12, CompletionTokens: 30, Source: ownkey.UsageFromProvider}
	if r.RequestID != "req-1" || r.AccountID != 7 || r.APIKeyID != 9 || r.Provider != "groq" ||
		r.ModelRequested != "groq/llama-3.3-70b-versatile" || r.ModelServed != "llama-served" || r.Usage != want ||
		r.Status != 200 || r.ErrorCode != "" {
		t.Fatalf("record %+v", r)
	}
}

// Errors before the adapter are returned for the caller to write, and
// nothing reached a model, so nothing is recorded.
func TestChatRefusalsBeforeTheAdapter(t *testing.T) {
	for _, tc := range []struct {
		name, model, forced string
		setup               func(*fixture)
		status              int
		reason              string
		message             string // when given
	}{
		{"no key", "llama-3.3-70b-versatile", "together", nil, 400, "byok_no_key_for_provider", ""},
		{"disabled", "llama-3.3-70b-versatile", "groq", func(f *fixture) { f.vault.disabled["groq"] = true }, 403, "provider_disabled", ""},
		{"no adapter for the family", "claude-sonnet-4-5", "", nil, 501, "provider_not_supported",
			"chat through Anthropic (anthropic API) is not supported yet"},
		{"no provider", "no-such-model", "", nil, 400, "byok_no_provider_for_model", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, &ownkey.ChatResult{Status: 200, Started: true}, nil)
			if tc.setup != nil {
				tc.setup(f)
			}
			_, err := f.chat(tc.model, tc.forced)
			var e *ownkey.Error
			if !errors.As(err, &e) || ownkey.StatusOf(err) != tc.status || e.Reason != tc.reason {
				t.Fatalf("err = %v (status %d), want %d %s", err, ownkey.StatusOf(err), tc.status, tc.reason)
			}
			if tc.message != "" && e.Message != tc.message {
				t.Errorf("message = %q, want %q", e.Message, tc.message)
			}
			if f.adapter.got != nil || len(f.rec.recs) != 0 || len(f.vault.used) != 0 {
				t.Fatalf("adapter called %v, %d records, used %q", f.adapter.got != nil, len(f.rec.recs), f.vault.used)
			}
		})
	}
}

// The record's status is the status the client is sent for the error
// (ownkey.StatusOf, which httpapi.Error uses), whatever the adapter put in
// res.Status: one table, no second opinion.
func TestChatRecordsTheStatusTheClientGets(t *testing.T) {
	for _, tc := range []struct {
		name      string
		resStatus int
		err       error
		want      int
	}{
		{"adapter left it unset", 0, ownkey.Errorf(ownkey.EUNAVAILABLE, "down"), 503},
		{"adapter disagrees", 500, &ownkey.Error{Code: ownkey.EFORBIDDEN, Message: "no"}, 403},
		{"upstream status passed on", 502, &ownkey.Error{Code: ownkey.EUPSTREAM, Status: 429, Message: "slow down"}, 429},
		{"not a domain error", 0, errors.New("boom"), 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, &ownkey.ChatResult{Status: tc.resStatus}, tc.err)
			_, err := f.chat("gpt-4o-mini", "")
			if err != tc.err {
				t.Fatalf("err = %v, want the adapter's", err)
			}
			r := f.rec.recs[0]
			if r.Status != tc.want || r.ErrorCode != provider.CodeUpstreamError || r.Usage.Source != ownkey.UsageNone {
				t.Fatalf("record status %d, code %q, usage %+v; want %d upstream_error none", r.Status, r.ErrorCode, r.Usage, tc.want)
			}
		})
	}
}

// A client that left is not written to: the error is recorded, not returned.
func TestChatClientGone(t *testing.T) {
	f := newFixture(t, &ownkey.ChatResult{Status: provider.StatusClientClosed, ClientGone: true, ErrorCode: provider.CodeClientDisconnected},
		&ownkey.Error{Code: ownkey.EUNAVAILABLE, Status: provider.StatusClientClosed, Message: "gone"})
	if _, err := f.chat("gpt-4o-mini", ""); err != nil {
		t.Fatalf("err = %v, want nil", err)
	}
	if r := f.rec.recs[0]; !r.ClientDisconnected || r.Status != 499 || r.ErrorCode != provider.CodeClientDisconnected {
		t.Fatalf("record %+v", r)
	}
}

// With no usage reported, a request that reached a model is estimated by
// usage.Estimate, for the model that answered (else the model routed):
// o200k_base counts with each family's margin and framing.
func TestChatEstimatesMissingUsage(t *testing.T) {
	out := []byte("Hello there! It is a pleasure to meet you today.")
	for _, tc := range []struct {
		model, served string
	}{
		{"gpt-4o-mini", ""},
		{"groq/llama-3.3-70b-versatile", ""},
		{"gpt-4o-mini", "claude-sonnet-4-5"}, // the model that answered counts
	} {
		res := &ownkey.ChatResult{Status: 200, Started: true, ModelServed: tc.served, OutputSample: out, OutputBytes: int64(len(out))}
		f := newFixture(t, res, nil)
		if _, err := f.chat(tc.model, ""); err != nil {
			t.Fatal(err)
		}
		model := tc.served
		if model == "" {
			model = f.adapter.got.Model
		}
		want := usage.Estimate(model, []byte(chatBody), res)
		if got := f.rec.recs[0].Usage; got != want || got.Source != ownkey.UsageEstimated || got.PromptTokens == 0 || got.CompletionTokens == 0 {
			t.Errorf("%s: usage %+v, want %+v", tc.model, got, want)
		}
	}
	// A Llama's count is above OpenAI's for the same text.
	res := &ownkey.ChatResult{Status: 200, Started: true, OutputSample: out, OutputBytes: int64(len(out))}
	if o, l := usage.Estimate("gpt-4o-mini", []byte(chatBody), res), usage.Estimate("llama-3.3-70b-versatile", []byte(chatBody), res); l.PromptTokens <= o.PromptTokens || l.CompletionTokens <= o.CompletionTokens {
		t.Errorf("llama %+v not above openai %+v", l, o)
	}
}

// An answer cut short may carry only the usage reported at its start
// (Anthropic's message_start: the prompt and a token): its prompt is kept,
// its completion is the estimate of what was delivered, and the record
// says estimated. An answer that finished keeps the provider's counts.
func TestChatCompletesPartialUsage(t *testing.T) {
	out := []byte(strings.Repeat("A long answer that the client stopped reading. ", 40))
	started := ownkey.Usage{PromptTokens: 1234, CompletionTokens: 1, CachedTokens: 1000}
	for _, tc := range []struct {
		name   string
		res    ownkey.ChatResult
		source ownkey.UsageSource
	}{
		{"client gone mid-stream", ownkey.ChatResult{Status: 499, Started: true, ClientGone: true, ErrorCode: provider.CodeClientDisconnected,
			ModelServed: "claude-sonnet-4-5", Usage: started, OutputSample: out, OutputBytes: int64(len(out))}, ownkey.UsageEstimated},
		{"finished", ownkey.ChatResult{Status: 200, Started: true, FinishReason: "stop", ModelServed: "claude-sonnet-4-5",
			Usage: ownkey.Usage{PromptTokens: 1234, CompletionTokens: 500, CachedTokens: 1000}, OutputSample: out, OutputBytes: int64(len(out))}, ownkey.UsageFromProvider},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.res
			f := newFixture(t, &res, nil)
			if _, err := f.chat("gpt-4o-mini", ""); err != nil {
				t.Fatal(err)
			}
			got := f.rec.recs[0].Usage
			want := tc.res.Usage
			want.Source = tc.source
			if tc.source == ownkey.UsageEstimated {
				want.CompletionTokens = usage.Estimate("claude-sonnet-4-5", []byte(chatBody), &res).CompletionTokens
			}
			if got != want || got.CompletionTokens < int64(len(out))/8 {
				t.Fatalf("usage %+v, want %+v", got, want)
			}
		})
	}
}

// modelerFamily is a family whose credential decides the model the provider
// is sent, as Azure's deployment does.
type modelerFamily struct{ *providertest.Family }

func (modelerFamily) UpstreamModel(c *ownkey.Credential, routed string) string {
	return c.Provider + "-deployment-for-" + routed
}

// The model a family's credential decides is the one sent (the body's
// edit) and the request's; the record keeps what the client asked.
func TestChatUpstreamModel(t *testing.T) {
	f := newFixture(t, &ownkey.ChatResult{Status: 200, Started: true, ModelServed: "gpt-4o-2024-11-20",
		Usage: ownkey.Usage{PromptTokens: 12, CompletionTokens: 30}}, nil)
	f.family = modelerFamily{&providertest.Family{Speaks: providertest.Catalog(t, "openai").Wire, Adapter: f.adapter}}
	f.svc.Families = providertest.Families(t, nil, f.family)
	b, err := f.chat("gpt-4o", "")
	if err != nil {
		t.Fatal(err)
	}
	if req := f.adapter.got; req == nil || req.Model != "openai-deployment-for-gpt-4o" {
		t.Fatalf("adapter got model %q", req.Model)
	}
	if len(b.models) != 1 || b.models[0] != "openai-deployment-for-gpt-4o" {
		t.Fatalf("body edited for %q", b.models)
	}
	if r := f.rec.recs[0]; r.ModelRequested != "gpt-4o" || r.ModelServed != "gpt-4o-2024-11-20" {
		t.Fatalf("record asked %q, served %q", r.ModelRequested, r.ModelServed)
	}
}
