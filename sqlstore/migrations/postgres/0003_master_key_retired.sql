-- A retired master key version seals no new credential: PutCredential refuses
-- it, so that rotate-master-key --prune can remove it from the key file once
-- no row uses it, without racing a server that still had it as newest.
ALTER TABLE master_key_checks ADD COLUMN retired_at TIMESTAMPTZ;
