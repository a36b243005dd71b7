CREATE TABLE tenants (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    establishments TEXT NOT NULL,
    default_locale TEXT NOT NULL,
    audit_seq BIGINT NOT NULL DEFAULT 0,
    audit_head TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id);

CREATE TABLE incidents (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    title TEXT NOT NULL,
    description TEXT,
    occurred_at TIMESTAMP,
    discovered_at TIMESTAMP NOT NULL,
    aware_at TIMESTAMP NOT NULL,
    assessed_at TIMESTAMP,
    contained_at TIMESTAMP,
    cause TEXT,
    breach_types TEXT NOT NULL,
    data_categories TEXT NOT NULL,
    systems TEXT NOT NULL,
    encrypted BOOLEAN NOT NULL,
    risk TEXT,
    estimated_affected BIGINT,
    severity TEXT,
    owner TEXT,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX incidents_tenant_status ON incidents (tenant_id, status, id);

CREATE TABLE timeline_entries (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX timeline_entries_incident ON timeline_entries (tenant_id, incident_id, at);

CREATE TABLE audit_log (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    seq BIGINT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
