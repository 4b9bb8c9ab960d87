-- Indexes for the orders the other lists walk.

CREATE INDEX spaces_created ON spaces (created_at, id);
