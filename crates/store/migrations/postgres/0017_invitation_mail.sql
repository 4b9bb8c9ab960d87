-- Invitation mail. The message is written to the outbox in the invitation's transaction
-- (with the link, whose secret is kept nowhere else) and removed once sent; the invitation
-- keeps how its mail went.
ALTER TABLE invitations ADD COLUMN mail_status TEXT;
ALTER TABLE invitations ADD COLUMN mail_sent_at BIGINT;
ALTER TABLE invitations ADD COLUMN mail_error TEXT;
ALTER TABLE invitations ADD COLUMN mail_attempts BIGINT NOT NULL DEFAULT 0;
CREATE TABLE mail_outbox (
    id TEXT PRIMARY KEY,
    invitation_id TEXT NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at);
