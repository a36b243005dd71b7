ALTER TABLE tenants ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';

CREATE TABLE obligations (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    regime TEXT NOT NULL,
    recipient TEXT NOT NULL,
    phase TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_at TIMESTAMP,
    due_date TEXT,
    time_zone TEXT NOT NULL,
    target_at TIMESTAMP,
    limit_at TIMESTAMP,
    basis TEXT NOT NULL,
    trigger_reason TEXT NOT NULL,
    error TEXT,
    status TEXT NOT NULL,
    met_at TIMESTAMP,
    evidence TEXT,
    waived_reason TEXT,
    resolved_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (incident_id, regime, recipient, phase)
);
CREATE INDEX obligations_tenant_incident ON obligations (tenant_id, incident_id);

CREATE TABLE incident_evaluations (
    incident_id TEXT PRIMARY KEY NOT NULL REFERENCES incidents (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    evaluated_at TIMESTAMP NOT NULL,
    input TEXT NOT NULL,
    not_triggered TEXT NOT NULL
);
