-- One row per chat request that passed authentication. request_id is UNIQUE
-- so that the recorder can retry a batch without counting a request twice.
-- Durations are whole microseconds; stream and client_disconnected are 0/1.
--
-- api_key_id has no foreign key on purpose: keys are revoked, never
-- deleted, and a second constraint would be one more way for a queued batch
-- of records to be refused. Billing will add its columns in a later
-- migration.

CREATE TABLE usage_records (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id          TEXT    NOT NULL UNIQUE,
    account_id          INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    api_key_id          INTEGER NOT NULL,
    provider            TEXT    NOT NULL,
    model_requested     TEXT    NOT NULL,
    model_served        TEXT    NOT NULL,
    prompt_tokens       INTEGER NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens   INTEGER NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    cached_tokens       INTEGER NOT NULL DEFAULT 0 CHECK (cached_tokens >= 0),
    cache_write_tokens  INTEGER NOT NULL DEFAULT 0 CHECK (cache_write_tokens >= 0),
    reasoning_tokens    INTEGER NOT NULL DEFAULT 0 CHECK (reasoning_tokens >= 0),
    usage_source        TEXT    NOT NULL CHECK (usage_source IN ('provider', 'estimate', 'none')),
    stream              INTEGER NOT NULL CHECK (stream IN (0, 1)),
    status              INTEGER NOT NULL,
    error_code          TEXT    NOT NULL DEFAULT '',
    upstream_latency_us INTEGER NOT NULL DEFAULT 0,
    ttfb_us             INTEGER NOT NULL DEFAULT 0,
    client_disconnected INTEGER NOT NULL DEFAULT 0 CHECK (client_disconnected IN (0, 1)),
    created_at          INTEGER NOT NULL
) STRICT;

CREATE INDEX usage_records_account_idx ON usage_records (account_id, created_at DESC, id DESC);
