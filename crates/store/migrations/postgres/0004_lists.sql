-- Indexes for the orders the other lists walk.

CREATE INDEX spaces_created ON spaces (created_at, id);

-- User search (username, email, full name): trigram indexes on the expressions the search's
-- LIKE tests, when the server has pg_trgm (0003 tried to enable it).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX users_username_trgm ON users USING gin (username_key gin_trgm_ops);
        CREATE INDEX users_email_trgm ON users USING gin (email_key gin_trgm_ops);
        CREATE INDEX users_full_name_trgm ON users USING gin (lower(full_name) gin_trgm_ops);
    END IF;
END $$;
