package billing

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

var ctx = context.Background()

// syncRecorder stores each record at once and tells the ledger, as the
// usage recorder does in its own time.
type syncRecorder struct {
	db  *sqlstore.DB
	led *Ledger
	// silent stores without telling the ledger: the process died between
	// the commit and the journal's D line.
	silent bool
}

func (r *syncRecorder) Record(rec *ownkey.UsageRecord) {
	if err := r.db.InsertUsage(ctx, []*ownkey.UsageRecord{rec}); err != nil {
		panic(err)
	}
	if !r.silent {
		r.led.Stored([]*ownkey.UsageRecord{rec})
	}
}

func (r *syncRecorder) Flush(context.Context) error { return nil }

func openLedger(t *testing.T, db *sqlstore.DB, dir string, opts Options) (*Ledger, *syncRecorder) {
	t.Helper()
	opts.Dir = dir
	led, err := Open(ctx, db, opts)
	if err != nil {
		t.Fatal(err)
	}
	rec := &syncRecorder{db: db, led: led}
	if err := led.Recover(ctx, rec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = led.Close(ctx) })
	return led, rec
}

// crash stops l as a killed process stops: no lease returned, the journal
// left as it is, the data directory's lock released (by the kernel, for a
// real process).
func (l *Ledger) crash() {
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.done
		l.journal.close()
		l.unlock()
	})
}

// meteredAccounts numbers the accounts metered makes (tests run in
// parallel).
var meteredAccounts atomic.Int64

func metered(t *testing.T, db *sqlstore.DB, balance ownkey.NanoUSD) *ownkey.Account {
	t.Helper()
	// Account names are unique (migration 0006): one per account made.
	a := &ownkey.Account{Name: fmt.Sprintf("m%d", meteredAccounts.Add(1)), Metered: true, Balance: balance}
	if err := db.CreateAccount(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	return a
}

func hold(a *ownkey.Account, id string, amount ownkey.NanoUSD) *ownkey.Hold {
	return &ownkey.Hold{RequestID: id, AccountID: a.ID, APIKeyID: 3, Provider: "openai", Model: "gpt-4o-mini", Stream: true,
		Bound:  ownkey.Usage{PromptTokens: 1100, CompletionTokens: 64, Source: ownkey.UsageEstimated},
		Charge: ownkey.Charge{AtCost: amount * 20, Charged: amount, Markup: ownkey.DefaultBYOKMarkup, Basis: ownkey.PriceCatalog, BYOK: true}}
}

// settle settles h at charge and records it.
func settle(led *Ledger, rec *syncRecorder, h *ownkey.Hold, charge ownkey.NanoUSD) *ownkey.UsageRecord {
	r := &ownkey.UsageRecord{RequestID: h.RequestID, AccountID: h.AccountID, APIKeyID: h.APIKeyID, Provider: h.Provider,
		ModelRequested: h.Model, ModelServed: h.Model, Status: 200,
		Usage:  ownkey.Usage{PromptTokens: 10, CompletionTokens: 5, Source: ownkey.UsageFromProvider},
		Charge: ownkey.Charge{AtCost: charge * 20, Charged: charge, Markup: ownkey.DefaultBYOKMarkup, Basis: ownkey.PriceCatalog, BYOK: true}}
	led.Settle(h, r)
	rec.Record(r)
	return r
}

func balance(t *testing.T, db *sqlstore.DB, id int64) (available, unlent ownkey.NanoUSD) {
	t.Helper()
	available, err := db.Balance(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var raw int64
	q := `SELECT balance_nano_usd FROM accounts WHERE id = ?`
	if db.Dialect() == "postgres" {
		q = strings.Replace(q, "?", "$1", 1)
	}
	if err := db.SQL().QueryRowContext(ctx, q, id).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	return available, ownkey.NanoUSD(raw)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A hold comes from a lease taken from the balance; the charge goes into
// the lease with the record; the idle lease goes back with its rest.
func TestHoldSettleReturn(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := metered(t, db, 10_000_000_000)
		led, rec := openLedger(t, db, t.TempDir(), Options{IdleReturn: 50 * time.Millisecond})
		h := hold(a, "q1", 1000)
		if err := led.Reserve(ctx, h); err != nil {
			t.Fatal(err)
		}
		leases, _ := db.OpenLeases(ctx, led.Replica())
		if h.LeaseID == 0 || len(leases) != 1 || leases[0].ID != h.LeaseID || leases[0].Amount != DefaultLeaseSize {
			t.Fatalf("hold %+v, leases %+v; want a lease of the default size", h, leases)
		}
		if avail, unlent := balance(t, db, a.ID); avail != 10_000_000_000 || unlent != 9_000_000_000 {
			t.Fatalf("balance %d (unlent %d) after the lease", avail, unlent)
		}
		// A second hold shares the lease.
		h2 := hold(a, "q2", 500)
		if err := led.Reserve(ctx, h2); err != nil || h2.LeaseID != h.LeaseID {
			t.Fatalf("second hold: %v, lease %d", err, h2.LeaseID)
		}
		r := settle(led, rec, h, 600)
		if r.Reserved != 1000 || r.LeaseID != h.LeaseID || r.Settlement != ownkey.SettlementSettled {
			t.Fatalf("record %+v", r)
		}
		settle(led, rec, h2, 0) // reached no model: nothing charged
		if avail, _ := balance(t, db, a.ID); avail != 10_000_000_000-600 {
			t.Fatalf("available %d after a charge of 600", avail)
		}
		eventually(t, "the idle lease returned", func() bool {
			open, _ := db.OpenLeases(ctx, led.Replica())
			return len(open) == 0
		})
		if avail, unlent := balance(t, db, a.ID); avail != 10_000_000_000-600 || unlent != avail {
			t.Fatalf("balance %d (unlent %d) after the lease went back", avail, unlent)
		}
		recs, _ := db.UsageRecords(ctx, a.ID, 10)
		if len(recs) != 2 {
			t.Fatalf("%d records", len(recs))
		}
		// The next hold takes a new lease.
		h3 := hold(a, "q3", 1)
		if err := led.Reserve(ctx, h3); err != nil || h3.LeaseID == h.LeaseID {
			t.Fatalf("hold after the return: %v, lease %d", err, h3.LeaseID)
		}
		settle(led, rec, h3, 1)
		if err := led.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if avail, unlent := balance(t, db, a.ID); avail != 10_000_000_000-601 || unlent != avail {
			t.Fatalf("balance %d (unlent %d) after Close", avail, unlent)
		}
		if b, _ := os.ReadFile(filepath.Join(led.opts.Dir, journalFile)); len(b) != 0 {
			t.Fatalf("journal after a clean close: %q", b)
		}
	})
}

// A metered account the balance cannot cover gets 402 insufficient_balance
// naming the amount needed, and nothing is taken.
func TestInsufficientBalance(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		zero := metered(t, db, 0)
		led, _ := openLedger(t, db, t.TempDir(), Options{})
		h := hold(zero, "q1", 0) // priced at zero: one nano-dollar is still held
		err := led.Reserve(ctx, h)
		var e *ownkey.Error
		if !errors.As(err, &e) || ownkey.StatusOf(err) != 402 || e.Reason != "insufficient_balance" ||
			!strings.Contains(e.Message, "$0.000000001") || !strings.Contains(e.Message, "has $0.000000000") {
			t.Fatalf("Reserve at zero = %v", err)
		}

		small := metered(t, db, 500)
		err = led.Reserve(ctx, hold(small, "q2", 1234))
		if !errors.As(err, &e) || ownkey.StatusOf(err) != 402 || !strings.Contains(e.Message, "$0.000001234") ||
			!strings.Contains(e.Message, "has $0.000000500") {
			t.Fatalf("Reserve beyond the balance = %v", err)
		}
		if avail, unlent := balance(t, db, small.ID); avail != 500 || unlent != 500 {
			t.Fatalf("a refusal changed the balance: %d / %d", avail, unlent)
		}
		if err := led.Reserve(ctx, hold(small, "q3", 500)); err != nil {
			t.Fatalf("exactly the balance: %v", err)
		}
	})
}

// This replica's idle lease goes back when a request needs more than is
// left outside it.
func TestIdleLeaseReturnedForALargerHold(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := metered(t, db, 1000)
		led, rec := openLedger(t, db, t.TempDir(), Options{})
		h := hold(a, "q1", 10)
		if err := led.Reserve(ctx, h); err != nil {
			t.Fatal(err)
		}
		settle(led, rec, h, 10) // the lease of 250 is idle now
		if err := led.Reserve(ctx, hold(a, "q2", 990)); err != nil {
			t.Fatalf("a hold of the whole rest: %v", err)
		}
	})
}

// Several replicas (ledgers on one database) hold and charge a small
// balance from many goroutines at once, leases coming and going: the
// balance never goes below zero and the charges never exceed it.
func TestConcurrentHoldsNeverOverdraw(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		const start = 2_000_000
		a := metered(t, db, start)
		const replicas, workers = 3, 12
		var leds [replicas]*Ledger
		var recs [replicas]*syncRecorder
		for i := range leds {
			leds[i], recs[i] = openLedger(t, db, t.TempDir(), Options{LeaseSize: 100_000, IdleReturn: 20 * time.Millisecond})
		}
		var charged, served, refused atomic.Int64
		var seq atomic.Int64
		stop := make(chan struct{})
		var watch sync.WaitGroup
		watch.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, unlent := balance(t, db, a.ID); unlent < 0 {
					t.Errorf("the balance went below zero: %d", unlent)
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
		var wg sync.WaitGroup
		deadline := time.Now().Add(2 * time.Second)
		for w := range replicas * workers {
			led, rec := leds[w%replicas], recs[w%replicas]
			wg.Go(func() {
				for time.Now().Before(deadline) {
					need := ownkey.NanoUSD(1000 + rand.IntN(20_000))
					h := hold(a, fmt.Sprintf("q%d", seq.Add(1)), need)
					err := led.Reserve(ctx, h)
					if ownkey.ErrorCode(err) == ownkey.EPAYMENT {
						refused.Add(1)
						time.Sleep(time.Millisecond)
						continue
					} else if err != nil {
						t.Error(err)
						return
					}
					// The worst case: the whole hold is spent.
					charge := need
					if rand.IntN(4) == 0 {
						charge = need / 2
					}
					settle(led, rec, h, charge)
					charged.Add(int64(charge))
					served.Add(1)
				}
			})
		}
		wg.Wait()
		close(stop)
		watch.Wait()
		for _, led := range leds {
			if err := led.Close(ctx); err != nil {
				t.Fatal(err)
			}
		}
		avail, unlent := balance(t, db, a.ID)
		t.Logf("%d requests served, %d refused, %d of %d n$ charged, %d left", served.Load(), refused.Load(), charged.Load(), start, avail)
		if charged.Load() > start || avail != start-ownkey.NanoUSD(charged.Load()) || unlent != avail || avail < 0 {
			t.Fatalf("charged %d of %d; balance %d (unlent %d): want balance = start - charged >= 0", charged.Load(), start, avail, unlent)
		}
		if refused.Load() == 0 || charged.Load() < start/2 {
			t.Fatalf("the balance was not exhausted (%d charged, %d refusals): the test proves nothing", charged.Load(), refused.Load())
		}
		var stored int64
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM usage_records`).Scan(&stored); err != nil || stored != served.Load() {
			t.Fatalf("%d records stored for %d requests served (%v)", stored, served.Load(), err)
		}
	})
}

// A killed process leaves holds in its journal: the next start settles each
// at the amount it held (settlement recovered), once, and returns the old
// leases. A hold whose record was stored (its D line lost with the
// process) is not charged again.
func TestRecoverSettlesOpenHolds(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := metered(t, db, 10_000_000)
		dir := t.TempDir()
		led, rec := openLedger(t, db, dir, Options{})
		done, stored, open := hold(a, "done", 3000), hold(a, "stored", 4000), hold(a, "open", 5000)
		for _, h := range []*ownkey.Hold{done, stored, open} {
			if err := led.Reserve(ctx, h); err != nil {
				t.Fatal(err)
			}
		}
		settle(led, rec, done, 1000)
		rec.silent = true
		settle(led, rec, stored, 2000)
		led.crash() // "open" never settled

		again, _ := openLedger(t, db, dir, Options{})
		if again.Replica() != led.Replica() {
			t.Fatalf("the replica id changed: %s, then %s", led.Replica(), again.Replica())
		}
		if open, _ := db.OpenLeases(ctx, led.Replica()); len(open) != 0 {
			t.Fatalf("the old lease is still open: %+v", open)
		}
		recs, _ := db.UsageRecords(ctx, a.ID, 10)
		byID := map[string]*ownkey.UsageRecord{}
		for _, r := range recs {
			byID[r.RequestID] = r
		}
		if len(recs) != 3 || byID["done"].Charge.Charged != 1000 || byID["stored"].Charge.Charged != 2000 ||
			byID["stored"].Settlement != ownkey.SettlementSettled {
			t.Fatalf("records %v", recs)
		}
		r := byID["open"]
		if r == nil || r.Settlement != ownkey.SettlementRecovered || r.Charge.Charged != 5000 || r.Reserved != 5000 ||
			r.LeaseID != open.LeaseID || r.ErrorCode != CodeRecovered || r.Usage.Source != ownkey.UsageEstimated ||
			r.Usage.PromptTokens != 1100 || r.Usage.CompletionTokens != 64 || r.Charge.AtCost != 100_000 || !r.Stream {
			t.Fatalf("recovered record %+v", r)
		}
		if avail, unlent := balance(t, db, a.ID); avail != 10_000_000-8000 || unlent != avail {
			t.Fatalf("balance %d (unlent %d); want 8000 n$ charged and the lease back", avail, unlent)
		}
		// Once only: a third start finds nothing to do.
		again.crash()
		third, _ := openLedger(t, db, dir, Options{})
		_ = third
		if recs, _ := db.UsageRecords(ctx, a.ID, 10); len(recs) != 3 {
			t.Fatalf("%d records after a second recovery", len(recs))
		}
		if avail, _ := balance(t, db, a.ID); avail != 10_000_000-8000 {
			t.Fatalf("balance %d after a second recovery", avail)
		}
	})
}

// A second process on the same data directory is refused: the journal is
// one replica's.
func TestDataDirectoryIsOneReplicas(t *testing.T) {
	db := sqltest.NewSQLite(t)
	dir := t.TempDir()
	openLedger(t, db, dir, Options{})
	start := time.Now()
	c, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := Open(c, db, Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "another ownkey process") {
		t.Fatalf("second Open = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("the refusal took too long")
	}
}

// Stale leases, of a replica that never came back, are returned by the
// others; a lease a live replica uses is younger than that.
func TestStaleLeasesOfAnotherReplica(t *testing.T) {
	t.Parallel()
	db := sqltest.NewSQLite(t)
	a := metered(t, db, 1000)
	gone, _, err := db.TakeLease(ctx, a.ID, "r-gone", 100, 100, 1)
	if err != nil || gone == nil {
		t.Fatal(gone, err)
	}
	time.Sleep(30 * time.Millisecond)
	openLedger(t, db, t.TempDir(), Options{MaxLeaseAge: 5 * time.Millisecond, StaleAfter: 20 * time.Millisecond, IdleReturn: 4 * time.Millisecond})
	eventually(t, "the stale lease returned", func() bool {
		open, _ := db.OpenLeases(ctx, "r-gone")
		return len(open) == 0
	})
	if _, err := Open(ctx, db, Options{Dir: t.TempDir(), MaxLeaseAge: time.Hour, StaleAfter: time.Hour}); err == nil {
		t.Fatal("StaleAfter not above MaxLeaseAge accepted")
	}
}
