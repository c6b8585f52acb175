-- The platform's own provider keys (platform keys): one per provider, sealed
-- by the vault like the accounts' keys, for the owner id -1
-- (ownkey.PlatformOwner), which no account has. They have a table of their
-- own so that no query over an account's keys can ever return one; its
-- columns are provider_credentials' (spend caps included, always null
-- here) so that the same code reads both and
-- master key rotation covers both. account_id is always -1 and has no
-- foreign key: no account owns these.

CREATE TABLE platform_credentials (
    account_id   INTEGER NOT NULL DEFAULT -1 CHECK (account_id = -1),
    provider     TEXT    NOT NULL,
    key_version  INTEGER NOT NULL CHECK (key_version BETWEEN 0 AND 4294967295),
    sealed       BLOB    NOT NULL,
    suffix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    cap_day_nano   INTEGER CHECK (cap_day_nano >= 0),
    cap_month_nano INTEGER CHECK (cap_month_nano >= 0),
    PRIMARY KEY (account_id, provider)
) STRICT;
