-- What a directory wrote of a group member through SCIM beyond the user's id: the member's
-- `type` and `display`, shown back as written. Only members written with either have a row
-- (the rest show type `User` and no display). A membership removed takes its row with it, so
-- a user removed and added again natively shows nothing a directory wrote before.
CREATE TABLE scim_member_documents (
    membership_id TEXT PRIMARY KEY REFERENCES memberships (id) ON DELETE CASCADE,
    type TEXT,
    display TEXT
);
