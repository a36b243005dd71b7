-- The notice plan: for each affected person, who is addressed, in which locale,
-- and the channels to try in order (JSON [{"channel","address"}]); unreachable
-- people (no channel) are covered by the public bulletin.
CREATE TABLE notice_plans (
    incident_id TEXT PRIMARY KEY NOT NULL REFERENCES incidents (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    summary TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE plan_entries (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    external_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    audience TEXT NOT NULL,
    recipient_name TEXT,
    subject_name TEXT,
    locale TEXT NOT NULL,
    channels TEXT NOT NULL,
    postal_address TEXT,
    unreachable BOOLEAN NOT NULL,
    PRIMARY KEY (incident_id, external_id)
);

-- A dispatch: a snapshot of the plan and of the notice content, approved by a
-- second person before anything is sent.
CREATE TABLE dispatches (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    status TEXT NOT NULL,
    content TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    link_secret TEXT NOT NULL,
    recipients BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    approved_by TEXT,
    approved_at TIMESTAMP,
    completed_at TIMESTAMP
);
CREATE INDEX dispatches_incident ON dispatches (tenant_id, incident_id);

CREATE TABLE dispatch_recipients (
    dispatch_id TEXT NOT NULL REFERENCES dispatches (id),
    external_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    audience TEXT NOT NULL,
    recipient_name TEXT,
    subject_name TEXT,
    locale TEXT NOT NULL,
    channels TEXT NOT NULL,
    postal_address TEXT,
    next_channel INTEGER NOT NULL,
    state TEXT NOT NULL,
    link_token_hash TEXT,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (dispatch_id, external_id)
);
CREATE INDEX dispatch_recipients_link ON dispatch_recipients (link_token_hash);

-- One row per (recipient, channel attempt). Workers claim rows with a lease
-- (locked_at, locked_by) and send with no transaction open.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    dispatch_id TEXT NOT NULL REFERENCES dispatches (id),
    external_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    status TEXT NOT NULL,
    run_at TIMESTAMP NOT NULL,
    locked_at TIMESTAMP,
    locked_by TEXT,
    attempts INTEGER NOT NULL,
    provider TEXT,
    provider_id TEXT,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_claim ON outbox (status, run_at);
CREATE INDEX outbox_dispatch ON outbox (dispatch_id, external_id);
CREATE INDEX outbox_provider_id ON outbox (provider_id);

-- The ledger: every attempt and every receipt.
CREATE TABLE delivery_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    outbox_id TEXT NOT NULL REFERENCES outbox (id),
    at TIMESTAMP NOT NULL,
    result TEXT NOT NULL,
    provider TEXT,
    provider_id TEXT,
    detail TEXT
);
CREATE INDEX delivery_attempts_outbox ON delivery_attempts (outbox_id, at);
