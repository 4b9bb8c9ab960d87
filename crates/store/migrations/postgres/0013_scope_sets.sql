-- Scope sets: named bundles of API scopes attached to groups; every effective member of a
-- group holds its sets' scopes on the scoped admin API. Site-level sets are kept under the
-- space key ''. Names are unique at their level, any case.
CREATE TABLE scope_sets (
    id TEXT PRIMARY KEY,
    space_key TEXT NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    description TEXT,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX scope_sets_name_key_uq ON scope_sets (space_key, name_key);
CREATE TABLE group_scope_sets (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    scope_set_id TEXT NOT NULL REFERENCES scope_sets (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, scope_set_id)
);
CREATE INDEX group_scope_sets_set ON group_scope_sets (scope_set_id);
