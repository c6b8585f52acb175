-- Nothing on PostgreSQL: migration 9 drops usage_records' CHECK
-- constraints on SQLite only, where evaluating them was a third of the
-- cost of an insert (see the SQLite migration). Here they stay.
SELECT 1;
