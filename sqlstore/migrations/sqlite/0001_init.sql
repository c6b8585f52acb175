-- Times are INTEGER unix nanoseconds, UTC, truncated to the microsecond so
-- that they match what PostgreSQL stores. STRICT makes SQLite refuse a value
-- of the wrong type (a time written as text, say) instead of storing it.

CREATE TABLE accounts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT    NOT NULL,
    role             TEXT    NOT NULL CHECK (role IN ('admin', 'user')),
    balance_nano_usd INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    hash         BLOB    NOT NULL UNIQUE,
    last4        TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;

CREATE INDEX api_keys_account_idx ON api_keys (account_id, created_at, id);

CREATE TABLE provider_credentials (
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider     TEXT    NOT NULL,
    key_version  INTEGER NOT NULL CHECK (key_version BETWEEN 0 AND 4294967295),
    sealed       BLOB    NOT NULL,
    suffix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    PRIMARY KEY (account_id, provider)
) STRICT;

CREATE INDEX provider_credentials_key_version_idx ON provider_credentials (key_version);

CREATE TABLE master_key_checks (
    version     INTEGER PRIMARY KEY CHECK (version BETWEEN 0 AND 4294967295),
    check_value BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
