-- Group workflows: custom roles, join requests, invitations, posts, activity, and the
-- history of memberships (for analytics and "who was a member when").

CREATE TABLE group_roles (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    permissions TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, slug)
);

CREATE TABLE join_requests (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message TEXT,
    referred_by TEXT,
    status TEXT NOT NULL,
    submitted_at INTEGER NOT NULL,
    decided_at INTEGER,
    decided_by TEXT,
    note TEXT,
    role TEXT
);
CREATE INDEX join_requests_group ON join_requests (group_id, status, submitted_at);
CREATE INDEX join_requests_user ON join_requests (user_id);
-- At most one pending request per user and group.
CREATE UNIQUE INDEX join_requests_pending_uq ON join_requests (group_id, user_id) WHERE status = 'pending';

CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    email TEXT,
    email_key TEXT,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    message TEXT,
    status TEXT NOT NULL,
    invited_by TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    decided_at INTEGER
);
CREATE INDEX invitations_group ON invitations (group_id, status, created_at);
CREATE INDEX invitations_email ON invitations (email_key);
CREATE INDEX invitations_user ON invitations (user_id);

CREATE TABLE posts (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    author_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    title TEXT,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX posts_group ON posts (group_id, created_at, id);

CREATE TABLE activity (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id TEXT,
    type TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX activity_group ON activity (group_id, at);

CREATE TABLE membership_history (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    active_from INTEGER NOT NULL,
    active_to INTEGER
);
CREATE INDEX membership_history_group ON membership_history (group_id, active_from);
CREATE INDEX membership_history_open ON membership_history (group_id, user_id, active_to);

CREATE INDEX memberships_expiry ON memberships (expires_at);
