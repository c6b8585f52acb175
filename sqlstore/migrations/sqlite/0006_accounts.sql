-- Unique account names, API key daily limits, spend caps on provider keys.
-- Keep in step with migrations/postgres/0006_accounts.sql.
--
-- Account names are unique ignoring case: name_key holds the name
-- case-folded by ownkey.NameKey, in Go, so that both back ends fold alike
-- (SQLite's lower() folds ASCII only). Before this file runs, a Go step
-- (migrate_accounts.go) refuses to go on when existing names collide,
-- naming them; after it, the same step fills name_key for existing rows.
-- NULLs do not collide in a UNIQUE index, so the index can be created
-- before they are filled.
ALTER TABLE accounts ADD COLUMN name_key TEXT;
CREATE UNIQUE INDEX accounts_name_key_idx ON accounts (name_key);

-- Daily limits of an API key (the UTC day), NULL for none: on the amount
-- charged, in nano-USD, and on the number of requests.
ALTER TABLE api_keys ADD COLUMN usd_day_limit_nano INTEGER CHECK (usd_day_limit_nano >= 0);
ALTER TABLE api_keys ADD COLUMN requests_day_limit INTEGER CHECK (requests_day_limit >= 0);

-- Caps on the at-cost spend sent through a stored provider key per UTC day
-- and calendar month, in nano-USD, NULL for none.
ALTER TABLE provider_credentials ADD COLUMN cap_day_nano INTEGER CHECK (cap_day_nano >= 0);
ALTER TABLE provider_credentials ADD COLUMN cap_month_nano INTEGER CHECK (cap_month_nano >= 0);
