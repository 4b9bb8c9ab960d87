-- Answers to POSTs sent with an Idempotency-Key, per caller (the hash of their credential),
-- replayed for 24 hours. A row with status 0 is a request still running.
-- (It replaces the table of that name the first schema made and nothing used.)
DROP TABLE IF EXISTS idempotency_keys;
CREATE TABLE idempotency_keys (
    caller TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    etag TEXT,
    body TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
