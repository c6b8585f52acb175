-- A stored key its provider refuses (401/403 on a chat request) is shown as
-- failing in the key list, with when, the provider's status and its message
-- (secrets scrubbed), until the key is replaced (PutCredential writes NULLs)
-- or a later request with it succeeds. The vault writes these columns only
-- when the state changes, in the background. Keep in step with
-- migrations/postgres/0008_key_failure.sql.

ALTER TABLE provider_credentials ADD COLUMN failed_at INTEGER;
ALTER TABLE provider_credentials ADD COLUMN failure_status INTEGER;
ALTER TABLE provider_credentials ADD COLUMN failure_message TEXT;
ALTER TABLE platform_credentials ADD COLUMN failed_at INTEGER;
ALTER TABLE platform_credentials ADD COLUMN failure_status INTEGER;
ALTER TABLE platform_credentials ADD COLUMN failure_message TEXT;
