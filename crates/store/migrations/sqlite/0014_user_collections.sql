-- Collections granted to a user directly rather than through a group (seed 001's direct
-- assignment): merged with the user's groups' grants, the highest level winning. space_key
-- is the space whose moderators may grant it ('' for one the site granted).
CREATE TABLE user_collections (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    collection_id TEXT NOT NULL,
    space_key TEXT NOT NULL,
    read_only INTEGER NOT NULL,
    hide_passwords INTEGER NOT NULL,
    manage INTEGER NOT NULL,
    granted_at INTEGER NOT NULL,
    granted_by TEXT,
    PRIMARY KEY (user_id, collection_id)
);
