-- The audit event a change-log row records, so the change feed finds it exactly. Rows
-- written before this step have none: the feed serves them with what the row says.
ALTER TABLE change_log ADD COLUMN event_id TEXT;
