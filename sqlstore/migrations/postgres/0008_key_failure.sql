-- Keep in step with migrations/sqlite/0008_key_failure.sql, which says why.

ALTER TABLE provider_credentials
    ADD COLUMN failed_at       TIMESTAMPTZ,
    ADD COLUMN failure_status  INTEGER,
    ADD COLUMN failure_message TEXT;
ALTER TABLE platform_credentials
    ADD COLUMN failed_at       TIMESTAMPTZ,
    ADD COLUMN failure_status  INTEGER,
    ADD COLUMN failure_message TEXT;
