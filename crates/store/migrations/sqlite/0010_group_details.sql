-- A group's own permissions and collection grants are also kept on its row, as JSON (NULL
-- when it has none): a group is read, alone or in a page, in one row lookup. The tables
-- stay for what looks groups up by permission or collection (filters, the catalogue, the
-- access index); one store function writes both forms.
ALTER TABLE groups ADD COLUMN permissions TEXT;
ALTER TABLE groups ADD COLUMN collections TEXT;
UPDATE groups SET permissions = (
    SELECT json_group_array(permission) FROM (SELECT permission FROM group_permissions p WHERE p.group_id = groups.id ORDER BY position)
) WHERE EXISTS (SELECT 1 FROM group_permissions p WHERE p.group_id = groups.id);
UPDATE groups SET collections = (
    SELECT json_group_array(json_object(
        'id', collection_id,
        'read_only', json(CASE WHEN read_only <> 0 THEN 'true' ELSE 'false' END),
        'hide_passwords', json(CASE WHEN hide_passwords <> 0 THEN 'true' ELSE 'false' END),
        'manage', json(CASE WHEN manage <> 0 THEN 'true' ELSE 'false' END)))
    FROM (SELECT * FROM group_collections k WHERE k.group_id = groups.id ORDER BY position)
) WHERE EXISTS (SELECT 1 FROM group_collections k WHERE k.group_id = groups.id);
