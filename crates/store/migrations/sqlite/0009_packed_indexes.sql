-- Nothing to do on SQLite, which has no fill factor: it keeps no room free in a page for
-- later rows. (The PostgreSQL step sets fillfactor 100 on the indexes whose keys only grow.)
SELECT 1;
