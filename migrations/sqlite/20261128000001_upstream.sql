-- Login through another OpenID provider: the browser's round trip to it (keyed by the SHA-256
-- of the `state` sent there; taken exactly once) and the links from its identities
-- (issuer, subject) to local users.
CREATE TABLE IF NOT EXISTS upstream_logins (
    digest      TEXT PRIMARY KEY NOT NULL,
    record_json TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS upstream_logins_expiry ON upstream_logins (expires_at);

CREATE TABLE IF NOT EXISTS identity_links (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX IF NOT EXISTS identity_links_user ON identity_links (user_id);

-- Linking by verified email looks users up by it.
CREATE INDEX IF NOT EXISTS users_email ON users (email);
