-- A group's active owners, found without walking all its members (PocketBase shows them
-- as each group's moderators on every list).
CREATE INDEX memberships_owners ON memberships (group_id, joined_at) WHERE role = 'owner' AND status = 'active';
