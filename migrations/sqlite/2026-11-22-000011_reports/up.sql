-- Regulator reports. Every generated version is immutable: the built report
-- (JSON, with every value frozen as it was: facts, counts, proof of notification,
-- the team's answers) with its SHA-256, author and time, numbered per
-- (incident, regime, phase). `missing` repeats the document's list of empty
-- required items for listings. The submission columns are set once, when the
-- team records that this version was filed with the regulator.
CREATE TABLE report_versions (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    regime TEXT NOT NULL,
    phase TEXT NOT NULL,
    version INTEGER NOT NULL,
    document TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    missing TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP,
    submitted_channel TEXT,
    submitted_reference TEXT,
    submitted_by TEXT,
    submission_recorded_at TIMESTAMP,
    UNIQUE (incident_id, regime, phase, version)
);
CREATE INDEX report_versions_incident ON report_versions (tenant_id, incident_id);

-- The team's answers to a regime's report items (free text, or "not yet known"
-- with a reason and a follow-up date), as JSON; shared by the regime's reports.
CREATE TABLE report_answers (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    regime TEXT NOT NULL,
    item TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    answer TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (incident_id, regime, item)
);

-- Read-only links for a regulator: one report (regime and phase, every version)
-- or, with regime and phase NULL, every report of the incident. Only the
-- SHA-256 of the link's token is stored. Views are counted here and each is
-- written to the audit log.
CREATE TABLE report_shares (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    regime TEXT,
    phase TEXT,
    regulator TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoked_by TEXT,
    views BIGINT NOT NULL DEFAULT 0,
    last_viewed_at TIMESTAMP
);
CREATE INDEX report_shares_incident ON report_shares (tenant_id, incident_id);
