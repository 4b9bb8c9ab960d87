-- Search and list indexes: trigram indexes for group search (pg_trgm, when the server has
-- it; without it search still works, by scanning), and the index the common "groups of a
-- space of a type, newest first" list walks.

DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available: group search will scan';
END $$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX groups_name_trgm ON groups USING gin (name_key gin_trgm_ops);
        CREATE INDEX groups_description_trgm ON groups USING gin (lower(description) gin_trgm_ops);
    END IF;
END $$;

CREATE INDEX groups_space_type_created ON groups (space_id, type, created_at, id);
CREATE INDEX users_search_name ON users (username_key);
