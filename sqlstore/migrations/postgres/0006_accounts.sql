-- Unique account names, API key daily limits, spend caps on provider keys.
-- Keep in step with migrations/sqlite/0006_accounts.sql, which explains
-- name_key and the Go step around this file (migrate_accounts.go).
ALTER TABLE accounts ADD COLUMN name_key TEXT;
CREATE UNIQUE INDEX accounts_name_key_idx ON accounts (name_key);

ALTER TABLE api_keys ADD COLUMN usd_day_limit_nano BIGINT CHECK (usd_day_limit_nano >= 0);
ALTER TABLE api_keys ADD COLUMN requests_day_limit BIGINT CHECK (requests_day_limit >= 0);

ALTER TABLE provider_credentials ADD COLUMN cap_day_nano BIGINT CHECK (cap_day_nano >= 0);
ALTER TABLE provider_credentials ADD COLUMN cap_month_nano BIGINT CHECK (cap_month_nano >= 0);
