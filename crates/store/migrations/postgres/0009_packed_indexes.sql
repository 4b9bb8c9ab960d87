-- Indexes whose keys only grow (ids and instants that rise with time; a bulk add's rows,
-- written in user order into a new group) are split at their right edge, where PostgreSQL
-- leaves a tenth of each full page empty for updates that never come to these keys. Packed
-- full, a membership's index entries take about a tenth less.
ALTER INDEX memberships_pkey SET (fillfactor = 100);
ALTER INDEX memberships_group_joined SET (fillfactor = 100);
ALTER INDEX memberships_group_user_uq SET (fillfactor = 100);
ALTER INDEX audit_events_pkey SET (fillfactor = 100);
ALTER INDEX audit_events_at SET (fillfactor = 100);
ALTER INDEX change_log_pkey SET (fillfactor = 100);
