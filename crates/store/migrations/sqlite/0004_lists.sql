-- Indexes for the orders the other lists walk.

CREATE INDEX spaces_created ON spaces (created_at, id);

-- User search (username, email, full name): a trigram full-text table kept by triggers.
CREATE VIRTUAL TABLE users_search USING fts5(user_id UNINDEXED, username_key, email_key, full_name, tokenize = 'trigram');
INSERT INTO users_search (user_id, username_key, email_key, full_name)
    SELECT id, username_key, COALESCE(email_key, ''), COALESCE(full_name, '') FROM users;

CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (user_id, username_key, email_key, full_name)
        VALUES (new.id, new.username_key, COALESCE(new.email_key, ''), COALESCE(new.full_name, ''));
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF username_key, email_key, full_name ON users BEGIN
    DELETE FROM users_search WHERE user_id = old.id;
    INSERT INTO users_search (user_id, username_key, email_key, full_name)
        VALUES (new.id, new.username_key, COALESCE(new.email_key, ''), COALESCE(new.full_name, ''));
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    DELETE FROM users_search WHERE user_id = old.id;
END;
