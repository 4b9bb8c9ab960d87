-- Search and list indexes: a trigram full-text table for group search (kept by triggers),
-- and the index the common "groups of a space of a type, newest first" list walks.

CREATE VIRTUAL TABLE groups_search USING fts5(group_id UNINDEXED, name_key, description, tokenize = 'trigram');
INSERT INTO groups_search (group_id, name_key, description) SELECT id, name_key, COALESCE(description, '') FROM groups;

CREATE TRIGGER groups_search_insert AFTER INSERT ON groups BEGIN
    INSERT INTO groups_search (group_id, name_key, description) VALUES (new.id, new.name_key, COALESCE(new.description, ''));
END;
CREATE TRIGGER groups_search_update AFTER UPDATE OF name_key, description ON groups BEGIN
    DELETE FROM groups_search WHERE group_id = old.id;
    INSERT INTO groups_search (group_id, name_key, description) VALUES (new.id, new.name_key, COALESCE(new.description, ''));
END;
CREATE TRIGGER groups_search_delete AFTER DELETE ON groups BEGIN
    DELETE FROM groups_search WHERE group_id = old.id;
END;

CREATE INDEX groups_space_type_created ON groups (space_id, type, created_at, id);
CREATE INDEX users_search_name ON users (username_key);
