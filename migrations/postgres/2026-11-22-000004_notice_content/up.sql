CREATE TABLE notice_contents (
    incident_id TEXT PRIMARY KEY NOT NULL REFERENCES incidents (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    default_locale TEXT NOT NULL,
    locales TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
