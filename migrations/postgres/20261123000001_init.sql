-- tokenward schema, PostgreSQL.
CREATE TABLE IF NOT EXISTS users (
    id            TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    scopes        TEXT NOT NULL DEFAULT '',
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    full_name     TEXT,
    email         TEXT
);

CREATE TABLE IF NOT EXISTS revoked_tokens (
    jti        TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS revoked_tokens_expiry ON revoked_tokens (expires_at);

CREATE TABLE IF NOT EXISTS revoked_sessions (
    sid        TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS revoked_sessions_expiry ON revoked_sessions (expires_at);

CREATE TABLE IF NOT EXISTS used_refresh_tokens (
    jti        TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS used_refresh_tokens_expiry ON used_refresh_tokens (expires_at);

-- One row per user who ever logged out everywhere or changed password; never expires.
CREATE TABLE IF NOT EXISTS user_generations (
    user_id    TEXT PRIMARY KEY NOT NULL,
    generation BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS login_failures (
    key          TEXT PRIMARY KEY NOT NULL,
    window_start BIGINT NOT NULL,
    failures     BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_window ON login_failures (window_start);
