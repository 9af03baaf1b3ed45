-- The authorization server: registered clients and the code flow's short-lived state.
-- Codes, sessions and pending requests are keyed by the SHA-256 of the credential, never the
-- credential itself; their other fields are one JSON record.
CREATE TABLE IF NOT EXISTS clients (
    client_id     TEXT PRIMARY KEY NOT NULL,
    secret_hash   TEXT,
    redirect_uris TEXT NOT NULL,
    grant_types   TEXT NOT NULL,
    scopes        TEXT NOT NULL DEFAULT '',
    name          TEXT NOT NULL,
    first_party   BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE IF NOT EXISTS authorization_codes (
    digest     TEXT PRIMARY KEY NOT NULL,
    grant_json TEXT NOT NULL,
    spent      BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS authorization_codes_expiry ON authorization_codes (expires_at);

CREATE TABLE IF NOT EXISTS browser_sessions (
    digest      TEXT PRIMARY KEY NOT NULL,
    record_json TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS browser_sessions_expiry ON browser_sessions (expires_at);

CREATE TABLE IF NOT EXISTS pending_authorizations (
    digest      TEXT PRIMARY KEY NOT NULL,
    record_json TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_authorizations_expiry ON pending_authorizations (expires_at);

CREATE TABLE IF NOT EXISTS consents (
    user_id   TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scopes    TEXT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
