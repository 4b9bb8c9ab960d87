-- What users held before a change that may move their access, written with the change and
-- removed when their `access.changed` events are written (right after its commit, or by any
-- instance's sweep when the process that made it stopped in between).
CREATE TABLE access_pending (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    cause_seq BIGINT NOT NULL,
    group_id TEXT,
    before_json TEXT NOT NULL
);
CREATE INDEX access_pending_at ON access_pending (at);
