package websearch

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/provider/providertest"
	"github.com/ownkey/ownkey/websearch/websearchtest"
)

// vault holds the account's keys (providertest.Key of each provider in
// keys).
type vault struct {
	keys     map[string]bool
	disabled map[string]bool
	used     []string
}

func (v *vault) Put(context.Context, int64, string, json.RawMessage) (*ownkey.KeyStatus, error) {
	return nil, errors.New("not used")
}
func (v *vault) PutWithCaps(context.Context, int64, string, json.RawMessage, ownkey.SpendCapsUpdate) (*ownkey.KeyStatus, error) {
	return nil, errors.New("not used")
}
func (v *vault) SetCaps(context.Context, int64, string, ownkey.SpendCapsUpdate) (*ownkey.KeyStatus, error) {
	return nil, errors.New("not used")
}
func (v *vault) Delete(context.Context, int64, string) error { return errors.New("not used") }
func (v *vault) List(context.Context, int64) ([]ownkey.KeyStatus, error) {
	return nil, errors.New("not used")
}
func (v *vault) Credential(_ context.Context, _ int64, id string) (*ownkey.Credential, error) {
	if !v.keys[id] {
		return nil, ownkey.Errorf(ownkey.ENOTFOUND, "no key")
	}
	return &ownkey.Credential{Provider: id, APIKey: ownkey.NewSecret(providertest.Key(id))}, nil
}
func (v *vault) Configured(context.Context, int64) (map[string]bool, error) { return v.keys, nil }
func (v *vault) Disabled(id string) bool                                    { return v.disabled[id] }
func (v *vault) MarkUsed(_ int64, id string)                                { v.used = append(v.used, id) }

type ledger struct {
	refuse  error
	holds   []*ownkey.Hold
	settled []*ownkey.UsageRecord
}

func (l *ledger) Reserve(_ context.Context, h *ownkey.Hold) error {
	if l.refuse != nil {
		return l.refuse
	}
	h.LeaseID = 9
	l.holds = append(l.holds, h)
	return nil
}

func (l *ledger) Settle(h *ownkey.Hold, rec *ownkey.UsageRecord) {
	rec.Reserved, rec.LeaseID = h.Amount(), h.LeaseID
	l.settled = append(l.settled, rec)
}

type records struct{ recs []*ownkey.UsageRecord }

func (r *records) Record(rec *ownkey.UsageRecord) { r.recs = append(r.recs, rec) }

type limits struct {
	admitted int
	spent    []ownkey.Charge
	refuse   error
}

func (l *limits) Admit(context.Context, *ownkey.Principal, *ownkey.Credential) error {
	l.admitted++
	return l.refuse
}
func (l *limits) Spent(_ *ownkey.Principal, _ string, c ownkey.Charge) { l.spent = append(l.spent, c) }

type fixture struct {
	svc     *Service
	vault   *vault
	ledger  *ledger
	records *records
	limits  *limits
	fakes   map[string]*providertest.Upstream
	who     *ownkey.Principal
}

// newFixture is a service whose account holds keys for the providers in
// keys, each at a fake of its provider.
func newFixture(t *testing.T, keys ...string) *fixture {
	f := &fixture{vault: &vault{keys: map[string]bool{}, disabled: map[string]bool{}}, ledger: &ledger{}, records: &records{},
		limits: &limits{}, fakes: map[string]*providertest.Upstream{}}
	base := ownkey.BaseURLs{}
	for _, id := range []string{"tavily", "exa", "kagi", "perplexity"} {
		f.fakes[id] = websearchtest.Fake(t, id, providertest.Key(id))
		base[id] = f.fakes[id].URL + websearchtest.BasePath(id)
	}
	for _, k := range keys {
		f.vault.keys[k] = true
	}
	s := searchers()
	f.svc = &Service{Vault: f.vault, Families: providertest.Families(t, base, s["tavily"], s["exa"], s["kagi"], s["perplexity"]),
		Ledger: f.ledger, Usage: f.records, Limits: f.limits}
	f.who = &ownkey.Principal{Account: &ownkey.Account{ID: 4, Metered: true}, APIKey: &ownkey.APIKey{ID: 2}}
	return f
}

func (f *fixture) search(r ownkey.WebSearchRequest) (*ownkey.WebSearchResult, error) {
	return f.svc.Search(context.Background(), &ownkey.WebSearchCall{RequestID: "req_1", Principal: f.who, Request: r})
}

// searched lists the providers whose fakes were asked.
func (f *fixture) searched() []string {
	var ids []string
	for _, id := range []string{"tavily", "exa", "kagi", "perplexity"} {
		if len(f.fakes[id].Requests()) > 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// No provider named: the first of tavily, exa, kagi, perplexity the
// account holds a key for (skipping one the operator disabled).
func TestDefaultProviderOrder(t *testing.T) {
	for _, c := range []struct {
		keys     []string
		disabled string
		want     string
	}{
		{[]string{"perplexity", "kagi", "exa", "tavily"}, "", "tavily"},
		{[]string{"perplexity", "exa"}, "", "exa"},
		{[]string{"perplexity", "kagi"}, "", "kagi"},
		{[]string{"perplexity"}, "", "perplexity"},
		{[]string{"tavily", "kagi"}, "tavily", "kagi"},
	} {
		f := newFixture(t, c.keys...)
		if c.disabled != "" {
			f.vault.disabled[c.disabled] = true
		}
		res, err := f.search(ownkey.WebSearchRequest{Query: "q"})
		if err != nil || res.Provider != c.want || strings.Join(f.searched(), ",") != c.want {
			t.Errorf("keys %v: %v %v, searched %v", c.keys, res, err, f.searched())
		}
	}
}

// No key: 503 provider_key_missing naming the key to add; nothing is
// searched, held or recorded.
func TestProviderKeyMissing(t *testing.T) {
	f := newFixture(t, "exa")
	for _, c := range []struct {
		provider, says string
	}{
		{"kagi", "Provider key missing: add a Kagi key to search with Kagi"},
		{"", "Provider key missing: add a web search key (tavily, exa, kagi, perplexity)"},
	} {
		if c.provider == "" {
			f.vault.keys = map[string]bool{"openai": true} // a chat key is no search key
		}
		_, err := f.search(ownkey.WebSearchRequest{Query: "q", Provider: c.provider})
		e := asError(t, err)
		if ownkey.StatusOf(e) != 503 || e.Reason != ownkey.ReasonProviderKeyMissing || !strings.HasPrefix(e.Message, c.says) {
			t.Errorf("%q: %+v", c.provider, e)
		}
	}
	if len(f.searched()) != 0 || len(f.ledger.holds) != 0 || len(f.records.recs) != 0 {
		t.Errorf("searched %v, held %d, recorded %d", f.searched(), len(f.ledger.holds), len(f.records.recs))
	}
}

// What the provider cannot do is a 400 naming the field, before the key is
// looked at; an unknown or disabled provider is refused.
func TestServiceRefusals(t *testing.T) {
	f := newFixture(t, "tavily")
	f.vault.disabled["perplexity"] = true
	for _, c := range []struct {
		req    ownkey.WebSearchRequest
		status int
		param  string
	}{
		{ownkey.WebSearchRequest{Query: "q", Provider: "kagi", IncludeDomains: []string{"a.com"}}, 400, "includeDomains"},
		{ownkey.WebSearchRequest{Query: "q", Provider: "kagi", Depth: "deep"}, 400, "depth"},
		{ownkey.WebSearchRequest{Query: "q", Provider: "openai"}, 400, "provider"},
		{ownkey.WebSearchRequest{Query: "q", Provider: "perplexity"}, 403, "provider"},
		{ownkey.WebSearchRequest{Query: ""}, 400, "query"},
	} {
		_, err := f.search(c.req)
		if e := asError(t, err); ownkey.StatusOf(e) != c.status || e.Param != c.param {
			t.Errorf("%+v: %+v", c.req, e)
		}
	}
	if len(f.searched()) != 0 {
		t.Errorf("searched %v", f.searched())
	}
}

// A metered account's search holds the operator's fee and settles it; the
// ledger entry is the search's: provider, "search:<depth>", no tokens, the
// fee charged, the provider's own price (Exa's) at cost.
func TestFeeHeldSettledAndRecorded(t *testing.T) {
	f := newFixture(t, "exa")
	f.svc.Fee = 2_500_000 // $0.0025
	res, err := f.search(ownkey.WebSearchRequest{Query: "q", Depth: "deep"})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.ledger.holds) != 1 || f.ledger.holds[0].Amount() != 2_500_000 || f.ledger.holds[0].Model != "search:deep" {
		t.Fatalf("holds %+v", f.ledger.holds)
	}
	if len(f.records.recs) != 1 || len(f.ledger.settled) != 1 || f.ledger.settled[0] != f.records.recs[0] {
		t.Fatalf("records %v settled %v", f.records.recs, f.ledger.settled)
	}
	r := f.records.recs[0]
	want := ownkey.Charge{Charged: 2_500_000, AtCost: 5_000_000, Basis: ownkey.PriceSearchFee, BYOK: true}
	if r.RequestID != "req_1" || r.AccountID != 4 || r.APIKeyID != 2 || r.Provider != "exa" || r.ModelRequested != "search:deep" ||
		r.ModelServed != "search:deep" || r.Usage != (ownkey.Usage{Source: ownkey.UsageNone}) || r.Status != 200 || r.ErrorCode != "" ||
		r.Charge != want || r.Reserved != 2_500_000 || r.LeaseID != 9 || r.Settlement != ownkey.SettlementSettled {
		t.Errorf("record %+v", r)
	}
	if res.Charge != want || res.Depth != "deep" || res.Query != "q" || len(res.Results) != 2 || time.Since(res.Timestamp) > time.Minute {
		t.Errorf("result %+v", res)
	}
	if f.limits.admitted != 1 || len(f.limits.spent) != 1 || f.limits.spent[0] != want {
		t.Errorf("limits %+v", f.limits)
	}
	if strings.Join(f.vault.used, ",") != "exa" {
		t.Errorf("marked used: %v", f.vault.used)
	}
}

// No fee (the default), or an unmetered account: nothing is held, and the
// search is still recorded, at zero for no fee.
func TestNoFeeHoldsNothing(t *testing.T) {
	f := newFixture(t, "tavily")
	if _, err := f.search(ownkey.WebSearchRequest{Query: "q"}); err != nil {
		t.Fatal(err)
	}
	f.svc.Fee = 1000
	f.who.Account.Metered = false
	if _, err := f.search(ownkey.WebSearchRequest{Query: "q"}); err != nil {
		t.Fatal(err)
	}
	if len(f.ledger.holds) != 0 || len(f.records.recs) != 2 {
		t.Fatalf("holds %d, records %d", len(f.ledger.holds), len(f.records.recs))
	}
	if c := f.records.recs[0].Charge; c != (ownkey.Charge{Basis: ownkey.PriceSearchFee, BYOK: true}) {
		t.Errorf("no fee: %+v", c)
	}
	if c := f.records.recs[1].Charge; c.Charged != 1000 {
		t.Errorf("unmetered with a fee: %+v (records what it would be charged)", c)
	}
}

// A balance that cannot pay the fee: the ledger's 402, and no search.
func TestFeeRefused(t *testing.T) {
	f := newFixture(t, "tavily")
	f.svc.Fee = 1000
	f.ledger.refuse = &ownkey.Error{Code: ownkey.EPAYMENT, Reason: "insufficient_balance", Message: "no money"}
	if _, err := f.search(ownkey.WebSearchRequest{Query: "q"}); ownkey.StatusOf(err) != 402 {
		t.Fatalf("%v", err)
	}
	if len(f.searched()) != 0 || len(f.records.recs) != 0 {
		t.Errorf("searched %v, recorded %d", f.searched(), len(f.records.recs))
	}
}

// A failed search is charged nothing, its hold released, and recorded
// with the provider's status and the failure's code.
func TestFailedSearchIsRecordedAtZero(t *testing.T) {
	f := newFixture(t, "tavily")
	f.svc.Fee = 1000
	f.vault.keys = map[string]bool{"tavily": true}
	f.fakes["tavily"].Close()
	f.fakes["tavily"] = websearchtest.Fake(t, "tavily", "another key") // refuses ours
	f.svc.Families = providertest.Families(t, ownkey.BaseURLs{"tavily": f.fakes["tavily"].URL}, searchers()["tavily"])
	_, err := f.search(ownkey.WebSearchRequest{Query: "q"})
	if e := asError(t, err); e.Status != 401 || e.Reason != "invalid_api_key" {
		t.Fatalf("%+v", e)
	}
	r := f.records.recs[0]
	if r.Status != 401 || r.ErrorCode != "upstream_error" || r.Charge.Charged != 0 || r.Reserved != 1000 || len(f.ledger.settled) != 1 {
		t.Errorf("record %+v", r)
	}
}

// A provider that does not answer within Timeout: 504 saying so.
func TestSearchTimeout(t *testing.T) {
	f := newFixture(t, "perplexity")
	reply, cancelled := providertest.StallAfter("")
	slow := providertest.NewUpstream(t, reply)
	f.svc.Families = providertest.Families(t, ownkey.BaseURLs{"perplexity": slow.URL}, searchers()["perplexity"])
	f.svc.Timeout = 100 * time.Millisecond
	_, err := f.search(ownkey.WebSearchRequest{Query: "q"})
	e := asError(t, err)
	if ownkey.StatusOf(e) != http.StatusGatewayTimeout || e.Message != "Perplexity did not answer the search within 100ms" {
		t.Errorf("%+v", e)
	}
	<-cancelled
	if r := f.records.recs[0]; r.Status != 504 || r.ErrorCode != "upstream_timeout" {
		t.Errorf("record %+v", r)
	}
}
