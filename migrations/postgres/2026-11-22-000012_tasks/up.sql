-- Runbooks attached to an incident: one row per runbook whose conditions held at
-- some point; `applies` says whether they hold now.
CREATE TABLE incident_runbooks (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    runbook_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    title TEXT NOT NULL,
    version INTEGER NOT NULL,
    applies BOOLEAN NOT NULL,
    attached_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (incident_id, runbook_id)
);
CREATE INDEX incident_runbooks_tenant_incident ON incident_runbooks (tenant_id, incident_id);

-- One task per runbook item that applies to an incident. The item's text, role,
-- kind and due rule are copied so a task reads the same after the runbook changes;
-- due_at is recomputed when the clock or obligation it counts from moves.
CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    runbook_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    section TEXT,
    text TEXT NOT NULL,
    role TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_rule TEXT,
    due_at TIMESTAMP,
    due_basis TEXT,
    due_note TEXT,
    state TEXT NOT NULL,
    assignee TEXT,
    note TEXT,
    evidence TEXT,
    skipped_reason TEXT,
    resolved_by TEXT,
    resolved_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (incident_id, runbook_id, item_id),
    FOREIGN KEY (incident_id, runbook_id) REFERENCES incident_runbooks (incident_id, runbook_id)
);
CREATE INDEX tasks_tenant_incident ON tasks (tenant_id, incident_id);
CREATE INDEX tasks_state_due ON tasks (state, due_at);

-- Reminders sent (wave 2: the dispatch worker's scheduler). A reminder is claimed by
-- inserting its row, in the same transaction that enqueues its messages; the unique
-- key makes each (obligation or task, threshold, deadline) remind at most once across
-- restarts and workers, and a deadline that moves arms its reminders again.
-- about: obligation | task | digest; threshold: e.g. 24h, 4h, overdue, digest.
CREATE TABLE reminders (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    incident_id TEXT REFERENCES incidents (id),
    about TEXT NOT NULL,
    about_id TEXT NOT NULL,
    threshold TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    claimed_at TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, about, about_id, threshold, due_at)
);
