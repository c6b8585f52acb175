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

	// mu guards the maps and every tally in them. What it guards is a few
	// comparisons and additions; ledger reads happen outside it.
	mu    sync.Mutex
	keys  map[int64]*keyTally
	creds map[credKey]*credTally
	// seeds coalesces the first reads of one tally by concurrent requests.
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

// keyTally is a limited API key's day.
type keyTally struct {
	accountID int64
	requests  tally
	charged   tally
	used      time.Time // last admission
	synced    time.Time // last ledger read
}

// credTally is a capped provider key's day and month.
type credTally struct {
	today, month tally
	used, synced time.Time
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
		keys: map[int64]*keyTally{}, creds: map[credKey]*credTally{},
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
	var k *keyTally
	var c *credTally
	for {
		if keyLimits {
			keyID = p.APIKey.ID
			if err := l.readyKey(ctx, p.Account.ID, keyID, day, now); err != nil {
				return err
			}
		}
		if caps {
			ck = credKey{p.Account.ID, cred.Provider}
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
		c.today.roll(day)
		c.month.roll(month)
		if cap := cred.Caps.PerDay; cap != nil && c.today.total() >= int64(*cap) {
			return capReached(cred.Provider, "daily", *cap, c.today.total(), "today", day.AddDate(0, 0, 1), now)
		}
		if cap := cred.Caps.PerMonth; cap != nil && c.month.total() >= int64(*cap) {
			return capReached(cred.Provider, "monthly", *cap, c.month.total(), "this month", month.AddDate(0, 1, 0), now)
		}
	}
	if keyLimits {
		lim := p.APIKey.Limits
		k.used = now
		k.requests.roll(day)
		k.charged.roll(day)
		reset := day.AddDate(0, 0, 1)
		if lim.RequestsPerDay != nil && k.requests.total() >= *lim.RequestsPerDay {
			return &ownkey.Error{Code: ownkey.ERATELIMIT, Reason: "api_key_request_limit_reached", RetryAfter: retryAfter(reset, now),
				Message: "this API key's limit of " + strconv.FormatInt(*lim.RequestsPerDay, 10) + " requests per day (UTC) is reached; " +
					"it resets at " + reset.Format(time.RFC3339) + " (midnight UTC)"}
		}
		if lim.USDPerDay != nil && k.charged.total() >= int64(*lim.USDPerDay) {
			return &ownkey.Error{Code: ownkey.ERATELIMIT, Reason: "api_key_usd_limit_reached", RetryAfter: retryAfter(reset, now),
				Message: "this API key's limit of " + ownkey.ShortUSD(*lim.USDPerDay) + " per day (UTC) is reached (" +
					ownkey.ShortUSD(ownkey.NanoUSD(k.charged.total())) + " charged today); it resets at " + reset.Format(time.RFC3339) + " (midnight UTC)"}
		}
		k.requests.local++
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
// amount against that key's caps. Only tallies in use count: a key or
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
			k.charged.roll(day)
			k.charged.local += int64(c.Charged)
		}
	}
	if c.BYOK && c.AtCost != 0 {
		if t := l.creds[credKey{p.Account.ID, provider}]; t != nil {
			t.today.roll(day)
			t.month.roll(month)
			t.today.local += int64(c.AtCost)
			t.month.local += int64(c.AtCost)
		}
	}
}

// ProviderSpend is what the caps of the account's key for provider count
// so far: its tally, read again from the ledger first if that was longer
// ago than Resync (a tally starts if there was none).
func (l *Limiter) ProviderSpend(ctx context.Context, accountID int64, provider string) (ownkey.Spend, error) {
	now := l.now()
	day, month := ownkey.UTCDay(now), ownkey.UTCMonth(now)
	k := credKey{accountID, provider}
	for {
		// Seen from now+Resync, a tally read more than Resync ago is
		// more than two old: readyCred reads it again.
		if err := l.readyCred(ctx, k, day, month, now.Add(l.resync)); err != nil {
			return ownkey.Spend{}, err
		}
		l.mu.Lock()
		if t := l.creds[k]; t != nil {
			defer l.mu.Unlock()
			t.today.roll(day)
			t.month.roll(month)
			return ownkey.Spend{Today: ownkey.NanoUSD(t.today.total()), ThisMonth: ownkey.NanoUSD(t.month.total())}, nil
		}
		l.mu.Unlock()
	}
}

// readyKey makes sure the key has a tally read from the ledger less than
// two Resync intervals before now: on its first use it is seeded, and one
// the loop left alone while idle is read again, so that an idle spell does
// not stretch the bound. Concurrent requests share one read. Only a failed
// first read fails the request.
func (l *Limiter) readyKey(ctx context.Context, accountID, keyID int64, day, now time.Time) error {
	l.mu.Lock()
	t := l.keys[keyID]
	fresh := t != nil && now.Sub(t.synced) < 2*l.resync
	l.mu.Unlock()
	if fresh {
		return nil
	}
	_, err := l.seeds.Do(ctx, "key/"+strconv.FormatInt(keyID, 10), func(ctx context.Context) (struct{}, error) {
		l.mu.Lock()
		t := l.keys[keyID]
		l.mu.Unlock()
		if t != nil {
			if err := l.syncKey(ctx, keyID, t); err != nil {
				l.syncFailed(err, "api_key_id", keyID)
			}
			return struct{}{}, nil
		}
		requests, charged, err := l.ledger.APIKeySpendSince(ctx, accountID, keyID, day)
		if err != nil {
			return struct{}{}, unavailable(err)
		}
		now := l.now()
		l.mu.Lock()
		if _, ok := l.keys[keyID]; !ok {
			l.keys[keyID] = &keyTally{accountID: accountID, used: now, synced: now,
				requests: tally{period: day, base: requests}, charged: tally{period: day, base: int64(charged)}}
		}
		l.mu.Unlock()
		return struct{}{}, nil
	})
	return err
}

// readyCred is readyKey for a provider key's caps.
func (l *Limiter) readyCred(ctx context.Context, k credKey, day, month, now time.Time) error {
	l.mu.Lock()
	t := l.creds[k]
	fresh := t != nil && now.Sub(t.synced) < 2*l.resync
	l.mu.Unlock()
	if fresh {
		return nil
	}
	_, err := l.seeds.Do(ctx, "cred/"+strconv.FormatInt(k.accountID, 10)+"/"+k.provider, func(ctx context.Context) (struct{}, error) {
		l.mu.Lock()
		t := l.creds[k]
		l.mu.Unlock()
		if t != nil {
			if err := l.syncCred(ctx, k, t); err != nil {
				l.syncFailed(err, "account_id", k.accountID, "provider", k.provider)
			}
			return struct{}{}, nil
		}
		s, err := l.ledger.ProviderSpendSince(ctx, k.accountID, k.provider, day, month)
		if err != nil {
			return struct{}{}, unavailable(err)
		}
		now := l.now()
		l.mu.Lock()
		if _, ok := l.creds[k]; !ok {
			l.creds[k] = &credTally{used: now, synced: now,
				today: tally{period: day, base: int64(s.Today)}, month: tally{period: month, base: int64(s.ThisMonth)}}
		}
		l.mu.Unlock()
		return struct{}{}, nil
	})
	return err
}

// syncFailed logs a failed re-read. The tally counts on with what it has.
func (l *Limiter) syncFailed(err error, attrs ...any) {
	l.log.Warn("spend limits: reading spend from the ledger failed; counting on locally",
		append(attrs, "err", err.Error())...)
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

// syncKey reads the key's day from the ledger again and merges it in.
func (l *Limiter) syncKey(ctx context.Context, id int64, t *keyTally) error {
	l.mu.Lock()
	period, requests, charged, accountID := t.requests.period, t.requests.local, t.charged.local, t.accountID
	l.mu.Unlock()
	n, c, err := l.ledger.APIKeySpendSince(ctx, accountID, id, period)
	l.mu.Lock()
	defer l.mu.Unlock()
	// A failed read counts as one too: the next is due after Resync, not
	// at once on every request while the database is down.
	t.synced = l.now()
	if err != nil {
		return err
	}
	t.requests.merge(period, n, requests)
	t.charged.merge(period, int64(c), charged)
	return nil
}

// syncCred is syncKey for a provider key's caps.
func (l *Limiter) syncCred(ctx context.Context, k credKey, t *credTally) error {
	l.mu.Lock()
	day, month, today, thisMonth := t.today.period, t.month.period, t.today.local, t.month.local
	l.mu.Unlock()
	s, err := l.ledger.ProviderSpendSince(ctx, k.accountID, k.provider, day, month)
	l.mu.Lock()
	defer l.mu.Unlock()
	t.synced = l.now()
	if err != nil {
		return err
	}
	t.today.merge(day, int64(s.Today), today)
	t.month.merge(month, int64(s.ThisMonth), thisMonth)
	return nil
}

// loop re-reads the tallies in use every Resync and drops idle ones.
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

// resyncAll re-reads every tally used since its last read (an idle one is
// read again at its next use, see readyKey), and drops the ones unused for
// Idle.
func (l *Limiter) resyncAll() {
	now := l.now()
	type keyJob struct {
		id int64
		t  *keyTally
	}
	type credJob struct {
		k credKey
		t *credTally
	}
	var keyJobs []keyJob
	var credJobs []credJob
	l.mu.Lock()
	for id, t := range l.keys {
		switch {
		case now.Sub(t.used) > l.idle:
			delete(l.keys, id)
		case t.used.After(t.synced):
			keyJobs = append(keyJobs, keyJob{id, t})
		}
	}
	for k, t := range l.creds {
		switch {
		case now.Sub(t.used) > l.idle:
			delete(l.creds, k)
		case t.used.After(t.synced):
			credJobs = append(credJobs, credJob{k, t})
		}
	}
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), l.resync)
	defer cancel()
	for _, j := range keyJobs {
		if err := l.syncKey(ctx, j.id, j.t); err != nil {
			l.syncFailed(err, "api_key_id", j.id)
		}
	}
	for _, j := range credJobs {
		if err := l.syncCred(ctx, j.k, j.t); err != nil {
			l.syncFailed(err, "account_id", j.k.accountID, "provider", j.k.provider)
		}
	}
}
