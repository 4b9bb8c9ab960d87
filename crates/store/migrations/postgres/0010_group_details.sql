-- A group's own permissions and collection grants are also kept on its row, as JSON (NULL
-- when it has none): a group is read, alone or in a page, in one row lookup. The tables
-- stay for what looks groups up by permission or collection (filters, the catalogue, the
-- access index); one store function writes both forms.
ALTER TABLE groups ADD COLUMN permissions TEXT;
ALTER TABLE groups ADD COLUMN collections TEXT;
UPDATE groups g SET permissions = x.list
FROM (SELECT group_id, json_agg(permission ORDER BY position)::text AS list FROM group_permissions GROUP BY group_id) x
WHERE x.group_id = g.id;
UPDATE groups g SET collections = x.list
FROM (
    SELECT group_id, json_agg(json_build_object(
        'id', collection_id, 'read_only', read_only <> 0, 'hide_passwords', hide_passwords <> 0, 'manage', manage <> 0) ORDER BY position)::text AS list
    FROM group_collections GROUP BY group_id
) x
WHERE x.group_id = g.id;
