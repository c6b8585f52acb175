// Package billing is the money engine: the Ledger holds a metered
// account's money for each request before it is sent upstream and settles
// it after, from per-replica balance leases taken atomically from the
// database, with a local journal so that a killed process's holds are
// settled on its next start. The design, and the failures it covers, are
// in docs/ARCHITECTURE.md ("Billing").
package billing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/internal/flock"
)

// Defaults of Options.
const (
	// DefaultLeaseSize is the most a lease takes from a balance at once:
	// $1, thousands of typical requests' markup, so that a busy account
	// costs its replica a database transaction only now and then.
	DefaultLeaseSize ownkey.NanoUSD = 1_000_000_000
	// DefaultLeaseShare: a lease takes at most a quarter of the balance,
	// so that a small balance is not all lent to the first replica that
	// asks while the others refuse the account.
	DefaultLeaseShare = 4
	// DefaultIdleReturn is how long a lease without holds waits before its
	// rest goes back to the balance.
	DefaultIdleReturn = 30 * time.Second
	// DefaultMaxLeaseAge is how long a lease takes new holds; it is
	// returned once those it has are settled.
	DefaultMaxLeaseAge = time.Hour
	// DefaultStaleAfter is the age past which any replica returns a lease
	// still open: its replica never came back. Twice the age past which a
	// live replica stops reserving from a lease, so a lease in use is
	// never returned from under its replica.
	DefaultStaleAfter = 2 * DefaultMaxLeaseAge
)

// leaseTimeout bounds the database work of taking a lease.
const leaseTimeout = 3 * time.Second

// Files in the data directory.
const (
	journalFile = "billing-journal"
	replicaFile = "billing-replica"
	lockFile    = "billing.lock"
)

// Options configure a Ledger. Zero values take the defaults.
type Options struct {
	// Dir is the data directory: the journal and this replica's id live
	// there. It must survive a restart, and be this process's alone.
	Dir         string
	LeaseSize   ownkey.NanoUSD
	LeaseShare  int64
	IdleReturn  time.Duration
	MaxLeaseAge time.Duration
	StaleAfter  time.Duration
	Logger      *slog.Logger
}

// Ledger implements ownkey.Ledger and ownkey.BalanceService.
//
// Holds are taken in memory from leases: money a replica moved from the
// account's balance in one database transaction (LedgerStore.TakeLease,
// which never takes a balance below zero, whatever the other replicas do).
// A hold that no lease of this replica can cover takes a new lease; if the
// balance cannot cover it either, the request gets 402. A hold is written
// to the journal before the request goes upstream; settling it moves its
// charge into the lease's spent amount in memory, and storing the usage
// record does the same in the database, in the record's transaction. A
// lease goes back to the balance once it has been idle for IdleReturn, is
// older than MaxLeaseAge, or the ledger closes; only when no hold against
// it is outstanding and every record charged to it is stored.
type Ledger struct {
	store   ownkey.LedgerStore
	replica string
	opts    Options
	log     *slog.Logger
	journal *journal
	unlock  func()

	// Found by Open, settled by Recover: the holds an earlier process left
	// open, and its leases.
	recovered []*journalHold
	oldLeases []int64

	mu       sync.RWMutex
	accounts map[int64]*account

	stop      chan struct{}
	done      chan struct{}
	started   bool
	closeOnce sync.Once
	closeErr  error
}

// account is the ledger's state for one account: this replica's leases.
type account struct {
	mu     sync.Mutex
	id     int64
	leases []*lease
	// unstored maps a settled request to its lease until its record is
	// stored.
	unstored map[string]*lease
	// dead: removed from the ledger's map; whoever holds it looks again.
	dead bool
}

type lease struct {
	ownkey.Lease
	spent    ownkey.NanoUSD // charges settled against it
	reserved ownkey.NanoUSD // amounts of the holds outstanding
	holds    int
	unstored int // settled, their records not stored yet
	lastUsed time.Time
}

func (l *lease) free() ownkey.NanoUSD { return l.Amount - l.spent - l.reserved }

func (l *lease) idle() bool { return l.holds == 0 && l.unstored == 0 }

var (
	_ ownkey.Ledger         = (*Ledger)(nil)
	_ ownkey.BalanceService = (*Ledger)(nil)
)

// Open opens the ledger of the replica whose data directory is opts.Dir: it
// locks the directory against a second process, reads or creates the
// replica's id, and reads the journal's open holds and the replica's open
// leases, which Recover then settles and returns. Serve nothing before
// Recover has returned.
func Open(ctx context.Context, store ownkey.LedgerStore, opts Options) (*Ledger, error) {
	if opts.Dir == "" {
		return nil, errors.New("billing: a data directory is required")
	}
	if opts.LeaseSize <= 0 {
		opts.LeaseSize = DefaultLeaseSize
	}
	if opts.LeaseShare <= 0 {
		opts.LeaseShare = DefaultLeaseShare
	}
	if opts.IdleReturn <= 0 {
		opts.IdleReturn = DefaultIdleReturn
	}
	if opts.MaxLeaseAge <= 0 {
		opts.MaxLeaseAge = DefaultMaxLeaseAge
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = 2 * opts.MaxLeaseAge
	}
	if opts.StaleAfter <= opts.MaxLeaseAge {
		return nil, errors.New("billing: StaleAfter must exceed MaxLeaseAge, or a lease in use could be returned from under its replica")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	unlock, err := flock.Lock(lctx, filepath.Join(opts.Dir, lockFile))
	if err != nil {
		return nil, fmt.Errorf("billing: another ownkey process serves from the data directory %s (each replica needs its own): %w", opts.Dir, err)
	}
	replica, err := replicaID(opts.Dir)
	if err != nil {
		unlock()
		return nil, err
	}
	j, open, err := openJournal(filepath.Join(opts.Dir, journalFile))
	if err != nil {
		unlock()
		return nil, err
	}
	leases, err := store.OpenLeases(ctx, replica)
	if err != nil {
		j.close()
		unlock()
		return nil, fmt.Errorf("billing: reading this replica's leases: %w", err)
	}
	l := &Ledger{
		store: store, replica: replica, opts: opts, log: log, journal: j, unlock: unlock,
		recovered: open, accounts: map[int64]*account{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	for _, ls := range leases {
		l.oldLeases = append(l.oldLeases, ls.ID)
	}
	return l, nil
}

// replicaID reads the replica's id from dir, creating a random one on the
// first start. It names the replica's leases in the database.
func replicaID(dir string) (string, error) {
	path := filepath.Join(dir, replicaFile)
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("billing: reading the replica id: %w", err)
	}
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	id := "r-" + hex.EncodeToString(r[:])
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err == nil {
		_, err = f.WriteString(id + "\n")
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return "", fmt.Errorf("billing: writing the replica id: %w", err)
	}
	syncDir(dir)
	return id, nil
}

// Replica is this replica's id: its leases carry it.
func (l *Ledger) Replica() string { return l.replica }

// Recorder is where Recover records the holds a killed process left: the
// usage recorder, which stores them after any record that process spilled
// (usage.Recorder keeps records in order), so that a request's own record,
// if it got as far as the spill, wins over its recovered one.
type Recorder interface {
	Record(rec *ownkey.UsageRecord)
	Flush(ctx context.Context) error
}

// Recover settles what an earlier process of this replica left: each hold
// in the journal whose record never reached the database is recorded at
// the amount it held (settlement 'recovered'), and once those records are
// stored (or safe in the usage spill), the earlier process's leases are
// returned. Then the ledger starts returning idle leases. Call it once,
// after the usage recorder is running (with Stored wired to l.Stored) and
// before serving.
func (l *Ledger) Recover(ctx context.Context, rec Recorder) error {
	if len(l.recovered) > 0 {
		for _, h := range l.recovered {
			rec.Record(h.record())
		}
		if err := rec.Flush(ctx); err != nil {
			return fmt.Errorf("billing: storing the holds an earlier run left open: %w", err)
		}
		l.log.Warn("billing: settled the holds of requests an earlier run did not finish, at the amount each held",
			"holds", len(l.recovered))
		l.recovered = nil
	}
	l.returnOld(ctx)
	if err := l.journal.reset(); err != nil {
		return err
	}
	l.started = true
	go l.loop()
	return nil
}

// returnOld returns the leases an earlier process of this replica took,
// keeping those the database would not take back for the next round.
func (l *Ledger) returnOld(ctx context.Context) {
	kept := l.oldLeases[:0]
	for _, id := range l.oldLeases {
		if err := l.store.ReturnLease(ctx, id); err != nil {
			l.log.Warn("billing: returning a lease of an earlier run failed; will retry", "lease_id", id, "error", err)
			kept = append(kept, id)
		}
	}
	l.oldLeases = kept
}

// Reserve holds h.Amount() for h's request; see ownkey.Ledger.
func (l *Ledger) Reserve(ctx context.Context, h *ownkey.Hold) error {
	need := h.Amount()
	now := time.Now()
	a, ls, err := l.reserve(ctx, h.AccountID, need, now)
	if err != nil {
		return err
	}
	h.LeaseID = ls.ID
	if err := l.journal.hold(h, now.UTC()); err != nil {
		// Not durable: a crash could lose the hold, so it is not taken.
		a.mu.Lock()
		ls.reserved -= need
		ls.holds--
		a.mu.Unlock()
		l.log.Error("billing: a hold could not be written to the journal; refusing the request", "error", err)
		return &ownkey.Error{Code: ownkey.EUNAVAILABLE, Reason: "billing_unavailable",
			Message: "the request's reservation could not be recorded; try again shortly"}
	}
	return nil
}

// reserve takes need from a lease of the account with room for it, or from
// a new one.
func (l *Ledger) reserve(ctx context.Context, accountID int64, need ownkey.NanoUSD, now time.Time) (*account, *lease, error) {
	for {
		a := l.account(accountID)
		a.mu.Lock()
		if a.dead {
			a.mu.Unlock()
			continue
		}
		ls := a.roomFor(need, now, l.opts.MaxLeaseAge)
		if ls == nil {
			var err error
			if ls, err = l.takeLease(ctx, a, need, now); err != nil {
				a.mu.Unlock()
				return nil, nil, err
			}
		}
		ls.reserved += need
		ls.holds++
		ls.lastUsed = now
		a.mu.Unlock()
		return a, ls, nil
	}
}

// account is the state of an account, created on first use.
func (l *Ledger) account(id int64) *account {
	l.mu.RLock()
	a := l.accounts[id]
	l.mu.RUnlock()
	if a != nil {
		return a
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	a = l.accounts[id]
	if a == nil {
		a = &account{id: id, unstored: map[string]*lease{}}
		l.accounts[id] = a
	}
	return a
}

// roomFor is the account's lease with the least room that still covers
// need (so that the larger ones stay whole for larger requests), among
// those young enough to take holds.
func (a *account) roomFor(need ownkey.NanoUSD, now time.Time, maxAge time.Duration) *lease {
	var best *lease
	for _, ls := range a.leases {
		if ls.free() >= need && now.Sub(ls.CreatedAt) < maxAge && (best == nil || ls.free() < best.free()) {
			best = ls
		}
	}
	return best
}

// takeLease takes a new lease for the account (a.mu held: the account's
// other requests wait for it rather than take leases of their own). When
// the balance cannot cover need, this replica's idle leases of the account
// go back first, in case their rest makes up the difference; then it is
// 402.
func (l *Ledger) takeLease(ctx context.Context, a *account, need ownkey.NanoUSD, now time.Time) (*lease, error) {
	want := max(need, l.opts.LeaseSize)
	// A database that does not answer (an outage, a lock) fails the
	// request soon, rather than hold it and the account's others.
	ctx, cancel := context.WithTimeout(ctx, leaseTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		got, balance, err := l.store.TakeLease(ctx, a.id, l.replica, need, want, l.opts.LeaseShare)
		if err != nil {
			if ownkey.ErrorCode(err) == ownkey.ENOTFOUND {
				return nil, err
			}
			l.log.Error("billing: taking a balance lease failed", "account_id", a.id, "error", err)
			return nil, &ownkey.Error{Code: ownkey.EUNAVAILABLE, Reason: "billing_unavailable",
				Message: "the account's balance could not be checked; try again shortly"}
		}
		if got != nil {
			ls := &lease{Lease: *got, lastUsed: now}
			// Its age is counted on the clock the ledger reads.
			ls.CreatedAt = now
			a.leases = append(a.leases, ls)
			return ls, nil
		}
		if attempt == 0 && l.returnIdleOf(ctx, a) > 0 {
			continue
		}
		var held ownkey.NanoUSD
		for _, ls := range a.leases {
			held += max(ls.free(), 0)
		}
		return nil, insufficient(need, balance+held)
	}
}

// insufficient is the 402 of a request the balance cannot cover.
func insufficient(need, available ownkey.NanoUSD) error {
	return &ownkey.Error{Code: ownkey.EPAYMENT, Reason: "insufficient_balance",
		Message: fmt.Sprintf("insufficient balance: this request needs $%s available (the most it can cost: its prompt, "+
			"and max_tokens of output or %d tokens if it sets none, at the model's price), and the account has $%s; "+
			"add credit, or lower max_tokens", ownkey.FormatUSD(need), DefaultMaxOutputTokens, ownkey.FormatUSD(max(available, 0)))}
}

// returnIdleOf returns the account's leases that hold nothing (a.mu held)
// and reports how many went back.
func (l *Ledger) returnIdleOf(ctx context.Context, a *account) int {
	n := 0
	kept := a.leases[:0]
	for _, ls := range a.leases {
		if ls.idle() {
			if err := l.store.ReturnLease(ctx, ls.ID); err == nil {
				n++
				continue
			}
		}
		kept = append(kept, ls)
	}
	clear(a.leases[len(kept):])
	a.leases = kept
	return n
}

// Settle releases h into rec; see ownkey.Ledger. rec gets the hold's amount
// and lease; its Charge is the request's.
func (l *Ledger) Settle(h *ownkey.Hold, rec *ownkey.UsageRecord) {
	rec.Reserved, rec.LeaseID = h.Amount(), h.LeaseID
	if rec.Settlement == "" {
		rec.Settlement = ownkey.SettlementSettled
	}
	a := l.account(h.AccountID)
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ls := range a.leases {
		if ls.ID == h.LeaseID {
			ls.reserved -= h.Amount()
			ls.holds--
			ls.spent += rec.Charge.Charged
			ls.unstored++
			ls.lastUsed = time.Now()
			a.unstored[h.RequestID] = ls
			return
		}
	}
	// A hold's lease stays until the hold is settled: this is a bug, but
	// the charge is not lost, the record's transaction takes it.
	l.log.Error("billing: settled a hold whose lease is not held", "request_id", h.RequestID, "lease_id", h.LeaseID)
}

// Stored is told of usage records once the database holds them (the usage
// recorder's Stored option): their charges are in their leases' spent
// amount there, so the leases may go back, and their holds are done.
func (l *Ledger) Stored(recs []*ownkey.UsageRecord) {
	var ids []string
	for _, r := range recs {
		if r.LeaseID == 0 {
			continue
		}
		ids = append(ids, r.RequestID)
		l.mu.RLock()
		a := l.accounts[r.AccountID]
		l.mu.RUnlock()
		if a == nil {
			continue // a record of an earlier run's lease
		}
		a.mu.Lock()
		if ls := a.unstored[r.RequestID]; ls != nil {
			delete(a.unstored, r.RequestID)
			ls.unstored--
		}
		a.mu.Unlock()
	}
	if err := l.journal.done(ids); err != nil {
		// The next start settles these holds again, which the database
		// ignores: their records are stored.
		l.log.Warn("billing: marking holds settled in the journal failed", "error", err)
	}
}

// loop returns idle and old leases, retries the leases of an earlier run,
// and returns the stale leases of replicas that never came back.
func (l *Ledger) loop() {
	defer close(l.done)
	tick := time.NewTicker(min(l.opts.IdleReturn/4, time.Second))
	defer tick.Stop()
	staleEvery := min(10*time.Minute, l.opts.StaleAfter/4)
	lastStale := time.Time{}
	for {
		select {
		case <-l.stop:
			return
		case now := <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			l.returnIdle(ctx, now, false)
			if len(l.oldLeases) > 0 {
				l.returnOld(ctx)
			}
			if now.Sub(lastStale) >= staleEvery {
				lastStale = now
				if n, err := l.store.ReturnStaleLeases(ctx, now.Add(-l.opts.StaleAfter)); err != nil {
					l.log.Warn("billing: returning stale leases failed", "error", err)
				} else if n > 0 {
					l.log.Warn("billing: returned leases left open by replicas that stopped without returning them", "leases", n)
				}
			}
			cancel()
		}
	}
}

// returnIdle returns every lease that holds nothing and has been idle for
// IdleReturn or is past MaxLeaseAge (all of them when closing), and forgets
// the accounts left with nothing.
func (l *Ledger) returnIdle(ctx context.Context, now time.Time, closing bool) (kept int) {
	l.mu.Lock()
	accounts := make([]*account, 0, len(l.accounts))
	for _, a := range l.accounts {
		accounts = append(accounts, a)
	}
	l.mu.Unlock()
	for _, a := range accounts {
		a.mu.Lock()
		var back []*lease
		stay := a.leases[:0]
		for _, ls := range a.leases {
			if ls.idle() && (closing || now.Sub(ls.lastUsed) >= l.opts.IdleReturn || now.Sub(ls.CreatedAt) >= l.opts.MaxLeaseAge) {
				back = append(back, ls)
			} else {
				stay = append(stay, ls)
			}
		}
		clear(a.leases[len(stay):])
		a.leases = stay
		a.mu.Unlock()
		// Outside the lock: the account's requests take fresh leases
		// meanwhile rather than wait on these.
		var failed []*lease
		for _, ls := range back {
			if err := l.store.ReturnLease(ctx, ls.ID); err != nil {
				l.log.Warn("billing: returning a lease failed; will retry", "lease_id", ls.ID, "error", err)
				failed = append(failed, ls)
			}
		}
		a.mu.Lock()
		a.leases = append(a.leases, failed...)
		kept += len(a.leases)
		if len(a.leases) == 0 && len(a.unstored) == 0 {
			l.mu.Lock()
			a.dead = true
			delete(l.accounts, a.id)
			l.mu.Unlock()
		}
		a.mu.Unlock()
	}
	return kept
}

// Close stops the ledger and returns every lease that holds nothing. Call
// it after the server has stopped and the usage recorder has closed (its
// records stored, or spilled); a lease whose records wait in the spill
// stays open and is returned by the next start. The journal is emptied
// when nothing is left open.
func (l *Ledger) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		if l.started {
			close(l.stop)
			<-l.done
		}
		var err error
		if kept := l.returnIdle(ctx, time.Now(), true); kept == 0 && len(l.oldLeases) == 0 && l.started {
			err = l.journal.reset()
		} else if kept+len(l.oldLeases) > 0 {
			l.log.Warn("billing: leases left open at shutdown (their records wait in the usage spill, or the database did not answer); the next start returns them",
				"leases", kept+len(l.oldLeases))
		}
		l.closeErr = errors.Join(err, l.journal.close())
		l.unlock()
	})
	return l.closeErr
}

// Balance is what the account can spend; see ownkey.LedgerStore.
func (l *Ledger) Balance(ctx context.Context, accountID int64) (ownkey.NanoUSD, error) {
	return l.store.Balance(ctx, accountID)
}

// AdjustBalance credits or debits an account; see ownkey.LedgerStore.
func (l *Ledger) AdjustBalance(ctx context.Context, adj *ownkey.BalanceAdjustment) (ownkey.NanoUSD, error) {
	return l.store.AdjustBalance(ctx, adj)
}

// Leases lists the leases this replica holds in memory, for tests and
// diagnostics: a copy.
func (l *Ledger) Leases() []ownkey.Lease {
	l.mu.Lock()
	accounts := make([]*account, 0, len(l.accounts))
	for _, a := range l.accounts {
		accounts = append(accounts, a)
	}
	l.mu.Unlock()
	var out []ownkey.Lease
	for _, a := range accounts {
		a.mu.Lock()
		for _, ls := range a.leases {
			c := ls.Lease
			c.Spent = ls.spent
			out = append(out, c)
		}
		a.mu.Unlock()
	}
	slices.SortFunc(out, func(x, y ownkey.Lease) int { return int(x.ID - y.ID) })
	return out
}
