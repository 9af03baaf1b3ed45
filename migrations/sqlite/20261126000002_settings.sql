-- Named values describing the deployment (for example where the servers keep revocations), so
-- tools working on the same database can tell.
CREATE TABLE IF NOT EXISTS settings (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
