-- The three bulk tables (millions of rows) have no foreign keys: a per-row
-- check costs about a third of a bulk write, and every access to them goes
-- through the tenant or incident, which the code checks first.

-- Subject registry: one row per person whose data a tenant holds.
-- systems: '|crm|billing|' (every name framed by '|', so a containment test on
-- '|crm|' matches whole names only); categories: bit i = DataCategory::ALL[i].
-- content_hash: FNV-1a of the stored values, so an upsert can tell "changed" from "same".
CREATE TABLE subjects (
    tenant_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    name TEXT,
    email TEXT,
    phone TEXT,
    locale TEXT,
    jurisdiction TEXT,
    birth_date DATE,
    guardian_name TEXT,
    guardian_email TEXT,
    guardian_phone TEXT,
    push_token TEXT,
    postal_address TEXT,
    preferred_channel TEXT,
    systems TEXT NOT NULL,
    categories BIGINT NOT NULL,
    content_hash BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, external_id)
);

-- The scope of an incident, and the summary of the affected set it last produced.
CREATE TABLE incident_scopes (
    incident_id TEXT PRIMARY KEY NOT NULL REFERENCES incidents (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    systems TEXT NOT NULL,
    data_categories TEXT NOT NULL,
    jurisdictions TEXT NOT NULL,
    subject_ids_count BIGINT NOT NULL,
    summary TEXT,
    computed_at TIMESTAMP,
    frozen_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);

-- The explicit subject_ids criterion of a scope (can be millions, so a table).
CREATE TABLE scope_subject_ids (
    incident_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    PRIMARY KEY (incident_id, external_id)
);

-- The materialised affected set: a copy of what a notice needs, taken at
-- recompute, so later registry edits do not rewrite it. channels: bit 0 email,
-- 1 sms, 2 push, 3 letter (a minor's e-mail and SMS go to the guardian).
CREATE TABLE affected_subjects (
    incident_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    name TEXT,
    email TEXT,
    phone TEXT,
    locale TEXT,
    jurisdiction TEXT,
    minor BOOLEAN NOT NULL,
    guardian_name TEXT,
    guardian_email TEXT,
    guardian_phone TEXT,
    push_token TEXT,
    postal_address TEXT,
    preferred_channel TEXT,
    exposed_categories BIGINT NOT NULL,
    channels INTEGER NOT NULL,
    PRIMARY KEY (incident_id, external_id)
);
