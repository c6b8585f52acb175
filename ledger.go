package ownkey

import (
	"context"
	"time"
)

// The ledger: where a request's money is held before it is sent upstream
// and settled after (package billing; the design is in docs/ARCHITECTURE.md,
// "Billing").

// Settlement says how a request's charge was settled.
type Settlement string

const (
	// SettlementSettled: the request's own usage was priced.
	SettlementSettled Settlement = "settled"
	// SettlementRecovered: the process serving the request died before
	// settling it; a later start settled it at the amount reserved.
	SettlementRecovered Settlement = "recovered"
)

// Hold is one request's reservation against its account's balance: the
// most it may cost, held from before the upstream call until the request
// is settled.
type Hold struct {
	RequestID string
	AccountID int64
	APIKeyID  int64
	Provider  string
	Model     string
	Stream    bool
	// Bound is the usage the amount was priced from: a conservative most
	// (see billing.Bound), and Charge its price.
	Bound  Usage
	Charge Charge
	// LeaseID is the balance lease the amount is held in (set by Reserve).
	LeaseID int64
}

// Amount is what the hold reserves: Charge.Charged, and at least one
// nano-dollar, so that a metered account needs money to be served even
// for a request priced at zero (a model without a price yet).
func (h *Hold) Amount() NanoUSD { return max(h.Charge.Charged, 1) }

// Ledger holds and settles requests' money (billing.Ledger).
type Ledger interface {
	// Reserve holds h.Amount() against h.AccountID's balance and sets
	// h.LeaseID; it fails with an EPAYMENT error (402
	// insufficient_balance, naming the amount required) when the balance
	// cannot cover it. Once it returns nil, the hold must be settled.
	Reserve(ctx context.Context, h *Hold) error
	// Settle releases h: rec, the request's usage record, carries the
	// charge (Charge, Reserved, LeaseID); the caller records rec
	// afterwards, and the charge is taken from the lease in the same
	// transaction that stores the record.
	Settle(h *Hold, rec *UsageRecord)
}

// Pricer prices an answer when it ends, so that the cost a client reads in
// the answer is the charge the ledger settles. The chat service sets one on
// each request (ChatRequest.Pricer) when billing is on; the code that
// writes the answer's usage (provider.Answer's End, the OpenAI-compatible
// pass-through) calls it just before.
type Pricer interface {
	// Price fixes res's usage (res.Usage as the provider reported it, or
	// an estimate from the request and the output counted so far when it
	// reported none) and its charge, keeping both in res (Usage, Charge,
	// Priced). Called again, it returns the charge already fixed.
	Price(req *ChatRequest, res *ChatResult) Charge
}

// Lease is money a replica took from an account's balance to reserve
// requests against in memory; what it does not spend goes back.
type Lease struct {
	ID        int64
	AccountID int64
	Replica   string
	Amount    NanoUSD
	Spent     NanoUSD
	CreatedAt time.Time
	// ReturnedAt is set once Amount - Spent went back to the balance.
	ReturnedAt *time.Time
}

// BalanceAdjustment is an administrator's credit (Amount > 0) or debit
// (Amount < 0) of an account's balance, kept as a ledger row.
type BalanceAdjustment struct {
	ID        int64     `json:"id"`
	AccountID int64     `json:"account_id"`
	Amount    NanoUSD   `json:"amount_nano_usd"`
	Reason    string    `json:"reason"`
	Actor     string    `json:"actor"`
	CreatedAt time.Time `json:"created_at"`
}

// LedgerStore keeps balances, leases and adjustments (sqlstore.DB). Every
// method is one transaction.
type LedgerStore interface {
	// TakeLease moves money from the account's balance into a new lease
	// of replica, atomically (the balance never goes below zero, whatever
	// other replicas do meanwhile): want, or a share of the balance
	// (balance/share) if that is less, but at least need. When the balance
	// is below need it takes nothing and returns a nil lease and the
	// balance.
	TakeLease(ctx context.Context, accountID int64, replica string, need, want NanoUSD, share int64) (*Lease, NanoUSD, error)
	// ReturnLease gives the lease's unspent amount (Amount - Spent, which
	// may be negative) back to the balance and marks it returned; a lease
	// already returned is left alone.
	ReturnLease(ctx context.Context, leaseID int64) error
	// OpenLeases lists replica's leases not returned yet.
	OpenLeases(ctx context.Context, replica string) ([]*Lease, error)
	// ReturnStaleLeases returns every lease, of any replica, taken before
	// createdBefore and not returned yet: leases of a replica that never
	// came back. It reports how many.
	ReturnStaleLeases(ctx context.Context, createdBefore time.Time) (int, error)
	// Balance is what the account can spend: its balance plus the unspent
	// part of its open leases.
	Balance(ctx context.Context, accountID int64) (NanoUSD, error)
	// AdjustBalance adds adj.Amount to the account's balance and stores
	// adj, in one transaction; it sets adj.ID and adj.CreatedAt and
	// returns the balance after it.
	AdjustBalance(ctx context.Context, adj *BalanceAdjustment) (NanoUSD, error)
	// BalanceAdjustments lists an account's adjustments, newest first.
	BalanceAdjustments(ctx context.Context, accountID int64, limit int) ([]*BalanceAdjustment, error)
}

// BalanceService is the balance as the HTTP layer sees it (billing.Ledger).
type BalanceService interface {
	// Balance is what the account can spend (LedgerStore.Balance).
	Balance(ctx context.Context, accountID int64) (NanoUSD, error)
	// AdjustBalance credits or debits an account (LedgerStore.AdjustBalance).
	AdjustBalance(ctx context.Context, adj *BalanceAdjustment) (NanoUSD, error)
}
