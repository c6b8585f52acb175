// Package spend enforces the spending limits users set: an API key's daily
// limits (USD charged, requests) and the daily and monthly caps on the
// at-cost spend sent through a stored provider key. It implements
// ownkey.SpendLimiter (the chat path's admission and its count of what was
// spent) and ownkey.SpendMeter (what the key list shows).
//
// Counting across replicas. Each process keeps, per limited API key and per
// capped provider key, a tally for the current UTC day (and month): the
// ledger's total as last read (base) plus what this process counted since
// (local). A tally is seeded from the ledger (usage_records: charged_nano,
// at_cost_nano) at its first use and read again every Resync while in use;
// a re-read keeps the larger of the ledger's total and what the tally
// already had, so that spend this process counted but the recorder has
// not stored yet is not forgotten, and spend the ledger already holds is
// not counted twice. Admission and counting are in memory: no database
// round trip on the request path, except a tally's first use.
//
// The bound. A limit stops new requests once reached; it can be exceeded by
//   - the requests admitted before it was reached, each by its own cost
//     (the cost is known only once the request ends), and
//   - across replicas, by what the other replicas spent that this one has
//     not read yet: at most their spend over one Resync interval plus the
//     usage recorder's write delay (50 ms batches; longer only while the
//     database is slow and records wait in the spill), plus any spend this
//     process counted and the ledger had not yet stored when it re-read.
//
// With R replicas each spending at rate s against one limit, the overshoot
// is at most about (R−1)·s·(Resync + write delay) plus the in-flight
// requests' costs: a safety cap, not an exact quota.
package spend

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/flight"
)

const (
	// DefaultResync is how often a tally in use is read again from the
	// ledger.
	DefaultResync = 10 * time.Second
	// defaultIdle is how long an unused tally is kept: by then the ledger
	// holds what it counted, and the next use seeds it again.
	defaultIdle = 10 * time.Minute
)

// Options tune a Limiter. Zero values take the defaults.
type Options struct {
	// Resync is how often tallies in use are read again from the ledger
	// (default DefaultResync): it bounds how long one replica's spend goes
	// unseen by the others.
	Resync time.Duration
	// Idle is how long a tally no request used is kept (default 10 min).
	Idle   time.Duration
	Logger *slog.Logger
	// now is the clock (tests move it across midnight).
	now func() time.Time
}

// Limiter implements ownkey.SpendLimiter and ownkey.SpendMeter. Create it
// with New; Close stops its background re-reads.
type Limiter struct {
	ledger ownkey.SpendLedger
	resync time.Duration
	idle   time.Duration
	log    *slog.Logger
	now    func() time.Time

	// mu guards the maps and every entry in them. What it guards is a few
	// comparisons and additions; ledger reads happen outside it.
	mu    sync.Mutex
	keys  map[int64]*entry   // limited API keys, by id
	creds map[credKey]*entry // capped provider keys
	// seeds coalesces the ledger reads of one entry by concurrent requests.
	seeds flight.Group[struct{}]

	stop chan struct{}
	done chan struct{}
}

var (
	_ ownkey.SpendLimiter = (*Limiter)(nil)
	_ ownkey.SpendMeter   = (*Limiter)(nil)
)

// tally counts one amount over one period, a UTC day or month.
type tally struct {
	period time.Time // the period's start
	base   int64     // the ledger's total for the period, as last read
	local  int64     // counted here since that read
}

func (t *tally) total() int64 { return t.base + t.local }

// roll starts a new period at its start: nothing spent yet.
func (t *tally) roll(period time.Time) {
	if !t.period.Equal(period) {
		*t = tally{period: period}
	}
}

// merge takes in a ledger total read for period while counted was the
// local count: the ledger holds all the records stored by then, and
// counted holds some of them and perhaps some not stored yet; either
// total is a lower bound on what was spent, so keep the larger.
func (t *tally) merge(period time.Time, ledger, counted int64) {
	if !t.period.Equal(period) {
		return // the period rolled while the ledger was read
	}
	t.base = max(ledger, t.base+counted)
	t.local -= counted
}

// entry is the two tallies of one limited thing: an API key's requests and
// charges per day (keyRequests, keyCharged), or the at-cost spend through
// a provider key per day and per month (credToday, credMonth).
type entry struct {
	t            [2]tally
	used, synced time.Time // the last admission; the last ledger read
	// read gets the ledger's totals for the tallies' periods.
	read func(ctx context.Context, periods [2]time.Time) ([2]int64, error)
	// what names the entry in logs.
	what []any
}

const (
	keyRequests, keyCharged = 0, 1
	credToday, credMonth    = 0, 1
)

func (e *entry) periods() [2]time.Time { return [2]time.Time{e.t[0].period, e.t[1].period} }

// keyEntry is a new entry for an API key's day.
func (l *Limiter) keyEntry(accountID, keyID int64, day time.Time) *entry {
	return &entry{
		t:    [2]tally{{period: day}, {period: day}},
		what: []any{"api_key_id", keyID},
		read: func(ctx context.Context, p [2]time.Time) ([2]int64, error) {
			n, charged, err := l.ledger.APIKeySpendSince(ctx, accountID, keyID, p[keyRequests])
			return [2]int64{n, int64(charged)}, err
		},
	}
}

// credEntry is a new entry for a provider key's day and month.
func (l *Limiter) credEntry(k credKey, day, month time.Time) *entry {
	return &entry{
		t:    [2]tally{{period: day}, {period: month}},
		what: []any{"account_id", k.accountID, "provider", k.provider},
		read: func(ctx context.Context, p [2]time.Time) ([2]int64, error) {
			s, err := l.ledger.ProviderSpendSince(ctx, k.accountID, k.provider, p[credToday], p[credMonth])
			return [2]int64{int64(s.Today), int64(s.ThisMonth)}, err
		},
	}
}

type credKey struct {
	accountID int64
	provider  string
}

// New returns a Limiter reading the ledger and starts its re-read loop.
func New(ledger ownkey.SpendLedger, opts Options) *Limiter {
	if opts.Resync <= 0 {
		opts.Resync = DefaultResync
	}
	if opts.Idle <= 0 {
		opts.Idle = defaultIdle
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.now == nil {
		opts.now = ownkey.Now
	}
	l := &Limiter{
		ledger: ledger, resync: opts.Resync, idle: opts.Idle, log: opts.Logger, now: opts.now,
		keys: map[int64]*entry{}, creds: map[credKey]*entry{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go l.loop()
	return l
}

// Close stops the re-read loop.
func (l *Limiter) Close() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
}

func limited(l ownkey.APIKeyLimits) bool { return l.USDPerDay != nil || l.RequestsPerDay != nil }

func capped(c ownkey.SpendCaps) bool { return c.PerDay != nil || c.PerMonth != nil }

// Admit refuses the request when p's API key reached one of its daily
// limits or cred one of its spend caps, and otherwise counts it against
// the key's requests per day. A key without limits and a credential
// without caps cost two comparisons.
func (l *Limiter) Admit(ctx context.Context, p *ownkey.Principal, cred *ownkey.Credential) error {
	keyLimits := p.APIKey != nil && limited(p.APIKey.Limits)
	caps := cred != nil && capped(cred.Caps)
	if !keyLimits && !caps {
		return nil
	}
	now := l.now()
	day, month := ownkey.UTCDay(now), ownkey.UTCMonth(now)
	var keyID int64
	var ck credKey
	if keyLimits {
		keyID = p.APIKey.ID
	}
	if caps {
		ck = credKey{p.Account.ID, cred.Provider}
	}
	var k, c *entry
	for {
		if keyLimits && !current(l, l.keys, keyID, now) {
			if err := l.readyKey(ctx, p.Account.ID, keyID, day, now); err != nil {
				return err
			}
		}
		if caps && !current(l, l.creds, ck, now) {
			if err := l.readyCred(ctx, ck, day, month, now); err != nil {
				return err
			}
		}
		l.mu.Lock()
		k, c = l.keys[keyID], l.creds[ck]
		if (!keyLimits || k != nil) && (!caps || c != nil) {
			break
		}
		// Dropped as idle in between: read it again.
		l.mu.Unlock()
	}
	defer l.mu.Unlock()
	if caps {
		c.used = now
		today, thisMonth := &c.t[credToday], &c.t[credMonth]
		today.roll(day)
		thisMonth.roll(month)
		if cap := cred.Caps.PerDay; cap != nil && today.total() >= int64(*cap) {
			return capReached(cred.Provider, "daily", *cap, today.total(), "today", day.AddDate(0, 0, 1), now)
		}
		if cap := cred.Caps.PerMonth; cap != nil && thisMonth.total() >= int64(*cap) {
			return capReached(cred.Provider, "monthly", *cap, thisMonth.total(), "this month", month.AddDate(0, 1, 0), now)
		}
	}
	if keyLimits {
		lim := p.APIKey.Limits
		k.used = now
		requests, charged := &k.t[keyRequests], &k.t[keyCharged]
		requests.roll(day)
		charged.roll(day)
		reset := day.AddDate(0, 0, 1)
		if lim.RequestsPerDay != nil && requests.total() >= *lim.RequestsPerDay {
			return &ownkey.Error{Code: ownkey.ERATELIMIT, Reason: "api_key_request_limit_reached", RetryAfter: retryAfter(reset, now),
				Message: "this API key's limit of " + strconv.FormatInt(*lim.RequestsPerDay, 10) + " requests per day (UTC) is reached; " +
					"it resets at " + reset.Format(time.RFC3339) + " (midnight UTC)"}
		}
		if lim.USDPerDay != nil && charged.total() >= int64(*lim.USDPerDay) {
			return &ownkey.Error{Code: ownkey.ERATELIMIT, Reason: "api_key_usd_limit_reached", RetryAfter: retryAfter(reset, now),
				Message: "this API key's limit of " + ownkey.ShortUSD(*lim.USDPerDay) + " per day (UTC) is reached (" +
					ownkey.ShortUSD(ownkey.NanoUSD(charged.total())) + " charged today); it resets at " + reset.Format(time.RFC3339) + " (midnight UTC)"}
		}
		requests.local++
	}
	return nil
}

// capReached is the 429 of a spend cap, naming the provider and the cap.
func capReached(providerID, period string, cap ownkey.NanoUSD, spent int64, when string, reset, now time.Time) error {
	name := providerID
	if p, ok := ownkey.LookupProvider(providerID); ok {
		name = p.Name + " (" + providerID + ")"
	}
	return &ownkey.Error{Code: ownkey.ERATELIMIT, Reason: "byok_spend_cap_reached", RetryAfter: retryAfter(reset, now),
		Message: "the " + period + " spend cap of " + ownkey.ShortUSD(cap) + " on your " + name + " key is reached (" +
			ownkey.ShortUSD(ownkey.NanoUSD(spent)) + " at cost " + when + ", UTC); it resets at " + reset.Format(time.RFC3339) +
			"; raise or remove it with PATCH /api/user/provider-keys"}
}

// retryAfter is the Retry-After of a refusal: whole seconds until reset.
func retryAfter(reset, now time.Time) string {
	return strconv.FormatInt(int64((reset.Sub(now)+time.Second-1)/time.Second), 10)
}

// Spent counts a settled request: its charge against the API key's tally
// and, for a request served with the account's own key, its at-cost
// amount against that key's caps. Only entries in use count: a key or
// credential that had no limit when the request was admitted is read from
// the ledger when it gets one.
func (l *Limiter) Spent(p *ownkey.Principal, provider string, c ownkey.Charge) {
	if c.Charged == 0 && (c.AtCost == 0 || !c.BYOK) {
		return
	}
	now := l.now()
	day, month := ownkey.UTCDay(now), ownkey.UTCMonth(now)
	l.mu.Lock()
	defer l.mu.Unlock()
	if p.APIKey != nil {
		if k := l.keys[p.APIKey.ID]; k != nil {
			k.t[keyCharged].roll(day)
			k.t[keyCharged].local += int64(c.Charged)
		}
	}
	if c.BYOK && c.AtCost != 0 {
		if e := l.creds[credKey{p.Account.ID, provider}]; e != nil {
			e.t[credToday].roll(day)
			e.t[credMonth].roll(month)
			e.t[credToday].local += int64(c.AtCost)
			e.t[credMonth].local += int64(c.AtCost)
		}
	}
}

// ProviderSpend is what the caps of the account's key for provider count
// so far: its entry, read again from the ledger first if that was longer
// ago than Resync (an entry starts if there was none).
func (l *Limiter) ProviderSpend(ctx context.Context, accountID int64, provider string) (ownkey.Spend, error) {
	now := l.now()
	day, month := ownkey.UTCDay(now), ownkey.UTCMonth(now)
	k := credKey{accountID, provider}
	for {
		// Seen from now+Resync, an entry read more than Resync ago is
		// more than two old: it is read again.
		if err := l.readyCred(ctx, k, day, month, now.Add(l.resync)); err != nil {
			return ownkey.Spend{}, err
		}
		l.mu.Lock()
		if e := l.creds[k]; e != nil {
			defer l.mu.Unlock()
			e.t[credToday].roll(day)
			e.t[credMonth].roll(month)
			return ownkey.Spend{Today: ownkey.NanoUSD(e.t[credToday].total()), ThisMonth: ownkey.NanoUSD(e.t[credMonth].total())}, nil
		}
		l.mu.Unlock()
	}
}

// current reports whether m holds an entry for k read from the ledger less
// than two Resync intervals before now: the request path's check, which
// costs a lock and a map lookup. An entry the loop left alone while idle
// is not current, so that an idle spell does not stretch the bound.
func current[K comparable](l *Limiter, m map[K]*entry, k K, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := m[k]
	return e != nil && now.Sub(e.synced) < 2*l.resync
}

// readyKey and readyCred make the entry current (see ready).
func (l *Limiter) readyKey(ctx context.Context, accountID, keyID int64, day, now time.Time) error {
	return ready(ctx, l, l.keys, keyID, now, func() *entry { return l.keyEntry(accountID, keyID, day) })
}

func (l *Limiter) readyCred(ctx context.Context, k credKey, day, month, now time.Time) error {
	return ready(ctx, l, l.creds, k, now, func() *entry { return l.credEntry(k, day, month) })
}

// ready makes m's entry for k current: on its first use a new one (fresh)
// is seeded, and one that is not current is read again. Concurrent
// requests share one read. Only a failed first read fails the request.
func ready[K comparable](ctx context.Context, l *Limiter, m map[K]*entry, k K, now time.Time, fresh func() *entry) error {
	if current(l, m, k, now) {
		return nil
	}
	_, err := l.seeds.Do(ctx, fmt.Sprint(k), func(ctx context.Context) (struct{}, error) {
		// A request that missed just before the previous read finished
		// finds the entry current here instead of reading again.
		if current(l, m, k, now) {
			return struct{}{}, nil
		}
		l.mu.Lock()
		e := m[k]
		l.mu.Unlock()
		if e != nil {
			if err := l.sync(ctx, e); err != nil {
				l.syncFailed(err, e)
			}
			return struct{}{}, nil
		}
		e = fresh()
		totals, err := e.read(ctx, e.periods())
		if err != nil {
			return struct{}{}, unavailable(err)
		}
		now := l.now()
		e.t[0].base, e.t[1].base, e.used, e.synced = totals[0], totals[1], now, now
		l.mu.Lock()
		if m[k] == nil {
			m[k] = e
		}
		l.mu.Unlock()
		return struct{}{}, nil
	})
	return err
}

// unavailable is the client's error when the ledger cannot be read for a
// limit: the request is refused rather than let past a limit unchecked.
func unavailable(err error) error {
	if ownkey.ErrorCode(err) != ownkey.EINTERNAL {
		return err
	}
	return &ownkey.Error{Code: ownkey.EUNAVAILABLE, Reason: "spend_limits_unavailable",
		Message: "the spending limits of this key cannot be checked right now (the database is unavailable); try again shortly"}
}

// sync reads e's totals from the ledger again and merges them in. A failed
// read counts as one too: the next is due after Resync, not at once on
// every request while the database is down.
func (l *Limiter) sync(ctx context.Context, e *entry) error {
	l.mu.Lock()
	periods, counted := e.periods(), [2]int64{e.t[0].local, e.t[1].local}
	l.mu.Unlock()
	totals, err := e.read(ctx, periods)
	l.mu.Lock()
	defer l.mu.Unlock()
	e.synced = l.now()
	if err != nil {
		return err
	}
	for i := range e.t {
		e.t[i].merge(periods[i], totals[i], counted[i])
	}
	return nil
}

// syncFailed logs a failed re-read. The entry counts on with what it has.
func (l *Limiter) syncFailed(err error, e *entry) {
	l.log.Warn("spend limits: reading spend from the ledger failed; counting on locally",
		append(e.what[:len(e.what):len(e.what)], "err", err.Error())...)
}

// loop re-reads the entries in use every Resync and drops idle ones.
func (l *Limiter) loop() {
	defer close(l.done)
	tick := time.NewTicker(l.resync)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
			l.resyncAll()
		}
	}
}

// resyncAll re-reads every entry used since its last read (an idle one is
// read again at its next use, see ready), and drops the ones unused for
// Idle.
func (l *Limiter) resyncAll() {
	now := l.now()
	var due []*entry
	l.mu.Lock()
	due = collect(l.keys, now, l.idle, due)
	due = collect(l.creds, now, l.idle, due)
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), l.resync)
	defer cancel()
	for _, e := range due {
		if err := l.sync(ctx, e); err != nil {
			l.syncFailed(err, e)
		}
	}
}

// collect appends to due the entries of m used since their last read, and
// deletes those unused for idle. The caller holds l.mu.
func collect[K comparable](m map[K]*entry, now time.Time, idle time.Duration, due []*entry) []*entry {
	for k, e := range m {
		switch {
		case now.Sub(e.used) > idle:
			delete(m, k)
		case e.used.After(e.synced):
			due = append(due, e)
		}
	}
	return due
}
