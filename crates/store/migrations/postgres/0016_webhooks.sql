-- Webhook subscriptions. The change log is their outbox: it is written in the transaction
-- of each change, and each subscription keeps the revision it has delivered up to and the
-- state of its next attempt. One instance at a time holds a subscription (its lease), so
-- a change is delivered once per subscription whichever instance made it.
-- A change names its group's space, so that it is routed after the group is gone.
ALTER TABLE change_log ADD COLUMN space_id TEXT;
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    space_id TEXT REFERENCES spaces (id) ON DELETE CASCADE,
    group_id TEXT REFERENCES groups (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT,
    active BIGINT NOT NULL DEFAULT 1,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    delivered_upto BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    failing_since BIGINT,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webhooks_space ON webhooks (space_id);
CREATE INDEX webhooks_group ON webhooks (group_id);
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    revision BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    redelivery BIGINT NOT NULL DEFAULT 0,
    at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    status BIGINT,
    error TEXT,
    outcome TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, at);
