-- Security: verified emails, users a SCIM space provisioned, the permission catalogue,
-- login throttling, invitation links and the site's signing secret.

-- Emails set before this step were set by administrators and directories: verified.
ALTER TABLE users ADD COLUMN email_verified BIGINT NOT NULL DEFAULT 0;
UPDATE users SET email_verified = 1 WHERE email IS NOT NULL;
-- The space whose scim key created the user (a scim key manages those users).
ALTER TABLE users ADD COLUMN scim_space_id TEXT REFERENCES spaces (id) ON DELETE SET NULL;
CREATE INDEX users_scim_space ON users (scim_space_id);

-- Declared permissions: at site level (space_key '') or for one space.
CREATE TABLE permission_catalogue (
    space_key TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    created_at BIGINT NOT NULL,
    created_by TEXT,
    PRIMARY KEY (space_key, name)
);
CREATE INDEX permission_catalogue_name ON permission_catalogue (name);
-- Permissions groups already carry are declared in their space.
INSERT INTO permission_catalogue (space_key, name, description, created_at, created_by)
SELECT DISTINCT g.space_id, gp.permission, NULL, 0, NULL
FROM group_permissions gp JOIN groups g ON g.id = gp.group_id;

-- Failed logins per account and per client address.
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);

-- The link sent with an invitation: its hash (the link itself is shown once).
ALTER TABLE invitations ADD COLUMN token_hash TEXT;
CREATE UNIQUE INDEX invitations_token_uq ON invitations (token_hash);

-- Secrets of the site shared by every instance (the key that signs user tokens).
CREATE TABLE site_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);

-- Email confirmations handed out for a user's current email (hashes; each used once).
CREATE TABLE email_verifications (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX email_verifications_user ON email_verifications (user_id);
