package chat

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/billing"
	"github.com/ownkey/ownkey/dialect/openai"
	"github.com/ownkey/ownkey/provider"
	"github.com/ownkey/ownkey/usage"
)

// fakeLedger keeps the holds it got and what settled them.
type fakeLedger struct {
	refuse  error
	holds   []*ownkey.Hold
	settled []*ownkey.UsageRecord
}

func (l *fakeLedger) Reserve(_ context.Context, h *ownkey.Hold) error {
	if l.refuse != nil {
		return l.refuse
	}
	h.LeaseID = 77
	l.holds = append(l.holds, h)
	return nil
}

func (l *fakeLedger) Settle(h *ownkey.Hold, rec *ownkey.UsageRecord) {
	rec.Reserved, rec.LeaseID = h.Amount(), h.LeaseID
	l.settled = append(l.settled, rec)
}

// flatPrices prices every model alike: $1 per million input tokens, $2 per
// million output (nano-USD per token: 1000 and 2000).
type flatPrices struct{}

var flat = ownkey.Prices{Input: ownkey.PriceOf(1_000_000_000), Output: ownkey.PriceOf(2_000_000_000)}

func (flatPrices) Quote(provider, served, _ string) ownkey.Quote {
	return ownkey.Quote{Provider: provider, Model: served, Basis: ownkey.PriceCatalog, AtCost: flat, MarkupBase: flat}
}

// price is what usage u costs at flat prices: at cost and charged (5%).
func price(u ownkey.Usage) (atCost, charged ownkey.NanoUSD) {
	atCost = ownkey.NanoUSD(u.PromptTokens*1000 + u.CompletionTokens*2000)
	return atCost, (atCost*5 + 99) / 100
}

func billedFixture(t *testing.T, res *ownkey.ChatResult, err error, metered bool) (*fixture, *fakeLedger) {
	f := newFixture(t, res, err)
	led := &fakeLedger{}
	f.svc.Prices, f.svc.Markups, f.svc.Ledger = flatPrices{}, ownkey.Markups{BYOK: ownkey.DefaultBYOKMarkup}, led
	f.metered = metered
	return f, led
}

func (f *fixture) billedChat(maxTokens int64) error {
	return f.svc.Chat(context.Background(), &ownkey.ChatCall{
		RequestID: "req-1", Model: "gpt-4o-mini", Body: &body{b: []byte(chatBody)}, MaxTokens: maxTokens, Stream: true,
		Sink:      openai.NewWriter(httptest.NewRecorder(), false, false),
		Principal: &ownkey.Principal{Account: &ownkey.Account{ID: 7, Metered: f.metered}, APIKey: &ownkey.APIKey{ID: 9}},
	})
}

// A metered account's request is held before the adapter runs, at the
// most it can cost, and settled at what it did cost.
func TestChatHoldsAndSettles(t *testing.T) {
	u := ownkey.Usage{PromptTokens: 40, CompletionTokens: 10}
	f, led := billedFixture(t, &ownkey.ChatResult{Status: 200, Started: true, Usage: u}, nil, true)
	f.adapter.check = func(req *ownkey.ChatRequest) {
		if len(led.holds) != 1 || len(led.settled) != 0 {
			t.Errorf("at the upstream call: %d holds, %d settled; want held, not settled", len(led.holds), len(led.settled))
		}
		if req.Pricer == nil {
			t.Error("the request carries no Pricer")
		}
	}
	if err := f.billedChat(64); err != nil {
		t.Fatal(err)
	}
	h := led.holds[0]
	bound := billing.Bound(len(chatBody), 64, flat)
	_, held := price(bound)
	if h.RequestID != "req-1" || h.AccountID != 7 || h.APIKeyID != 9 || h.Provider != "openai" || h.Model != "gpt-4o-mini" ||
		h.Bound != bound || h.Amount() != held || !h.Charge.BYOK {
		t.Fatalf("hold %+v; want the bound %+v held at %d", h, bound, held)
	}
	atCost, charged := price(u)
	r := f.rec.recs[0]
	if len(led.settled) != 1 || led.settled[0] != r || r.Reserved != held || r.LeaseID != 77 ||
		r.Charge.AtCost != atCost || r.Charge.Charged != charged || r.Charge.Markup != ownkey.DefaultBYOKMarkup ||
		r.Charge.Basis != ownkey.PriceCatalog || !r.Charge.BYOK || r.Settlement != ownkey.SettlementSettled {
		t.Fatalf("record %+v; want charged %d of %d at cost, settling the hold", r, charged, atCost)
	}
}

// A request served with a platform key is held and settled at its at-cost
// price plus the platform margin (Quote.ChargeFor), not BYOK, and the spend
// limits count the charge settled.
func TestChatPlatformKeyHoldsAndSettlesWithMargin(t *testing.T) {
	u := ownkey.Usage{PromptTokens: 40, CompletionTokens: 10}
	f, led := billedFixture(t, &ownkey.ChatResult{Status: 200, Started: true, Usage: u}, nil, true)
	lim := &fakeLimiter{}
	f.svc.Platform, f.svc.Limits = &fakePlatform{keys: map[string]bool{"openai": true}}, lim
	f.svc.Markups.Platform = 100_000 // 10%
	f.vault.keys = map[string]bool{}
	if err := f.billedChat(64); err != nil {
		t.Fatal(err)
	}
	q := flatPrices{}.Quote("openai", "gpt-4o-mini", "gpt-4o-mini")
	bound := billing.Bound(len(chatBody), 64, flat)
	hold, charge := q.ChargeFor(bound, false, 100_000), q.ChargeFor(u, false, 100_000)
	if h := led.holds[0]; h.Charge != hold || h.Charge.BYOK || h.Amount() != hold.Charged {
		t.Fatalf("hold %+v; want %+v", h.Charge, hold)
	}
	atCost, _ := price(u)
	r := f.rec.recs[0]
	if r.Charge != charge || r.Charge.BYOK || r.Charge.AtCost != atCost || r.Charge.Charged != atCost+(atCost+9)/10 || r.Charge.Markup != 100_000 {
		t.Fatalf("record charge %+v; want %+v (at cost %d plus 10%%)", r.Charge, charge, atCost)
	}
	if len(lim.spent) != 1 || lim.spent[0].charge != r.Charge {
		t.Fatalf("spend limits counted %+v; want the settled %+v", lim.spent, r.Charge)
	}
}

// An unmetered account is not held, but its record says what the request
// cost.
func TestChatUnmeteredIsPricedNotHeld(t *testing.T) {
	u := ownkey.Usage{PromptTokens: 40, CompletionTokens: 10}
	f, led := billedFixture(t, &ownkey.ChatResult{Status: 200, Started: true, Usage: u}, nil, false)
	if err := f.billedChat(0); err != nil {
		t.Fatal(err)
	}
	_, charged := price(u)
	if r := f.rec.recs[0]; len(led.holds)+len(led.settled) != 0 || r.Charge.Charged != charged || r.Reserved != 0 || r.LeaseID != 0 {
		t.Fatalf("ledger %d holds; record %+v", len(led.holds), r)
	}
}

// Refused by the ledger: the request goes nowhere, and the refusal is the
// caller's to write.
func TestChatInsufficientBalance(t *testing.T) {
	f, led := billedFixture(t, &ownkey.ChatResult{Status: 200, Started: true}, nil, true)
	led.refuse = &ownkey.Error{Code: ownkey.EPAYMENT, Reason: "insufficient_balance", Message: "no"}
	if err := f.billedChat(0); err != led.refuse {
		t.Fatalf("err = %v", err)
	}
	if f.adapter.got != nil || len(f.rec.recs) != 0 {
		t.Fatal("a refused request was sent or recorded")
	}
}

// Every path after the hold settles it, with the charge of what was
// consumed.
func TestChatSettlesEveryPath(t *testing.T) {
	out := []byte("Hello there! It is a pleasure to meet you today, and every day after.")
	est := usage.Estimate("gpt-4o-mini", []byte(chatBody), &ownkey.ChatResult{OutputSample: out, OutputBytes: int64(len(out))})
	prompt, completion := est.PromptTokens, est.CompletionTokens
	for _, tc := range []struct {
		name string
		res  *ownkey.ChatResult
		err  error
		want ownkey.Usage
	}{
		// Never reached a model: nothing charged, the hold released.
		{"upstream error before the answer", &ownkey.ChatResult{Status: 429}, &ownkey.Error{Code: ownkey.EUPSTREAM, Status: 429, Message: "slow"},
			ownkey.Usage{Source: ownkey.UsageNone}},
		// The client left: the whole prompt and the output so far. The
		// provider's early count (Anthropic's message_start: the prompt,
		// one output token) is raised to what was delivered.
		{"client left mid-stream", &ownkey.ChatResult{Status: 200, Started: true, ClientGone: true, ErrorCode: provider.CodeClientDisconnected,
			Usage: ownkey.Usage{PromptTokens: 300, CompletionTokens: 1}, OutputSample: out, OutputBytes: int64(len(out))}, nil,
			ownkey.Usage{PromptTokens: 300, CompletionTokens: completion, Source: ownkey.UsageEstimated}},
		// The provider failed mid-stream, having reported nothing: what
		// was produced, estimated.
		{"stream cut by the provider", &ownkey.ChatResult{Status: 200, Started: true, ErrorCode: provider.CodeStreamTruncated,
			OutputSample: out, OutputBytes: int64(len(out))}, nil,
			ownkey.Usage{PromptTokens: prompt, CompletionTokens: completion, Source: ownkey.UsageEstimated}},
		// A larger reported count stands.
		{"cut after the provider counted more", &ownkey.ChatResult{Status: 200, Started: true, ErrorCode: provider.CodeStreamError,
			Usage: ownkey.Usage{PromptTokens: 300, CompletionTokens: 900}, OutputSample: out, OutputBytes: int64(len(out))}, nil,
			ownkey.Usage{PromptTokens: 300, CompletionTokens: 900, Source: ownkey.UsageFromProvider}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, led := billedFixture(t, tc.res, tc.err, true)
			if err := f.billedChat(0); !errors.Is(err, tc.err) {
				t.Fatalf("err = %v", err)
			}
			if len(led.holds) != 1 || len(led.settled) != 1 || len(f.rec.recs) != 1 || led.settled[0] != f.rec.recs[0] {
				t.Fatalf("%d holds, %d settled, %d records; want one each", len(led.holds), len(led.settled), len(f.rec.recs))
			}
			r := f.rec.recs[0]
			atCost, charged := price(tc.want)
			if r.Usage != tc.want || r.Charge.AtCost != atCost || r.Charge.Charged != charged ||
				r.Charge.Estimated != (tc.want.Source == ownkey.UsageEstimated) || r.Reserved != led.holds[0].Amount() {
				t.Fatalf("record usage %+v charge %+v; want %+v charged %d", r.Usage, r.Charge, tc.want, charged)
			}
		})
	}
}

// The charge written in the answer as it ended is the one settled, usage
// and all: the service does not price it again.
func TestChatSettlesWhatTheAnswerSaid(t *testing.T) {
	f, led := billedFixture(t, &ownkey.ChatResult{Status: 200, Started: true}, nil, true)
	var written ownkey.Charge
	f.adapter.check = func(req *ownkey.ChatRequest) {
		// As provider.Answer's End does: the provider reported nothing,
		// the output so far is counted, and the answer priced.
		f.adapter.res.OutputSample, f.adapter.res.OutputBytes = []byte("Hi"), 2
		written = req.Pricer.Price(req, f.adapter.res)
		f.adapter.res.OutputSample, f.adapter.res.OutputBytes = []byte("Hi, and more output counted after the end"), 41
	}
	if err := f.billedChat(0); err != nil {
		t.Fatal(err)
	}
	r := f.rec.recs[0]
	if written.Charged == 0 || !written.Estimated || r.Charge != written || len(led.settled) != 1 {
		t.Fatalf("written %+v, settled %+v", written, r.Charge)
	}
	if want := usage.Estimate("gpt-4o-mini", []byte(chatBody), &ownkey.ChatResult{OutputSample: []byte("Hi"), OutputBytes: 2}).CompletionTokens; r.Usage.CompletionTokens != want {
		t.Fatalf("usage %+v; want the %d completion tokens priced at the end", r.Usage, want)
	}
}
