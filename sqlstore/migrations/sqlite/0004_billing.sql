-- Billing (docs/ARCHITECTURE.md, "Billing"): the usage record becomes the
-- request's ledger entry, balances are lent to replicas in leases, and
-- every administrator's credit or debit is a row of its own.
--
-- The money columns of a usage record: what the usage costs at the
-- provider's price (at_cost_nano) and what ownkey charges (charged_nano,
-- markup_ppm of the markup base), which price it was billed at
-- (price_basis: catalog, free_model, free_no_paid_rate, fallback; '' for
-- records written before billing), whether the user's own key served it,
-- how much was held before the upstream call (reserved_nano) and from which
-- lease (lease_id, NULL for none), and whether the request's own usage was
-- priced ('settled') or the process died and a later start settled it at
-- the amount held ('recovered'). Records written before billing were never
-- charged: zero, BYOK, settled.
ALTER TABLE usage_records ADD COLUMN at_cost_nano INTEGER NOT NULL DEFAULT 0 CHECK (at_cost_nano >= 0);
ALTER TABLE usage_records ADD COLUMN charged_nano INTEGER NOT NULL DEFAULT 0 CHECK (charged_nano >= 0);
ALTER TABLE usage_records ADD COLUMN markup_ppm INTEGER NOT NULL DEFAULT 0 CHECK (markup_ppm >= 0);
ALTER TABLE usage_records ADD COLUMN price_basis TEXT NOT NULL DEFAULT '';
ALTER TABLE usage_records ADD COLUMN is_byok INTEGER NOT NULL DEFAULT 1 CHECK (is_byok IN (0, 1));
ALTER TABLE usage_records ADD COLUMN reserved_nano INTEGER NOT NULL DEFAULT 0 CHECK (reserved_nano >= 0);
ALTER TABLE usage_records ADD COLUMN settlement TEXT NOT NULL DEFAULT 'settled' CHECK (settlement IN ('settled', 'recovered'));
ALTER TABLE usage_records ADD COLUMN lease_id INTEGER;

-- Accounts that existed before billing were never billed: they stay
-- unmetered. New accounts say what they are (metered unless created
-- unmetered).
ALTER TABLE accounts ADD COLUMN metered INTEGER NOT NULL DEFAULT 0 CHECK (metered IN (0, 1));

-- accounts.balance_nano_usd is the money not lent out. A replica takes a
-- lease (amount_nano) from it in one transaction, reserves requests against
-- the lease in memory, and the transaction that stores each usage record
-- adds its charge to spent_nano. Returning the lease gives amount - spent
-- back. No foreign key from usage_records.lease_id: a queued batch of
-- records must not be refused over a lease.
CREATE TABLE balance_leases (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    replica     TEXT    NOT NULL,
    amount_nano INTEGER NOT NULL CHECK (amount_nano >= 0),
    spent_nano  INTEGER NOT NULL DEFAULT 0 CHECK (spent_nano >= 0),
    created_at  INTEGER NOT NULL,
    returned_at INTEGER
) STRICT;

CREATE INDEX balance_leases_open_account_idx ON balance_leases (account_id) WHERE returned_at IS NULL;
CREATE INDEX balance_leases_open_replica_idx ON balance_leases (replica) WHERE returned_at IS NULL;

-- Credits (amount > 0) and debits (amount < 0) by an administrator, and
-- the starting credit of new accounts: each written in the transaction
-- that changes the balance.
CREATE TABLE balance_adjustments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    amount_nano INTEGER NOT NULL CHECK (amount_nano <> 0),
    reason      TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX balance_adjustments_account_idx ON balance_adjustments (account_id, created_at DESC, id DESC);
