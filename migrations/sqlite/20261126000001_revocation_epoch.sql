-- The revocation store's epoch: created with its state and lost with it. Tokens carry the epoch
-- they were issued in and are refused once it changes (see TokenRevocation's docs).
CREATE TABLE IF NOT EXISTS revocation_epoch (
    id    INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    epoch INTEGER NOT NULL
);
