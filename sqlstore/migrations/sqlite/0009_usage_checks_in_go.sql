-- usage_records without its CHECK constraints, on SQLite only. Every value
-- they held is checked before the insert by sqlstore.validateUsage (the
-- same rules: no negative tokens or amounts, a known usage source and
-- settlement; the 0/1 columns are written from Go booleans), and no other
-- code writes the table. Evaluated by SQLite for each row, the thirteen
-- checks cost about 5 µs of the 18 µs a record took to insert, the largest
-- single part of the gateway's own CPU per request (bench/RESULTS.md,
-- 2026-11-30). PostgreSQL keeps them: there they cost next to nothing.
--
-- SQLite cannot drop a constraint: the table is rebuilt (its rows and ids
-- copied, AUTOINCREMENT's high-water mark following them) and its index
-- made again. Nothing references usage_records, so the rename leaves no
-- dangling reference.

CREATE TABLE usage_records_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id          TEXT    NOT NULL UNIQUE,
    account_id          INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    api_key_id          INTEGER NOT NULL,
    provider            TEXT    NOT NULL,
    model_requested     TEXT    NOT NULL,
    model_served        TEXT    NOT NULL,
    prompt_tokens       INTEGER NOT NULL DEFAULT 0,
    completion_tokens   INTEGER NOT NULL DEFAULT 0,
    cached_tokens       INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens  INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens    INTEGER NOT NULL DEFAULT 0,
    usage_source        TEXT    NOT NULL,
    stream              INTEGER NOT NULL,
    status              INTEGER NOT NULL,
    error_code          TEXT    NOT NULL DEFAULT '',
    upstream_latency_us INTEGER NOT NULL DEFAULT 0,
    ttfb_us             INTEGER NOT NULL DEFAULT 0,
    client_disconnected INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    at_cost_nano        INTEGER NOT NULL DEFAULT 0,
    charged_nano        INTEGER NOT NULL DEFAULT 0,
    markup_ppm          INTEGER NOT NULL DEFAULT 0,
    price_basis         TEXT    NOT NULL DEFAULT '',
    is_byok             INTEGER NOT NULL DEFAULT 1,
    reserved_nano       INTEGER NOT NULL DEFAULT 0,
    settlement          TEXT    NOT NULL DEFAULT 'settled',
    lease_id            INTEGER
) STRICT;

INSERT INTO usage_records_new (id, request_id, account_id, api_key_id, provider, model_requested, model_served,
    prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, usage_source, stream,
    status, error_code, upstream_latency_us, ttfb_us, client_disconnected, created_at, at_cost_nano, charged_nano,
    markup_ppm, price_basis, is_byok, reserved_nano, settlement, lease_id)
SELECT id, request_id, account_id, api_key_id, provider, model_requested, model_served,
    prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, usage_source, stream,
    status, error_code, upstream_latency_us, ttfb_us, client_disconnected, created_at, at_cost_nano, charged_nano,
    markup_ppm, price_basis, is_byok, reserved_nano, settlement, lease_id
FROM usage_records;

DROP TABLE usage_records;
ALTER TABLE usage_records_new RENAME TO usage_records;
CREATE INDEX usage_records_account_idx ON usage_records (account_id, created_at DESC, id DESC);
