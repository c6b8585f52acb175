package sqlstore_test

import (
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

func meteredAccount(t *testing.T, db *sqlstore.DB, name string, balance ownkey.NanoUSD) *ownkey.Account {
	t.Helper()
	a := &ownkey.Account{Name: name, Metered: true, Balance: balance}
	if err := db.CreateAccount(ctx, a, nil); err != nil {
		t.Fatalf("CreateAccount(%s): %v", name, err)
	}
	return a
}

func wantBalance(t *testing.T, db *sqlstore.DB, accountID int64, want ownkey.NanoUSD) {
	t.Helper()
	got, err := db.Balance(ctx, accountID)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Balance = %d, want %d", got, want)
	}
	a, err := db.Account(ctx, accountID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Balance != want {
		t.Fatalf("Account.Balance = %d, want %d (the available balance, as Balance)", a.Balance, want)
	}
}

// charged is a usage record that settles charge against lease.
func charged(accountID, lease int64, requestID string, charge ownkey.NanoUSD) *ownkey.UsageRecord {
	r := usageRecord(accountID, requestID, t0)
	r.Charge = ownkey.Charge{AtCost: charge * 20, Charged: charge, Markup: ownkey.DefaultBYOKMarkup, Basis: ownkey.PriceCatalog, BYOK: true}
	r.Reserved, r.LeaseID = charge*2, lease
	return r
}

// The life of a lease: taken from the balance, charged by the records
// stored against it (once each, however often they are written), returned
// with its rest; a record stored after that is taken from the balance.
func TestLeaseLifecycle(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := meteredAccount(t, db, "a", 1000)
		if !a.Metered {
			t.Fatal("metered lost")
		}
		got, err := db.Account(ctx, a.ID)
		if err != nil || !got.Metered || got.Balance != 1000 {
			t.Fatalf("Account = %+v, %v; want metered with 1000", got, err)
		}

		// A quarter of the balance, since that is less than wanted.
		l, bal, err := db.TakeLease(ctx, a.ID, "r1", 10, 1000, 4)
		if err != nil || l == nil || l.Amount != 250 || l.AccountID != a.ID || l.Replica != "r1" || bal != 1000 {
			t.Fatalf("TakeLease = %+v, %d, %v; want a lease of 250 from 1000", l, bal, err)
		}
		wantBalance(t, db, a.ID, 1000) // lent, not spent
		open, err := db.OpenLeases(ctx, "r1")
		if err != nil || len(open) != 1 || open[0].ID != l.ID || open[0].Amount != 250 || open[0].Spent != 0 || open[0].ReturnedAt != nil {
			t.Fatalf("OpenLeases = %+v, %v", open, err)
		}
		if other, _ := db.OpenLeases(ctx, "r2"); len(other) != 0 {
			t.Fatalf("another replica's leases: %+v", other)
		}

		// At least need, even when more than the share.
		l2, _, err := db.TakeLease(ctx, a.ID, "r2", 500, 500, 4)
		if err != nil || l2 == nil || l2.Amount != 500 {
			t.Fatalf("TakeLease(need 500) = %+v, %v", l2, err)
		}
		// Never more than the balance: 250 are left.
		if l3, bal, err := db.TakeLease(ctx, a.ID, "r3", 251, 1000, 1); err != nil || l3 != nil || bal != 250 {
			t.Fatalf("TakeLease beyond the balance = %+v, %d, %v; want nothing taken and the balance 250", l3, bal, err)
		}

		// Charges go into the lease with their records, once.
		insertUsage(t, db, charged(a.ID, l.ID, "q1", 30), charged(a.ID, l.ID, "q2", 12), charged(a.ID, l2.ID, "q3", 100))
		// q1 retried beside new ones: only those are charged (and only
		// the first of two records with one request id).
		insertUsage(t, db, charged(a.ID, l.ID, "q1", 30), charged(a.ID, l.ID, "q4", 5), charged(a.ID, l.ID, "q5", 0),
			charged(a.ID, l.ID, "q4", 7))
		insertUsage(t, db, charged(a.ID, l.ID, "q1", 30), charged(a.ID, l.ID, "q2", 12))
		wantBalance(t, db, a.ID, 1000-30-12-100-5)
		leases, err := db.Leases(ctx, a.ID)
		if err != nil || len(leases) != 2 || leases[0].Spent != 47 || leases[1].Spent != 100 {
			t.Fatalf("Leases = %+v, %v; want 47 and 100 spent", leases, err)
		}
		recs := usageRecords(t, db, a.ID, 10)
		if len(recs) != 5 {
			t.Fatalf("%d records", len(recs))
		}

		// Returned: the rest goes back; returning twice changes nothing.
		for range 2 {
			if err := db.ReturnLease(ctx, l.ID); err != nil {
				t.Fatal(err)
			}
		}
		wantBalance(t, db, a.ID, 853)
		if open, _ := db.OpenLeases(ctx, "r1"); len(open) != 0 {
			t.Fatalf("returned lease still open: %+v", open)
		}
		// A charge stored after its lease went back is taken from the
		// balance itself.
		insertUsage(t, db, charged(a.ID, l.ID, "late", 8))
		wantBalance(t, db, a.ID, 845)
		leases, _ = db.Leases(ctx, a.ID)
		if leases[0].Spent != 47 || leases[0].ReturnedAt == nil {
			t.Fatalf("returned lease changed: %+v", leases[0])
		}
		// A record whose lease does not exist is stored, charging nothing.
		insertUsage(t, db, charged(a.ID, 999_999, "nolease", 8))
		wantBalance(t, db, a.ID, 845)

		if err := db.ReturnLease(ctx, l2.ID); err != nil {
			t.Fatal(err)
		}
		wantBalance(t, db, a.ID, 845)
		_, _, err = db.TakeLease(ctx, a.ID+1000, "r1", 1, 1, 1)
		wantCode(t, err, ownkey.ENOTFOUND)
	})
}

// A lease whose charges outgrew it (an answer longer than its hold
// assumed) gives back less than nothing: the balance pays the difference.
func TestReturnOverspentLease(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := meteredAccount(t, db, "a", 100)
		l, _, err := db.TakeLease(ctx, a.ID, "r1", 100, 100, 1)
		if err != nil || l == nil {
			t.Fatal(l, err)
		}
		insertUsage(t, db, charged(a.ID, l.ID, "q1", 130))
		wantBalance(t, db, a.ID, -30)
		if err := db.ReturnLease(ctx, l.ID); err != nil {
			t.Fatal(err)
		}
		wantBalance(t, db, a.ID, -30)
		if l, bal, err := db.TakeLease(ctx, a.ID, "r1", 1, 1, 1); err != nil || l != nil || bal != -30 {
			t.Fatalf("TakeLease below zero = %+v, %d, %v", l, bal, err)
		}
	})
}

func TestReturnStaleLeases(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := meteredAccount(t, db, "a", 1000)
		old, _, _ := db.TakeLease(ctx, a.ID, "gone", 100, 100, 1)
		insertUsage(t, db, charged(a.ID, old.ID, "q1", 40))
		cut := time.Now().Add(time.Second)
		time.Sleep(2 * time.Millisecond)
		young, _, _ := db.TakeLease(ctx, a.ID, "alive", 100, 100, 1)
		n, err := db.ReturnStaleLeases(ctx, old.CreatedAt.Add(time.Microsecond))
		if err != nil || n != 1 {
			t.Fatalf("ReturnStaleLeases = %d, %v; want the old lease only", n, err)
		}
		if open, _ := db.OpenLeases(ctx, "alive"); len(open) != 1 || open[0].ID != young.ID {
			t.Fatalf("the young lease was returned: %+v", open)
		}
		wantBalance(t, db, a.ID, 960)
		if n, err := db.ReturnStaleLeases(ctx, cut.Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("ReturnStaleLeases = %d, %v", n, err)
		}
		wantBalance(t, db, a.ID, 960)
	})
}

func TestAdjustBalance(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		// A starting balance is an adjustment row of its own.
		a := meteredAccount(t, db, "a", 5_000_000_000)
		adjs, err := db.BalanceAdjustments(ctx, a.ID, 10)
		if err != nil || len(adjs) != 1 || adjs[0].Amount != 5_000_000_000 || adjs[0].Reason != "starting credit" || adjs[0].Actor != "ownkey" {
			t.Fatalf("adjustments after create = %+v, %v", adjs, err)
		}
		b := createAccount(t, db, "b")
		if adjs, _ := db.BalanceAdjustments(ctx, b.ID, 10); len(adjs) != 0 {
			t.Fatalf("an account created without balance has adjustments: %+v", adjs)
		}

		l, _, _ := db.TakeLease(ctx, a.ID, "r1", 1_000_000_000, 1_000_000_000, 1)
		credit := &ownkey.BalanceAdjustment{AccountID: a.ID, Amount: 2_500_000_000, Reason: " top-up ", Actor: "admin:1", CreatedAt: t0}
		after, err := db.AdjustBalance(ctx, credit)
		if err != nil || after != 7_500_000_000 {
			t.Fatalf("credit = %d, %v; want the available balance after it, leases included", after, err)
		}
		if credit.ID == 0 || credit.Reason != "top-up" || !credit.CreatedAt.Equal(stored(t0)) {
			t.Fatalf("credit left %+v", credit)
		}
		debit := &ownkey.BalanceAdjustment{AccountID: a.ID, Amount: -7_000_000_000, Reason: "refund reversed", Actor: "cli"}
		if after, err := db.AdjustBalance(ctx, debit); err != nil || after != 500_000_000 {
			t.Fatalf("debit = %d, %v", after, err)
		}
		// The lease holds 1 of it: a debit may take the rest below zero.
		if after, err := db.AdjustBalance(ctx, &ownkey.BalanceAdjustment{AccountID: a.ID, Amount: -600_000_000, Reason: "x", Actor: "cli"}); err != nil || after != -100_000_000 {
			t.Fatalf("debit below zero = %d, %v", after, err)
		}
		_ = db.ReturnLease(ctx, l.ID)
		wantBalance(t, db, a.ID, -100_000_000)
		adjs, _ = db.BalanceAdjustments(ctx, a.ID, 10)
		// Newest first: the credit was dated t0, before the others.
		if len(adjs) != 4 || adjs[0].Amount != -600_000_000 || adjs[2].Reason != "starting credit" || adjs[3].Reason != "top-up" {
			t.Fatalf("adjustments = %+v; want four, newest first", adjs)
		}

		for _, bad := range []*ownkey.BalanceAdjustment{
			{AccountID: a.ID, Amount: 0, Reason: "x"},
			{AccountID: a.ID, Amount: 1, Reason: "  "},
			{AccountID: a.ID, Amount: 1, Reason: "x\x1b[2J"},
		} {
			_, err := db.AdjustBalance(ctx, bad)
			wantCode(t, err, ownkey.EINVALID)
		}
		_, err = db.AdjustBalance(ctx, &ownkey.BalanceAdjustment{AccountID: a.ID + 1000, Amount: 1, Reason: "x"})
		wantCode(t, err, ownkey.ENOTFOUND)
		wantBalance(t, db, a.ID, -100_000_000)
	})
}
