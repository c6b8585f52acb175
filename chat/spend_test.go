package chat

import (
	"context"
	"errors"
	"testing"

	"github.com/ownkey/ownkey"
)

// fakeLimiter refuses with refuse, and keeps what it was told.
type fakeLimiter struct {
	refuse   error
	admitted []*ownkey.Credential
	spent    []spent
}

type spent struct {
	accountID, keyID int64
	provider         string
	charge           ownkey.Charge
}

func (l *fakeLimiter) Admit(_ context.Context, p *ownkey.Principal, c *ownkey.Credential) error {
	l.admitted = append(l.admitted, c)
	return l.refuse
}

func (l *fakeLimiter) Spent(p *ownkey.Principal, provider string, c ownkey.Charge) {
	l.spent = append(l.spent, spent{p.Account.ID, p.APIKey.ID, provider, c})
}

// prices quotes every model at 1000 n$ per million input tokens and 4000
// n$ per million output tokens.
type prices struct{ asked [][3]string }

func (p *prices) Quote(provider, served, asked string) ownkey.Quote {
	p.asked = append(p.asked, [3]string{provider, served, asked})
	pr := ownkey.Prices{Input: ownkey.PriceOf(1_000), Output: ownkey.PriceOf(4_000)}
	return ownkey.Quote{Provider: provider, Model: served, Basis: ownkey.PriceCatalog, AtCost: pr, MarkupBase: pr}
}

func TestChatCountsSpend(t *testing.T) {
	f := newFixture(t, &ownkey.ChatResult{Status: 200, Started: true, ModelServed: "llama-served",
		Usage: ownkey.Usage{PromptTokens: 1_000_000, CompletionTokens: 500_000}}, nil)
	lim, book := &fakeLimiter{}, &prices{}
	f.svc.Limits, f.svc.Prices, f.svc.Markups = lim, book, ownkey.Markups{BYOK: ownkey.DefaultBYOKMarkup}
	if _, err := f.chat("groq/llama-3.3-70b-versatile", ""); err != nil {
		t.Fatal(err)
	}
	// Admitted with the credential the request used.
	if len(lim.admitted) != 1 || lim.admitted[0].Provider != "groq" {
		t.Fatalf("admitted %+v", lim.admitted)
	}
	// 1M prompt tokens at 1000 n$/M cost 1000 n$ and 0.5M completion
	// tokens at 4000 n$/M cost 2000 n$: 3000 n$ at cost, 5% of it (150 n$)
	// charged.
	want := spent{7, 9, "groq", ownkey.Charge{AtCost: 3_000, Markup: ownkey.DefaultBYOKMarkup, Charged: 150,
		Basis: ownkey.PriceCatalog, BYOK: true}}
	if len(lim.spent) != 1 || lim.spent[0] != want {
		t.Fatalf("spent %+v; want %+v", lim.spent, want)
	}
	if len(book.asked) != 1 || book.asked[0] != [3]string{"groq", "llama-served", "llama-3.3-70b-versatile"} {
		t.Fatalf("quoted %q", book.asked)
	}
	// The limits count the charge the request was settled and recorded at.
	if len(f.rec.recs) != 1 || f.rec.recs[0].Charge != want.charge {
		t.Fatalf("records %+v; want one charged %+v", f.rec.recs, want.charge)
	}
}

// A request past a limit is refused before anything is sent or recorded.
func TestChatLimitRefusal(t *testing.T) {
	f := newFixture(t, &ownkey.ChatResult{Status: 200, Started: true}, nil)
	refusal := &ownkey.Error{Code: ownkey.ERATELIMIT, Reason: "byok_spend_cap_reached", Message: "cap"}
	lim := &fakeLimiter{refuse: refusal}
	f.svc.Limits = lim
	b, err := f.chat("gpt-4o-mini", "")
	if !errors.Is(err, refusal) {
		t.Fatalf("err = %v; want the limiter's refusal", err)
	}
	if f.adapter.got != nil || len(f.rec.recs) != 0 || len(f.vault.used) != 0 || len(b.models) != 0 || len(lim.spent) != 0 {
		t.Fatalf("refused request went on: adapter %v, %d records, used %q, body edited %q, spent %v",
			f.adapter.got != nil, len(f.rec.recs), f.vault.used, b.models, lim.spent)
	}
}

// Without a limiter or prices nothing changes: the zero charge is counted
// by no one.
func TestChatWithoutLimits(t *testing.T) {
	f := newFixture(t, &ownkey.ChatResult{Status: 200, Started: true}, nil)
	if _, err := f.chat("gpt-4o-mini", ""); err != nil {
		t.Fatal(err)
	}
	if len(f.rec.recs) != 1 || f.rec.recs[0].Charge != (ownkey.Charge{BYOK: true}) {
		t.Fatalf("records without prices = %+v; want one with a zero charge, by the user's key", f.rec.recs)
	}
}
