-- A membership's open period of activity lives on its own row (`active_since`, set while it
-- is active); membership_history keeps the closed periods only. Adding a member writes one
-- row, not two, and the index that found the open history row goes.
ALTER TABLE memberships ADD COLUMN active_since BIGINT;
UPDATE memberships SET active_since = (
    SELECT MAX(h.active_from) FROM membership_history h
    WHERE h.group_id = memberships.group_id AND h.user_id = memberships.user_id AND h.active_to IS NULL
) WHERE status = 'active';
UPDATE memberships SET active_since = joined_at WHERE status = 'active' AND active_since IS NULL;
DELETE FROM membership_history WHERE active_to IS NULL;
DROP INDEX membership_history_open;

-- Most memberships never expire: the expiry index holds only those that do.
DROP INDEX memberships_expiry;
CREATE INDEX memberships_expiry ON memberships (expires_at) WHERE expires_at IS NOT NULL;
