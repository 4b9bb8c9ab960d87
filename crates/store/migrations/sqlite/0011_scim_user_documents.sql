-- What a directory last wrote of a user through SCIM beyond the columns Cohort keeps: the
-- `name` object with its parts, the `emails` and `photos` lists with their types and primary
-- flags, and `active` when it was removed rather than set. SCIM shows it while it still agrees
-- with the user's columns (a native change to the name, email or avatar wins), so the columns
-- stay the one truth that checks and lists read. Written in the transaction of the change.
CREATE TABLE scim_user_documents (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    doc TEXT NOT NULL
);
