-- Cohort's first schema. Booleans are INTEGER 0/1 and instants are integer milliseconds,
-- as in the PostgreSQL twin of this file.

CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters (name, value) VALUES ('users', 0), ('groups', 0), ('changes', 0);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    num INTEGER NOT NULL UNIQUE,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL,
    email TEXT,
    email_key TEXT,
    full_name TEXT,
    avatar_url TEXT,
    external_id TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    site_role TEXT NOT NULL DEFAULT 'user',
    password_hash TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_username_key_uq ON users (username_key);
CREATE UNIQUE INDEX users_email_key_uq ON users (email_key);
CREATE UNIQUE INDEX users_external_id_uq ON users (external_id);
CREATE INDEX users_created ON users (created_at, id);

CREATE TABLE spaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    description TEXT,
    created_at INTEGER NOT NULL,
    created_by TEXT,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX spaces_name_key_uq ON spaces (name_key);

CREATE TABLE space_moderators (
    space_id TEXT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (space_id, user_id)
);
CREATE INDEX space_moderators_user ON space_moderators (user_id);

CREATE TABLE groups (
    id TEXT PRIMARY KEY,
    num INTEGER NOT NULL UNIQUE,
    space_id TEXT NOT NULL REFERENCES spaces (id),
    parent_id TEXT REFERENCES groups (id),
    parent_key TEXT NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    description TEXT,
    type TEXT NOT NULL,
    visibility TEXT NOT NULL,
    external_id TEXT,
    access_all INTEGER NOT NULL DEFAULT 0,
    allow_join_requests INTEGER NOT NULL DEFAULT 1,
    require_approval INTEGER NOT NULL DEFAULT 0,
    max_members INTEGER,
    inherit_permissions INTEGER NOT NULL DEFAULT 0,
    inherit_members INTEGER NOT NULL DEFAULT 0,
    active_members INTEGER NOT NULL DEFAULT 0,
    owner_count INTEGER NOT NULL DEFAULT 0,
    depth INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    created_by TEXT,
    updated_at INTEGER NOT NULL,
    updated_by TEXT,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX groups_name_key_uq ON groups (space_id, parent_key, name_key);
CREATE UNIQUE INDEX groups_external_id_uq ON groups (space_id, external_id);
CREATE INDEX groups_parent ON groups (parent_id);
CREATE INDEX groups_created ON groups (created_at, id);
CREATE INDEX groups_space_created ON groups (space_id, created_at, id);

CREATE TABLE group_permissions (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (group_id, permission)
);
CREATE INDEX group_permissions_permission ON group_permissions (permission);

CREATE TABLE group_collections (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    collection_id TEXT NOT NULL,
    read_only INTEGER NOT NULL DEFAULT 0,
    hide_passwords INTEGER NOT NULL DEFAULT 0,
    manage INTEGER NOT NULL DEFAULT 0,
    position INTEGER NOT NULL,
    PRIMARY KEY (group_id, collection_id)
);
CREATE INDEX group_collections_collection ON group_collections (collection_id);

CREATE TABLE memberships (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    permissions TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL,
    joined_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_active INTEGER,
    added_by TEXT,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX memberships_group_user_uq ON memberships (group_id, user_id);
CREATE INDEX memberships_user_group ON memberships (user_id, group_id);
CREATE INDEX memberships_group_joined ON memberships (group_id, joined_at, id);

CREATE TABLE auth_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE UNIQUE INDEX auth_tokens_hash_uq ON auth_tokens (token_hash);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    prefix TEXT NOT NULL,
    scopes TEXT NOT NULL,
    owner_user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    space_id TEXT REFERENCES spaces (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    created_by TEXT,
    expires_at INTEGER,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE UNIQUE INDEX api_keys_hash_uq ON api_keys (key_hash);
CREATE INDEX api_keys_owner ON api_keys (owner_user_id);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    group_id TEXT,
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_group ON audit_events (group_id, at);
CREATE INDEX audit_events_actor ON audit_events (actor_id, at);
CREATE INDEX audit_events_action ON audit_events (action, at);

CREATE TABLE change_log (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    group_id TEXT,
    user_id TEXT
);

CREATE TABLE idempotency_keys (
    caller TEXT NOT NULL,
    key TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (caller, key)
);

INSERT INTO spaces (id, name, name_key, description, created_at, updated_at)
VALUES ('spc_default', 'default', 'default', 'The default space', 0, 0);
