-- Keep in step with migrations/sqlite/0007_platform.sql.

CREATE TABLE platform_credentials (
    account_id   BIGINT      NOT NULL DEFAULT -1 CHECK (account_id = -1),
    provider     TEXT        NOT NULL,
    key_version  BIGINT      NOT NULL CHECK (key_version BETWEEN 0 AND 4294967295),
    sealed       BYTEA       NOT NULL,
    suffix       TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    cap_day_nano   BIGINT CHECK (cap_day_nano >= 0),
    cap_month_nano BIGINT CHECK (cap_month_nano >= 0),
    PRIMARY KEY (account_id, provider)
);
