package spend

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
)

// fakeLedger answers with the totals it is given, and counts its reads.
type fakeLedger struct {
	mu       sync.Mutex
	requests map[int64]int64
	charged  map[int64]ownkey.NanoUSD
	spend    map[string]ownkey.Spend
	fail     error
	reads    atomic.Int64
	// since records the period starts asked for.
	since []time.Time
}

func newLedger() *fakeLedger {
	return &fakeLedger{requests: map[int64]int64{}, charged: map[int64]ownkey.NanoUSD{}, spend: map[string]ownkey.Spend{}}
}

func (f *fakeLedger) APIKeySpendSince(_ context.Context, _, keyID int64, since time.Time) (int64, ownkey.NanoUSD, error) {
	f.reads.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.since = append(f.since, since)
	if f.fail != nil {
		return 0, 0, f.fail
	}
	return f.requests[keyID], f.charged[keyID], nil
}

func (f *fakeLedger) ProviderSpendSince(_ context.Context, _ int64, provider string, day, month time.Time) (ownkey.Spend, error) {
	f.reads.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.since = append(f.since, day, month)
	if f.fail != nil {
		return ownkey.Spend{}, f.fail
	}
	return f.spend[provider], nil
}

func (f *fakeLedger) set(fn func(f *fakeLedger)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func newLimiter(t *testing.T, ledger ownkey.SpendLedger, c *clock) *Limiter {
	t.Helper()
	// A Resync this long never ticks during a test: tests call resyncAll.
	l := New(ledger, Options{Resync: time.Hour, Idle: 3 * time.Hour, now: c.now})
	t.Cleanup(l.Close)
	return l
}

func usd(n int64) *ownkey.NanoUSD { v := ownkey.NanoUSD(n); return &v }
func num(n int64) *int64          { return &n }

var ctx = context.Background()

func principal(keyID int64, limits ownkey.APIKeyLimits) *ownkey.Principal {
	return &ownkey.Principal{Account: &ownkey.Account{ID: 7, Name: "acme"}, APIKey: &ownkey.APIKey{ID: keyID, AccountID: 7, Limits: limits}}
}

func wantRefusal(t *testing.T, err error, reason, message, retryAfter string) {
	t.Helper()
	var e *ownkey.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v; want a refusal (%s)", err, reason)
	}
	if ownkey.StatusOf(err) != 429 || e.Code != ownkey.ERATELIMIT || e.Reason != reason || e.Message != message || e.RetryAfter != retryAfter {
		t.Fatalf("refusal:\n got %d %s %s %q Retry-After %q\nwant 429 %s %s %q Retry-After %q",
			ownkey.StatusOf(err), e.Code, e.Reason, e.Message, e.RetryAfter, ownkey.ERATELIMIT, reason, message, retryAfter)
	}
}

// noon is 12 hours before the UTC day ends.
var noon = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

func TestRequestsPerDay(t *testing.T) {
	ledger := newLedger()
	ledger.requests[1] = 3 // made today, before this process started
	c := &clock{t: noon}
	l := newLimiter(t, ledger, c)
	p := principal(1, ownkey.APIKeyLimits{RequestsPerDay: num(5)})
	for i := range 2 {
		if err := l.Admit(ctx, p, nil); err != nil {
			t.Fatalf("request %d: %v", 4+i, err)
		}
	}
	wantRefusal(t, l.Admit(ctx, p, nil), "api_key_request_limit_reached",
		"this API key's limit of 5 requests per day (UTC) is reached; it resets at 2025-03-15T00:00:00Z (midnight UTC)", "43200")
	if got := ledger.reads.Load(); got != 1 {
		t.Fatalf("ledger read %d times; want once, at first use", got)
	}
	if !ledger.since[0].Equal(time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("seeded since %v; want the UTC day's start", ledger.since[0])
	}
	// A minute before midnight: still refused; at midnight the day starts
	// again.
	c.set(time.Date(2025, 3, 14, 23, 59, 30, 0, time.UTC))
	wantRefusal(t, l.Admit(ctx, p, nil), "api_key_request_limit_reached",
		"this API key's limit of 5 requests per day (UTC) is reached; it resets at 2025-03-15T00:00:00Z (midnight UTC)", "30")
	c.set(time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC))
	for i := range 5 {
		if err := l.Admit(ctx, p, nil); err != nil {
			t.Fatalf("next day, request %d: %v", i+1, err)
		}
	}
	if err := l.Admit(ctx, p, nil); err == nil {
		t.Fatal("sixth request of the day admitted")
	}
	// Another key of the account has a count of its own; a key without
	// limits is not counted at all.
	if err := l.Admit(ctx, principal(2, ownkey.APIKeyLimits{RequestsPerDay: num(1)}), nil); err != nil {
		t.Fatal(err)
	}
	reads := ledger.reads.Load()
	for range 100 {
		if err := l.Admit(ctx, principal(3, ownkey.APIKeyLimits{}), &ownkey.Credential{Provider: "openai"}); err != nil {
			t.Fatal(err)
		}
	}
	if ledger.reads.Load() != reads || len(l.keys) != 2 || len(l.creds) != 0 {
		t.Fatalf("a key without limits was counted: %d reads, %d key tallies, %d cap tallies", ledger.reads.Load()-reads, len(l.keys), len(l.creds))
	}
}

func TestUSDPerDay(t *testing.T) {
	ledger := newLedger()
	ledger.charged[1] = 4_990_000_000 // $4.99 charged today already
	c := &clock{t: noon}
	l := newLimiter(t, ledger, c)
	p := principal(1, ownkey.APIKeyLimits{USDPerDay: usd(5_000_000_000)})
	if err := l.Admit(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	// The request cost $0.0234567 and took the key over its limit.
	l.Spent(p, "openai", ownkey.Charge{AtCost: 469_134_000, Charged: 23_456_700, BYOK: true})
	wantRefusal(t, l.Admit(ctx, p, nil), "api_key_usd_limit_reached",
		"this API key's limit of $5.00 per day (UTC) is reached ($5.0134567 charged today); it resets at 2025-03-15T00:00:00Z (midnight UTC)", "43200")
	// Raising the limit lets it through again (the principal carries it).
	p2 := principal(1, ownkey.APIKeyLimits{USDPerDay: usd(10_000_000_000)})
	if err := l.Admit(ctx, p2, nil); err != nil {
		t.Fatal(err)
	}
	// A zero limit refuses everything.
	wantRefusal(t, l.Admit(ctx, principal(9, ownkey.APIKeyLimits{USDPerDay: usd(0)}), nil), "api_key_usd_limit_reached",
		"this API key's limit of $0.00 per day (UTC) is reached ($0.00 charged today); it resets at 2025-03-15T00:00:00Z (midnight UTC)", "43200")
}

func cappedCred(day, month *ownkey.NanoUSD) *ownkey.Credential {
	return &ownkey.Credential{Provider: "openai", Caps: ownkey.SpendCaps{PerDay: day, PerMonth: month}}
}

func TestSpendCaps(t *testing.T) {
	ledger := newLedger()
	ledger.spend["openai"] = ownkey.Spend{Today: 900_000_000, ThisMonth: 19_000_000_000}
	c := &clock{t: noon}
	l := newLimiter(t, ledger, c)
	p := principal(1, ownkey.APIKeyLimits{})
	cred := cappedCred(usd(1_000_000_000), usd(20_000_000_000)) // $1/day, $20/month
	if err := l.Admit(ctx, p, cred); err != nil {
		t.Fatal(err)
	}
	// A platform-key request (not BYOK) does not count against the caps
	// of the user's own key; one through another provider neither.
	l.Spent(p, "openai", ownkey.Charge{AtCost: 500_000_000, Charged: 25_000_000, BYOK: false})
	l.Spent(p, "groq", ownkey.Charge{AtCost: 500_000_000, Charged: 25_000_000, BYOK: true})
	if err := l.Admit(ctx, p, cred); err != nil {
		t.Fatalf("caps counted spend that was not through the key: %v", err)
	}
	l.Spent(p, "openai", ownkey.Charge{AtCost: 100_000_000, Charged: 5_000_000, BYOK: true})
	wantRefusal(t, l.Admit(ctx, p, cred), "byok_spend_cap_reached",
		"the daily spend cap of $1.00 on your OpenAI (openai) key is reached ($1.00 at cost today, UTC); it resets at 2025-03-15T00:00:00Z; raise or remove it with PATCH /api/user/provider-keys", "43200")
	spend, err := l.ProviderSpend(ctx, 7, "openai")
	if err != nil {
		t.Fatal(err)
	}
	if spend != (ownkey.Spend{Today: 1_000_000_000, ThisMonth: 19_100_000_000}) {
		t.Fatalf("spend = %+v", spend)
	}
	// The next day, the day cap allows again, until the month cap.
	c.set(time.Date(2025, 3, 15, 6, 0, 0, 0, time.UTC))
	if err := l.Admit(ctx, p, cred); err != nil {
		t.Fatal(err)
	}
	l.Spent(p, "openai", ownkey.Charge{AtCost: 900_000_000, BYOK: true})
	wantRefusal(t, l.Admit(ctx, p, cred), "byok_spend_cap_reached",
		"the monthly spend cap of $20.00 on your OpenAI (openai) key is reached ($20.00 at cost this month, UTC); it resets at 2025-04-01T00:00:00Z; raise or remove it with PATCH /api/user/provider-keys",
		"1447200")
	// Without the month cap it goes through; a credential without caps
	// (a platform key) is never refused.
	if err := l.Admit(ctx, p, cappedCred(usd(1_000_000_000), nil)); err != nil {
		t.Fatal(err)
	}
	if err := l.Admit(ctx, p, &ownkey.Credential{Provider: "openai"}); err != nil {
		t.Fatal(err)
	}
	// A new month starts from zero.
	c.set(time.Date(2025, 4, 1, 0, 0, 1, 0, time.UTC))
	spend, err = l.ProviderSpend(ctx, 7, "openai")
	if err != nil || spend != (ownkey.Spend{}) {
		t.Fatalf("spend in a new month = %+v, %v", spend, err)
	}
}

// TestResyncMerge: what other replicas spent reaches this one at the next
// read of the ledger, and what this one counted is neither lost while the
// recorder has not stored it nor counted twice once it has.
func TestResyncMerge(t *testing.T) {
	ledger := newLedger()
	c := &clock{t: noon}
	l := newLimiter(t, ledger, c)
	p := principal(1, ownkey.APIKeyLimits{USDPerDay: usd(100)})
	cred := cappedCred(usd(1000), nil)
	if err := l.Admit(ctx, p, cred); err != nil {
		t.Fatal(err)
	}
	l.Spent(p, "openai", ownkey.Charge{AtCost: 40, Charged: 30, BYOK: true})
	total := func() (int64, int64, int64) {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.keys[1].t[keyCharged].total(), l.keys[1].t[keyRequests].total(), l.creds[credKey{7, "openai"}].t[credToday].total()
	}
	// The ledger has not stored this process's record yet, but another
	// replica's: 10 charged, 15 at cost. The larger total wins.
	ledger.set(func(f *fakeLedger) {
		f.charged[1], f.requests[1] = 10, 1
		f.spend["openai"] = ownkey.Spend{Today: 15, ThisMonth: 15}
	})
	l.resyncAll()
	if charged, requests, atCost := total(); charged != 30 || requests != 1 || atCost != 40 {
		t.Fatalf("after a read that lacks our record: charged %d, requests %d, at cost %d; want 30, 1, 40", charged, requests, atCost)
	}
	// Both records stored now: 40 charged, 55 at cost, 2 requests. Not
	// counted twice.
	ledger.set(func(f *fakeLedger) {
		f.charged[1], f.requests[1] = 40, 2
		f.spend["openai"] = ownkey.Spend{Today: 55, ThisMonth: 55}
	})
	c.set(noon.Add(time.Second))
	if err := l.Admit(ctx, p, cred); err != nil { // used since the last read
		t.Fatal(err)
	}
	l.resyncAll()
	// The second request's record is not stored yet, and the ledger's 2
	// (ours and the other replica's) wins over what was counted here (1+1):
	// the second request is missed until the next read finds its record.
	// That is the documented bound (spend counted here but not stored yet).
	if charged, requests, atCost := total(); charged != 40 || requests != 2 || atCost != 55 {
		t.Fatalf("after a read that has it: charged %d, requests %d, at cost %d; want 40, 2, 55", charged, requests, atCost)
	}
	ledger.set(func(f *fakeLedger) { f.requests[1] = 3 })
	c.set(noon.Add(2 * time.Second))
	if err := l.Admit(ctx, p, cred); err != nil {
		t.Fatal(err)
	}
	l.resyncAll()
	if _, requests, _ := total(); requests != 3 {
		t.Fatalf("requests = %d once the ledger has them all; want 3 (the ledger's, the latest not recorded yet is within max)", requests)
	}
	// Spend counted while the ledger is read is kept.
	l.Spent(p, "openai", ownkey.Charge{AtCost: 5, Charged: 5, BYOK: true})
	if charged, _, atCost := total(); charged != 45 || atCost != 60 {
		t.Fatalf("after more spend: charged %d, at cost %d", charged, atCost)
	}
	// Other replicas pushed the key over its limit: refused here after the
	// next read.
	ledger.set(func(f *fakeLedger) { f.charged[1] = 500 })
	c.set(noon.Add(3 * time.Second))
	if err := l.Admit(ctx, p, cred); err != nil {
		t.Fatal(err)
	}
	l.resyncAll()
	if err := l.Admit(ctx, p, cred); ownkey.ErrorCode(err) != ownkey.ERATELIMIT {
		t.Fatalf("after other replicas' spend: %v", err)
	}
}

func TestIdleTallies(t *testing.T) {
	ledger := newLedger()
	c := &clock{t: noon}
	l := newLimiter(t, ledger, c)
	p := principal(1, ownkey.APIKeyLimits{RequestsPerDay: num(10)})
	if err := l.Admit(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	// Unused since its last read: the loop leaves it alone...
	reads := ledger.reads.Load()
	l.resyncAll()
	if ledger.reads.Load() != reads {
		t.Fatal("an unused tally was read again")
	}
	// ...and its next use, long after, reads it again first.
	ledger.set(func(f *fakeLedger) { f.requests[1] = 10 })
	c.set(noon.Add(2*time.Hour + time.Second))
	if err := l.Admit(ctx, p, nil); ownkey.ErrorCode(err) != ownkey.ERATELIMIT {
		t.Fatalf("stale tally not read again: %v", err)
	}
	// Unused for Idle: dropped, and seeded again at its next use.
	c.set(noon.Add(6 * time.Hour))
	l.resyncAll()
	if len(l.keys) != 0 {
		t.Fatalf("%d idle tallies kept", len(l.keys))
	}
	ledger.set(func(f *fakeLedger) { f.requests[1] = 2 })
	if err := l.Admit(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
}

func TestLedgerUnavailable(t *testing.T) {
	ledger := newLedger()
	ledger.fail = errors.New("sqlstore: connection refused")
	c := &clock{t: noon}
	l := newLimiter(t, ledger, c)
	p := principal(1, ownkey.APIKeyLimits{RequestsPerDay: num(10)})
	// A limit that cannot be read is not waved through.
	err := l.Admit(ctx, p, nil)
	if ownkey.StatusOf(err) != 503 || !strings.Contains(ownkey.ErrorMessage(err), "cannot be checked") {
		t.Fatalf("first use with the ledger down: %v", err)
	}
	if _, err := l.ProviderSpend(ctx, 7, "openai"); ownkey.StatusOf(err) != 503 {
		t.Fatalf("spend with the ledger down: %v", err)
	}
	// Once seeded, a failed re-read counts on with what it has.
	ledger.set(func(f *fakeLedger) { f.fail = nil })
	if err := l.Admit(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	ledger.set(func(f *fakeLedger) { f.fail = errors.New("down again") })
	c.set(noon.Add(3 * time.Hour))
	if err := l.Admit(ctx, p, nil); err != nil {
		t.Fatalf("re-read failing: %v", err)
	}
	l.mu.Lock()
	n := l.keys[1].t[keyRequests].total()
	l.mu.Unlock()
	if n != 2 {
		t.Fatalf("requests counted = %d; want 2", n)
	}
}

// TestConcurrentAdmissions: a requests limit admits exactly its number of
// requests however many arrive at once (run with -race).
func TestConcurrentAdmissions(t *testing.T) {
	ledger := newLedger()
	c := &clock{t: noon}
	l := newLimiter(t, ledger, c)
	p := principal(1, ownkey.APIKeyLimits{RequestsPerDay: num(50), USDPerDay: usd(1 << 40)})
	cred := cappedCred(usd(1<<40), usd(1<<40))
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if l.Admit(ctx, p, cred) == nil {
				admitted.Add(1)
				l.Spent(p, "openai", ownkey.Charge{AtCost: 3, Charged: 1, BYOK: true})
			}
		})
	}
	wg.Wait()
	if admitted.Load() != 50 {
		t.Fatalf("%d admitted; want 50", admitted.Load())
	}
	if got := ledger.reads.Load(); got != 2 {
		t.Fatalf("ledger read %d times for 200 concurrent first uses; want 2 (one per tally)", got)
	}
	s, err := l.ProviderSpend(ctx, 7, "openai")
	if err != nil || s.Today != 150 {
		t.Fatalf("spend = %+v, %v; want 150 today", s, err)
	}
}

// The chat path pays nothing for keys without limits and credentials
// without caps, and only a map lookup and a lock for the others.
func TestAdmitAllocations(t *testing.T) {
	l := newLimiter(t, newLedger(), &clock{t: noon})
	free, cred := principal(1, ownkey.APIKeyLimits{}), &ownkey.Credential{Provider: "openai"}
	charge := ownkey.Charge{AtCost: 10, Charged: 1, BYOK: true}
	if n := testing.AllocsPerRun(100, func() {
		if l.Admit(ctx, free, cred) != nil {
			t.Fatal("refused")
		}
		l.Spent(free, "openai", charge)
	}); n != 0 {
		t.Fatalf("unlimited request: %v allocations", n)
	}
	limitedKey, capped := principal(2, ownkey.APIKeyLimits{RequestsPerDay: num(1 << 40)}), cappedCred(usd(1<<50), usd(1<<50))
	if err := l.Admit(ctx, limitedKey, capped); err != nil { // seeds both
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if l.Admit(ctx, limitedKey, capped) != nil {
			t.Fatal("refused")
		}
		l.Spent(limitedKey, "openai", charge)
	}); n != 0 {
		t.Fatalf("limited request: %v allocations", n)
	}
}
