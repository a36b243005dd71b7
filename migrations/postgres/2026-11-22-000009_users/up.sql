-- People who sign in to the web UI. The API keeps bearer tokens (api_tokens);
-- a user's session carries the same role vocabulary, so one role check serves both.

-- One person of one tenant. The e-mail address is unique across tenants (it is
-- the sign-in name), stored lower-cased. password_hash is an argon2id PHC string,
-- NULL until the person follows their set-password link.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT,
    locale TEXT,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    disabled_at TIMESTAMP
);
CREATE INDEX users_tenant ON users (tenant_id);

-- One-time set-password links: only a SHA-256 of the token is kept.
CREATE TABLE password_links (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX password_links_user ON password_links (user_id);

-- Signed-in sessions: only a SHA-256 of the cookie's id is kept. A session ends at
-- idle_expires_at (pushed forward on use) or expires_at (fixed), whichever is first.
-- csrf_token is the synchronizer token every state-changing form carries.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    idle_expires_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed sign-ins, for throttling per account and per client address. The key is
-- a SHA-256 of "account:<email>" or "address:<ip>", so no address is stored.
CREATE TABLE sign_in_failures (
    id TEXT PRIMARY KEY NOT NULL,
    throttle_key TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_failures_key_at ON sign_in_failures (throttle_key, at);

-- The incident page shows the audit trail of an incident and its obligations and
-- dispatches: entries by target.
CREATE INDEX audit_log_target ON audit_log (tenant_id, target);
