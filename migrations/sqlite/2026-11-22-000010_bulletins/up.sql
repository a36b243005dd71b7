-- Public bulletins: the announcement that stands in for individual notice.
-- `published_version` is what the public sees; a newer version may wait for
-- approval beside it. `posting_until` is fixed at the first publication from the
-- longest posting period the applicable laws require (withdrawal is refused
-- before it). The inquiry counters are for the inquiry desk ("am I affected?"),
-- which counts inquiries without storing them.
CREATE TABLE bulletins (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    status TEXT NOT NULL,
    published_version INTEGER,
    first_published_at TIMESTAMP,
    updated_at TIMESTAMP,
    posting_until TIMESTAMP,
    posting_basis TEXT,
    withdrawn_at TIMESTAMP,
    inquiries BIGINT NOT NULL DEFAULT 0,
    inquiries_matched BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX bulletins_incident ON bulletins (tenant_id, incident_id);

-- Every version is immutable once written: content (JSON) with its SHA-256, the
-- author and time; `approved_by`/`published_at` are set once, by the approval
-- that makes it public. A withdrawal is a version of its own (kind `withdrawal`).
-- `entry_id` is the version's Atom entry id, stable for ever.
CREATE TABLE bulletin_versions (
    bulletin_id TEXT NOT NULL REFERENCES bulletins (id),
    version INTEGER NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    kind TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    content TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    approved_by TEXT,
    published_at TIMESTAMP,
    PRIMARY KEY (bulletin_id, version)
);

-- Requirements only an operator can see done (statement sent to the media, link
-- on the tenant's home page, other publicity), marked with evidence.
CREATE TABLE bulletin_checklist (
    bulletin_id TEXT NOT NULL REFERENCES bulletins (id),
    kind TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    evidence TEXT NOT NULL,
    done_by TEXT NOT NULL,
    done_at TIMESTAMP NOT NULL,
    PRIMARY KEY (bulletin_id, kind)
);
